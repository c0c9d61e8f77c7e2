//! Every file in `tests/fixtures/bad` must fail to load with the messages it names (see the
//! README there for the format).

use std::path::{Path, PathBuf};

use pmhlink_config::{ConfigError, Env, FileFormat, Pipeline};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

struct Case {
    expect: Vec<String>,
    edits: Vec<(String, String)>,
    env: Env,
}

fn directive<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.strip_prefix("# ")?
        .strip_prefix(name)?
        .strip_prefix(": ")
}

fn parse_case(text: &str) -> Case {
    let mut case = Case {
        expect: Vec::new(),
        edits: Vec::new(),
        env: Env::empty(),
    };
    for line in text.lines() {
        if let Some(e) = directive(line, "expect") {
            case.expect.push(e.to_owned());
        } else if let Some(e) = directive(line, "edit") {
            let (old, new) = e.split_once(" => ").expect("an edit is `old => new`");
            case.edits
                .push((old.replace("\\n", "\n"), new.replace("\\n", "\n")));
        } else if let Some(e) = directive(line, "env") {
            let (k, v) = e.split_once('=').expect("an env line is NAME=value");
            case.env = std::mem::take(&mut case.env).with(k, v);
        }
    }
    case
}

fn load_case(path: &Path, case: &Case) -> Result<Pipeline, ConfigError> {
    if case.edits.is_empty() {
        return Pipeline::load_with_env(path, &case.env);
    }
    let mut text = std::fs::read_to_string(fixtures().join("good/pipeline.toml")).unwrap();
    for (old, new) in &case.edits {
        assert!(
            text.contains(old.as_str()),
            "{}: the good pipeline has no `{old}` to edit",
            path.display()
        );
        text = text.replacen(old.as_str(), new, 1);
    }
    Pipeline::from_str_with_env(&text, FileFormat::Toml, path, &case.env)
}

#[test]
fn every_bad_file_fails_with_its_messages() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| FileFormat::from_path(p).is_some())
        .collect();
    paths.sort();
    assert!(paths.len() >= 40, "only {} bad files", paths.len());
    let mut failures = Vec::new();
    for path in &paths {
        let text = std::fs::read_to_string(path).unwrap();
        let case = parse_case(&text);
        assert!(
            !case.expect.is_empty(),
            "{}: no `# expect:`",
            path.display()
        );
        let err = match load_case(path, &case) {
            Ok(_) => {
                failures.push(format!("{}: loaded without error", path.display()));
                continue;
            }
            Err(e) => e,
        };
        let message = err.to_string();
        for want in &case.expect {
            if !message.contains(want.as_str()) {
                failures.push(format!(
                    "{}:\n  expected: {want}\n  got:      {}",
                    path.display(),
                    message.replace('\n', "\n            ")
                ));
            }
        }
        let file = path.display().to_string();
        for p in err.problems() {
            assert!(
                p.origin == file || p.origin.starts_with("environment variable PMHLINK_"),
                "{}: problem without its origin: {p}",
                path.display()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
#[ignore = "prints every message, for reading"]
fn show_messages() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| FileFormat::from_path(p).is_some())
        .collect();
    paths.sort();
    for path in &paths {
        let case = parse_case(&std::fs::read_to_string(path).unwrap());
        if let Err(e) = load_case(path, &case) {
            println!("{e}");
        }
    }
}
