//! The state file: written after every change, read back by the next hub on the same file.

mod common;

use common::{Hub, deleted, diff_record, held, task_id, temp_dir};
use pmhlink_hub_mock::{MockConfig, MockError, spawn_local};
use pmhlink_profile::ApiId;
use pmhlink_profile::result::TaskStatus;
use serde_json::Value;

#[test]
fn a_new_hub_on_the_same_state_file_continues_where_the_last_stopped() {
    let dir = temp_dir("state");
    let state = dir.join("hub.json");
    let config = || MockConfig {
        state: Some(state.clone()),
        ..MockConfig::default()
    };
    let (a, b) = (diff_record(1, "H1"), diff_record(2, "H1"));
    let (records, submissions) = {
        let hub = Hub::start(config());
        let body = serde_json::to_vec(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(hub.post(ApiId::E06, &body, Some("k-1")).status, 202);
        hub.register(ApiId::E06, &[deleted(b.clone())]);
        assert_eq!(
            hub.result(ApiId::E08, "t-000001").status,
            TaskStatus::Processing
        );
        let on_disk: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        assert_eq!(on_disk["issued"], 2);
        (hub.records(), hub.submissions())
    };
    assert_eq!(records, vec![held(&a)]);
    assert!(
        std::fs::read_dir(&dir).unwrap().count() == 1,
        "no temporary file is left behind"
    );

    let hub = Hub::start(config());
    assert_eq!(hub.records(), records);
    assert_eq!(hub.submissions(), submissions);
    assert_eq!(
        hub.result(ApiId::E08, "t-000001").status,
        TaskStatus::Completed,
        "the poll before the restart counts"
    );
    let repeat = hub.post(ApiId::E06, b"[]", Some("k-1"));
    assert_eq!((repeat.status, task_id(&repeat)), (200, "t-000001".into()));
    assert_eq!(hub.register(ApiId::E06, &[]), "t-000003");
    drop(hub);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unreadable_state_file_stops_the_start_without_quoting_it() {
    let dir = temp_dir("bad-state");
    let state = dir.join("hub.json");
    std::fs::write(&state, r#"{"version": 1, "issued": "123456789018"}"#).unwrap();
    let err = spawn_local(MockConfig {
        state: Some(state.clone()),
        ..MockConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, MockError::State { .. }), "{err}");
    assert!(!err.to_string().contains("123456789018"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
