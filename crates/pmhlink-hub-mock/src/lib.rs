//! A PMH hub emulator for vendors and tests: the registration and result APIs of an interface
//! profile, served over HTTP/1.1, with its own record checks, PMH's sync semantics, fault
//! injection, inspection endpoints and an optional state file.
//!
//! The interface profile is the source of every path, payload layout (JSON keys, CSV columns)
//! and result format. Where the profile says nothing, this crate documents what it assumes
//! below; the real service may differ in each of these points.
//!
//! # The PMH API
//!
//! - **Register** (every API with role `register`: E01, E02, E05, E06, E11, E12):
//!   `POST {path}` with the payload as the body — a JSON array of records (format `json`) or CSV
//!   in the profile's `[csv]` layout (format `csv`; the `Content-Type` is not checked). A new task
//!   answers `202` with `{"<result.task_id>": "t-000001"}`; ids count up from `t-000001`.
//! - **Bearer token**: when one is configured, every PMH API request needs
//!   `Authorization: Bearer <token>`; without it, `401 {"code":"unauthorized","message":…}`.
//! - **Idempotency**: an optional `Idempotency-Key` header. A POST with a key already seen
//!   *on the same registration API* answers `200` with the first task's id and creates nothing,
//!   whatever its body (the key wins; the body is not compared).
//! - **Looking first**: `GET {register path}?idempotencyKey=<key>` answers `200 {"taskId": …}`
//!   when a task was created with that key, else `404` — how a client that lost the answer to
//!   its POST finds out whether the POST arrived.
//! - **Result** (every API with role `result`): `GET {path}` with the task id as the `{taskId}`
//!   segment answers `200` with the task in that API's format (the profile's `[result]`):
//!   `processing` with no records until ready, then `completed` with one result per record
//!   (1-based record number, the history key when the record has one, accepted or rejected with
//!   errors `{code, item, message}`), or `failed` with no records when the payload as a whole
//!   could not be read. A result API that is not the task's registration API's result API (E08
//!   for an E05 task), or an unknown task, answers `404`.
//! - **Asynchrony**: a task is ready after [`MockConfig::ready_after_polls`] result GETs (default
//!   1: the first GET says `processing`, the second `completed`). Assumed: a task's records are
//!   checked and applied when the POST arrives, in arrival order, so that concurrent uploads
//!   have a defined effect; the delay only holds back what the result API reveals.
//! - **Limits**: a body over the profile's `limits.max_bytes` answers `413`; a payload over
//!   `limits.max_records` records creates a task that fails.
//! - Errors other than results are JSON `{"code", "message"}`: `not_found` (404),
//!   `method_not_allowed` (405), `bad_request` (400), `payload_too_large` (413).
//!
//! # Record checks
//!
//! The emulator's own, independent of pmhlink's rules (a hub sharing pmhlink's checking code
//! would agree with its bugs); only the layout comes from the profile. Each record collects
//! every error that applies:
//!
//! | code | message | when |
//! |---|---|---|
//! | `E0001` | required item missing | a field the layout marks required (for diff/reset also `historyKey`, `isDeleted`) is absent, null or `""` |
//! | `E0002` | format error | wrong JSON type; `myNumber` not 12 ASCII digits; `validFrom`, `validTo` or `basicFiveInfo.dateOfBirth` not a real `YYYY-MM-DD` day; a value outside the field's code list; a key the layout does not define; a CSV cell that cannot be decoded; a record that is not an object |
//! | `E0003` | check digit error | `myNumber` fails the My Number check digit (or is all zeros) |
//! | `E0004` | validity period inverted | `validFrom` is after `validTo` (item `validTo`) |
//! | `E0099` | rejected by rule | a `[[reject]]` fault rule matched (its code and message may differ) |
//!
//! Messages name the rule, never the value. The codes stand in for PMH's エラーコード一覧,
//! which is not public.
//!
//! # Sync semantics (pmh-interface.md §4)
//!
//! A held row is identified by (myNumber, orgSpecificCertificateTypeId,
//! medicalSubsidyRecipientNumber, certificationSubKey, historyKey); absent optional parts count
//! as empty. Rejected records change nothing; a failed task changes nothing.
//!
//! - **Diff (E05/E06)**: an accepted record with `isDeleted: false` inserts or replaces its row;
//!   `isDeleted: true` removes it. Assumed: deleting a row the hub does not hold is accepted and
//!   changes nothing.
//! - **Reset (E11/E12)**: the first reset task after any non-reset task (or on an empty hub)
//!   clears every held row before its records are applied; later reset tasks in a row only add,
//!   so a reset spread over several batches keeps all its batches. Assumed: a reset task clears
//!   even if all its records are rejected.
//! - **Full (E01/E02)**: records have no history keys, so a row is identified by the
//!   certificate and `validFrom`; records upsert. Not modelled: a certificate absent from a full
//!   upload is not deleted (absence-as-deletion across a multi-batch full upload would need to
//!   know where an upload ends).
//!
//! # Inspection (no token needed)
//!
//! - `GET /_mock/records`: the held rows as a JSON array, each in its record's JSON shape as
//!   received (CSV rows as the JSON object of the same layout) with `isDeleted` false, sorted by
//!   (myNumber, historyKey).
//! - `GET /_mock/submissions`: every POST that created a task (not idempotent repeats), in
//!   arrival order: `{taskId, api, idempotencyKey, receivedAt (unix seconds), records}`, records
//!   as received including `isDeleted` (`null` for a CSV row too broken to decode).
//! - `GET /_mock/stats`: `{"rows", "submissions", "records_received"}`, the counts of held
//!   rows, of submissions and of the records in them, for checking a large run without
//!   downloading it.
//! - `POST /_mock/reset`: forgets rows, tasks, submissions, keys and fault rules; ids restart.
//! - `GET /_mock/faults` / `POST /_mock/faults`: the rules not yet spent / replace all rules.
//!
//! # Fault injection
//!
//! [`Faults`], from TOML ([`Faults::load`]) or as the same structure in JSON
//! (`POST /_mock/faults`):
//!
//! ```toml
//! [[fault]]
//! on = "register"      # register (POST) | result (GET) | any (also the key lookup); default any
//! api = "E06"          # optional: only requests to this API's path
//! times = 2            # requests it hits, then it is spent; default 1
//! status = 503         # answer this instead of handling the request
//! retry_after = 5      # Retry-After seconds for the status answer
//!
//! [[fault]]
//! on = "register"
//! delay_ms = 2000      # wait before anything else
//! drop = true          # handle the request (create the task), then close without an answer
//! stay_processing = true  # the task created (register) or polled (result) never completes
//!
//! [[reject]]
//! field = "historyKey" # any wire key path
//! ends_with = "X"      # or equals = "…"
//! code = "E0099"       # default
//! message = "rejected by rule"  # default
//! ```
//!
//! The first unspent rule that matches a request hits it (one rule per request; combine
//! effects within a rule). Rules act before the token is checked, as a gateway in front of
//! the service would. A status answer creates nothing and does not count as a poll; a dropped
//! result GET did count as a poll.
//! Reject rules are never spent. Fault rules are not part of the state file.
//!
//! # State file
//!
//! With [`MockConfig::state`], the whole hub (held rows, tasks, submissions, idempotency keys,
//! the task counter) is written as JSON after every change — to a temporary file beside it,
//! then renamed over it — and loaded at start, so a demo survives a restart. The file holds
//! the records as received: keep it where synthetic or demo data may be kept. Every change
//! rewrites the whole file, which suits demo volumes, not millions of rows.
//!
//! # Memory
//!
//! Each record received is kept once, as the compact JSON text of its parsed form (a held row
//! shares it with its submission unless `isDeleted` had to be written); a task keeps only what
//! its result shows. So the hub needs the JSON text of everything it received plus a few
//! hundred bytes per record, and `GET /_mock/records` or `GET /_mock/submissions` one buffer the
//! size of its answer on top (`tests/memory.rs` measures it).
//!
//! # Logs
//!
//! One stderr line per event, with counts and task ids only, never record content.

