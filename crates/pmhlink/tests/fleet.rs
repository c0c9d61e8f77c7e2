//! `pmhlink fleet` through the real binary and plugins: twenty generated municipalities from
//! one vendor template (different 団体コード, programmes and sizes) and five that go wrong (a
//! broken export, a plugin that panics, one that hangs, a ledger another process holds, a bad
//! 団体コード) run with `--jobs 2`. Every healthy one ends exactly as when run alone, the
//! broken ones are reported with their reasons, nothing of one reaches another's ledger or
//! outbox, and `fleet status`, the metrics and each pipeline's `status --json` agree.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{ensure_plugins, pmhlink, run};
use pmhlink_synth::{Synth, SynthConfig};
use serde_json::Value;

const DAY: &str = "2025-06-02";
const EXAMPLE: &str = include_str!("../../../examples/sakurano/pipeline.toml");
const PROFILE: &str = include_str!("../../pmhlink-profile/profiles/pmh-default.toml");
const HEALTHY: usize = 20;

/// The vendor's template: the example pipeline without its municipality, its profile the
/// shipped one with small batches (so that towns have several).
fn write_vendor(root: &Path) {
    let mut template: toml::Table = toml::from_str(EXAMPLE).unwrap();
    template.remove("municipality");
    template["profile"]
        .as_table_mut()
        .unwrap()
        .insert("path".into(), "../../vendor/small.toml".into());
    std::fs::create_dir_all(root.join("vendor")).unwrap();
    std::fs::write(
        root.join("vendor/acme.toml"),
        toml::to_string(&template).unwrap(),
    )
    .unwrap();
    let profile = PROFILE.replacen("max_records = 1000", "max_records = 25", 1);
    assert_ne!(profile, PROFILE);
    std::fs::write(root.join("vendor/small.toml"), profile).unwrap();
}

/// A town's folder: its exports and a pipeline file that extends the vendor's template.
fn write_town(root: &Path, name: &str, i: usize, extra: &str) -> PathBuf {
    let dir = root.join("towns").join(name);
    let synth = Synth::new(SynthConfig {
        seed: 500 + i as u64,
        certificates: 20 + 9 * i as u64,
        dirty: if i.is_multiple_of(3) { 0.05 } else { 0.0 },
        ..SynthConfig::default()
    });
    pmhlink_synth::files::write_dir(&synth, &dir.join("data"), &mut []).unwrap();
    let own = format!(
        "extends = \"../../vendor/acme.toml\"\n\n[municipality]\ncode = \"13{:04}\"\nname = \"テスト町{i}\"\n{extra}",
        1000 + 7 * i
    );
    std::fs::write(dir.join("pipeline.toml"), own).unwrap();
    dir
}

/// Where the test binary's plugins were built: the fixture libraries are beside it once
/// built by name.
fn built_library(name: &str) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["build", "--quiet", "-p", name])
        .status()
        .unwrap();
    assert!(status.success());
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_pmhlink"));
    exe.parent()
        .unwrap()
        .join(format!("lib{}.so", name.replace('-', "_")))
}

/// A town joined to the rogue fixture in `mode`, from a plugin folder of its own.
fn rogue_town(root: &Path, name: &str, i: usize, mode: &str) {
    let dir = write_town(
        root,
        name,
        i,
        &format!(
            "\n[plugins]\ndirs = [\"plugins\"]\n\n[sources.rogue]\nplugin = \"rogue\"\nconfig = {{ mode = \"{mode}\" }}\n\n[[joins]]\nsource = \"rogue\"\nleft = \"subsidy.宛名番号\"\nright = \"x\"\nrequired = false\n"
        ),
    );
    std::fs::create_dir_all(dir.join("plugins")).unwrap();
    let lib = built_library("pmhlink-fixture-rogue");
    std::fs::copy(&lib, dir.join("plugins").join(lib.file_name().unwrap())).unwrap();
}

fn healthy_names() -> Vec<String> {
    (0..HEALTHY).map(|i| format!("t{i:02}")).collect()
}

