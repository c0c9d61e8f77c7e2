//! Registration results (E03/E04, E07/E08, E13/E14): round trips in both formats, and the
//! shapes a result reader must refuse with a clear message.

use pmhlink_profile::result::{self, Outcome, PmhError, RecordResult, TaskResult, TaskStatus};
use pmhlink_profile::{Format, Profile};
use proptest::prelude::*;

fn status() -> impl Strategy<Value = TaskStatus> {
    prop_oneof![
        Just(TaskStatus::Processing),
        Just(TaskStatus::Completed),
        Just(TaskStatus::Failed)
    ]
}

fn error() -> impl Strategy<Value = PmhError> {
    (
        "[A-Z]{2}[0-9]{3}",
        proptest::option::of("[a-zA-Z.]{1,20}"),
        "[^\r\n]{0,30}",
    )
        .prop_map(|(code, item, message)| PmhError {
            code,
            item,
            message,
        })
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Accepted),
        proptest::collection::vec(error(), 1..4).prop_map(Outcome::Rejected)
    ]
}

prop_compose! {
    fn task()(
        task_id in "[a-z0-9-]{1,20}",
        status in status(),
        outcomes in proptest::collection::vec((proptest::option::of("[A-Za-z0-9]{1,10}"), outcome()), 0..8),
    ) -> TaskResult {
        let records = if status == TaskStatus::Processing {
            Vec::new()
        } else {
            outcomes
                .into_iter()
                .enumerate()
                .map(|(i, (history_key, outcome))| RecordResult { record_number: i as u32 + 1, history_key, outcome })
                .collect()
        };
        TaskResult { task_id, status, records }
    }
}

proptest! {
    #[test]
    fn results_round_trip_in_both_formats(t in task()) {
        let spec = Profile::builtin().result;
        for format in [Format::Json, Format::Csv] {
            let bytes = result::write(&spec, format, &t).unwrap();
            prop_assert_eq!(&result::read(&spec, format, &bytes).unwrap(), &t);
        }
    }
}

#[test]
fn malformed_results_are_refused_with_the_place_named() {
    let spec = Profile::builtin().result;
    let cases: [(Format, &str, &str); 7] = [
        (Format::Json, "{", "not valid JSON"),
        (Format::Json, "[]", "not a JSON object"),
        (
            Format::Json,
            r#"{"taskId":"t","status":"done"}"#,
            "unknown task status `done`",
        ),
        (
            Format::Json,
            r#"{"taskId":"t","status":"completed","results":[{"recordNumber":1,"result":"maybe"}]}"#,
            "results[0]: unknown outcome",
        ),
        (
            Format::Json,
            r#"{"taskId":"t","status":"completed","results":[{"recordNumber":"1","result":"accepted"}]}"#,
            "results[0]: `recordNumber`",
        ),
        (
            Format::Csv,
            "taskId,status\r\nt,completed\r\n",
            "no column `recordNumber`",
        ),
        (
            Format::Csv,
            "taskId,status,recordNumber,historyKey,result,code,item,message\r\nt,completed,x,,accepted,,,\r\n",
            "line 2: record number",
        ),
    ];
    for (format, text, expected) in cases {
        let err = result::read(&spec, format, text.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{text}: {err}");
    }
}

#[test]
fn a_rejected_record_keeps_every_error_in_csv() {
    let spec = Profile::builtin().result;
    let csv = "\u{feff}taskId,status,recordNumber,historyKey,result,code,item,message\r\n\
               t1,completed,1,H1,accepted,,,\r\n\
               t1,completed,2,H2,rejected,E101,myNumber,check digit\r\n\
               t1,completed,2,H2,rejected,E205,validTo,before validFrom\r\n";
    let r = result::read(&spec, Format::Csv, csv.as_bytes()).unwrap();
    assert_eq!(r.records.len(), 2);
    match &r.records[1].outcome {
        Outcome::Rejected(errors) => assert_eq!(
            errors.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
            ["E101", "E205"]
        ),
        other => panic!("{other:?}"),
    }
}
