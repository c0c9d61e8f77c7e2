//! Real source libraries through the host: batches, row errors, a panicking plugin.

use std::sync::OnceLock;

use pmhlink_plugin_host::{FailureKind, Host, HostError, PluginFailure, PluginKind, Verb};
use serde_json::{Value, json};

use crate::common::{ECHO, ROGUE, SINK, plugin_dir};

/// One host for this module's tests: loading is process-wide anyway.
fn host() -> &'static Host {
    static HOST: OnceLock<(tempfile::TempDir, Host)> = OnceLock::new();
    &HOST
        .get_or_init(|| {
            let dir = plugin_dir(&[ECHO, ROGUE, SINK]);
            let host = Host::discover(pmhlink_plugin_host::PluginDirs::resolve(
                [dir.path()],
                None,
                None,
            ))
            .unwrap();
            (dir, host)
        })
        .1
}

fn read_all(
    source: &mut pmhlink_plugin_host::HostSource,
    max_rows: usize,
) -> Result<Vec<(u64, Vec<String>)>, PluginFailure> {
    let mut rows = Vec::new();
    while let Some(batch) = source.next_batch(max_rows)? {
        assert!(batch.rows() <= max_rows);
        for i in 0..batch.rows() {
            rows.push((batch.line(i), batch.row(i).map(str::to_owned).collect()));
        }
    }
    Ok(rows)
}

fn open_err(name: &str, config: Value) -> PluginFailure {
    match host().open_source(name, &config) {
        Err(HostError::Plugin(failure)) => failure,
        Err(other) => panic!("not a plugin failure: {other}"),
        Ok(_) => panic!("opened"),
    }
}

#[test]
fn echo_is_read_through_the_wrapper() {
    let config = json!({"columns": ["x", "y"], "rows": [["a", "b"], ["c", "d"], ["e", "f"]]});
    let mut source = host().open_source("echo", &config).unwrap();
    assert_eq!(source.plugin(), "echo");
    source.check().unwrap();
    assert_eq!(source.discover().unwrap(), ["x", "y"]);
    let rows = read_all(&mut source, 2).unwrap();
    let cells = |a: &str, b: &str| vec![a.to_owned(), b.to_owned()];
    assert_eq!(
        rows,
        [
            (2, cells("a", "b")),
            (3, cells("c", "d")),
            (4, cells("e", "f"))
        ]
    );
    assert!(source.next_batch(2).unwrap().is_none());
    // Zero is asked as one, not passed on.
    let mut source = host().open_source("echo", &config).unwrap();
    assert_eq!(source.next_batch(0).unwrap().unwrap().rows(), 1);
}

#[test]
fn a_panic_is_a_failure_naming_the_plugin_and_the_process_goes_on() {
    let config = json!({"columns": ["x"], "rows": [["a"]], "panic_on_read": true});
    let mut source = host().open_source("echo", &config).unwrap();
    let failure = source.next_batch(10).unwrap_err();
    assert_eq!(
        (failure.plugin.as_str(), failure.verb, failure.kind),
        ("echo", Verb::Read, FailureKind::Panic)
    );
    let text = failure.to_string();
    assert!(
        text.starts_with("plugin `echo` panicked in read at ")
            && text.contains("src/lib.rs:")
            && text.ends_with("; the run stops"),
        "{text}"
    );
    assert!(
        !text.contains("panic_on_read is set"),
        "message withheld: {text}"
    );
    // The instance is never called again; every call reports the original panic.
    assert_eq!(source.check().unwrap_err(), failure);
    assert_eq!(source.next_batch(10).unwrap_err(), failure);

    // The plugin itself is still usable through a new instance.
    let mut fresh = host()
        .open_source("echo", &json!({"columns": ["x"], "rows": [["a"]]}))
        .unwrap();
    assert_eq!(read_all(&mut fresh, 10).unwrap().len(), 1);

    let failure = open_err(
        "echo",
        json!({"columns": [], "rows": [], "panic_on_open": true}),
    );
    assert_eq!(
        (failure.verb, failure.kind),
        (Verb::Open, FailureKind::Panic)
    );
}

#[test]
fn config_and_check_errors_name_plugin_verb_and_key() {
    let failure = open_err("echo", json!({"columns": ["x"], "rows": "SECRET-VALUE"}));
    assert_eq!(
        (failure.verb, failure.kind),
        (Verb::Open, FailureKind::Config)
    );
    let text = failure.to_string();
    assert!(
        text.starts_with("plugin `echo` (open): config error at rows: "),
        "{text}"
    );
    assert!(!text.contains("SECRET"), "{text}");

    let source = host()
        .open_source("echo", &json!({"columns": ["x", "y"], "rows": [["a"]]}))
        .unwrap();
    let failure = source.check().unwrap_err();
    assert_eq!(
        (failure.verb, failure.kind),
        (Verb::Check, FailureKind::Config)
    );
    assert_eq!(failure.location.as_deref(), Some("rows[0]"));
    // A non-fatal failure leaves the instance usable.
    assert_eq!(source.discover().unwrap(), ["x", "y"]);
}

#[test]
fn malformed_batches_are_protocol_failures() {
    for (mode, max_rows, expected) in [
        (
            "malformed-batch",
            10,
            "malformed batch: cell end out of order",
        ),
        ("empty-batch", 10, "returned an empty batch"),
        (
            "too-many-rows",
            1,
            "returned 3 rows when at most 1 were asked for",
        ),
    ] {
        let mut source = host().open_source("rogue", &json!({"mode": mode})).unwrap();
        let failure = source.next_batch(max_rows).unwrap_err();
        assert_eq!(failure.kind, FailureKind::Protocol, "{mode}");
        let text = failure.to_string();
        assert!(
            text.starts_with("plugin `rogue` (read): protocol error: ") && text.contains(expected),
            "{mode}: {text}"
        );
        assert_eq!(source.next_batch(max_rows).unwrap_err(), failure, "{mode}");
    }
}

#[test]
fn unknown_error_kinds_are_other() {
    let mut source = host()
        .open_source("rogue", &json!({"mode": "unknown-error-kind"}))
        .unwrap();
    let failure = source.next_batch(10).unwrap_err();
    assert_eq!(failure.kind, FailureKind::Other);
    assert_eq!(
        failure.to_string(),
        "plugin `rogue` (read): error at x: a kind from the future"
    );
}

#[test]
fn kinds_are_checked_before_opening() {
    let err = host().open_sink("echo", &json!({})).err().unwrap();
    assert_eq!(
        err,
        HostError::WrongKind {
            name: "echo".into(),
            is: PluginKind::Source,
            wanted: PluginKind::Sink,
        }
    );
    assert_eq!(
        err.to_string(),
        "plugin `echo` is a source plugin; it cannot be used as a sink"
    );
    assert!(host().open_source("dir-sink", &json!({})).is_err());
}
