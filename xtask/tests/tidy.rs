//! Tidy: checks that keep `docs/ARCHITECTURE.md` and the sources' module headers true, in the
//! manner of rust-analyzer's `xtask/src/tidy.rs`. Run by `cargo test -p xtask`, and so by
//! `cargo test --workspace` and `cargo xtask ci`.
//!
//! - every repository path the map names (in backticks) exists, and every `file.rs::item` it
//!   names is defined in that file;
//! - every `.rs` file under `crates/`, `plugins/` and `xtask/` starts with a `//!` header;
//! - every invariant has a `Tested by:` line, and each test it names is a `#[test]` function
//!   of that file.
//!
//! Each failure message says what to fix. The checks read files only; they build nothing.

use std::fs;
use std::path::{Path, PathBuf};

/// The repository root: this crate lives in `xtask/`.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_owned()
}

const MAP: &str = "docs/ARCHITECTURE.md";

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Top-level entries a span must start with to be read as a path from the repository root.
const TOP: &[&str] = &[
    "crates/",
    "plugins/",
    "xtask/",
    "fuzz/",
    "docs/",
    "examples/",
    ".ci/",
    ".cargo/",
];

/// Directories whose `.rs` files are not the project's modules: build output, and data
/// (test fixtures, fuzz corpora, generated code) that cargo does not compile as a module.
const NOT_SOURCE_DIRS: &[&str] = &["target", "fixtures", "corpus", "artifacts", "generated"];

/// Every file under `dir`, skipping build output and data directories.
fn walk(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !NOT_SOURCE_DIRS.contains(&name.as_ref()) && !name.starts_with('.') {
                walk(&path, into);
            }
        } else {
            into.push(path);
        }
    }
}

/// The project's `.rs` files, relative to the root, with `/` separators.
fn rust_files(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for top in ["crates", "plugins", "xtask", "fuzz"] {
        walk(&root.join(top), &mut files);
    }
    files
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| {
            p.strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect()
}

/// A backticked span of the map: its text and line (1-based).
struct Span {
    text: String,
    line: usize,
    /// The crate or plugin folder of the section the span is in (`crates/pmhlink-runner`),
    /// from the nearest heading that names one.
    section: Option<String>,
}

/// Inline code spans outside fenced blocks, with the crate folder of their section.
fn spans(map: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut fenced = false;
    let mut section: Option<String> = None;
    for (i, line) in map.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        let inline: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
        if line.starts_with('#') {
            // Every heading starts a section: a crate's, when it names one.
            section = inline.iter().find_map(|s| crate_folder(s));
        }
        for text in inline {
            out.push(Span {
                text: text.to_owned(),
                line: i + 1,
                section: section.clone(),
            });
        }
    }
    out
}

/// `crates/x` or `plugins/x` (with or without a trailing slash or a deeper path).
fn crate_folder(span: &str) -> Option<String> {
    let mut parts = span.split('/');
    let top = parts.next()?;
    let name = parts.next().filter(|n| !n.is_empty())?;
    (matches!(top, "crates" | "plugins") && !name.contains('*')).then(|| format!("{top}/{name}"))
}