/// The whole fleet: the healthy towns (every other one ignoring 難病) and the five that go
/// wrong, plus a prefecture layer in the towns folder, which is a template and left out.
fn write_fleet(root: &Path) {
    write_vendor(root);
    for (i, name) in healthy_names().iter().enumerate() {
        let extra = if i.is_multiple_of(2) {
            "\n[[programs]]\ncode = \"540\"\nremove = true\n\n[program]\nignore = [\"540\"]\n"
        } else {
            ""
        };
        write_town(root, name, i, extra);
    }
    let broken = write_town(root, "x-broken", 30, "");
    let mut export = std::fs::read(broken.join("data/subsidy.csv")).unwrap();
    export.extend_from_slice(b"\"an unterminated cell");
    std::fs::write(broken.join("data/subsidy.csv"), export).unwrap();
    rogue_town(root, "x-panics", 31, "panic");
    rogue_town(root, "x-hangs", 32, "hang");
    write_town(root, "x-locked", 33, "");
    let bad = write_town(root, "x-badcode", 34, "");
    let text = std::fs::read_to_string(bad.join("pipeline.toml")).unwrap();
    std::fs::write(
        bad.join("pipeline.toml"),
        text.replacen("code = \"13", "code = \"99", 1),
    )
    .unwrap();
    std::fs::write(
        root.join("towns/tokyo-layer.toml"),
        "extends = \"../vendor/acme.toml\"\n[rules]\nlocal_recipient = \"warning\"\n",
    )
    .unwrap();
}

/// Holds `path` locked (an exclusive flock, as a running pmhlink holds its ledger) while alive.
struct Lock(#[allow(dead_code)] std::fs::File);

impl Lock {
    fn take(path: &Path) -> Lock {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = std::fs::File::create(path).unwrap();
        file.try_lock().expect("the test takes the lock");
        Lock(file)
    }
}

fn town_file(root: &Path, name: &str) -> PathBuf {
    root.join("towns").join(name).join("pipeline.toml")
}

/// Payload files of a town's outbox, by run folder and name.
fn outbox(root: &Path, name: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let dir = root.join("towns").join(name).join("outbox");
    for run in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(run.path()).unwrap().flatten() {
            let file = f.file_name().to_string_lossy().into_owned();
            if file != "manifest.json" {
                let key = format!("{}/{file}", run.file_name().to_string_lossy());
                files.insert(key, std::fs::read(f.path()).unwrap());
            }
        }
    }
    files
}

fn status_json(file: &Path) -> Option<Value> {
    let out = run(pmhlink().args(["status", "--json"]).arg(file));
    (out.status == 0).then(|| serde_json::from_str(&out.stdout).unwrap())
}

/// What a ledger holds, without what differs between two ledgers of the same rows.
fn holdings(mut status: Value) -> Value {
    let o = status.as_object_mut().unwrap();
    for k in [
        "ledger",
        "size_bytes",
        "recent_runs",
        "last_run",
        "last_success_at",
        "oldest_quarantine_since",
    ] {
        o.remove(k);
    }
    // A batch's receipts name the outbox's path; its times are when it was written.
    for s in o["awaiting_results"].as_array_mut().unwrap() {
        let s = s.as_object_mut().unwrap();
        for k in ["receipts", "staged_at", "delivered_at", "settled_at"] {
            s.remove(k);
        }
    }
    status
}

