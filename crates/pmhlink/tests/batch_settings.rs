//! Batch size and the interface profile through the real binary: `[batch]` cuts a run's
//! payloads within the profile's limits, and a value above them (or zero) is refused by
//! `check`, `lint --pipeline`, `run` and `profile --pipeline` alike, naming the key and the
//! limit; a record larger than the byte limit stops the delivery until the limit is raised;
//! `pmhlink profile` prints the built-in profile as it is stored.

mod common;

use common::town::{Town, payloads};
use common::{Run, pmhlink, run};
use serde_json::Value;

const DATE: &str = "2025-06-02";
const RUN_ID: &str = "139998-20250602-pipeline";
const PROFILE_FILE: &str = include_str!("../../pmhlink-profile/profiles/pmh-default.toml");
/// The towns' own profile (`small.toml`) allows this many records per payload; its byte limit
/// is the built-in one.
const PROFILE_RECORDS: usize = 20;
const PROFILE_BYTES: usize = 10_485_760;

/// What a `[batch]` table must do to the town.
enum Want {
    /// Payloads of at most this many records and bytes; `profile --pipeline` says each line.
    Cut {
        records: usize,
        bytes: usize,
        said: [&'static str; 2],
    },
    /// Every command refuses the pipeline (exit 2), naming each key with its limit.
    Refused(&'static [(&'static str, &'static str)]),
}

struct Case {
    batch: &'static str,
    want: Want,
}

const CASES: &[Case] = &[
    Case {
        batch: "",
        want: Want::Cut {
            records: PROFILE_RECORDS,
            bytes: PROFILE_BYTES,
            said: [
                "batch: at most 20 records per payload (the profile's limit, assumed)",
                "batch: at most 10485760 bytes per payload (the profile's limit, assumed)",
            ],
        },
    },
    Case {
        batch: "max_records = 7",
        want: Want::Cut {
            records: 7,
            bytes: PROFILE_BYTES,
            said: [
                "batch: at most 7 records per payload (`batch.max_records`; the profile's limit is 20, assumed)",
                "batch: at most 10485760 bytes per payload (the profile's limit, assumed)",
            ],
        },
    },
    Case {
        batch: "max_bytes = 8000",
        want: Want::Cut {
            records: PROFILE_RECORDS,
            bytes: 8000,
            said: [
                "batch: at most 20 records per payload (the profile's limit, assumed)",
                "batch: at most 8000 bytes per payload (`batch.max_bytes`; the profile's limit is 10485760, assumed)",
            ],
        },
    },
    Case {
        batch: "max_records = 21",
        want: Want::Refused(&[("batch.max_records", "from 1 to 20 records")]),
    },
    Case {
        batch: "max_records = 0",
        want: Want::Refused(&[("batch.max_records", "from 1 to 20 records")]),
    },
    Case {
        batch: "max_records = 0\nmax_bytes = 10485761",
        want: Want::Refused(&[
            ("batch.max_records", "from 1 to 20 records"),
            ("batch.max_bytes", "from 1 to 10485760 bytes"),
        ]),
    },
];

fn profile_of(town: &Town) -> Run {
    run(pmhlink()
        .args(["profile", "--pipeline"])
        .arg(town.path("pipeline.toml")))
}

fn check(town: &Town) -> Run {
    run(pmhlink().arg("check").arg(town.path("pipeline.toml")))
}

/// `lint --pipeline` of an empty upload file: only the pipeline can make it fail.
fn lint(town: &Town) -> Run {
    let empty = town.path("empty.json");
    std::fs::write(&empty, "[]").unwrap();
    run(pmhlink()
        .args(["lint", "--api", "E06", "--today", DATE, "--pipeline"])
        .arg(town.path("pipeline.toml"))
        .arg(&empty))
}

#[test]
fn batch_settings_cut_payloads_within_the_profiles_limits_or_are_refused() {
    for case in CASES {
        let town = Town::new(45, 4, PROFILE_RECORDS);
        town.edit_pipeline("[report]", &format!("[batch]\n{}\n\n[report]", case.batch));
        let said = |r: &Run| format!("`{}`:\n{}{}", case.batch, r.stdout, r.stderr);
        match &case.want {
            Want::Cut {
                records,
                bytes,
                said: lines,
            } => {
                let shown = profile_of(&town);
                assert_eq!(shown.status, 0, "{}", said(&shown));
                let profile_line =
                    format!("{} (`profile.path`)", town.path("small.toml").display());
                assert!(shown.stdout.contains(&profile_line), "{}", said(&shown));
                for l in lines {
                    assert!(
                        shown.stdout.lines().any(|s| s == *l),
                        "{l}\n{}",
                        said(&shown)
                    );
                }
                let checked = check(&town);
                assert_eq!(checked.status, 0, "{}", said(&checked));
                let limits =
                    format!("ok  batch: at most {records} records and {bytes} bytes per payload");
                assert!(checked.stdout.contains(&limits), "{}", said(&checked));
                assert_eq!(lint(&town).status, 0);

                let ran = town.run(DATE, &[]);
                assert_eq!(ran.status, 0, "{}", said(&ran));
                let files = payloads(&town.path(&format!("outbox/{RUN_ID}")));
                let mut sent = 0;
                for f in &files {
                    let body = std::fs::read(f).unwrap();
                    let n = serde_json::from_slice::<Vec<Value>>(&body).unwrap().len();
                    assert!((1..=*records).contains(&n), "{}: {n} records", f.display());
                    assert!(
                        body.len() <= *bytes,
                        "{}: {} bytes",
                        f.display(),
                        body.len()
                    );
                    sent += n;
                }
                let report = town.report(RUN_ID, "report.json");
                assert_eq!(report["diff"]["register"], sent, "{report:#}");
                if *bytes == PROFILE_BYTES {
                    // Only the record limit cuts: every payload but the last is full.
                    assert_eq!(files.len(), sent.div_ceil(*records), "{}", case.batch);
                } else {
                    assert!(files.len() > sent.div_ceil(*records), "{}", case.batch);
                }
            }
            Want::Refused(refused) => {
                let ran = town.run(DATE, &[]);
                for (command, out) in [
                    ("profile", profile_of(&town)),
                    ("check", check(&town)),
                    ("lint", lint(&town)),
                    ("run", ran),
                ] {
                    assert_eq!(out.status, 2, "{command} {}", said(&out));
                    for (key, limit) in *refused {
                        let named = out
                            .stderr
                            .lines()
                            .any(|l| l.contains(&format!("`{key}`")) && l.contains(limit));
                        assert!(named, "{command}: {key} {limit}\n{}", said(&out));
                    }
                }
                assert!(!town.path("outbox").exists(), "nothing is delivered");
                assert!(!town.path("state").exists(), "no ledger is begun");
            }
        }
    }
}

#[test]
fn profile_prints_the_built_in_profile_as_it_is_stored() {
    let out = run(pmhlink().arg("profile"));
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, PROFILE_FILE);
    // What it prints loads as the profile pmhlink runs with when a pipeline names none.
    let copy = pmhlink_profile::Profile::from_toml_str(&out.stdout, "copy").unwrap();
    assert_eq!(copy, pmhlink_profile::Profile::builtin());

    // A pipeline naming no profile file says it speaks the built-in one.
    let town = Town::new(5, 4, PROFILE_RECORDS);
    let text = std::fs::read_to_string(town.path("pipeline.toml")).unwrap();
    let builtin = text.replacen("path = \"small.toml\" #", "#", 1);
    assert_ne!(builtin, text);
    std::fs::write(town.path("pipeline.toml"), builtin).unwrap();
    let shown = profile_of(&town);
    assert_eq!(shown.status, 0, "{}", shown.stderr);
    let profile = pmhlink_profile::Profile::builtin();
    let head = format!("profile {} {}: built-in", profile.name, profile.version);
    assert!(
        shown.stdout.lines().any(|l| l.starts_with(&head)),
        "{}",
        shown.stdout
    );
    let records = format!(
        "batch: at most {} records per payload (the profile's limit",
        profile.limits.max_records
    );
    assert!(shown.stdout.contains(&records), "{}", shown.stdout);
}

/// A byte limit smaller than one record stops the day's delivery before anything is sent
/// (exit 4, naming the key); once the limit is raised, the next run delivers that day.
#[test]
fn a_record_above_the_byte_limit_stops_delivery_until_the_limit_is_raised() {
    let town = Town::new(10, 4, PROFILE_RECORDS);
    town.edit_pipeline("[report]", "[batch]\nmax_bytes = 200\n\n[report]");
    let stopped = town.run(DATE, &[]);
    let said = format!("{}{}", stopped.stdout, stopped.stderr);
    assert_eq!(stopped.status, 4, "{said}");
    assert!(said.contains("over the limit of 200 bytes"), "{said}");
    assert!(said.contains("`batch.max_bytes`"), "{said}");
    assert!(!town.path(&format!("outbox/{RUN_ID}")).exists(), "{said}");

    town.edit_pipeline("max_bytes = 200", "max_bytes = 100000");
    let resumed = town.run(DATE, &[]);
    assert_eq!(resumed.status, 0, "{}{}", resumed.stdout, resumed.stderr);
    let files = payloads(&town.path(&format!("outbox/{RUN_ID}")));
    let sent: usize = files
        .iter()
        .map(|f| {
            serde_json::from_slice::<Vec<Value>>(&std::fs::read(f).unwrap())
                .unwrap()
                .len()
        })
        .sum();
    // The second attempt delivers the plan the first one committed, and reports the day.
    let report = town.report(RUN_ID, "report.2.json");
    assert!(sent > 0);
    assert_eq!(report["diff"]["register"], sent, "{report:#}");
}
