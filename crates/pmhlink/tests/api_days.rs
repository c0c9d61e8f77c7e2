//! The PMH API route end to end: the real binary and plugin libraries against the emulator
//! running as a separate process on loopback, over several business days with faults injected
//! of every kind. After each day PMH's rows (`/_mock/records`) equal what a fresh upload of the
//! day's exports holds, and no history row was submitted twice with the same content.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use common::town::{Pmh, RowId, Town, col};
use serde_json::{Value, json};

const TOKEN: &str = "test-token-7f3a";

/// `pmhlink mock-hub` on a free loopback port, stopped on drop.
struct Hub {
    child: Child,
    addr: String,
}

impl Hub {
    fn start(ready_after_polls: u32) -> Hub {
        let mut child = common::pmhlink()
            .args([
                "mock-hub",
                "--listen",
                "127.0.0.1:0",
                "--token-env",
                "PMH_TOKEN",
            ])
            .args(["--ready-after-polls", &ready_after_polls.to_string()])
            .env("PMH_TOKEN", TOKEN)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut log = BufReader::new(child.stderr.take().unwrap());
        log.read_line(&mut line).unwrap();
        // The hub logs every request; a full pipe would stall it.
        std::thread::spawn(move || std::io::copy(&mut log, &mut std::io::sink()));
        let addr = line
            .split("http://")
            .nth(1)
            .unwrap_or_else(|| panic!("no address in `{line}`"))
            .trim()
            .to_owned();
        Hub { child, addr }
    }

    fn json(&self, path: &str) -> Value {
        pmhlink_hub_mock::inspect_client::get_json(&self.addr, path).unwrap()
    }