/// `name{labels} value` lines as (name, municipality, extra label) → value.
fn samples(text: &str) -> BTreeMap<(String, String, String), f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let (name, labels) = series.split_once('{').unwrap();
        let labels = labels.strip_suffix('}').unwrap();
        let mut municipality = String::new();
        let mut extra = String::new();
        for pair in labels.split(',') {
            let (k, v) = pair.split_once('=').unwrap();
            let v = v.trim_matches('"').to_owned();
            match k {
                "municipality" => municipality = v,
                "pipeline" => assert_eq!(v, "pipeline"),
                _ => extra = format!("{k}={v}"),
            }
        }
        out.insert(
            (name.to_owned(), municipality, extra),
            value.parse().unwrap(),
        );
    }
    out
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_fleet_runs_each_town_as_if_alone_and_reports_the_broken_ones() {
    ensure_plugins();
    let fleet = tempfile::tempdir().unwrap();
    let root = fleet.path();
    write_fleet(root);
    // The same towns, run one by one, are what the fleet must give.
    let alone = tempfile::tempdir().unwrap();
    copy_tree(root, alone.path());

    let lock = Lock::take(&root.join("towns/x-locked/state/ledger.sqlite.lock"));
    let metrics = root.join("metrics");
    let out = run(pmhlink()
        .args(["fleet", "run", "--jobs", "2", "--date", DAY, "--json"])
        .args(["--time-limit", "10", "--metrics-dir"])
        .arg(&metrics)
        .arg(root.join("towns")));
    drop(lock);
    assert_eq!(out.status, 4, "{}{}", out.stdout, out.stderr);
    let table: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(table["exit_code"], 4);
    let rows: BTreeMap<String, &Value> = table["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let file = PathBuf::from(r["file"].as_str().unwrap());
            let town = file.parent().unwrap().file_name().unwrap();
            (town.to_string_lossy().into_owned(), r)
        })
        .collect();
    let mut expected: Vec<String> = healthy_names();
    expected.extend(["x-badcode", "x-broken", "x-hangs", "x-locked", "x-panics"].map(String::from));
    assert_eq!(
        rows.keys().cloned().collect::<Vec<_>>(),
        expected,
        "the prefecture layer is a template, not a town"
    );

    // The ones that went wrong, each with its own reason.
    let failed = |town: &str, outcome: &str, code: u64, says: &str| {
        let r = rows[town];
        assert_eq!(r["outcome"], outcome, "{town}: {r}");
        assert_eq!(r["exit_code"], code, "{town}: {r}");
        let reason = r["reason"].as_str().unwrap_or_default();
        assert!(reason.contains(says), "{town}: {reason}");
        assert!(outbox(root, town).is_empty(), "{town} delivered nothing");
    };
    failed("x-badcode", "config_error", 2, "municipality.code");
    failed("x-broken", "aborted", 4, "subsidy");
    failed("x-panics", "aborted", 4, "rogue");
    failed("x-hangs", "timed_out", 4, "--time-limit");
    failed("x-locked", "aborted", 4, "lock");

    // The healthy ones, exactly as alone.
    for name in healthy_names() {
        let solo = run(pmhlink()
            .args(["run", "--quiet", "--json", "--date", DAY])
            .arg(town_file(alone.path(), &name)));
        assert!(
            [0, 3].contains(&solo.status),
            "{name} alone: {}",
            solo.stderr
        );
        let solo_report: Value = serde_json::from_str(&solo.stdout).unwrap();
        let r = rows[name.as_str()];
        assert_eq!(r["exit_code"], solo_report["exit_code"], "{name}");
        assert_eq!(r["outcome"], solo_report["outcome"], "{name}");
        assert_eq!(r["rows_sent"], solo_report["diff"]["sent"], "{name}");
        assert_eq!(
            r["rows_quarantined"], solo_report["records"]["quarantined"],
            "{name}"
        );
        assert_eq!(r["municipality_code"], solo_report["municipality_code"]);
        let sent = outbox(root, &name);
        assert!(!sent.is_empty(), "{name} sent its payloads");
        assert_eq!(
            sent,
            outbox(alone.path(), &name),
            "{name}: payloads as alone"
        );
        let code = r["municipality_code"].as_str().unwrap();
        assert!(
            sent.keys().all(|k| k.starts_with(code)),
            "{name}'s outbox holds only its own runs"
        );
        assert_eq!(
            holdings(status_json(&town_file(root, &name)).unwrap()),
            holdings(status_json(&town_file(alone.path(), &name)).unwrap()),
            "{name}: ledger as alone"
        );
        // The run's metrics file says what the table says.
        let prom = std::fs::read_to_string(metrics.join(format!("{name}_pipeline.prom"))).unwrap();
        let s = samples(&prom);
        let key = |m: &str| (m.to_owned(), code.to_owned(), String::new());
        assert_eq!(
            s[&key("pmhlink_last_run_rows_sent")],
            r["rows_sent"].as_f64().unwrap()
        );
        assert_eq!(s[&key("pmhlink_up")], 1.0);
    }
    let distinct: std::collections::BTreeSet<&str> = rows
        .values()
        .filter_map(|r| r["municipality_code"].as_str())
        .collect();
    let coded = rows.values().filter(|r| r["municipality_code"].is_string());
    assert_eq!(distinct.len(), coded.count(), "every town its own code");

    // The table an operator reads names no person: no 12-digit number anywhere.
    let text = run(pmhlink()
        .args(["fleet", "status", "--quiet"])
        .arg(root.join("towns")));
    assert!(
        !text
            .stdout
            .as_bytes()
            .windows(12)
            .any(|w| w.iter().all(u8::is_ascii_digit)),
        "{}",
        text.stdout
    );

    // `fleet status` and its metrics agree with each pipeline's own `status --json`.
    let status = run(pmhlink()
        .args(["fleet", "status", "--json"])
        .arg(root.join("towns")));
    let fleet_status: Value = serde_json::from_str(&status.stdout).unwrap();
    let metrics = run(pmhlink()
        .args(["fleet", "status", "--metrics"])
        .arg(root.join("towns")));
    assert!(metrics.stdout.ends_with("# EOF\n"));
    let s = samples(&metrics.stdout);
    for p in fleet_status["pipelines"].as_array().unwrap() {
        let file = PathBuf::from(p["file"].as_str().unwrap());
        let own = status_json(&file);
        let code = p["municipality_code"].as_str().unwrap_or("").to_owned();
        let sample = |m: &str, extra: &str| s.get(&(m.to_owned(), code.clone(), extra.to_owned()));
        match own {
            Some(own) => {
                assert_eq!(p["status"], own, "{}", file.display());
                assert_eq!(sample("pmhlink_up", ""), Some(&1.0));
                for (metric, key) in [
                    ("pmhlink_accepted_rows", "accepted_rows"),
                    ("pmhlink_pending_rows", "pending_rows"),
                ] {
                    assert_eq!(sample(metric, ""), own[key].as_f64().as_ref(), "{metric}");
                }
                assert_eq!(
                    sample("pmhlink_quarantined_rows", "reason=check"),
                    own["quarantined_by_checks"].as_f64().as_ref()
                );
            }
            None => {
                assert!(p["status"].is_null());
                assert_eq!(sample("pmhlink_up", ""), Some(&0.0), "{}", file.display());
            }
        }
    }
}

#[test]
fn fleet_check_names_the_town_whose_file_is_wrong() {
    ensure_plugins();
    let fleet = tempfile::tempdir().unwrap();
    let root = fleet.path();
    write_vendor(root);
    write_town(root, "a", 1, "");
    write_town(root, "b", 2, "\n[guard]\nmax_deletion_share = 7\n");
    let out = run(pmhlink()
        .args(["fleet", "check", "--json", "--quiet"])
        .arg(root.join("towns")));
    assert_eq!(out.status, 2, "{}{}", out.stdout, out.stderr);
    let table: Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = table["pipelines"].as_array().unwrap();
    assert_eq!(rows[0]["outcome"], "ok");
    assert_eq!(rows[0]["municipality_code"], "131007");
    assert_eq!(rows[1]["outcome"], "config_error");
    let reason = rows[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("pipeline.toml") && reason.contains("guard.max_deletion_share"),
        "{reason}"
    );

    let none = run(pmhlink().args(["fleet", "run"]).arg(root.join("vendor")));
    assert_eq!(none.status, 2);
    assert!(none.stderr.contains("only templates"), "{}", none.stderr);
}
