//! A generated municipality through the real `pmhlink` binary and the real plugin libraries:
//! CP932 CSV + CP932 fixed-width + 支援措置 list in, payload files + manifest + report +
//! quarantine list out, checked record by record against what the generator says PMH must
//! receive. Then every kind of bad input, with its exit status and nothing half-written.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{Run, ensure_plugins, pmhlink, run};
use pmhlink_model::Record;
use pmhlink_profile::read::read_payload;
use pmhlink_profile::{ApiId, Layout, Profile};
use pmhlink_synth::{Synth, SynthConfig};
use serde::Deserialize;

const PIPELINE: &str = include_str!("../../../examples/sakurano/pipeline.toml");
const DATE: &str = "2025-06-01";

struct Municipality {
    dir: tempfile::TempDir,
}

impl Municipality {
    fn new(certificates: u64, dirty: f64) -> Municipality {
        ensure_plugins();
        let dir = tempfile::tempdir().unwrap();
        let synth = Synth::new(SynthConfig {
            seed: 11,
            certificates,
            dirty,
            ..SynthConfig::default()
        });
        pmhlink_synth::files::write_dir(&synth, &dir.path().join("data"), &mut []).unwrap();
        std::fs::write(dir.path().join("pipeline.toml"), PIPELINE).unwrap();
        Municipality { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn edit_pipeline(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.path("pipeline.toml")).unwrap();
        assert!(text.contains(from), "pipeline has no `{from}`");
        std::fs::write(self.path("pipeline.toml"), text.replacen(from, to, 1)).unwrap();
    }

    fn pmhlink(&self, command: &str) -> Run {
        let mut cmd = pmhlink();
        cmd.arg(command).arg(self.path("pipeline.toml"));
        if command != "check" {
            cmd.args(["--date", DATE, "--quiet"]);
        }
        run(&mut cmd)
    }

    /// Every file under `outbox/`, relative; partial run folders would show here too.
    fn outbox(&self) -> Vec<String> {
        let root = self.path("outbox");
        let mut found = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                }
                found.push(e.path().strip_prefix(&root).unwrap().display().to_string());
            }
        }
        found.sort();
        found
    }

    fn report(&self, name: &str) -> serde_json::Value {
        let dirs: Vec<_> = std::fs::read_dir(self.path("reports"))
            .unwrap()
            .flatten()
            .collect();
        assert_eq!(dirs.len(), 1);
        serde_json::from_slice(&std::fs::read(dirs[0].path().join(name)).unwrap()).unwrap()
    }
}

#[derive(Deserialize)]
struct Expected {
    record: Record,
    quarantine: Option<String>,
}