/// A span that names a path: `(path, item)` where item is what follows `::` after a `.rs`.
fn as_path(text: &str) -> Option<(String, Option<String>)> {
    if text.is_empty() || text.contains(char::is_whitespace) {
        return None;
    }
    let (path, item) = match text.split_once(".rs::") {
        Some((p, item)) => (format!("{p}.rs"), Some(item.to_owned())),
        None => (text.to_owned(), None),
    };
    let rooted = TOP.iter().any(|t| path.starts_with(t));
    let rust = path.ends_with(".rs")
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./*".contains(c));
    (rooted || rust).then_some((path, item))
}

/// Whether `pattern` (components may hold `*`) matches the path `candidate`.
fn glob_match(pattern: &str, candidate: &str) -> bool {
    fn part(p: &str, c: &str) -> bool {
        match p.split_once('*') {
            None => p == c,
            Some((head, tail)) => {
                c.len() >= head.len() + tail.len() && c.starts_with(head) && c.ends_with(tail)
            }
        }
    }
    let p: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let c: Vec<&str> = candidate.split('/').collect();
    p.len() == c.len() && p.iter().zip(&c).all(|(p, c)| part(p, c))
}

/// Every file and directory of the project (relative, `/`-separated), for globs and suffixes.
fn all_paths(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for top in [
        "crates", "plugins", "xtask", "docs", "examples", ".ci", ".cargo",
    ] {
        walk(&root.join(top), &mut files);
    }
    let mut paths: Vec<String> = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .expect("under the root")
            .to_string_lossy()
            .replace('\\', "/");
        let mut dir = rel.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            paths.push(parent.to_owned());
            dir = parent;
        }
        paths.push(rel);
    }
    paths.sort();
    paths.dedup();
    paths
}

/// Where a path span points: one existing path, or `Err` saying why not.
fn resolve(
    root: &Path,
    all: &[String],
    path: &str,
    section: Option<&str>,
) -> Result<String, String> {
    let rooted = TOP.iter().any(|t| path.starts_with(t));
    if path.contains('*') {
        let pattern = if rooted {
            path.to_owned()
        } else {
            format!("{}/{path}", section.unwrap_or("*"))
        };
        return all
            .iter()
            .find(|p| glob_match(&pattern, p))
            .cloned()
            .ok_or_else(|| format!("nothing matches `{pattern}`"));
    }
    if rooted {
        let trimmed = path.trim_end_matches('/');
        return if root.join(trimmed).exists() {
            Ok(trimmed.to_owned())
        } else {
            Err(format!("`{path}` does not exist"))
        };
    }
    // A file named within its crate's section (`pipeline.rs`, `src/lint/mod.rs`): it must be
    // in that crate; outside a crate's section, somewhere in the project.
    let suffix = format!("/{path}");
    let within: Vec<&String> = all
        .iter()
        .filter(|p| p.ends_with(&suffix))
        .filter(|p| section.is_none_or(|s| p.starts_with(&format!("{s}/"))))
        .collect();
    match (within.as_slice(), section) {
        ([], Some(s)) => Err(format!("`{path}` is not a file of `{s}`")),
        ([], None) => Err(format!("`{path}` is not a file of the project")),
        ([one], _) => Ok((*one).clone()),
        (many, _) => {
            // Prefer `src/` (the module map), then the shortest.
            let best = many
                .iter()
                .find(|p| p.contains("/src/"))
                .unwrap_or(&many[0]);
            Ok((*best).clone())
        }
    }
}

/// Whether `source` defines `item` (a function, type, module, constant or macro).
fn defines(source: &str, item: &str) -> bool {
    let name = item.rsplit("::").next().unwrap_or(item);
    let name = name.trim_end_matches("()");
    const KINDS: &[&str] = &[
        "fn ",
        "struct ",
        "enum ",
        "trait ",
        "mod ",
        "const ",
        "static ",
        "type ",
        "macro_rules! ",
        "union ",
    ];
    source.lines().any(|line| {
        let line = line.trim_start();
        KINDS.iter().any(|kind| {
            line.match_indices(kind).any(|(at, _)| {
                let before_ok = at == 0 || line[..at].ends_with(' ');
                let rest = &line[at + kind.len()..];
                before_ok
                    && rest.starts_with(name)
                    && !rest[name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
    })
}

/// Whether `source` has `#[test]` (or `#[tokio::test]`, …) on `fn name`.
fn defines_test(source: &str, name: &str) -> bool {
    let lines: Vec<&str> = source.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        let line = line.trim_start();
        let def = ["fn ", "async fn ", "pub fn ", "pub async fn "]
            .iter()
            .any(|kind| {
                line.strip_prefix(kind).is_some_and(|rest| {
                    rest.strip_prefix(name)
                        .is_some_and(|after| after.starts_with(['(', '<']))
                })
            });
        def && lines[..i]
            .iter()
            .rev()
            .map(|l| l.trim_start())
            .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
            .any(|l| l.starts_with("#[") && l.contains("test"))
    })
}

/// Problems with the paths (and `file.rs::item`s) the map names.
fn path_problems(root: &Path, map: &str) -> (usize, Vec<String>) {
    let all = all_paths(root);
    let mut checked = 0;
    let mut problems = Vec::new();
    for span in spans(map) {
        let Some((path, item)) = as_path(&span.text) else {
            continue;
        };
        checked += 1;
        match resolve(root, &all, &path, span.section.as_deref()) {
            Err(why) => problems.push(format!(
                "{MAP}:{}: {why}; name a path that exists, or remove what is gone",
                span.line
            )),
            Ok(found) => {
                if let Some(item) = item
                    && !defines(&read(&root.join(&found)), &item)
                {
                    problems.push(format!(
                        "{MAP}:{}: `{}` names `{item}`, which `{found}` does not define; rename it or point to where it lives now",
                        span.line, span.text
                    ));
                }
            }
        }
    }
    (checked, problems)
}

/// Files whose first non-empty line is not a `//!` module header.
fn header_problems(root: &Path) -> (usize, Vec<String>) {
    let files = rust_files(root);
    let missing = files
        .iter()
        .filter(|f| {
            let text = read(&root.join(f));
            let first = text.lines().map(str::trim).find(|l| !l.is_empty());
            !first.is_some_and(|l| l.starts_with("//!"))
        })
        .cloned()
        .collect();
    (files.len(), missing)
}

/// One numbered item of the map's "Invariants" section: its first line and its text.
struct Invariant {
    line: usize,
    title: String,
    text: String,
}

fn invariants(map: &str) -> Vec<Invariant> {
    let mut out: Vec<Invariant> = Vec::new();
    let mut inside = false;
    for (i, line) in map.lines().enumerate() {
        if line.starts_with("## ") {
            inside = line.trim() == "## Invariants";
            continue;
        }
        if !inside {
            continue;
        }
        let numbered = line
            .split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if numbered {
            let title: String = line.chars().take(70).collect();
            out.push(Invariant {
                line: i + 1,
                title,
                text: String::new(),
            });
        }
        if let Some(item) = out.last_mut() {
            item.text.push_str(line);
            item.text.push('\n');
        }
    }
    out
}

/// Problems with the invariants' `Tested by:` lines.
fn invariant_problems(root: &Path, map: &str) -> (usize, Vec<String>) {
    let items = invariants(map);
    let mut problems = Vec::new();
    for inv in &items {
        let Some((_, tested)) = inv.text.split_once("Tested by:") else {
            problems.push(format!(
                "{MAP}:{}: invariant `{}` has no `Tested by:` line; add one naming the tests (`path/to/file.rs::test_fn`) that fail when it breaks",
                inv.line, inv.title
            ));
            continue;
        };
        let named: Vec<&str> = tested
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|s| s.contains(".rs::"))
            .collect();
        if named.is_empty() {
            problems.push(format!(
                "{MAP}:{}: the `Tested by:` line of `{}` names no test; write each as `crates/…/tests/file.rs::test_fn`",
                inv.line, inv.title
            ));
        }
        for test in named {
            let (file, name) = test.split_once(".rs::").expect("filtered on `.rs::`");
            let file = format!("{file}.rs");
            if !TOP.iter().any(|t| file.starts_with(t)) {
                problems.push(format!(
                    "{MAP}:{}: `{test}`: give the test's file from the repository root (`crates/…/tests/{file}`)",
                    inv.line
                ));
                continue;
            }
            let path = root.join(&file);
            if !path.is_file() {
                problems.push(format!(
                    "{MAP}:{}: `{test}`: `{file}` does not exist; point to the file the test lives in now",
                    inv.line
                ));
                continue;
            }
            if !defines_test(&read(&path), name) {
                problems.push(format!(
                    "{MAP}:{}: `{test}`: `{file}` has no `#[test] fn {name}`; name a test that exists (grep `fn {name}`), or write it",
                    inv.line
                ));
            }
        }
    }
    (items.len(), problems)
}

fn fail(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what} ({} problem(s)):\n  {}\n",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn the_architecture_map_names_only_paths_that_exist() {
    let root = root();
    let (checked, problems) = path_problems(&root, &read(&root.join(MAP)));
    assert!(
        checked > 20,
        "{MAP}: only {checked} paths found in backticks; did the map's format change? (tidy reads inline `code` spans outside fenced blocks)"
    );
    fail(
        &format!("{MAP} names paths or items that do not exist"),
        &problems,
    );
}

#[test]
fn every_rust_file_starts_with_a_module_header() {
    let root = root();
    let (checked, missing) = header_problems(&root);
    assert!(
        checked > 50,
        "only {checked} .rs files found under {root:?}"
    );
    fail(
        "these .rs files do not start with a `//!` module header; add one (its first non-empty line) saying what the module is for and why it is separate",
        &missing,
    );
}

#[test]
fn every_invariant_names_tests_that_exist() {
    let root = root();
    let (count, problems) = invariant_problems(&root, &read(&root.join(MAP)));
    assert!(
        count > 0,
        "{MAP}: no numbered items under `## Invariants`; tidy expects `1. **…**` items each with a `Tested by:` line"
    );
    fail(&format!("{MAP}: invariants without real tests"), &problems);
}

/// The checks themselves, on a made-up map: each kind of mistake is caught.
#[test]
fn tidy_catches_each_kind_of_mistake() {
    let root = root();
    let map = "\
# Architecture

See `crates/pmhlink-runner/src/pipeline.rs` and `crates/no-such-crate/`.

### `crates/pmhlink-runner`

`pipeline.rs` runs a day; `no_such_module.rs` does not exist; `conclude.rs::conclude` ends it;
`conclude.rs::no_such_fn` does not.

## Invariants

1. **Stated and tested.**
   Tested by: `crates/pmhlink/tests/day_truth.rs::a_resumed_or_re_run_day_reports_what_the_uninterrupted_day_reports`.
2. **Stated only.**
3. **Tested by a test that is gone.**
   Tested by: `crates/pmhlink/tests/day_truth.rs::no_such_test`.
";
    let (_, paths) = path_problems(&root, map);
    // The gone test is a missing item to the path check too.
    assert_eq!(paths.len(), 4, "{paths:#?}");
    assert!(paths[0].contains("crates/no-such-crate/"), "{}", paths[0]);
    assert!(paths[1].contains("no_such_module.rs"), "{}", paths[1]);
    assert!(paths[2].contains("no_such_fn"), "{}", paths[2]);
    assert!(paths[3].contains("no_such_test"), "{}", paths[3]);
    let (count, invariants) = invariant_problems(&root, map);
    assert_eq!(count, 3);
    assert_eq!(invariants.len(), 2, "{invariants:#?}");
    assert!(
        invariants[0].contains("no `Tested by:`"),
        "{}",
        invariants[0]
    );
    assert!(invariants[1].contains("no_such_test"), "{}", invariants[1]);
}
