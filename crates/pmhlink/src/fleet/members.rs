//! Which pipeline files a fleet is: each path named on the command line is a pipeline file, or
//! a folder holding one pipeline file per municipality, directly (`*.toml`, `*.yaml`,
//! `*.yml`) or one folder down (`*/pipeline.toml`, …). A file that sets no 団体コード of its
//! own is a template (`pmhlink_config::is_template`) and is left out.

use std::path::{Path, PathBuf};

const EXTENSIONS: [&str; 3] = ["toml", "yaml", "yml"];

fn is_pipeline_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e))
}

/// The fleet's members, in path order, each once; the templates found are returned apart.
pub struct Members {
    pub files: Vec<PathBuf>,
    pub templates: Vec<PathBuf>,
}

/// Expands `paths` into the fleet's pipeline files. Errors name the path that is neither a
/// pipeline file nor a folder, or a folder holding none.
pub fn find(paths: &[PathBuf]) -> Result<Members, String> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_dir() {
            let before = found.len();
            in_folder(path, &mut found)
                .map_err(|e| format!("{}: cannot be listed: {e}", path.display()))?;
            if found.len() == before {
                return Err(format!(
                    "{}: holds no pipeline file (*.toml, *.yaml, *.yml, or */pipeline.toml)",
                    path.display()
                ));
            }
        } else if path.is_file() && is_pipeline_name(path) {
            found.push(path.clone());
        } else {
            return Err(format!(
                "{}: is neither a pipeline file (.toml, .yaml, .yml) nor a folder",
                path.display()
            ));
        }
    }
    let mut files = Vec::new();
    let mut templates = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in found {
        let key = std::fs::canonicalize(&f).unwrap_or_else(|_| f.clone());
        if !seen.insert(key) {
            continue;
        }
        if pmhlink_config::is_template(&f) {
            templates.push(f);
        } else {
            files.push(f);
        }
    }
    if files.is_empty() {
        return Err("no municipality's pipeline file among the paths given (only templates: files that set no `municipality.code`)".into());
    }
    Ok(Members { files, templates })
}

fn in_folder(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    entries.sort();
    for p in entries {
        if p.is_file() && is_pipeline_name(&p) {
            found.push(p);
        } else if p.is_dir() {
            let mut inner: Vec<PathBuf> = EXTENSIONS
                .iter()
                .map(|e| p.join(format!("pipeline.{e}")))
                .filter(|f| f.is_file())
                .collect();
            found.append(&mut inner);
        }
    }
    Ok(())
}
