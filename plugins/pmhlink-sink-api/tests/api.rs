//! The `pmh-api` sink driven across the ABI against a scripted PMH on 127.0.0.1.

mod common;

use std::{
    fs,
    time::{Duration, Instant},
};

use common::{
    E05, E06, FakePmh, Seen, TOKEN_URL, answer, answer_bytes, answer_with, closed_port_url,
    drop_after, open, stall, task,
};
use pmhlink_plugin_api::{
    RErrorKind, ROutcomeState, RPayload, RPluginError, RReceipt, RRunEnd, SinkBox,
    abi_stable::std_types::RStr,
};
use pmhlink_profile::{
    Format, Profile,
    result::{self, Outcome, PmhError, RecordResult, TaskResult, TaskStatus},
};
use serde_json::{Value, json};
use tempfile::TempDir;

const TOKEN: &str = "tok-SECRET-0123456789abcdef";
const E08_TASK: &str = "/api/medical-subsidy/v1/subject-histories/registration-tasks/";
const E07_TASK: &str = "/api/medical-subsidy/v1/subject-histories/registration-tasks/csv/";
const JSON_BODY: &[u8] = br#"[{"orgSpecificCertificateTypeId": "SYNTH01"}]"#;

/// A sink pointed at `server` with a token file, short pauses and `extra` settings. The
/// folder holds the token file; keep it while the sink lives.
fn sink_for(server: &str, extra: Value) -> (TempDir, SinkBox) {
    let (dir, config) = config_for(server, extra);
    (dir, open(&config).unwrap_or_else(|e| panic!("{e}")))
}

fn config_for(server: &str, extra: Value) -> (TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("pmh-token");
    fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut config = json!({
        "base_url": server,
        "token_file": token_file,
        "backoff_base_secs": 0.01,
        "backoff_max_secs": 0.05,
        "timeout_secs": 5,
        "connect_timeout_secs": 2,
    });
    for (key, value) in extra.as_object().unwrap() {
        if value.is_null() {
            config.as_object_mut().unwrap().remove(key);
        } else {
            config[key] = value.clone();
        }
    }
    (dir, config)
}

fn payload(run: &str, api: &str, format: &str, seq: u32, bytes: &[u8]) -> RPayload {
    RPayload {
        run_id: run.into(),
        municipality: "999999".into(),
        api: api.into(),
        format: format.into(),
        seq,
        records: 1,
        file_name: format!("{api}_{seq:04}.{format}").into(),
        bytes: bytes.to_vec().into(),
    }
}

fn deliver(sink: &mut SinkBox, p: RPayload) -> Result<RReceipt, RPluginError> {
    sink.deliver(p).into_result()
}

fn e06(seq: u32) -> RPayload {
    payload("r1", "E06", "json", seq, JSON_BODY)
}

/// Secrets never leave the plugin, whatever went wrong.
fn assert_no_secret(err: &RPluginError) {
    let text = err.to_string();
    for secret in [TOKEN, "pmhlink-sink-api"] {
        assert!(!text.contains(secret), "{text}");
    }
}

fn bearer(seen: &Seen) -> &str {
    seen.header("authorization").unwrap_or("")
}

