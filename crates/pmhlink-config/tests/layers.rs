//! Layered pipeline files, case by case from `tests/fixtures/layers` (its README says the
//! format): the merge rules, the file every value and every problem is named by, and the
//! invariant that a layered pipeline equals its flattened file. `PMHLINK_BLESS=1` rewrites the
//! expected files from what the code does, for review in the diff.

use std::path::{Path, PathBuf};

use pmhlink_config::{Env, FileFormat, KeyPath, Pipeline, ValueOrigin};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/layers")
}

fn bless() -> bool {
    std::env::var_os("PMHLINK_BLESS").is_some()
}

fn cases(kind: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The case's `town.toml`, `town.yaml` or `town.yml`.
fn entry(case: &Path) -> PathBuf {
    ["town.toml", "town.yaml", "town.yml"]
        .iter()
        .map(|n| case.join(n))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{}: no town file", case.display()))
}

fn case_env(case: &Path) -> Env {
    let Ok(text) = std::fs::read_to_string(case.join("env.txt")) else {
        return Env::empty();
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_once('=').expect("NAME=value"))
        .collect()
}

/// Compares `got` with the case's file `name` (or writes it when blessing); a difference is
/// pushed to `failures`.
fn expect_file(case: &Path, name: &str, got: &str, failures: &mut Vec<String>) {
    let path = case.join(name);
    if bless() {
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != got {
        failures.push(format!(
            "{}:\n--- expected\n{want}\n--- got\n{got}",
            path.display()
        ));
    }
}

fn name(case: &Path) -> String {
    case.strip_prefix(root()).unwrap().display().to_string()
}

#[test]
fn merge_rules_hold_table_by_table() {
    let cases = cases("merge");
    assert!(cases.len() >= 6, "only {} merge cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let flat =
            pmhlink_config::flatten(entry(case)).unwrap_or_else(|e| panic!("{}: {e}", name(case)));
        let document = serde_json::to_string_pretty(&flat.document).unwrap() + "\n";
        expect_file(case, "merged.json", &document, &mut failures);
        let origins: String = flat
            .origins
            .iter()
            .map(|(path, file)| format!("{path}  {file}\n"))
            .collect();
        expect_file(case, "origins.txt", &origins, &mut failures);
        assert!(
            !document.contains("\"remove\"") && !document.contains("\"extends\""),
            "{}: a merge marker is left in the merged document",
            name(case)
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_problem_names_the_file_it_was_written_in() {
    let cases = cases("errors");
    assert!(cases.len() >= 12, "only {} error cases", cases.len());
    let prefix = format!("{}/", root().display());
    let mut failures = Vec::new();
    for case in &cases {
        let err = match Pipeline::load_with_env(entry(case), &case_env(case)) {
            Ok(_) => {
                failures.push(format!("{}: loaded without error", name(case)));
                continue;
            }
            Err(e) => e,
        };
        let lines: String = err
            .to_string()
            .lines()
            .map(|l| format!("{}\n", l.replace(&prefix, "")))
            .collect();
        expect_file(case, "expect.txt", &lines, &mut failures);
        for p in err.problems() {
            let named = p.origin.starts_with("environment variable PMHLINK_")
                || Path::new(&p.origin).exists();
            assert!(named, "{}: a problem names no file: {p}", name(case));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn load(path: &Path, env: &Env) -> Pipeline {
    Pipeline::load_with_env(path, env).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Invariant: a layered pipeline equals its flattened file. Each layered case is compared with
/// the same pipeline written as one file by hand, and with what `pmhlink config` prints for it
/// read back as a file of its own.
#[test]
fn a_layered_pipeline_equals_its_flattened_file() {
    let cases = cases("load");
    assert!(cases.len() >= 2, "only {} load cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let env = case_env(case);
        let town = entry(case);
        let layered = load(&town, &env);
        let flat = load(&case.join("flat.toml"), &env);
        assert_eq!(
            layered.redacted_json(),
            flat.redacted_json(),
            "{}: the layered pipeline differs from flat.toml",
            name(case)
        );
        assert_eq!(
            layered.base_dir(),
            case,
            "paths are the town file's folder's"
        );
        assert_eq!(
            layered.identity(),
            format!("{}/town", layered.municipality.code)
        );
        assert!(layered.layers().len() > 1, "{}: not layered", name(case));

        // What `pmhlink config` prints is a flattened file meaning the same.
        let printed = tempfile::tempdir().unwrap();
        let path = printed.path().join("town.toml");
        std::fs::write(&path, layered.effective_toml()).unwrap();
        let reread = Pipeline::from_str_with_env(
            &std::fs::read_to_string(&path).unwrap(),
            FileFormat::Toml,
            &path,
            &env,
        )
        .unwrap_or_else(|e| panic!("{}: the printed file: {e}", name(case)));
        assert_eq!(
            reread.redacted_json(),
            layered.redacted_json(),
            "{}: the printed file means something else",
            name(case)
        );
        assert_eq!(reread.layers(), ["town.toml"]);

        let origins: String = layered
            .effective_values()
            .into_iter()
            .filter(|v| v.origin != ValueOrigin::Default)
            .map(|v| format!("{}  {}\n", v.path, v.origin))
            .collect();
        expect_file(case, "origins.txt", &origins, &mut failures);
        for v in flat.effective_values() {
            if let ValueOrigin::File(f) = &v.origin {
                assert_eq!(f, "flat.toml", "{}: {}", name(case), v.path);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_value_from_the_environment_is_named_by_its_variable_over_any_layer() {
    let town = root().join("load/two-layers/town.toml");
    let env = Env::empty().with("PMHLINK_MAPPING__IS_DELETED__CONSTANT", "true");
    let p = load(&town, &env);
    let at = KeyPath::root().key("mapping").key("is_deleted");
    assert_eq!(
        p.origin_of(&at.key("constant")),
        ValueOrigin::Environment("PMHLINK_MAPPING__IS_DELETED__CONSTANT".into())
    );
    assert_eq!(
        p.origin_of(&KeyPath::root().key("mapping").key("name")),
        ValueOrigin::File("../../shared/vendor.toml".into())
    );
    assert_eq!(
        p.origin_of(&KeyPath::root().key("guard").key("max_deletion_share")),
        ValueOrigin::Default
    );
    let bad = Env::empty().with("PMHLINK_MUNICIPALITY__CODE", "13999");
    let err = Pipeline::load_with_env(&town, &bad).unwrap_err();
    assert_eq!(err.problems().len(), 1, "{err}");
    assert_eq!(
        err.problems()[0].origin,
        "environment variable PMHLINK_MUNICIPALITY__CODE"
    );
}

#[test]
fn the_reference_page_and_the_schema_cover_extends_and_the_merge_rules() {
    let page = pmhlink_config::reference_markdown();
    assert!(page.contains("## Layered files: `extends`"));
    for rule in pmhlink_config::MERGE_RULES {
        assert!(page.contains(&format!("| `{}` |", rule.at)), "{}", rule.at);
    }
    let schema = pmhlink_config::json_schema();
    let extends = &schema["properties"]["extends"];
    assert_eq!(extends["type"], "string");
    let description = extends["description"].as_str().unwrap();
    assert!(description.contains("`programs` items merged by code"));
    assert!(description.contains("`remove = true`"));
}