    fn faults(&self, faults: Value) {
        pmhlink_hub_mock::inspect_client::set_faults(&self.addr, &faults).unwrap();
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The town's pipeline with the API sink instead of the drop folder, as `api.toml`: a pipeline
/// of its own, whose ledger is bound to it (the drop-folder pipeline never runs here).
fn api_pipeline(town: &Town, hub: &Hub) {
    let text = std::fs::read_to_string(town.path("pipeline.toml")).unwrap();
    let start = text.find("[[sinks]]").unwrap();
    let end = text.find("# ── レポート").unwrap();
    let sink = format!(
        "[[sinks]]\nplugin = \"pmh-api\"\n[sinks.config]\nbase_url = \"http://{}\"\ntoken_env = \"PMH_TOKEN\"\nbackoff_base_secs = 0.05\nbackoff_max_secs = 1\ntimeout_secs = 5\n\n",
        hub.addr
    );
    let text = format!("{}{sink}{}", &text[..start], &text[end..]);
    std::fs::write(town.path("api.toml"), text).unwrap();
}

/// `pmhlink status --json` of the API pipeline.
fn api_status(town: &Town) -> Value {
    let out = common::run(
        common::pmhlink()
            .args(["status", "--json"])
            .arg(town.path("api.toml")),
    );
    assert_eq!(out.status, 0, "status\n{}{}", out.stdout, out.stderr);
    serde_json::from_str(&out.stdout).unwrap()
}

fn run_api(town: &Town, date: &str, token: &str, extra: &[&str]) -> common::Run {
    common::run(
        common::pmhlink()
            .arg("run")
            .arg(town.path("api.toml"))
            .args(["--date", date, "--quiet"])
            .args(extra)
            .env("PMH_TOKEN", token),
    )
}

fn row_id(r: &Value) -> RowId {
    let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
    (s("myNumber"), s("historyKey"))
}

fn without_flag(mut r: Value) -> Value {
    r.as_object_mut().unwrap().remove("isDeleted");
    r
}

/// The rows PMH holds, by row.
fn held(hub: &Hub) -> BTreeMap<RowId, Value> {
    hub.json("/_mock/records")
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (row_id(r), without_flag(r.clone())))
        .collect()
}

/// (date, faults injected before the run, rows changed, rows removed, a row PMH rejects)
type ApiDay = (&'static str, Value, Vec<usize>, Vec<usize>, Option<usize>);

#[test]
fn days_of_uploads_through_faults_keep_pmh_equal_to_the_source() {
    common::ensure_plugins();
    let hub = Hub::start(2);
    let town = Town::new(80, 31, 30);
    town.edit_pipeline("max_deletion_share = 0.05", "max_deletion_share = 0.5");
    api_pipeline(&town, &hub);

    let days: [ApiDay; 5] = [
        (
            "2025-06-01",
            json!({"fault": [
                {"on": "register", "status": 429, "retry_after": 1, "times": 1},
                {"on": "register", "status": 503, "times": 2},
                {"on": "result", "status": 500, "times": 1},
            ]}),
            vec![],
            vec![],
            None,
        ),
        (
            "2025-06-02",
            json!({"fault": [
                // Created, then the answer is lost: the sink must look before it resends.
                {"on": "register", "drop": true, "times": 1},
                {"on": "register", "delay_ms": 300, "times": 1},
            ]}),
            vec![2, 9, 15],
            vec![20],
            Some(9),
        ),
        (
            // The refused row is unchanged: not sent again. Slow results.
            "2025-06-03",
            json!({"fault": [{"on": "result", "delay_ms": 200, "times": 3}]}),
            vec![30],
            vec![],
            None,
        ),
        (
            // The refused row is corrected in the source and goes again.
            "2025-06-04",
            json!({"fault": [{"on": "result", "drop": true, "times": 1}]}),
            vec![9],
            vec![40, 41],
            None,
        ),
        ("2025-06-05", json!({"fault": []}), vec![], vec![], None),
    ];
    let mut refused: Vec<String> = Vec::new();
    let mut before: BTreeMap<RowId, Value> = BTreeMap::new();
    for (n, (date, faults, change, remove, reject)) in days.iter().enumerate() {
        let rows = town.subsidy();
        let key = |i: usize| rows[i + 1][col::HISTORY].clone();
        let changed: Vec<String> = change.iter().map(|&i| key(i)).collect();
        let mut edited = rows.clone();
        for &i in change {
            edited[i + 1][col::MONTHLY_CAP] = format!("{}", 3000 + n * 100);
        }
        let gone: Vec<usize> = remove.iter().map(|i| i + 1).collect();
        let edited: Vec<Vec<String>> = edited
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, r)| r)
            .collect();
        town.write_subsidy(&edited);
        let mut faults = faults.clone();
        if let Some(i) = reject {
            faults["reject"] = json!([{"field": "historyKey", "equals": key(*i), "code": "E0099", "message": "制度マスタに登録がありません"}]);
            refused.push(key(*i));
        }
        hub.faults(faults);

        let out = run_api(&town, date, TOKEN, &["--wait-results", "20"]);
        assert!(
            out.status == 0 || out.status == 3,
            "{date}: exit {}\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
        assert!(!out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN));
        let status = api_status(&town);
        assert_eq!(
            status["pending_rows"], 0,
            "{date}: every result came in: {status}"
        );

        // The oracle: a fresh town's first upload through the drop folder.
        let fresh = town.fresh_copy();
        let first = fresh.run(date, &[]);
        assert!(first.status == 0 || first.status == 3);
        let run_id = format!("139998-{}-pipeline", date.replace('-', ""));
        let mut expected = Pmh::full_set(&fresh.path(&format!("outbox/{run_id}")));
        refused.retain(|hk| !changed.contains(hk) || Some(hk) == reject.map(key).as_ref());
        for hk in &refused {
            expected.retain(|id, _| &id.1 != hk);
            for (id, v) in before.iter().filter(|(id, _)| &id.1 == hk) {
                expected.insert(id.clone(), v.clone());
            }
        }
        let now = held(&hub);
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{date}: the rows PMH holds"
        );
        for (id, v) in &expected {
            assert_eq!(&now[id], v, "{date}: {id:?}");
        }
        assert_eq!(
            status["accepted_rows"].as_u64().unwrap() as usize,
            now.len(),
            "{date}: the ledger holds what PMH holds"
        );
        assert_eq!(
            status["rejected_by_pmh"].as_u64().unwrap() as usize,
            refused.len(),
            "{date}"
        );
        before = now;
    }

    // No history row was ever submitted twice with the same content.
    let mut seen = HashSet::new();
    for s in hub.json("/_mock/submissions").as_array().unwrap() {
        for r in s["records"].as_array().unwrap() {
            let deleted = r["isDeleted"].as_bool().unwrap();
            let id = row_id(r);
            assert!(
                seen.insert((id.clone(), without_flag(r.clone()).to_string(), deleted)),
                "submitted twice: {id:?}"
            );
        }
    }
}