#[test]
fn accepted_post_gives_a_receipt() {
    let pmh = FakePmh::start(vec![
        answer("POST", E06, 202, &task("task-0001")),
        answer("POST", E05, 200, &task("task-0002")),
    ]);
    let (_dir, mut sink) = sink_for(&format!("{}/", pmh.url), json!({}));
    let receipt = deliver(&mut sink, e06(1)).unwrap();
    assert_eq!(
        (receipt.id.as_str(), receipt.detail.as_str()),
        ("task-0001", "E06")
    );
    let csv = b"orgSpecificCertificateTypeId,myNumber\r\nSYNTH01,000000000000\r\n";
    let receipt = deliver(&mut sink, payload("r1", "E05", "csv", 2, csv)).unwrap();
    assert_eq!(
        (receipt.id.as_str(), receipt.detail.as_str()),
        ("task-0002", "E05")
    );

    let seen = pmh.seen();
    assert_eq!(seen.len(), 2);
    let (json_post, csv_post) = (&seen[0], &seen[1]);
    assert_eq!(
        (json_post.method.as_str(), json_post.target.as_str()),
        ("POST", E06)
    );
    assert_eq!(json_post.header("content-type"), Some("application/json"));
    assert_eq!(bearer(json_post), format!("Bearer {TOKEN}"));
    assert_eq!(json_post.header("idempotency-key"), Some("r1-1"));
    assert_eq!(json_post.body, JSON_BODY);
    assert_eq!(csv_post.target, E05);
    assert_eq!(
        csv_post.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(csv_post.header("idempotency-key"), Some("r1-2"));
    assert_eq!(csv_post.body, csv);
}

#[test]
fn too_many_requests_waits_as_asked_then_sends_again() {
    let pmh = FakePmh::start(vec![
        answer_with("POST", E06, 429, &[("Retry-After", "1")], "{}"),
        answer("POST", E06, 202, &task("t-429")),
    ]);
    // The backoff alone would wait at most 10 ms; PMH asked for a second.
    let (_dir, mut sink) = sink_for(
        &pmh.url,
        json!({"backoff_base_secs": 0.01, "backoff_max_secs": 5}),
    );
    let started = Instant::now();
    let receipt = deliver(&mut sink, e06(1)).unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(receipt.id.as_str(), "t-429");
    let seen = pmh.seen();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|s| s.header("idempotency-key") == Some("r1-1"))
    );
}

