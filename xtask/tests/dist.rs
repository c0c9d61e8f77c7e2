//! `cargo xtask dist` through the real xtask binary: the bundle holds the binary, exactly the
//! first-party plugins, the profile, the docs and the example pipelines, every file
//! checksummed, and the bundled `pmhlink plugins` lists exactly the shipped plugins with no
//! warning; the odbc source, in its own folder, is found once that folder is on the plugin path.

use std::collections::BTreeSet;
use std::process::Command;

use sha2::{Digest, Sha256};

#[test]
fn the_bundle_ships_first_party_plugins_only_and_checksums_every_file() {
    let out = tempfile::tempdir().unwrap();
    let bundle = out.path().join("pmhlink");
    let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["dist", "--debug", "--out"])
        .arg(&bundle)
        .status()
        .unwrap();
    assert!(status.success());

    let sums = std::fs::read_to_string(bundle.join("SHA256SUMS")).unwrap();
    let mut listed = BTreeSet::new();
    for line in sums.lines() {
        let (hex, rel) = line.split_once("  ").expect("`digest  path` lines");
        let bytes = std::fs::read(bundle.join(rel)).unwrap();
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, hex, "{rel}");
        listed.insert(rel.to_owned());
    }
    let mut on_disk = BTreeSet::new();
    let mut stack = vec![bundle.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else if e.file_name() != "SHA256SUMS" {
                let rel = e.path().strip_prefix(&bundle).unwrap().to_owned();
                on_disk.insert(rel.display().to_string());
            }
        }
    }
    assert_eq!(listed, on_disk, "every file is listed, and only those");
    for needed in [
        "crates/pmhlink-profile/profiles/pmh-default.toml",
        "docs/pipeline-reference.md",
        "docs/database-sources.md",
        "examples/sakurano/pipeline.toml",
        "examples/sakurano/pipeline-sqlite.toml",
        "examples/sakurano/pipeline-postgres.toml",
    ] {
        assert!(listed.contains(needed), "{needed}");
    }

    let plugins = Command::new(bundle.join("pmhlink"))
        .args(["plugins", "--json"])
        .env_remove("PMHLINK_PLUGIN_PATH")
        .current_dir(out.path())
        .output()
        .unwrap();
    assert!(plugins.status.success());
    assert_eq!(
        String::from_utf8_lossy(&plugins.stderr),
        "",
        "no warning about libraries that are not plugins"
    );
    let found: serde_json::Value = serde_json::from_slice(&plugins.stdout).unwrap();
    let names: BTreeSet<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "csv",
            "fixed-width",
            "sqlite",
            "postgres",
            "mysql",
            "file",
            "pmh-api"
        ]),
        "exactly the first-party plugins"
    );

    // The odbc source waits in a folder of its own, and is found once that folder is named.
    let odbc = format!(
        "odbc/{}pmhlink_source_odbc{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    assert!(listed.contains(&odbc), "{odbc}");
    let plugins = Command::new(bundle.join("pmhlink"))
        .args(["plugins", "--json"])
        .env("PMHLINK_PLUGIN_PATH", bundle.join("odbc"))
        .current_dir(out.path())
        .output()
        .unwrap();
    assert!(plugins.status.success());
    let found: serde_json::Value = serde_json::from_slice(&plugins.stdout).unwrap();
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "odbc"),
        "{found}"
    );
}