#[test]
fn a_wrong_token_is_a_clear_error_and_sends_nothing() {
    common::ensure_plugins();
    let hub = Hub::start(1);
    let town = Town::new(20, 2, 1000);
    api_pipeline(&town, &hub);
    let out = run_api(&town, "2025-06-01", "not-the-token", &[]);
    assert_eq!(out.status, 4, "{}{}", out.stdout, out.stderr);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(text.contains("refused the credentials"), "{text}");
    assert!(
        !text.contains("not-the-token") && !text.contains(TOKEN),
        "{text}"
    );
    assert_eq!(hub.json("/_mock/submissions"), json!([]));
    for e in std::fs::read_dir(town.path("reports"))
        .into_iter()
        .flatten()
        .flatten()
    {
        for f in std::fs::read_dir(e.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap();
            assert!(!text.contains("not-the-token"), "{:?}", f.path());
        }
    }
    // With the right token the same day goes through.
    let ok = run_api(&town, "2025-06-01", TOKEN, &["--wait-results", "10"]);
    assert!(
        ok.status == 0 || ok.status == 3,
        "{}{}",
        ok.stdout,
        ok.stderr
    );
    assert!(!held(&hub).is_empty());
}

#[test]
fn results_still_processing_stay_pending_and_are_collected_later() {
    common::ensure_plugins();
    let hub = Hub::start(3);
    let town = Town::new(20, 6, 1000);
    api_pipeline(&town, &hub);
    let out = run_api(&town, "2025-06-01", TOKEN, &[]);
    assert!(
        out.status == 0 || out.status == 3,
        "{}{}",
        out.stdout,
        out.stderr
    );
    let status = api_status(&town);
    assert!(status["pending_rows"].as_u64().unwrap() > 0, "{status}");
    let results = common::run(
        common::pmhlink()
            .args(["results", "--wait", "10"])
            .arg(town.path("api.toml"))
            .env("PMH_TOKEN", TOKEN),
    );
    assert_eq!(results.status, 0, "{}{}", results.stdout, results.stderr);
    let status = api_status(&town);
    assert_eq!(status["pending_rows"], 0, "{status}");
    assert_eq!(
        status["accepted_rows"].as_u64().unwrap() as usize,
        held(&hub).len()
    );
}

/// `--wait-results` holds on every path of a day: when the run resumes a delivery an earlier
/// attempt was killed in (or after), and when the day was already done.
#[test]
fn resumed_and_finished_days_collect_their_results_when_asked_to_wait() {
    common::ensure_plugins();
    // A hub per town: each is its own municipality's PMH.
    for point in ["staged", "delivered"] {
        let hub = Hub::start(2);
        let town = Town::new(20, 6, 1000);
        api_pipeline(&town, &hub);
        let killed = common::pmhlink()
            .arg("run")
            .arg(town.path("api.toml"))
            .args(["--date", "2025-06-01", "--quiet"])
            .env("PMH_TOKEN", TOKEN)
            .env("PMHLINK_TEST_KILL_AT", point)
            .output()
            .unwrap();
        assert_eq!(killed.status.code(), None, "{point}: killed by a signal");
        let resumed = run_api(&town, "2025-06-01", TOKEN, &["--wait-results", "20"]);
        assert_eq!(
            resumed.status, 0,
            "{point}: {}{}",
            resumed.stdout, resumed.stderr
        );
        let status = api_status(&town);
        assert_eq!(status["pending_rows"], 0, "{point}: {status}");
        assert!(status["accepted_rows"].as_u64().unwrap() > 0, "{status}");
    }

    let hub = Hub::start(2);
    let town = Town::new(20, 7, 1000);
    api_pipeline(&town, &hub);
    let first = run_api(&town, "2025-06-01", TOKEN, &[]);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);
    assert!(api_status(&town)["pending_rows"].as_u64().unwrap() > 0);
    let again = run_api(&town, "2025-06-01", TOKEN, &["--wait-results", "20"]);
    assert_eq!(again.status, 0, "{}{}", again.stdout, again.stderr);
    let status = api_status(&town);
    assert_eq!(
        status["pending_rows"], 0,
        "the finished day's results: {status}"
    );
    let reports = std::fs::read_dir(town.path("reports/139998-20250601-api")).unwrap();
    let second: Value = reports
        .flatten()
        .find(|e| e.file_name() == "report.2.json")
        .map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap())
        .expect("the re-run's report");
    assert_eq!(second["outcome"], "already_done");
    assert!(
        second["results"]["accepted"].as_u64().unwrap() > 0,
        "{second:#}"
    );
}
