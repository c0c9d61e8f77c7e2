//! The pdk's conformance kit, with a scripted PMH on 127.0.0.1 so that `check` and `deliver`
//! succeed: the sink loads through the real host code, refuses bad configs without quoting
//! them, and a committed run's payload reached PMH once, under the run's idempotency key.
//!
//! The discarded run is not inspected: the kit expects nothing of it to be left, but a task
//! PMH accepted cannot be withdrawn (`finish` says so in its summary).

mod common;

use std::fs;

use common::{E06, FakePmh, answer, task};
use pmhlink_pdk::conformance::{COMMIT_RUN, SinkKit, built_cdylib};
use serde_json::json;

#[test]
fn conforms() {
    let check =
        "/api/medical-subsidy/v1/subject-histories/registration-tasks/pmhlink-connection-check";
    let pmh = FakePmh::start(vec![
        answer("GET", check, 404, "{}"),
        answer("POST", E06, 202, &task("task-commit")),
        answer("GET", check, 404, "{}"),
        answer("POST", E06, 202, &task("task-discard")),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("pmh-token");
    fs::write(&token_file, "tok-CONFORMANCE-0123456789\n").unwrap();
    let good = json!({"base_url": pmh.url, "token_file": token_file, "backoff_base_secs": 0.01});
    let with = |changes: serde_json::Value| {
        let mut config = good.clone();
        for (key, value) in changes.as_object().unwrap() {
            match value {
                serde_json::Value::Null => config.as_object_mut().unwrap().remove(key),
                _ => config
                    .as_object_mut()
                    .unwrap()
                    .insert(key.clone(), value.clone()),
            };
        }
        config
    };
    let log = pmh.log();
    let report = SinkKit::new(built_cdylib(env!("CARGO_PKG_NAME")))
        .good_config(good.clone())
        .bad_config(
            with(json!({"base_url": "http://pmh.example.lg.jp"})),
            "`base_url`",
        )
        .bad_config(with(json!({"base_url": 12345})), "`base_url`")
        .bad_config(
            with(json!({"token_file": null})),
            "exactly one of `token_env`",
        )
        .bad_config(
            with(json!({"token_file": null, "token_env": "tok-pasted-instead-of-a-name"})),
            "`token_env`",
        )
        .bad_config(with(json!({"max_attempts": "many"})), "`max_attempts`")
        .bad_config(
            with(json!({"proxy": "proxy.example.lg.jp:8080"})),
            "`proxy`",
        )
        .committed(move |run| {
            let seen = log.lock().unwrap();
            let posts: Vec<_> = seen.iter().filter(|s| s.is("POST", E06)).collect();
            let key = format!("{run}-1");
            let ours: Vec<_> = posts
                .iter()
                .filter(|p| p.header("idempotency-key") == Some(key.as_str()))
                .collect();
            (run == COMMIT_RUN
                && ours.len() == 1
                && ours[0].body == br#"[{"conformance": "synthetic payload"}]"#)
                .then_some(())
                .ok_or_else(|| format!("{} POST(s) with Idempotency-Key {key}", ours.len()))
        })
        .run();
    assert_eq!(report.plugin.as_deref(), Some("pmh-api"));
    assert_eq!(pmh.seen().len(), 4);
}
