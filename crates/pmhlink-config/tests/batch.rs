//! `[batch]` against the interface profile's limits: the limits a pipeline's payloads are cut
//! to, and every refusal naming its key, the profile's limit and where the value came from.

use std::path::{Path, PathBuf};

use pmhlink_config::{Env, FileFormat, Pipeline};
use pmhlink_profile::Profile;

fn good(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/good")
        .join(name)
}

/// The good pipeline with `batch` appended as its `[batch]` table, in `env`.
fn with_batch(batch: &str, env: &Env) -> Pipeline {
    let text = std::fs::read_to_string(good("pipeline.toml")).unwrap() + "\n[batch]\n" + batch;
    Pipeline::from_str_with_env(&text, FileFormat::Toml, "p.toml", env)
        .unwrap_or_else(|e| panic!("{batch}: {e}"))
}

fn profile(max_records: usize, max_bytes: usize) -> Profile {
    let mut p = Profile::builtin();
    p.limits.max_records = max_records;
    p.limits.max_bytes = max_bytes;
    p
}

/// What a case should give: the limits in force, or the refused keys with the limit each
/// message names and the origin it names.
enum Want {
    Limits(usize, usize),
    Refused(&'static [(&'static str, &'static str, &'static str)]),
}

/// The built-in profile's limits, and a profile of its own with lower ones.
const BUILTIN: (usize, usize) = (1000, 10_485_760);
const SMALL: (usize, usize) = (20, 4096);

const VAR: &str = "environment variable PMHLINK_BATCH__MAX_RECORDS";
const FILE: &str = "p.toml";

/// `[batch]` table, override variables, the profile's limits, what must come of them.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    (usize, usize),
    Want,
);

const CASES: &[Case] = &[
    ("", &[], BUILTIN, Want::Limits(1000, 10_485_760)),
    (
        "max_records = 250",
        &[],
        BUILTIN,
        Want::Limits(250, 10_485_760),
    ),
    (
        "max_records = 1000\nmax_bytes = 4096",
        &[],
        BUILTIN,
        Want::Limits(1000, 4096),
    ),
    (
        "max_records = 1\nmax_bytes = 1",
        &[],
        BUILTIN,
        Want::Limits(1, 1),
    ),
    (
        "max_records = 1001",
        &[],
        BUILTIN,
        Want::Refused(&[("batch.max_records", "1000 records", FILE)]),
    ),
    (
        "max_records = 0",
        &[],
        BUILTIN,
        Want::Refused(&[("batch.max_records", "1000 records", FILE)]),
    ),
    (
        "max_bytes = 10485761",
        &[],
        BUILTIN,
        Want::Refused(&[("batch.max_bytes", "10485760 bytes", FILE)]),
    ),
    (
        "max_records = 0\nmax_bytes = 0",
        &[],
        BUILTIN,
        Want::Refused(&[
            ("batch.max_records", "1000 records", FILE),
            ("batch.max_bytes", "10485760 bytes", FILE),
        ]),
    ),
    // A profile of its own with a lower limit: the pipeline's value is judged against it.
    (
        "max_records = 25",
        &[],
        SMALL,
        Want::Refused(&[("batch.max_records", "20 records", FILE)]),
    ),
    ("max_records = 20", &[], SMALL, Want::Limits(20, 4096)),
    // An override variable is named as the origin of the value it set.
    (
        "max_records = 10",
        &[("PMHLINK_BATCH__MAX_RECORDS", "5000")],
        BUILTIN,
        Want::Refused(&[("batch.max_records", "1000 records", VAR)]),
    ),
    (
        "max_records = 5000",
        &[("PMHLINK_BATCH__MAX_RECORDS", "10")],
        BUILTIN,
        Want::Limits(10, 10_485_760),
    ),
];

#[test]
fn batch_settings_are_held_to_the_profiles_limits() {
    for (batch, vars, (records, bytes), want) in CASES {
        let env = vars
            .iter()
            .fold(Env::empty(), |env, &(k, v)| env.with(k, v));
        let pipeline = with_batch(batch, &env);
        let profile = profile(*records, *bytes);
        let got = pipeline.batch_limits(&profile);
        match (want, got) {
            (Want::Limits(records, bytes), Ok(limits)) => {
                assert_eq!(
                    (limits.max_records, limits.max_bytes),
                    (*records, *bytes),
                    "{}",
                    batch
                );
                assert_eq!(limits.assumed, profile.limits.assumed);
            }
            (Want::Refused(refused), Err(e)) => {
                let problems = e.problems();
                assert_eq!(problems.len(), refused.len(), "{}: {e}", batch);
                for (p, (key, limit, origin)) in problems.iter().zip(refused.iter()) {
                    assert_eq!(p.path.to_string(), *key, "{e}");
                    assert_eq!(p.origin, *origin, "{e}");
                    assert!(p.message.contains(&format!("`{key}`")), "{e}");
                    assert!(p.message.contains(&format!("to {limit}")), "{e}");
                    assert!(p.message.contains("`pmh-default`"), "{e}");
                }
            }
            (Want::Limits(..), Err(e)) => panic!("{}: refused: {e}", batch),
            (Want::Refused(_), Ok(l)) => panic!("{}: accepted as {l:?}", batch),
        }
    }
}

#[test]
fn an_unknown_batch_key_is_refused_at_load() {
    let text = std::fs::read_to_string(good("pipeline.toml")).unwrap() + "\n[batch]\nrecords = 5\n";
    let err =
        Pipeline::from_str_with_env(&text, FileFormat::Toml, "p.toml", &Env::empty()).unwrap_err();
    let p = &err.problems()[0];
    assert!(
        p.message.contains("unknown key `records` in `batch`"),
        "{err}"
    );
    assert!(p.message.contains("`max_records`, `max_bytes`"), "{err}");
}
