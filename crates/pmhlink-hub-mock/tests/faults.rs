//! Fault injection: status answers, delays, lost answers, tasks that never finish, rejections.

mod common;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use common::{Hub, diff_record, task_id, temp_dir};
use pmhlink_hub_mock::{Faults, MockConfig, MockError};
use pmhlink_profile::ApiId;
use pmhlink_profile::result::{Outcome, TaskStatus};
use serde_json::json;

fn body() -> Vec<u8> {
    serde_json::to_vec(&[diff_record(1, "H1")]).unwrap()
}

#[test]
fn a_429_with_retry_after_creates_nothing_then_the_retry_succeeds() {
    let hub = Hub::new();
    let set = hub.set_faults(json!({"fault": [
        {"on": "register", "status": 429, "retry_after": 7}
    ]}));
    assert_eq!(set.status, 200);
    let reply = hub.post(ApiId::E06, &body(), None);
    assert_eq!(reply.status, 429);
    assert_eq!(reply.header("retry-after"), Some("7"));
    assert_eq!(reply.json()["code"], "too_many_requests");
    assert!(hub.submissions().is_empty());
    let reply = hub.post(ApiId::E06, &body(), None);
    assert_eq!(reply.status, 202);
    assert_eq!(task_id(&reply), "t-000001");
}

#[test]
fn a_503_rule_hits_twice_then_is_spent() {
    let hub = Hub::new();
    hub.set_faults(json!({"fault": [
        {"on": "any", "api": "E06", "times": 2, "status": 503, "retry_after": 1}
    ]}));
    assert_eq!(
        hub.post(ApiId::E05, b"", None).status,
        202,
        "E05 is not E06"
    );
    assert_eq!(hub.post(ApiId::E06, &body(), None).status, 503);
    assert_eq!(hub.faults()["fault"][0]["times"], 1);
    assert_eq!(hub.post(ApiId::E06, &body(), None).status, 503);
    assert_eq!(hub.faults(), json!({"fault": [], "reject": []}));
    assert_eq!(hub.post(ApiId::E06, &body(), None).status, 202);
}

#[test]
fn a_result_rule_hits_result_gets_only() {
    let hub = Hub::new();
    hub.set_faults(json!({"fault": [{"on": "result", "status": 500}]}));
    let t = hub.register(ApiId::E06, &[diff_record(1, "H1")]);
    let path = hub.result_path(ApiId::E08, &t);
    assert_eq!(hub.get(&path).status, 500);
    assert_eq!(
        hub.result(ApiId::E08, &t).status,
        TaskStatus::Processing,
        "a status answer is not a poll"
    );
    assert_eq!(hub.result(ApiId::E08, &t).status, TaskStatus::Completed);
}