mod api;
mod app;
mod codes;
mod conn;
mod error;
mod faults;
#[doc(hidden)]
pub mod fuzzing;
mod inspect;
pub mod inspect_client;
mod json_text;
mod payload;
mod persist;
mod record_check;
mod reply;
mod routes;
mod rows;
mod server;
mod state;

use std::path::PathBuf;

use pmhlink_profile::Profile;

pub use codes::ErrorCode;
pub use error::MockError;
pub use faults::{FaultRule, Faults, RejectRule, Target};
pub use server::{MockHandle, run_blocking, serve, spawn_local};

/// How to run the emulator.
#[derive(Clone)]
pub struct MockConfig {
    /// The interface profile whose APIs are served.
    pub profile: Profile,
    /// The bearer token every PMH API request must carry; `None` accepts any request.
    pub token: Option<String>,
    /// The state file; `None` keeps everything in memory.
    pub state: Option<PathBuf>,
    pub faults: Faults,
    /// Result GETs answered `processing` before a task shows its outcome.
    pub ready_after_polls: u32,
}

impl MockConfig {
    /// The profile's APIs, no token, in memory, no faults, ready on the second result GET.
    pub fn new(profile: Profile) -> MockConfig {
        MockConfig {
            profile,
            token: None,
            state: None,
            faults: Faults::default(),
            ready_after_polls: 1,
        }
    }
}

// By hand, so that the token never reaches a log through `{:?}`.
impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field("profile", &self.profile.name)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("state", &self.state)
            .field("faults", &self.faults)
            .field("ready_after_polls", &self.ready_after_polls)
            .finish()
    }
}

impl Default for MockConfig {
    /// [`MockConfig::new`] with pmhlink's built-in profile.
    fn default() -> Self {
        MockConfig::new(Profile::builtin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_token() {
        let config = MockConfig {
            token: Some("tok-123".into()),
            ..MockConfig::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("tok-123"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
