//! A real sink library through the host: payloads out, outcomes and failures back.

use std::fs;

use pmhlink_plugin_host::{
    FailureKind, Host, HostSink, OutcomeState, PayloadOut, PluginDirs, Verb,
};
use serde_json::json;

use crate::common::{SINK, plugin_dir};

fn open(out: &std::path::Path, extra: serde_json::Value) -> (tempfile::TempDir, HostSink) {
    let dir = plugin_dir(&[SINK]);
    let host = Host::discover(PluginDirs::resolve([dir.path()], None, None)).unwrap();
    let mut config = json!({"dir": out});
    config
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    (dir, host.open_sink("dir-sink", &config).unwrap())
}

fn payload(run_id: &str, seq: u32) -> PayloadOut {
    PayloadOut {
        run_id: run_id.into(),
        municipality: "131016".into(),
        api: "E06".into(),
        format: "json".into(),
        seq,
        records: 1,
        file_name: format!("E06-{seq:03}.json"),
        bytes: b"[{\"synthetic\": true}]".to_vec(),
    }
}

#[test]
fn deliver_poll_import_and_finish() {
    let out = tempfile::tempdir().unwrap();
    let (_plugins, mut sink) = open(out.path(), json!({}));
    assert_eq!(sink.plugin(), "dir-sink");
    assert!(sink.check().unwrap().starts_with("writing to "));

    let receipt = sink.deliver(payload("run-1", 1)).unwrap();
    assert_eq!(receipt.id, "E06-001.json");
    let outcome = sink.poll(&receipt).unwrap();
    assert_eq!(outcome.state, OutcomeState::Completed);
    assert!(
        String::from_utf8(outcome.result_bytes)
            .unwrap()
            .contains("accepted")
    );
    let summary = sink.finish("run-1", true, "{\"files\": 1}").unwrap();
    assert!(summary.starts_with("1 file(s) in "), "{summary}");
    let run = out.path().join("run-1");
    assert_eq!(
        fs::read(run.join("E06-001.json")).unwrap(),
        b"[{\"synthetic\": true}]"
    );
    assert_eq!(
        sink.import(run.join("manifest.json").to_str().unwrap())
            .unwrap(),
        b"{\"files\": 1}"
    );

    sink.deliver(payload("run-2", 1)).unwrap();
    assert_eq!(
        sink.finish("run-2", false, "{}").unwrap(),
        "discarded 1 file(s)"
    );
    let mut left: Vec<_> = fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["run-1"]);

    let failure = sink.import("/nonexistent/result.csv").unwrap_err();
    assert_eq!(
        (failure.verb, failure.kind),
        (Verb::Import, FailureKind::Io)
    );
    assert_eq!(failure.location.as_deref(), Some("/nonexistent/result.csv"));
}

#[test]
fn a_panicking_sink_is_a_failure() {
    let out = tempfile::tempdir().unwrap();
    let (_plugins, mut sink) = open(out.path(), json!({"panic_on_deliver": true}));
    let failure = sink.deliver(payload("run-1", 1)).unwrap_err();
    assert_eq!(
        (failure.verb, failure.kind),
        (Verb::Deliver, FailureKind::Panic)
    );
    assert!(
        failure
            .to_string()
            .starts_with("plugin `dir-sink` panicked in deliver at "),
        "{failure}"
    );
    assert_eq!(sink.finish("run-1", false, "{}").unwrap_err(), failure);
}

#[test]
fn payloads_are_not_printed() {
    let shown = format!("{:?}", payload("run-1", 1));
    assert!(!shown.contains("synthetic"), "{shown}");
}
