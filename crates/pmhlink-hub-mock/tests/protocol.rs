//! The PMH API as a client sees it: tasks, results, sync semantics, token, idempotency, CSV.

mod common;

use common::{Hub, deleted, diff_record, full_record, held, send, task_id};
use pmhlink_hub_mock::MockConfig;
use pmhlink_profile::layout::Layout;
use pmhlink_profile::read::decode_json_record;
use pmhlink_profile::result::{Outcome, TaskStatus, read_csv};
use pmhlink_profile::write::{csv_row, encode_record};
use pmhlink_profile::{ApiId, Profile};
use serde_json::{Value, json};

#[test]
fn a_diff_task_is_processing_then_completed_and_its_rows_are_held() {
    let hub = Hub::new();
    let (a, b) = (diff_record(1, "H1"), diff_record(2, "H1"));
    let reply = hub.post_json(ApiId::E06, &[a.clone(), b.clone()]);
    assert_eq!(reply.status, 202);
    assert_eq!(reply.json(), json!({"taskId": "t-000001"}));

    let first = hub.result(ApiId::E08, "t-000001");
    assert_eq!(first.status, TaskStatus::Processing);
    assert!(first.records.is_empty());

    let done = hub.result(ApiId::E08, "t-000001");
    assert_eq!(done.task_id, "t-000001");
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.records.len(), 2);
    for (i, r) in done.records.iter().enumerate() {
        assert_eq!(r.record_number, i as u32 + 1);
        assert_eq!(r.history_key.as_deref(), Some("H1"));
        assert_eq!(r.outcome, Outcome::Accepted);
    }
    assert_eq!(hub.records(), vec![held(&a), held(&b)]);
    let subs = hub.submissions();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0]["taskId"], "t-000001");
    assert_eq!(subs[0]["api"], "E06");
    assert_eq!(subs[0]["idempotencyKey"], Value::Null);
    assert!(subs[0]["receivedAt"].as_u64().unwrap() > 1_700_000_000);
    assert_eq!(subs[0]["records"], json!([a, b]));
}

#[test]
fn a_delete_removes_its_row_and_deleting_an_absent_row_is_accepted() {
    let hub = Hub::new();
    let (a1, a2, b) = (
        diff_record(1, "H1"),
        diff_record(1, "H2"),
        diff_record(2, "H1"),
    );
    hub.register(ApiId::E06, &[a1.clone(), a2.clone(), b.clone()]);
    let mut changed = a2.clone();
    changed["validTo"] = "2026-09-30".into();
    let t = hub.register(
        ApiId::E06,
        &[
            deleted(a1.clone()),
            changed.clone(),
            deleted(diff_record(3, "H9")),
        ],
    );
    let result = hub.settled(ApiId::E08, &t);
    assert!(
        result
            .records
            .iter()
            .all(|r| r.outcome == Outcome::Accepted)
    );
    assert_eq!(hub.records(), vec![held(&changed), held(&b)]);
}

#[test]
fn a_reset_clears_once_then_keeps_all_its_batches() {
    let hub = Hub::new();
    hub.register(ApiId::E06, &[diff_record(1, "H1"), diff_record(2, "H1")]);
    let (c, d, e, f) = (
        diff_record(3, "R1"),
        diff_record(4, "R1"),
        diff_record(5, "D1"),
        diff_record(6, "R2"),
    );
    hub.register(ApiId::E12, std::slice::from_ref(&c));
    assert_eq!(hub.records(), vec![held(&c)]);
    hub.register(ApiId::E12, std::slice::from_ref(&d));
    assert_eq!(hub.records(), vec![held(&c), held(&d)]);
    hub.register(ApiId::E06, std::slice::from_ref(&e));
    assert_eq!(hub.records(), vec![held(&c), held(&d), held(&e)]);
    let t = hub.register(ApiId::E12, std::slice::from_ref(&f));
    assert_eq!(hub.records(), vec![held(&f)]);
    assert_eq!(hub.settled(ApiId::E14, &t).status, TaskStatus::Completed);
}

#[test]
fn full_sync_upserts_by_certificate_and_validity_start() {
    let hub = Hub::new();
    let (a, b) = (full_record(1, "2026-04-01"), full_record(2, "2026-04-01"));
    let t = hub.register(ApiId::E02, &[a.clone(), b.clone()]);
    let result = hub.settled(ApiId::E04, &t);
    assert_eq!(result.records[0].history_key, None);
    let mut renamed = a.clone();
    renamed["certificationName"] = "別の受給者証".into();
    let mut next_year = full_record(1, "2027-04-01");
    next_year["validTo"] = "2028-03-31".into();
    hub.register(ApiId::E02, &[renamed.clone(), next_year.clone()]);
    let records = hub.records();
    assert_eq!(records, vec![held(&renamed), held(&next_year), held(&b)]);
    assert!(records.iter().all(|r| r["isDeleted"] == false));
}

