//! `cargo xtask dist`: the bundle an integrator copies to a municipality's server — the
//! binary, the first-party plugins beside it (where it looks for plugins), the shipped
//! profile, the docs, the example pipelines (files, SQLite, PostgreSQL) and a `SHA256SUMS`
//! list. No test fixture plugin goes in, so `pmhlink plugins` in the bundle lists exactly what
//! an operator runs. The `odbc` source goes in a folder of its own (`odbc/`), not beside the
//! binary: it links unixODBC's `libodbc`, and where that is not installed a library beside the
//! binary that cannot load would be warned of on every command; an integrator who installs
//! unixODBC and a driver adds the folder to `plugins.dirs` (or copies the library beside
//! `pmhlink`). Building the bundle needs unixODBC (`cargo xtask services` installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The plugins an operator runs; the test fixtures, the echo source and the vendor example
/// stay out.
pub const SHIPPED_PLUGINS: [&str; 7] = [
    "pmhlink-source-csv",
    "pmhlink-source-fixed",
    "pmhlink-source-sqlite",
    "pmhlink-source-postgres",
    "pmhlink-source-mysql",
    "pmhlink-sink-file",
    "pmhlink-sink-api",
];

/// Plugins shipped in a folder of their own, with the folder: they need a library the
/// municipality's server may not have.
pub const OPTIONAL_PLUGINS: [(&str, &str); 1] = [("pmhlink-source-odbc", "odbc")];

/// Files copied as they are, from the repository root, to the same place in the bundle.
const SHIPPED_FILES: [&str; 24] = [
    "README.md",
    "docs/monitoring.md",
    "examples/scheduling/pmhlink-fleet.service",
    "examples/scheduling/pmhlink-fleet.timer",
    "examples/scheduling/pmhlink@.service",
    "examples/scheduling/pmhlink@.timer",
    "examples/scheduling/pmhlink-fleet.xml",
    "docs/pipeline-reference.md",
    "docs/findings.md",
    "docs/plugin-guide.md",
    "docs/database-sources.md",
    "docs/plugins/csv.md",
    "docs/plugins/fixed-width.md",
    "docs/plugins/sqlite.md",
    "docs/plugins/postgres.md",
    "docs/plugins/mysql.md",
    "docs/plugins/odbc.md",
    "docs/plugins/file.md",
    "docs/plugins/pmh-api.md",
    "docs/ARCHITECTURE.md",
    "examples/sakurano/pipeline.toml",
    "examples/sakurano/pipeline-sqlite.toml",
    "examples/sakurano/pipeline-postgres.toml",
    "crates/pmhlink-profile/profiles/pmh-default.toml",
];

#[derive(clap::Args)]
pub struct DistArgs {
    /// Where the bundle goes (default: target/dist/pmhlink-<version>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Bundle the debug build instead of the release build (for tests; never for operators).
    #[arg(long)]
    debug: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_owned()
}

/// The library file a cdylib crate builds to on this platform (`libpmhlink_sink_file.so`).
pub fn library_file(crate_name: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        crate_name.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

pub fn run(args: &DistArgs) -> Result<(), String> {
    let root = root();
    let profile = if args.debug { "debug" } else { "release" };
    build(&root, args.debug)?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let built = target.join(profile);
    let out = args.out.clone().unwrap_or_else(|| {
        target
            .join("dist")
            .join(format!("pmhlink-{}", env!("CARGO_PKG_VERSION")))
    });
    if out.exists() {
        std::fs::remove_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    }
    let mut files = Vec::new();
    let binary = format!("pmhlink{}", std::env::consts::EXE_SUFFIX);
    files.push(copy(&built.join(&binary), &out, Path::new(&binary))?);
    for plugin in SHIPPED_PLUGINS {
        let lib = library_file(plugin);
        files.push(copy(&built.join(&lib), &out, Path::new(&lib))?);
    }
    for (plugin, folder) in OPTIONAL_PLUGINS {
        let lib = library_file(plugin);
        files.push(copy(
            &built.join(&lib),
            &out,
            &Path::new(folder).join(&lib),
        )?);
    }
    for rel in SHIPPED_FILES {
        files.push(copy(&root.join(rel), &out, Path::new(rel))?);
    }
    write_sums(&out, &files)?;
    println!(
        "xtask dist: {} files ({profile} build) and SHA256SUMS in {}",
        files.len(),
        out.display()
    );
    Ok(())
}

fn build(root: &Path, debug: bool) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--quiet", "-p", "pmhlink"]);
    for p in SHIPPED_PLUGINS
        .into_iter()
        .chain(OPTIONAL_PLUGINS.into_iter().map(|(p, _)| p))
    {
        cmd.args(["-p", p]);
    }
    if !debug {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| format!("cargo: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo build failed ({status})"))
}

/// Copies `from` to `out/rel`, keeping the executable bit; returns `rel`.
fn copy(from: &Path, out: &Path, rel: &Path) -> Result<PathBuf, String> {
    let to = out.join(rel);
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::copy(from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
    Ok(rel.to_owned())
}

/// `SHA256SUMS` in the form `sha256sum -c` checks: digest, two spaces, relative path.
fn write_sums(out: &Path, files: &[PathBuf]) -> Result<(), String> {
    let mut text = String::new();
    for rel in files {
        let bytes = std::fs::read(out.join(rel)).map_err(|e| format!("{}: {e}", rel.display()))?;
        let digest = Sha256::digest(&bytes);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        text.push_str(&format!("{hex}  {}\n", rel.display()));
    }
    let path = out.join("SHA256SUMS");
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))
}