fn expected(m: &Municipality) -> Vec<Expected> {
    std::fs::read_to_string(m.path("data/expected.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sent_records(dir: &Path) -> Vec<Record> {
    let layout = Layout::new(&Profile::builtin(), ApiId::E06).unwrap();
    let mut records = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for f in files
        .iter()
        .filter(|f| f.extension().is_some_and(|x| x == "json") && !f.ends_with("manifest.json"))
    {
        read_payload(&layout, std::fs::File::open(f).unwrap(), |_, d| {
            assert!(d.findings.is_empty(), "{:?}", d.findings);
            records.push(d.record.unwrap());
        })
        .unwrap();
    }
    records
}

#[test]
fn generated_exports_become_exactly_the_expected_records() {
    let m = Municipality::new(1500, 0.05);
    let out = m.pmhlink("run");
    assert_eq!(
        out.status, 3,
        "some records are quarantined by design\n{}{}",
        out.stdout, out.stderr
    );

    let expected = expected(&m);
    let run_dir = std::fs::read_dir(m.path("outbox"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let sent = sent_records(&run_dir);
    let mut truth: HashMap<String, &Record> = expected
        .iter()
        .filter(|e| e.quarantine.is_none())
        .map(|e| (e.record.history.as_ref().unwrap().key.clone(), &e.record))
        .collect();
    for r in &sent {
        let key = &r.history.as_ref().unwrap().key;
        let Some(want) = truth.remove(key) else {
            let e = expected
                .iter()
                .find(|e| e.record.history.as_ref().is_some_and(|h| &h.key == key));
            panic!(
                "history key {key} was sent but should have been quarantined with {:?}",
                e.and_then(|e| e.quarantine.clone())
            );
        };
        assert_eq!(r, want, "history key {key}");
    }
    assert!(
        truth.is_empty(),
        "not sent: {:?}",
        truth.keys().collect::<Vec<_>>()
    );

    let report = m.report("report.json");
    let quarantined = expected.iter().filter(|e| e.quarantine.is_some()).count() as u64;
    assert_eq!(report["records"]["quarantined"], quarantined);
    assert_eq!(report["records"]["clean"], sent.len() as u64);
    assert_eq!(
        report["diff"]["register"],
        sent.len() as u64,
        "a first run registers every row"
    );
    assert_eq!(report["diff"]["sent"], sent.len() as u64);
    assert_eq!(report["outcome"], "sent_with_quarantine");
    let csv = std::fs::read_to_string(m.path(&format!(
        "reports/{}/quarantine.csv",
        report["run_id"].as_str().unwrap()
    )))
    .unwrap();
    assert!(
        csv.starts_with("\u{feff}ソース,行,履歴キー,個人番号(下4桁)"),
        "Excel-ready header"
    );
    for e in expected.iter().filter(|e| e.quarantine.is_some()) {
        let mn = e.record.person.my_number.expose();
        assert!(
            !csv.contains(mn.as_str()),
            "a quarantine list never shows a whole My Number"
        );
    }

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["records"], sent.len() as u64);
    assert_eq!(manifest["api"], "E06");
    assert!(
        manifest["files"].as_array().is_some_and(
            |f| !f.is_empty() && f[0]["sha256"].as_str().is_some_and(|s| s.len() == 64)
        )
    );

    let payload = run_dir.join("E06-0000.json");
    let site = m.path("site.toml");
    std::fs::write(&site, toml_site()).unwrap();
    let lint = run(pmhlink()
        .args([
            "lint",
            "--api",
            "E06",
            "--today",
            DATE,
            "--municipality",
            "139998",
            "--site",
        ])
        .arg(&site)
        .arg(&payload));
    assert_eq!(
        lint.status, 0,
        "what the file sink wrote passes lint\n{}{}",
        lint.stdout, lint.stderr
    );
}

fn toml_site() -> String {
    let m = pmhlink_synth::Municipality::sakurano();
    toml::to_string(&m.site_tables()).unwrap()
}

#[test]
fn plan_and_check_deliver_nothing() {
    let m = Municipality::new(200, 0.0);
    let check = m.pmhlink("check");
    assert_eq!(check.status, 0, "{}{}", check.stdout, check.stderr);
    let plan = run(pmhlink()
        .arg("plan")
        .arg(m.path("pipeline.toml"))
        .args(["--date", DATE]));
    assert_eq!(plan.status, 0, "{}{}", plan.stdout, plan.stderr);
    assert!(
        plan.stdout.contains("送信") && plan.stdout.contains("計画のみ"),
        "{}",
        plan.stdout
    );
    assert_eq!(m.outbox(), Vec::<String>::new(), "plan delivers nothing");
    assert_eq!(m.report("report-plan.json")["outcome"], "planned");
}

fn corrupt(path: &Path, edit: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    edit(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

fn line_start(bytes: &[u8], line: usize) -> usize {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(line - 2)
        .unwrap()
        .0
        + 1
}

#[test]
fn a_broken_cp932_byte_quarantines_its_row_only() {
    let m = Municipality::new(100, 0.0);
    // Line 3's first cell gets a lead byte followed by a byte no CP932 trail can be.
    corrupt(&m.path("data/subsidy.csv"), |b| {
        let at = line_start(b, 3);
        b[at] = 0x81;
        b[at + 1] = 0x20;
    });
    let out = m.pmhlink("run");
    assert_eq!(out.status, 3, "{}{}", out.stdout, out.stderr);
    let report = m.report("report.json");
    assert_eq!(
        report["findings_by_code"]["source-row-unreadable"]["count"],
        1
    );
    assert_eq!(report["sources"][0]["unreadable_rows"], 1);
    let csv = std::fs::read_to_string(m.path(&format!(
        "reports/{}/quarantine.csv",
        report["run_id"].as_str().unwrap()
    )))
    .unwrap();
    assert!(
        csv.contains("subsidy,3,"),
        "the row is named by its line:\n{csv}"
    );
}

#[test]
fn a_short_fixed_width_line_quarantines_that_persons_certificates() {
    let m = Municipality::new(100, 0.0);
    corrupt(&m.path("data/residents.dat"), |b| {
        let at = line_start(b, 3);
        b.drain(at + 150..at + 211);
    });
    let out = m.pmhlink("run");
    assert_eq!(out.status, 3, "{}{}", out.stdout, out.stderr);
    let report = m.report("report.json");
    assert_eq!(report["sources"][1]["unreadable_rows"], 1);
    // Its key (bytes 1..11) is still there: the person's records are told their row could not
    // be read, rather than that they have none.
    assert!(
        report["findings_by_code"]["join-row-unreadable"]["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("{report:#}"))
            >= 1
    );
    let csv = std::fs::read_to_string(m.path(&format!(
        "reports/{}/quarantine.csv",
        report["run_id"].as_str().unwrap()
    )))
    .unwrap();
    assert!(
        csv.contains("residents,3,"),
        "the unreadable joined row is listed by its line:\n{csv}"
    );
}

#[test]
fn a_duplicate_certificate_row_is_quarantined_not_sent_twice() {
    let m = Municipality::new(50, 0.0);
    corrupt(&m.path("data/subsidy.csv"), |b| {
        let (start, end) = (line_start(b, 2), line_start(b, 3));
        let row = b[start..end].to_vec();
        b.extend_from_slice(&row);
    });
    let out = m.pmhlink("run");
    assert_eq!(out.status, 3, "{}{}", out.stdout, out.stderr);
    assert_eq!(
        m.report("report.json")["findings_by_code"]["duplicate-record"]["count"],
        1
    );
}

#[test]
fn a_missing_join_column_is_a_configuration_error_naming_the_key() {
    let m = Municipality::new(20, 0.0);
    m.edit_pipeline("right = \"宛名番号\"", "right = \"宛名番号X\"");
    let out = m.pmhlink("run");
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("joins[0].right") && out.stderr.contains("宛名番号X"),
        "{}",
        out.stderr
    );
    // The fixed-width layout declares every field, so naming them quotes no file.
    assert!(
        out.stderr.contains(
            "(file data/residents.dat) has 7 columns, as its settings declare: 宛名番号,"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(m.outbox(), Vec::<String>::new());
}

/// Every cell of a CP932 CSV's first `lines` lines that could identify someone (four
/// characters or more: numbers, names, dates, addresses).
fn cells_of(path: &Path, lines: usize) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&bytes);
    text.lines()
        .take(lines)
        .flat_map(|l| l.split(',').map(|c| c.trim_matches('"').to_owned()))
        .filter(|c| c.chars().count() >= 4)
        .collect()
}

/// The ways a file can be other than the pipeline says, and every output of `check` and `run`
/// (stdout, stderr, report, quarantine list) scanned for the file's content.
#[test]
fn no_message_quotes_a_file_that_is_not_what_the_pipeline_says() {
    for case in [
        "header line missing",
        "another export named",
        "one huge line",
    ] {
        let m = Municipality::new(20, 0.0);
        let subsidy = m.path("data/subsidy.csv");
        match case {
            "header line missing" => corrupt(&subsidy, |b| {
                let start = line_start(b, 2);
                b.drain(..start);
            }),
            "another export named" => m.edit_pipeline(
                "path = \"data/subsidy.csv\"",
                "path = \"data/residents.dat\"",
            ),
            _ => corrupt(&subsidy, |b| {
                let start = line_start(b, 2);
                b.drain(..start);
                b.retain(|&c| c != b'\r' && c != b'\n');
                let row = b.clone();
                while b.len() < 2 << 20 {
                    b.extend_from_slice(&row);
                }
            }),
        }
        let read = if case == "another export named" {
            m.path("data/residents.dat")
        } else {
            subsidy.clone()
        };
        let mut secrets = cells_of(&read, 2);
        if case == "another export named" {
            // The fixed-width layout: 宛名番号 at bytes 1..11 and 個人番号 at 11..23 (ASCII),
            // then the name and the rest, padded with spaces.
            let bytes = std::fs::read(&read).unwrap();
            for line in bytes
                .split(|&b| b == b'\n')
                .take(3)
                .filter(|l| l.len() > 23)
            {
                secrets.push(String::from_utf8(line[1..11].to_vec()).unwrap());
                secrets.push(String::from_utf8(line[11..23].to_vec()).unwrap());
                let (rest, _, _) = encoding_rs::SHIFT_JIS.decode(&line[23..]);
                secrets.extend(
                    rest.split_whitespace()
                        .filter(|c| c.chars().count() >= 2)
                        .map(str::to_owned),
                );
            }
        }
        assert!(
            !secrets.is_empty(),
            "{case}: the file has content to look for"
        );
        for command in ["check", "run"] {
            let out = m.pmhlink(command);
            assert_eq!(
                out.status, 2,
                "{case} {command}: {}{}",
                out.stdout, out.stderr
            );
            assert!(
                out.stderr.contains("subsidy") && out.stderr.contains("columns"),
                "{case} {command}: names the source and what it has: {}",
                out.stderr
            );
            assert!(
                out.stderr.len() < 2000,
                "{case} {command}: a bounded message, {} bytes",
                out.stderr.len()
            );
            let mut seen = format!("{}{}", out.stdout, out.stderr);
            for e in std::fs::read_dir(m.path("reports"))
                .into_iter()
                .flatten()
                .flatten()
            {
                for f in std::fs::read_dir(e.path()).unwrap().flatten() {
                    seen.push_str(&String::from_utf8_lossy(&std::fs::read(f.path()).unwrap()));
                }
            }
            for secret in &secrets {
                assert!(
                    !seen.contains(secret.as_str()),
                    "{case} {command}: file content in the output"
                );
            }
        }
        assert_eq!(m.outbox(), Vec::<String>::new(), "{case}");
    }
}

#[test]
fn an_unknown_plugin_is_a_configuration_error() {
    let m = Municipality::new(20, 0.0);
    m.edit_pipeline("plugin = \"fixed-width\"", "plugin = \"fixed-widht\"");
    let out = m.pmhlink("check");
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("fixed-widht") && out.stderr.contains("`fixed-width`"),
        "{}",
        out.stderr
    );
}

/// A plugin refusing its settings is reported at the key of the pipeline file (not at a position
/// in the JSON the host hands the plugin), for a source and for a sink, and exits 2.
#[test]
fn a_plugin_settings_error_names_its_key_in_the_pipeline_file() {
    let cases = [
        (
            "encoding = \"cp932\"\nrecord_length = 211",
            "encoding = \"cp932\"\nrecord_length = \"211\"",
            "config error at sources.residents.config.record_length",
        ),
        (
            "dir = \"outbox\"",
            "dir = \"outbox\"\nfile_name = \"{api}-{date}.{ext}\"",
            "config error at sinks[0].config.file_name",
        ),
    ];
    for (from, to, expected) in cases {
        let m = Municipality::new(5, 0.0);
        m.edit_pipeline(from, to);
        let out = m.pmhlink("check");
        assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(expected), "{}", out.stderr);
        assert!(!out.stderr.contains("column"), "{}", out.stderr);
    }
}

#[test]
fn an_empty_export_aborts_and_sends_nothing() {
    let m = Municipality::new(20, 0.0);
    corrupt(&m.path("data/subsidy.csv"), |b| {
        let end = line_start(b, 2);
        b.truncate(end);
    });
    let out = m.pmhlink("run");
    assert_eq!(out.status, 4, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("no rows"), "{}", out.stdout);
    assert_eq!(
        m.outbox(),
        Vec::<String>::new(),
        "nothing half-written stays in the outbox"
    );
    assert_eq!(m.report("report.json")["outcome"], "aborted");
}

#[test]
fn a_panicking_plugin_aborts_the_run_and_sends_nothing() {
    let m = Municipality::new(20, 0.0);
    let header = pmhlink_synth::SUBSIDY_HEADER
        .map(|c| format!("\"{c}\""))
        .join(", ");
    m.edit_pipeline(
        "[sources.subsidy]\nplugin = \"csv\"",
        &format!("[sources.subsidy]\nplugin = \"echo\"\nprimary = true\nconfig = {{ columns = [{header}], rows = [], panic_on_read = true }}\n[sources.unused]\nplugin = \"csv\""),
    );
    let text = std::fs::read_to_string(m.path("pipeline.toml")).unwrap();
    // The csv settings that followed now belong to the unused source; drop it entirely.
    let start = text.find("[sources.unused]").unwrap();
    let end = start + text[start..].find("[sources.residents]").unwrap();
    std::fs::write(
        m.path("pipeline.toml"),
        format!("{}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    let out = m.pmhlink("run");
    assert_eq!(out.status, 4, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("panicked") && out.stdout.contains("echo"),
        "{}",
        out.stdout
    );
    assert_eq!(m.outbox(), Vec::<String>::new());
}

#[test]
fn a_second_run_of_the_same_day_is_a_no_op_and_keeps_the_first_report() {
    let m = Municipality::new(30, 0.0);
    assert_eq!(m.pmhlink("run").status, 0);
    let again = m.pmhlink("run");
    assert_eq!(
        again.status, 0,
        "the day is done: nothing to do\n{}",
        again.stdout
    );
    assert_eq!(
        m.report("report.json")["outcome"],
        "sent",
        "the first attempt's report is kept"
    );
    assert_eq!(m.report("report.2.json")["outcome"], "already_done");
    let delivered: Vec<String> = m
        .outbox()
        .into_iter()
        .filter(|f| !f.contains('/'))
        .collect();
    assert_eq!(
        delivered.len(),
        1,
        "one run folder, nothing partial: {delivered:?}"
    );
}

#[test]
fn init_writes_a_starter_that_parses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pipeline.toml");
    let out = run(pmhlink().arg("init").arg(&path));
    assert_eq!(out.status, 0, "{}", out.stderr);
    pmhlink_config::Pipeline::load(&path).unwrap();
    let again = run(pmhlink().arg("init").arg(&path));
    assert_eq!(again.status, 2, "never overwrites");
}

#[test]
fn plugins_lists_the_first_party_plugins() {
    ensure_plugins();
    let out = run(pmhlink().args(["plugins", "--json"]));
    assert_eq!(out.status, 0, "{}", out.stderr);
    let list: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    for (name, kind) in [
        ("csv", "source"),
        ("fixed-width", "source"),
        ("file", "sink"),
    ] {
        let p = list
            .iter()
            .find(|p| p["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing: {list:?}"));
        assert_eq!(
            (p["kind"].as_str(), p["api_level"].as_u64()),
            (Some(kind), Some(1))
        );
    }
}

/// A quoted cell left open would swallow every later line into one cell (and the rows there
/// would turn into deletions): the run stops, naming the line the open record starts on.
#[test]
fn an_unclosed_quote_stops_the_run_naming_its_line() {
    for line in [2, 5] {
        let m = Municipality::new(20, 0.0);
        corrupt(&m.path("data/subsidy.csv"), |b| {
            let at = line_start(b, line);
            b.insert(at, b'"');
        });
        let out = m.pmhlink("run");
        assert_eq!(out.status, 4, "{}{}", out.stdout, out.stderr);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(
            text.contains(&format!("subsidy.csv line {line}:")) && text.contains("not closed"),
            "line {line}: {text}"
        );
        assert_eq!(m.outbox(), Vec::<String>::new());
    }
}

/// A FIFO (or a device) where an export should be is refused at once, never read from: a
/// FIFO nobody writes would block `check` and `run` for ever.
#[test]
fn a_fifo_as_a_source_is_refused_without_waiting() {
    let m = Municipality::new(20, 0.0);
    let path = m.path("data/shien.csv");
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    for command in ["check", "run"] {
        let mut cmd = pmhlink();
        cmd.arg(command).arg(m.path("pipeline.toml"));
        if command == "run" {
            cmd.args(["--date", DATE, "--quiet"]);
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Generous: the point is that it ends at all.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{command} blocked on a FIFO");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            matches!(out.status.code(), Some(2) | Some(4)),
            "{command}: {stdout}{stderr}"
        );
        assert!(
            format!("{stdout}{stderr}").contains("shien.csv"),
            "{command} names the file: {stdout}{stderr}"
        );
    }
}