#[test]
fn a_delay_slows_the_answer() {
    let hub = Hub::new();
    hub.set_faults(json!({"fault": [{"on": "register", "delay_ms": 300}]}));
    let start = Instant::now();
    assert_eq!(hub.post(ApiId::E06, &body(), None).status, 202);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn a_dropped_answer_still_created_the_task_and_the_key_finds_it() {
    let hub = Hub::new();
    hub.set_faults(json!({"fault": [{"on": "register", "drop": true}]}));
    let err = match hub.try_post(ApiId::E06, &body(), Some("batch-0")) {
        Err(e) => e,
        Ok(reply) => panic!("an answer arrived: {}", reply.status),
    };
    assert!(
        matches!(
            err.kind(),
            ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
        ),
        "{err}"
    );
    let lookup = hub.get(&format!("{}?idempotencyKey=batch-0", hub.path(ApiId::E06)));
    assert_eq!(lookup.status, 200);
    assert_eq!(task_id(&lookup), "t-000001");
    let retry = hub.post(ApiId::E06, &body(), Some("batch-0"));
    assert_eq!(retry.status, 200);
    assert_eq!(task_id(&retry), "t-000001");
    assert_eq!(hub.submissions().len(), 1);
    assert_eq!(hub.records().len(), 1);
}

#[test]
fn stay_processing_keeps_one_task_processing_forever() {
    let hub = Hub::new();
    hub.set_faults(json!({"fault": [{"on": "register", "stay_processing": true}]}));
    let stuck = hub.register(ApiId::E06, &[diff_record(1, "H1")]);
    let fine = hub.register(ApiId::E06, &[diff_record(2, "H1")]);
    for _ in 0..5 {
        assert_eq!(
            hub.result(ApiId::E08, &stuck).status,
            TaskStatus::Processing
        );
    }
    assert_eq!(hub.settled(ApiId::E08, &fine).status, TaskStatus::Completed);

    hub.set_faults(json!({"fault": [{"on": "result", "stay_processing": true}]}));
    let later = hub.register(ApiId::E06, &[diff_record(3, "H1")]);
    for _ in 0..5 {
        assert_eq!(
            hub.result(ApiId::E08, &later).status,
            TaskStatus::Processing
        );
    }
}

#[test]
fn reject_rules_from_a_toml_file_reject_matching_records() {
    let dir = temp_dir("reject-rules");
    let file = dir.join("faults.toml");
    std::fs::write(
        &file,
        r#"
[[reject]]
field = "historyKey"
ends_with = "X"

[[reject]]
field = "basicFiveInfo.sex"
equals = "1"
code = "E0123"
message = "sex not accepted here"
"#,
    )
    .unwrap();
    let hub = Hub::start(MockConfig {
        faults: Faults::load(&file).unwrap(),
        ..MockConfig::default()
    });
    let mut male = diff_record(3, "H3");
    male["basicFiveInfo"]["sex"] = "1".into();
    let t = hub.register(
        ApiId::E06,
        &[diff_record(1, "H1"), diff_record(2, "H2X"), male],
    );
    let result = hub.settled(ApiId::E08, &t);
    assert_eq!(result.records[0].outcome, Outcome::Accepted);
    let Outcome::Rejected(e) = &result.records[1].outcome else {
        panic!("ends_with X is rejected");
    };
    assert_eq!(
        (
            e[0].code.as_str(),
            e[0].item.as_deref(),
            e[0].message.as_str()
        ),
        ("E0099", Some("historyKey"), "rejected by rule")
    );
    let Outcome::Rejected(e) = &result.records[2].outcome else {
        panic!("sex 1 is rejected");
    };
    assert_eq!(e[0].code, "E0123");
    assert_eq!(hub.records().len(), 1);
    assert_eq!(
        hub.faults()["reject"].as_array().unwrap().len(),
        2,
        "never spent"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn invalid_fault_rules_are_refused() {
    let hub = Hub::new();
    for bad in [
        json!({"fault": [{"status": 302}]}),
        json!({"fault": [{"on": "sometimes", "status": 500}]}),
        json!({"fault": [{"on": "register"}]}),
        json!({"reject": [{"field": "myNumber"}]}),
    ] {
        let reply = hub.set_faults(bad.clone());
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json()["code"], "bad_request");
    }
    let dir = temp_dir("bad-faults");
    let file = dir.join("faults.toml");
    std::fs::write(&file, "[[fault]]\nstatus = 503\ndrop = true\n").unwrap();
    assert!(matches!(Faults::load(&file), Err(MockError::Faults { .. })));
    assert!(matches!(
        Faults::load(&dir.join("absent.toml")),
        Err(MockError::FaultsRead { .. })
    ));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn reset_forgets_data_and_fault_rules() {
    let hub = Hub::new();
    hub.register(ApiId::E06, &[diff_record(1, "H1")]);
    hub.set_faults(json!({"fault": [{"status": 503, "times": 5}]}));
    let reply = common::send(hub.url(), "POST", "/_mock/reset", &[], b"").unwrap();
    assert_eq!(reply.status, 200);
    assert!(hub.records().is_empty());
    assert!(hub.submissions().is_empty());
    assert_eq!(hub.faults(), json!({"fault": [], "reject": []}));
    assert_eq!(hub.register(ApiId::E06, &[]), "t-000001");
}
