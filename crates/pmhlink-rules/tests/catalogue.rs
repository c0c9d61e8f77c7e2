//! The findings catalogue (`docs/findings.md`) is generated from the codes table and kept in
//! step with it; every code in the table is raised somewhere outside it.

use std::path::{Path, PathBuf};

use pmhlink_rules::Code;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_findings_catalogue_is_up_to_date() {
    let path = workspace().join("docs/findings.md");
    let expected = pmhlink_rules::catalogue_markdown();
    if std::env::var_os("PMHLINK_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/findings.md differs from the codes table: run `cargo xtask docs`"
    );
}

#[test]
fn the_catalogue_names_every_code_with_what_to_do() {
    let page = pmhlink_rules::catalogue_markdown();
    for c in Code::ALL {
        assert!(page.contains(&format!("| `{c}` |")), "{c}");
        assert!(!c.operator_action().is_empty(), "{c}");
        assert!(!c.raised_in().is_empty(), "{c}");
    }
}

/// Library source of the crates that raise findings, without test modules. The PMH emulator
/// has codes of its own, and the generator only predicts findings.
fn raising_sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            raising_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("pmhlink-rules/src/finding.rs")
        {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_owned();
            out.push((path, code));
        }
    }
}

#[test]
fn every_code_is_raised_somewhere() {
    let mut sources = Vec::new();
    for group in ["crates", "plugins"] {
        for krate in std::fs::read_dir(workspace().join(group))
            .unwrap()
            .flatten()
        {
            let name = krate.file_name().to_string_lossy().into_owned();
            let src = krate.path().join("src");
            if ["pmhlink-hub-mock", "pmhlink-synth"].contains(&name.as_str()) || !src.is_dir() {
                continue;
            }
            raising_sources(&src, &mut sources);
        }
    }
    let raised = |name: &str| {
        let needle = format!("Code::{name}");
        sources.iter().any(|(_, text)| {
            text.match_indices(&needle).any(|(i, _)| {
                !text[i + needle.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
        })
    };
    let nowhere: Vec<&str> = Code::ALL
        .iter()
        .filter(|c| !raised(c.rust_name()))
        .map(|c| c.as_str())
        .collect();
    assert!(
        nowhere.is_empty(),
        "codes no library code raises (raise them where they belong or remove them): {nowhere:?}"
    );
}