#[test]
fn results_are_only_served_by_the_tasks_own_result_api() {
    let hub = Hub::new();
    let t = hub.register(ApiId::E05, &[]);
    assert_eq!(t, "t-000001");
    for (api, task) in [(ApiId::E08, "t-000001"), (ApiId::E07, "t-000002")] {
        let reply = hub.get(&hub.result_path(api, task));
        assert_eq!(reply.status, 404, "{api} {task}");
        assert_eq!(reply.json()["code"], "not_found");
    }
    assert_eq!(
        hub.result(ApiId::E07, "t-000001").status,
        TaskStatus::Processing
    );
}

#[test]
fn readiness_follows_ready_after_polls() {
    for polls in [0u32, 3] {
        let hub = Hub::start(MockConfig {
            ready_after_polls: polls,
            ..MockConfig::default()
        });
        let t = hub.register(ApiId::E06, &[diff_record(1, "H1")]);
        for _ in 0..polls {
            assert_eq!(hub.result(ApiId::E08, &t).status, TaskStatus::Processing);
        }
        assert_eq!(hub.result(ApiId::E08, &t).status, TaskStatus::Completed);
    }
}

#[test]
fn an_unreadable_payload_makes_a_failed_task_that_changes_nothing() {
    let hub = Hub::new();
    hub.register(ApiId::E06, &[diff_record(1, "H1")]);
    for body in [&b"not json"[..], b"{\"an\": \"object\"}", b""] {
        let reply = hub.post(ApiId::E12, body, None);
        assert_eq!(reply.status, 202);
        let result = hub.settled(ApiId::E14, &task_id(&reply));
        assert_eq!(result.status, TaskStatus::Failed);
        assert!(result.records.is_empty());
    }
    assert_eq!(hub.records().len(), 1, "a failed reset clears nothing");
}

#[test]
fn the_profiles_limits_are_enforced() {
    let mut profile = Profile::builtin();
    profile.limits.max_records = 2;
    profile.limits.max_bytes = 4096;
    let hub = Hub::start(MockConfig::new(profile));
    let three: Vec<Value> = (1..=3).map(|n| diff_record(n, "H1")).collect();
    let t = hub.register(ApiId::E06, &three);
    assert_eq!(hub.settled(ApiId::E08, &t).status, TaskStatus::Failed);
    let big = vec![b' '; 5000];
    let reply = hub.post(ApiId::E06, &big, None);
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json()["code"], "payload_too_large");
}

#[test]
fn unknown_paths_and_wrong_methods_are_refused() {
    let hub = Hub::new();
    let reply = hub.get("/api/medical-subsidy/v1/nothing-here");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["code"], "not_found");
    let reply = send(hub.url(), "DELETE", &hub.path(ApiId::E06), &[], b"").unwrap();
    assert_eq!(reply.status, 405);
    let reply = send(
        hub.url(),
        "POST",
        &hub.result_path(ApiId::E08, "t-000001"),
        &[],
        b"[]",
    )
    .unwrap();
    assert_eq!(reply.status, 405);
}

#[test]
fn a_bearer_token_guards_the_api_but_not_inspection() {
    let hub = Hub::start(MockConfig {
        token: Some("s3cret".into()),
        ..MockConfig::default()
    });
    let path = hub.path(ApiId::E06);
    let body = serde_json::to_vec(&[diff_record(1, "H1")]).unwrap();
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "Basic s3cret")],
        vec![("Authorization", "s3cret")],
    ] {
        let reply = send(hub.url(), "POST", &path, &headers, &body).unwrap();
        assert_eq!(reply.status, 401, "{headers:?}");
        assert_eq!(reply.json()["code"], "unauthorized");
        assert!(reply.json()["message"].is_string());
    }
    let bare = send(
        hub.url(),
        "GET",
        &hub.result_path(ApiId::E08, "t-000001"),
        &[],
        b"",
    )
    .unwrap();
    assert_eq!(bare.status, 401);
    assert!(hub.submissions().is_empty());
    let reply = send(
        hub.url(),
        "POST",
        &path,
        &[("Authorization", "Bearer s3cret")],
        &body,
    )
    .unwrap();
    assert_eq!(reply.status, 202);
    assert_eq!(hub.settled(ApiId::E08, "t-000001").records.len(), 1);
    assert_eq!(hub.records().len(), 1);
}

