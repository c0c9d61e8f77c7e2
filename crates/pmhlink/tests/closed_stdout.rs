//! A reader that went away (`pmhlink run … | head`) never turns a command into a crash: with
//! stdout (or stderr) a pipe whose read end is already closed, every subcommand exits with the
//! status it has with the stream open, never 101, and never says "panicked".
//!
//! Stateful commands run on twin towns (the same generated exports, each with its own ledger):
//! one sees every command with stdout open, the other with stdout closed, in the same order,
//! and both end up holding the same.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use common::pmhlink;
use common::town::{Pmh, Town, payloads};

const DAY: &str = "2025-06-02";
const RUN: &str = "139998-20250602-pipeline";

/// The write end of a pipe whose read end is closed: every write fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Stdio::from(writer)
}

/// Builds one case's command afresh (each case runs twice).
type CommandFor<'a> = Box<dyn Fn() -> Command + 'a>;

#[derive(Clone, Copy, PartialEq)]
enum Closed {
    Stdout,
    Stderr,
}

struct Seen {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn spawn(cmd: &mut Command, closed: Option<Closed>) -> Seen {
    let (stdout, stderr) = match closed {
        None => (Stdio::piped(), Stdio::piped()),
        Some(Closed::Stdout) => (closed_pipe(), Stdio::piped()),
        Some(Closed::Stderr) => (Stdio::piped(), closed_pipe()),
    };
    let out = cmd
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .output()
        .expect("pmhlink runs");
    Seen {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `open` with both streams captured and `closed` with one stream closed, and asserts
/// the same exit status, not 101, no panic message. `writes` says the command prints to the
/// closed stream when it is open (so the case tests something).
fn same(label: &str, open: &mut Command, closed: &mut Command, stream: Closed, writes: bool) {
    let with = spawn(open, None);
    let without = spawn(closed, Some(stream));
    let wrote = match stream {
        Closed::Stdout => &with.stdout,
        Closed::Stderr => &with.stderr,
    };
    assert_eq!(
        !wrote.is_empty(),
        writes,
        "{label}: output with the stream open:\n{}{}",
        with.stdout,
        with.stderr
    );
    for seen in [&with, &without] {
        assert!(
            !seen.stderr.contains("panicked"),
            "{label}: {}",
            seen.stderr
        );
        assert_ne!(seen.status.code(), Some(101), "{label}: {}", seen.stderr);
    }
    assert_eq!(
        with.status, without.status,
        "{label}: exit status with the stream closed\n{}",
        without.stderr
    );
}

/// One command, run twice the same way (it changes nothing that the second run would see).
fn same_twice(label: &str, make: impl Fn() -> Command, stream: Closed, writes: bool) {
    same(label, &mut make(), &mut make(), stream, writes);
}

/// What a town's ledger holds, without where the ledger is or when each batch moved (the
/// twins run a second apart).
fn held(town: &Town) -> serde_json::Value {
    let mut holdings = town.holdings();
    let o = holdings.as_object_mut().unwrap();
    o.remove("ledger");
    for batch in o["awaiting_results"].as_array_mut().unwrap() {
        let b = batch.as_object_mut().unwrap();
        for at in ["staged_at", "delivered_at", "settled_at"] {
            b.remove(at);
        }
    }
    holdings
}

fn on(town: &Town, args: &[&str]) -> Command {
    let mut cmd = pmhlink();
    cmd.args(args.iter().take(1))
        .arg(town.path("pipeline.toml"))
        .args(args.iter().skip(1));
    cmd
}

fn lint(file: &Path, extra: &[&str]) -> Command {
    let mut cmd = pmhlink();
    cmd.args([
        "lint",
        "--api",
        "E06",
        "--today",
        DAY,
        "--municipality",
        "139998",
    ])
    .args(extra)
    .arg(file);
    cmd
}

/// A copy of a payload in which every My Number has a wrong check digit: a finding per record.
fn broken_payload(payload: &Path, dir: &Path) -> PathBuf {
    let mut records: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(payload).unwrap()).unwrap();
    for r in &mut records {
        r["myNumber"] = "123456789010".into();
    }
    let file = dir.join("broken.json");
    std::fs::write(&file, serde_json::to_vec(&records).unwrap()).unwrap();
    file
}

#[test]
fn every_subcommand_survives_a_closed_stdout() {
    let open = Town::new(60, 5, 20);
    let closed = open.fresh_copy();
    let both = |label: &str, args: &[&str], writes: bool| {
        same(
            label,
            &mut on(&open, args),
            &mut on(&closed, args),
            Closed::Stdout,
            writes,
        );
    };

    both("check", &["check"], true);
    both("config", &["config"], true);
    both("config --json", &["config", "--json"], true);
    both("plan", &["plan", "--date", DAY], true);
    both("run", &["run", "--date", DAY], true);
    for town in [&open, &closed] {
        assert!(
            town.path(&format!("outbox/{RUN}/manifest.json")).exists(),
            "delivered with stdout closed too"
        );
    }
    both("run again (no-op)", &["run", "--date", DAY], true);
    both("status", &["status"], true);
    both("status --json", &["status", "--json"], true);

    let results: Vec<Vec<PathBuf>> = [&open, &closed]
        .iter()
        .map(|t| Pmh::default().take(&t.path(&format!("outbox/{RUN}")), &[], &t.path("results")))
        .collect();
    assert!(
        results[0].len() > 1,
        "several batches, several result files"
    );
    same(
        "results import",
        on(&open, &["results"]).arg("import"),
        on(&closed, &["results"]).arg("import"),
        Closed::Stdout,
        false,
    );
    let import = |town: &Town, files: &[PathBuf]| {
        let mut cmd = pmhlink();
        cmd.args(["results", "import"])
            .arg(town.path("pipeline.toml"))
            .args(files);
        cmd
    };
    same(
        "results import FILE…",
        &mut import(&open, &results[0]),
        &mut import(&closed, &results[1]),
        Closed::Stdout,
        true,
    );
    assert_eq!(held(&open), held(&closed));
    both("results (poll)", &["results"], true);
    both("results --json", &["results", "--json"], true);
    both(
        "reset --yes",
        &["reset", "--date", "2025-06-03", "--yes"],
        true,
    );
    assert_eq!(held(&open), held(&closed));

    let payload = payloads(&open.path(&format!("outbox/{RUN}")))[0].clone();
    same_twice("lint", || lint(&payload, &[]), Closed::Stdout, true);
    same_twice(
        "lint --json",
        || lint(&payload, &["--json"]),
        Closed::Stdout,
        true,
    );
    let broken = broken_payload(&payload, open.dir.path());
    same_twice("lint (errors)", || lint(&broken, &[]), Closed::Stdout, true);
    same_twice(
        "lint --json (errors)",
        || lint(&broken, &["--json"]),
        Closed::Stdout,
        true,
    );
    same_twice(
        "lint (unreadable)",
        || lint(&open.path("missing.json"), &[]),
        Closed::Stdout,
        false,
    );

    let fixed = |args: &'static [&'static str]| {
        move || {
            let mut cmd = pmhlink();
            cmd.args(args);
            cmd
        }
    };
    same_twice("plugins", fixed(&["plugins"]), Closed::Stdout, true);
    same_twice(
        "plugins --json",
        fixed(&["plugins", "--json"]),
        Closed::Stdout,
        true,
    );
    same_twice("schema", fixed(&["schema"]), Closed::Stdout, true);
    same_twice("profile", fixed(&["profile"]), Closed::Stdout, true);
    same_twice(
        "profile --pipeline",
        || {
            let mut cmd = pmhlink();
            cmd.args(["profile", "--pipeline"])
                .arg(open.path("pipeline.toml"));
            cmd
        },
        Closed::Stdout,
        true,
    );
    same_twice("--help", fixed(&["--help"]), Closed::Stdout, true);
    same_twice("--version", fixed(&["--version"]), Closed::Stdout, true);
    same_twice("no subcommand", fixed(&[]), Closed::Stdout, false);
    for sub in [
        "lint", "run", "plan", "check", "plugins", "init", "schema", "reset", "status", "mock-hub",
        "results", "profile",
    ] {
        same_twice(
            &format!("{sub} --help"),
            || {
                let mut cmd = pmhlink();
                cmd.args([sub, "--help"]);
                cmd
            },
            Closed::Stdout,
            true,
        );
    }
    // The emulator writes only to stderr; an address it cannot listen on ends it at once.
    same_twice(
        "mock-hub (bad address)",
        fixed(&["mock-hub", "--listen", "not-an-address"]),
        Closed::Stdout,
        false,
    );
    same(
        "init",
        pmhlink().arg("init").arg(open.path("starter-a.toml")),
        pmhlink().arg("init").arg(open.path("starter-b.toml")),
        Closed::Stdout,
        true,
    );
    assert!(open.path("starter-b.toml").exists());
    same_twice(
        "run (no such pipeline)",
        || {
            let mut cmd = pmhlink();
            cmd.arg("run").arg(open.path("missing.toml"));
            cmd
        },
        Closed::Stdout,
        false,
    );
}

/// stderr is written the same careful way: the failures it reports keep their exit status.
#[test]
fn commands_survive_a_closed_stderr() {
    let town = Town::new(30, 6, 1000);
    // The first run creates the ledger key and says so on stderr.
    assert_eq!(town.run(DAY, &[]).status, 0);
    let broken = town.path("broken.json");
    std::fs::write(&broken, b"{\"taskId\": 1").unwrap();
    let cases: Vec<(&str, CommandFor<'_>, bool)> = vec![
        (
            "run (done day)",
            Box::new(|| on(&town, &["run", "--date", DAY])),
            false,
        ),
        (
            "run (no such pipeline)",
            Box::new(|| {
                let mut cmd = pmhlink();
                cmd.arg("run").arg(town.path("missing.toml"));
                cmd
            }),
            true,
        ),
        (
            "results import (broken file)",
            Box::new(|| {
                let mut cmd = on(&town, &["results"]);
                cmd.arg("import").arg(&broken);
                cmd
            }),
            true,
        ),
        (
            "lint (unreadable)",
            Box::new(|| lint(&town.path("missing.json"), &[])),
            true,
        ),
        (
            "profile --pipeline (no such pipeline)",
            Box::new(|| {
                let mut cmd = pmhlink();
                cmd.args(["profile", "--pipeline"])
                    .arg(town.path("missing.toml"));
                cmd
            }),
            true,
        ),
        (
            "plugins (a directory that is not one)",
            Box::new(|| {
                let mut cmd = pmhlink();
                cmd.args(["plugins", "--dir"]).arg(town.path("missing"));
                cmd
            }),
            true,
        ),
        (
            "mock-hub (bad address)",
            Box::new(|| {
                let mut cmd = pmhlink();
                cmd.args(["mock-hub", "--listen", "not-an-address"]);
                cmd
            }),
            true,
        ),
        (
            "unknown argument",
            Box::new(|| {
                let mut cmd = pmhlink();
                cmd.arg("--no-such-flag");
                cmd
            }),
            true,
        ),
    ];
    for (label, make, writes) in &cases {
        same_twice(label, make, Closed::Stderr, *writes);
    }
}