#[test]
fn retry_after_is_capped_by_the_configured_maximum() {
    let pmh = FakePmh::start(vec![
        answer_with("POST", E06, 503, &[("Retry-After", "3600")], "{}"),
        answer("POST", E06, 202, &task("t-cap")),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({"backoff_max_secs": 0.2}));
    let started = Instant::now();
    deliver(&mut sink, e06(1)).unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(190) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}

#[test]
fn unavailable_twice_then_accepted() {
    let pmh = FakePmh::start(vec![
        answer("POST", E06, 503, "{}"),
        answer("POST", E06, 502, "<html>bad gateway</html>"),
        answer("POST", E06, 202, &task("t-3")),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    assert_eq!(deliver(&mut sink, e06(7)).unwrap().id.as_str(), "t-3");
    let seen = pmh.seen();
    assert_eq!(seen.len(), 3);
    for post in &seen {
        assert!(post.is("POST", E06));
        assert_eq!(post.header("idempotency-key"), Some("r1-7"));
        assert_eq!(post.body, JSON_BODY);
    }
}

#[test]
fn transient_failures_stop_after_max_attempts() {
    let pmh = FakePmh::start(vec![
        answer("POST", E06, 500, "{}"),
        answer("POST", E06, 504, "{}"),
        answer("POST", E06, 503, "{}"),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({"max_attempts": 3}));
    let err = deliver(&mut sink, e06(1)).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io, "{err}");
    assert!(err.message.contains("3 tries"), "{err}");
    assert!(err.message.contains("503"), "{err}");
    assert_no_secret(&err);
    assert_eq!(pmh.count("POST", E06), 3);
}

#[test]
fn a_post_cut_off_after_sending_is_looked_up_not_resent() {
    let pmh = FakePmh::start(vec![
        drop_after("POST", E06),
        answer(
            "GET",
            &format!("{E06}?idempotencyKey=r1-1"),
            200,
            &task("t-arrived"),
        ),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    let receipt = deliver(&mut sink, e06(1)).unwrap();
    assert_eq!(receipt.id.as_str(), "t-arrived");
    let seen = pmh.seen();
    assert_eq!(pmh.count("POST", E06), 1, "{seen:?}");
    let lookup = &seen[1];
    assert_eq!(lookup.target, format!("{E06}?idempotencyKey=r1-1"));
    assert_eq!(bearer(lookup), format!("Bearer {TOKEN}"));
}

#[test]
fn a_post_that_never_arrived_is_sent_again_with_the_same_key() {
    let pmh = FakePmh::start(vec![
        drop_after("POST", E06),
        answer("GET", &format!("{E06}?idempotencyKey=r1-4"), 404, "{}"),
        answer("POST", E06, 202, &task("t-resent")),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    assert_eq!(deliver(&mut sink, e06(4)).unwrap().id.as_str(), "t-resent");
    let seen = pmh.seen();
    let posts: Vec<&Seen> = seen.iter().filter(|s| s.is("POST", E06)).collect();
    assert_eq!(posts.len(), 2);
    assert!(
        posts
            .iter()
            .all(|p| p.header("idempotency-key") == Some("r1-4"))
    );
    assert!(posts.iter().all(|p| p.body == JSON_BODY));
}

#[test]
fn a_timed_out_post_is_looked_up_too() {
    let pmh = FakePmh::start(vec![
        stall("POST", E06, Duration::from_secs(2)),
        answer(
            "GET",
            &format!("{E06}?idempotencyKey=r1-1"),
            200,
            &task("t-slow"),
        ),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({"timeout_secs": 0.3}));
    assert_eq!(deliver(&mut sink, e06(1)).unwrap().id.as_str(), "t-slow");
    assert_eq!(pmh.count("POST", E06), 1);
}

#[test]
fn a_failing_lookup_is_retried_and_never_turns_into_a_resend() {
    let lookup = format!("{E06}?idempotencyKey=r1-1");
    let pmh = FakePmh::start(vec![
        drop_after("POST", E06),
        answer("GET", &lookup, 503, "{}"),
        drop_after("GET", &lookup),
        answer("GET", &lookup, 200, &task("t-found")),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    assert_eq!(deliver(&mut sink, e06(1)).unwrap().id.as_str(), "t-found");
    assert_eq!(pmh.count("POST", E06), 1);
    assert_eq!(pmh.count("GET", &lookup), 3);

    // Lookups that never succeed end in an error that says the outcome is unknown.
    let pmh = FakePmh::start(vec![
        drop_after("POST", E06),
        answer("GET", &lookup, 503, "{}"),
        answer("GET", &lookup, 500, "{}"),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({"max_attempts": 3}));
    let err = deliver(&mut sink, e06(1)).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io, "{err}");
    assert!(err.message.contains("outcome of POST"), "{err}");
    assert!(err.message.contains("unknown"), "{err}");
    assert!(err.message.contains("Idempotency-Key `r1-1`"), "{err}");
    assert_no_secret(&err);
    assert_eq!(pmh.count("POST", E06), 1);
}

#[test]
fn refused_credentials_are_not_retried_and_not_quoted() {
    // Even a server echoing the token back does not get it into a message.
    let body = json!({"code": TOKEN, "message": format!("bad token {TOKEN}")}).to_string();
    let pmh = FakePmh::start(vec![answer("POST", E06, 401, &body)]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    let err = deliver(&mut sink, e06(1)).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io, "{err}");
    assert!(
        err.message.contains("refused the credentials (401"),
        "{err}"
    );
    assert!(err.message.contains("`token_file`"), "{err}");
    assert_no_secret(&err);
    assert_eq!(pmh.seen().len(), 1);

    let pmh = FakePmh::start(vec![answer("POST", E06, 403, "{}")]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    let err = deliver(&mut sink, e06(1)).unwrap_err();
    assert!(
        err.message.contains("refused the credentials (403"),
        "{err}"
    );
    assert_eq!(pmh.seen().len(), 1);
}

#[test]
fn other_refusals_carry_the_status_and_pmh_code_only() {
    let body = json!({"code": "E0422-07", "message": "名前 愛知花子 が長すぎます"}).to_string();
    let pmh = FakePmh::start(vec![
        answer("POST", E06, 422, &body),
        answer("POST", E06, 409, "not json"),
        answer(
            "POST",
            E06,
            400,
            &json!({"code": "has spaces, so prose"}).to_string(),
        ),
        answer("POST", E06, 404, "{}"),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    let err = deliver(&mut sink, e06(1)).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Data, "{err}");
    assert!(err.message.contains("422"), "{err}");
    assert!(err.message.contains("PMH code `E0422-07`"), "{err}");
    assert!(!err.message.contains("愛知"), "{err}");
    let err = deliver(&mut sink, e06(2)).unwrap_err();
    assert!(
        err.message.contains("409") && !err.message.contains("code"),
        "{err}"
    );
    let err = deliver(&mut sink, e06(3)).unwrap_err();
    assert!(
        err.message.contains("400") && !err.message.contains("prose"),
        "{err}"
    );
    let err = deliver(&mut sink, e06(4)).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Config, "{err}");
    assert!(err.message.contains("is the path right"), "{err}");
    // Not one of them was retried.
    assert_eq!(pmh.seen().len(), 4);
}

#[test]
fn an_answer_without_a_task_id_is_an_error() {
    let pmh = FakePmh::start(vec![
        answer("POST", E06, 202, r#"{"id": "t-1"}"#),
        answer("POST", E06, 202, r#"{"taskId": "a\tb"}"#),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    for seq in [1, 2] {
        let err = deliver(&mut sink, e06(seq)).unwrap_err();
        assert_eq!(err.kind, RErrorKind::Data, "{err}");
        assert!(err.message.contains("without a usable `taskId`"), "{err}");
    }
}

#[test]
fn payloads_the_profile_does_not_route_are_refused_before_sending() {
    let pmh = FakePmh::start(vec![]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    let err = deliver(&mut sink, payload("r1", "E08", "json", 1, b"[]")).unwrap_err();
    assert!(
        err.message.contains("E08 is not a registration API"),
        "{err}"
    );
    let err = deliver(&mut sink, payload("r1", "E06", "csv", 1, b"a\r\n")).unwrap_err();
    assert!(err.message.contains("API E06 takes json"), "{err}");
    assert!(pmh.seen().is_empty());
}

fn result_of(id: &str, status: TaskStatus, format: Format) -> Vec<u8> {
    let records = match status {
        TaskStatus::Processing => Vec::new(),
        _ => vec![
            RecordResult {
                record_number: 1,
                history_key: Some("H0001".into()),
                outcome: Outcome::Accepted,
            },
            RecordResult {
                record_number: 2,
                history_key: Some("H0002".into()),
                outcome: Outcome::Rejected(vec![PmhError {
                    code: "E100".into(),
                    item: Some("myNumber".into()),
                    message: "check digit".into(),
                }]),
            },
        ],
    };
    let result = TaskResult {
        task_id: id.into(),
        status,
        records,
    };
    result::write(&Profile::builtin().result, format, &result).unwrap()
}

fn receipt(id: &str, api: &str) -> RReceipt {
    RReceipt {
        id: id.into(),
        detail: api.into(),
    }
}

#[test]
fn poll_reads_the_task_status() {
    let processing = result_of("t-1", TaskStatus::Processing, Format::Json);
    let completed = result_of("t-1", TaskStatus::Completed, Format::Json);
    let failed = result_of("t-1", TaskStatus::Failed, Format::Json);
    let csv = result_of("t-7", TaskStatus::Completed, Format::Csv);
    let pmh = FakePmh::start(vec![
        answer_bytes("GET", &format!("{E08_TASK}t-1"), 200, &processing),
        answer("GET", &format!("{E08_TASK}t-1"), 503, "{}"),
        answer_bytes("GET", &format!("{E08_TASK}t-1"), 200, &completed),
        answer_bytes("GET", &format!("{E08_TASK}t-1"), 200, &failed),
        answer_bytes("GET", &format!("{E07_TASK}t-7"), 200, &csv),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    let outcome = sink.poll(receipt("t-1", "E06")).unwrap();
    assert_eq!(outcome.state, ROutcomeState::Pending);
    assert!(outcome.result_bytes.is_empty());
    // The 503 is retried; the body comes back exactly as PMH sent it.
    let outcome = sink.poll(receipt("t-1", "E06")).unwrap();
    assert_eq!(outcome.state, ROutcomeState::Completed);
    assert_eq!(outcome.result_bytes.as_slice(), completed);
    let outcome = sink.poll(receipt("t-1", "E06")).unwrap();
    assert_eq!(outcome.state, ROutcomeState::Failed);
    assert_eq!(outcome.result_bytes.as_slice(), failed);
    let outcome = sink.poll(receipt("t-7", "E05")).unwrap();
    assert_eq!(outcome.state, ROutcomeState::Completed);
    assert_eq!(outcome.result_bytes.as_slice(), csv);
    let seen = pmh.seen();
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|s| bearer(s) == format!("Bearer {TOKEN}")));
}

#[test]
fn poll_refuses_what_is_not_this_tasks_result() {
    let other = result_of("t-other", TaskStatus::Completed, Format::Json);
    let pmh = FakePmh::start(vec![
        answer("GET", &format!("{E08_TASK}t-1"), 404, "{}"),
        answer_bytes("GET", &format!("{E08_TASK}t-1"), 200, &other),
        answer(
            "GET",
            &format!("{E08_TASK}t-1"),
            200,
            r#"{"taskId": "t-1", "status": "queued"}"#,
        ),
        answer("GET", &format!("{E08_TASK}a%2Fb"), 401, "{}"),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    let poll =
        |sink: &mut SinkBox, id: &str| sink.poll(receipt(id, "E06")).into_result().unwrap_err();
    let err = poll(&mut sink, "t-1");
    assert_eq!(err.kind, RErrorKind::Data, "{err}");
    assert!(err.message.contains("does not know task t-1"), "{err}");
    let err = poll(&mut sink, "t-1");
    assert!(err.message.contains("result of another task"), "{err}");
    let err = poll(&mut sink, "t-1");
    assert!(
        err.message.contains("unknown task status `queued`"),
        "{err}"
    );
    // A task id is one path segment, whatever it holds.
    let err = poll(&mut sink, "a/b");
    assert!(err.message.contains("refused the credentials"), "{err}");
    assert_no_secret(&err);
    let err = sink.poll(receipt("t-1", "E99")).into_result().unwrap_err();
    assert!(err.message.contains("not a PMH API"), "{err}");
    assert_eq!(pmh.seen().len(), 4);
}

/// `client_secret_env` names a variable the test process has: setting one is `unsafe`, and
/// cargo gives every test its package name.
fn oauth_config(server: &str) -> Value {
    assert_eq!(
        std::env::var("CARGO_PKG_NAME").as_deref(),
        Ok("pmhlink-sink-api")
    );
    json!({
        "token_file": null,
        "oauth2": {
            "token_url": format!("{server}{TOKEN_URL}"),
            "client_id": "synthetic-client",
            "client_secret_env": "CARGO_PKG_NAME",
            "scope": "pmh.subsidy"
        }
    })
}

fn access_token(token: &str, expires_in: u64) -> String {
    json!({"access_token": token, "token_type": "Bearer", "expires_in": expires_in}).to_string()
}

#[test]
fn oauth2_token_is_fetched_once_and_reused() {
    let pmh = FakePmh::start(vec![
        answer("POST", TOKEN_URL, 200, &access_token("at-first-0001", 3600)),
        answer("GET", E08_TASK, 404, "{}"),
        answer("POST", E06, 202, &task("t-1")),
        answer("POST", E06, 202, &task("t-2")),
        answer_bytes(
            "GET",
            &format!("{E08_TASK}t-1"),
            200,
            &result_of("t-1", TaskStatus::Processing, Format::Json),
        ),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, oauth_config(&pmh.url));
    sink.check().unwrap();
    deliver(&mut sink, e06(1)).unwrap();
    deliver(&mut sink, e06(2)).unwrap();
    sink.poll(receipt("t-1", "E06")).unwrap();
    let seen = pmh.seen();
    assert_eq!(pmh.count("POST", TOKEN_URL), 1);
    let form = String::from_utf8(seen[0].body.clone()).unwrap();
    let mut fields: Vec<&str> = form.split('&').collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "client_id=synthetic-client",
            "client_secret=pmhlink-sink-api",
            "grant_type=client_credentials",
            "scope=pmh.subsidy"
        ]
    );
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen[0].header("authorization"), None);
    for request in &seen[1..] {
        assert_eq!(bearer(request), "Bearer at-first-0001", "{request:?}");
    }
}

#[test]
fn oauth2_token_is_renewed_once_on_401() {
    let pmh = FakePmh::start(vec![
        answer("POST", TOKEN_URL, 200, &access_token("at-old-0001", 3600)),
        answer("POST", E06, 401, "{}"),
        answer("POST", TOKEN_URL, 200, &access_token("at-new-0002", 3600)),
        answer("POST", E06, 202, &task("t-1")),
        // A second refusal right after a renewal is final.
        answer("POST", E06, 401, "{}"),
        answer("POST", TOKEN_URL, 200, &access_token("at-new-0003", 3600)),
        answer("POST", E06, 401, "{}"),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, oauth_config(&pmh.url));
    assert_eq!(deliver(&mut sink, e06(1)).unwrap().id.as_str(), "t-1");
    let err = deliver(&mut sink, e06(2)).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io, "{err}");
    assert!(
        err.message.contains("refused the credentials (401"),
        "{err}"
    );
    assert!(err.message.contains("`oauth2`"), "{err}");
    assert_no_secret(&err);
    let seen = pmh.seen();
    assert_eq!(seen.len(), 7);
    assert_eq!(bearer(&seen[1]), "Bearer at-old-0001");
    assert_eq!(bearer(&seen[3]), "Bearer at-new-0002");
    assert_eq!(bearer(&seen[6]), "Bearer at-new-0003");
}

#[test]
fn oauth2_refusals_and_short_lifetimes() {
    // A refused client: the OAuth2 error code, never the secret or the description.
    let refusal =
        json!({"error": "invalid_client", "error_description": "secret pmhlink-sink-api is wrong"});
    let pmh = FakePmh::start(vec![answer("POST", TOKEN_URL, 401, &refusal.to_string())]);
    let (_dir, mut sink) = sink_for(&pmh.url, oauth_config(&pmh.url));
    let err = deliver(&mut sink, e06(1)).unwrap_err();
    assert_eq!(err.kind, RErrorKind::Config, "{err}");
    assert!(
        err.message.contains("refused the client credentials"),
        "{err}"
    );
    assert!(err.message.contains("error `invalid_client`"), "{err}");
    assert_no_secret(&err);
    assert_eq!(pmh.seen().len(), 1);

    // A token that lives one second is renewed for the next request (the margin is half its
    // lifetime), not reused until PMH refuses it.
    let pmh = FakePmh::start(vec![
        answer("POST", TOKEN_URL, 200, &access_token("at-brief-0001", 1)),
        answer("POST", E06, 202, &task("t-1")),
        answer("POST", TOKEN_URL, 200, &access_token("at-brief-0002", 1)),
        answer("POST", E06, 202, &task("t-2")),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, oauth_config(&pmh.url));
    deliver(&mut sink, e06(1)).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    deliver(&mut sink, e06(2)).unwrap();
    let seen = pmh.seen();
    assert_eq!(bearer(&seen[3]), "Bearer at-brief-0002");
}

#[test]
fn check_reports_reachability_and_credentials() {
    let check = format!("{E08_TASK}pmhlink-connection-check");
    let pmh = FakePmh::start(vec![
        answer("GET", &check, 404, "{}"),
        answer("GET", &check, 200, "{}"),
        answer("GET", &check, 401, "{}"),
        answer("GET", &check, 500, "{}"),
        answer("GET", &check, 404, "{}"),
    ]);
    let (_dir, sink) = sink_for(&pmh.url, json!({}));
    let health = sink.check().unwrap();
    assert_eq!(
        health.as_str(),
        format!("PMH API {}: reachable, credentials accepted", pmh.url)
    );
    sink.check().unwrap();
    let err = sink.check().into_result().unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io, "{err}");
    assert!(
        err.message.contains("refused the credentials (401"),
        "{err}"
    );
    assert_no_secret(&err);
    // A failing PMH is asked again, as a delivery would be: a blip must not stop the day.
    sink.check().unwrap();
    // Checks send no payload.
    let seen = pmh.seen();
    assert_eq!(seen.len(), 5);
    assert!(
        seen.iter()
            .all(|s| s.body.is_empty() && s.header("idempotency-key").is_none())
    );

    let nowhere = closed_port_url();
    let (_dir, sink) = sink_for(&nowhere, json!({}));
    let err = sink.check().into_result().unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io, "{err}");
    assert!(
        err.message
            .contains(&format!("PMH API {nowhere} is unreachable")),
        "{err}"
    );
    assert_no_secret(&err);
}

#[test]
fn finish_sums_up_the_runs_tasks() {
    let pmh = FakePmh::start(vec![
        answer("POST", E06, 202, &task("t-1")),
        answer("POST", E06, 202, &task("t-2")),
        answer("POST", E05, 202, &task("t-3")),
    ]);
    let (_dir, mut sink) = sink_for(&pmh.url, json!({}));
    deliver(&mut sink, e06(1)).unwrap();
    deliver(&mut sink, e06(2)).unwrap();
    deliver(&mut sink, payload("r2", "E05", "csv", 1, b"a\r\n")).unwrap();
    let end = |run: &str, commit| RRunEnd {
        run_id: run.into(),
        commit,
        manifest_json: "{}".into(),
    };
    let summary = sink.finish(end("r1", true)).unwrap();
    assert_eq!(
        summary.as_str(),
        format!(
            "run r1: 2 task(s) at PMH API {} (E06: 2; first t-1, last t-2); their results come back by polling",
            pmh.url
        )
    );
    let summary = sink.finish(end("r2", false)).unwrap();
    assert!(summary.contains("aborted; 1 task(s)"), "{summary}");
    assert!(summary.contains("stay there"), "{summary}");
    let summary = sink.finish(end("r1", true)).unwrap();
    assert!(summary.contains("no task created"), "{summary}");
    // Finishing talks to nobody.
    assert_eq!(pmh.seen().len(), 3);
}

#[test]
fn import_reads_a_result_file() {
    let (dir, mut sink) = sink_for(&closed_port_url(), json!({}));
    let path = dir.path().join("E08-result.json");
    let bytes = result_of("t-1", TaskStatus::Completed, Format::Json);
    fs::write(&path, &bytes).unwrap();
    let read = sink.import(RStr::from_str(path.to_str().unwrap())).unwrap();
    assert_eq!(read.as_slice(), bytes);
    let missing = dir.path().join("missing.json");
    let err = sink
        .import(RStr::from_str(missing.to_str().unwrap()))
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind, RErrorKind::Io);
    assert!(err.message.contains("missing.json"), "{err}");
}

#[test]
fn open_refuses_bad_configs_across_the_abi() {
    let (_dir, config) = config_for("http://pmh.example.lg.jp", json!({}));
    let err = open(&config).err().unwrap();
    assert_eq!(err.kind, RErrorKind::Config);
    assert!(
        err.message.contains("`base_url`: http:// is allowed only"),
        "{err}"
    );
    assert!(!err.message.contains("pmh.example.lg.jp"), "{err}");
    let (_dir, config) = config_for(&closed_port_url(), json!({"token_env": "PMH_TOKEN"}));
    let err = open(&config).err().unwrap();
    assert!(
        err.message
            .contains("(`token_env` and `token_file` are both set)"),
        "{err}"
    );
}

#[test]
fn spec_and_schema() {
    let spec = (common::plugin().spec())();
    assert_eq!(spec.name.as_str(), "pmh-api");
    let schema: Value = serde_json::from_str(&spec.config_schema_json).unwrap();
    assert_eq!(schema["required"], json!(["base_url"]));
    let err = (common::plugin().open_source())(RStr::from_str("{}"))
        .into_result()
        .err()
        .unwrap();
    assert_eq!(err.kind, RErrorKind::Unsupported);
}