#[test]
fn an_idempotency_key_makes_a_retry_return_the_first_task() {
    let hub = Hub::new();
    let body = serde_json::to_vec(&[diff_record(1, "H1")]).unwrap();
    let first = hub.post(ApiId::E06, &body, Some("run-1-batch-0"));
    assert_eq!(first.status, 202);
    let again = hub.post(ApiId::E06, &body, Some("run-1-batch-0"));
    assert_eq!(again.status, 200);
    assert_eq!(task_id(&again), task_id(&first));
    assert_eq!(hub.submissions().len(), 1);
    assert_eq!(hub.submissions()[0]["idempotencyKey"], "run-1-batch-0");

    let lookup =
        |api: ApiId, key: &str| hub.get(&format!("{}?idempotencyKey={key}", hub.path(api)));
    let found = lookup(ApiId::E06, "run-1-batch-0");
    assert_eq!(found.status, 200);
    assert_eq!(found.json(), json!({"taskId": "t-000001"}));
    assert_eq!(lookup(ApiId::E06, "run-1-batch-1").status, 404);
    assert_eq!(
        lookup(ApiId::E05, "run-1-batch-0").status,
        404,
        "keys are per API"
    );
    assert_eq!(hub.get(&hub.path(ApiId::E06)).status, 400);

    hub.post(ApiId::E06, &body, None);
    let other = hub.post(ApiId::E06, &body, None);
    assert_eq!(
        task_id(&other),
        "t-000003",
        "without a key every POST is a task"
    );
}

/// The E05 CSV body of some E06-shaped records, written by pmhlink's own payload writer.
fn csv_payload(profile: &Profile, records: &[Value]) -> Vec<u8> {
    let json_layout = Layout::new(profile, ApiId::E06).unwrap();
    let csv_layout = Layout::new(profile, ApiId::E05).unwrap();
    let header: Vec<&str> = csv_layout
        .columns
        .iter()
        .map(|c| c.header.as_str())
        .collect();
    let mut out = Vec::new();
    csv_row(&header, csv_layout.csv.line_ending, &mut out);
    for (i, r) in records.iter().enumerate() {
        let decoded = decode_json_record(&json_layout, r.clone());
        assert!(decoded.findings.is_empty(), "{:?}", decoded.findings);
        encode_record(&csv_layout, &decoded.record.unwrap(), i, &mut out).unwrap();
    }
    out
}

#[test]
fn csv_registration_and_csv_result_round_trip() {
    let hub = Hub::new();
    let good = diff_record(1, "H1");
    let mut bad = diff_record(2, "H1");
    bad["myNumber"] = "123456789012".into();
    let body = csv_payload(&hub.profile, &[good.clone(), bad]);
    let reply = hub.post(ApiId::E05, &body, None);
    assert_eq!(reply.status, 202);
    let t = task_id(&reply);

    let first = hub.get(&hub.result_path(ApiId::E07, &t));
    let processing = read_csv(&hub.profile.result, &first.body).unwrap();
    assert_eq!(processing.status, TaskStatus::Processing);
    let reply = hub.get(&hub.result_path(ApiId::E07, &t));
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/csv")
    );
    let result = read_csv(&hub.profile.result, &reply.body).unwrap();
    assert_eq!(result.status, TaskStatus::Completed);
    assert_eq!(result.records[0].outcome, Outcome::Accepted);
    let Outcome::Rejected(errors) = &result.records[1].outcome else {
        panic!("record 2 is rejected");
    };
    assert_eq!(errors[0].code, "E0003");
    assert_eq!(errors[0].item.as_deref(), Some("myNumber"));
    assert_eq!(
        hub.records(),
        vec![held(&good)],
        "a CSV row is held in its JSON shape"
    );
}

#[test]
fn a_csv_header_that_is_not_the_layout_fails_the_task() {
    let hub = Hub::new();
    let reply = hub.post(ApiId::E05, b"myNumber,historyKey\r\n1,2\r\n", None);
    let result = hub.settled(ApiId::E07, &task_id(&reply));
    assert_eq!(result.status, TaskStatus::Failed);
}

#[test]
fn stats_count_without_downloading() {
    let hub = Hub::new();
    let stats = || {
        send(hub.url(), "GET", "/_mock/stats", &[], b"")
            .unwrap()
            .json()
    };
    assert_eq!(
        stats(),
        json!({"rows": 0, "submissions": 0, "records_received": 0})
    );
    let a = diff_record(1, "H1");
    hub.register(ApiId::E06, &[a.clone(), diff_record(2, "H1")]);
    hub.register(ApiId::E06, &[deleted(a)]);
    hub.post(ApiId::E06, b"not json", None);
    assert_eq!(
        stats(),
        json!({"rows": 1, "submissions": 3, "records_received": 3})
    );
}
