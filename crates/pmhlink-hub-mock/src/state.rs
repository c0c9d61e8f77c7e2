//! Everything the hub remembers: held rows, tasks with their outcomes, submissions as received
//! and idempotency keys. One value, so that persisting it is one write.
//!
//! Records are kept once, as JSON text ([`JsonText`]): a submission holds the texts of its
//! records, a held row shares the text of the record that set it, and a task keeps only what
//! its result shows.

use std::collections::{BTreeMap, HashMap};

use pmhlink_profile::result::{Outcome, PmhError, RecordResult, TaskResult, TaskStatus};
use pmhlink_profile::{ApiId, SyncMode};
use serde::{Deserialize, Serialize};

use crate::json_text::{self, JsonText, array_len, write_array};
use crate::rows::{RowChange, RowKey};

const STATE_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredError {
    pub code: String,
    pub item: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredResult {
    pub record_number: u32,
    // Boxed rather than String and Vec: one per record received, so every word counts.
    pub history_key: Option<Box<str>>,
    /// Empty for an accepted record.
    pub errors: Box<[StoredError]>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Task {
    pub id: String,
    /// The registration API it was created through.
    pub api: ApiId,
    pub idempotency_key: Option<String>,
    pub received_at: u64,
    /// Result GETs answered so far.
    pub polls: u32,
    /// Never completes (fault injection).
    pub stuck: bool,
    /// The payload as a whole could not be read.
    pub failed: bool,
    pub results: Vec<StoredResult>,
}

/// One accepted POST, as `GET /_mock/submissions` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Submission {
    pub task_id: String,
    pub api: ApiId,
    pub idempotency_key: Option<String>,
    pub received_at: u64,
    #[serde(with = "json_text::list")]
    pub records: Vec<JsonText>,
}

impl Submission {
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.records.iter().map(|r| &**r)
    }
}

/// A submission without its records: the head of its entry in `GET /_mock/submissions`. Its
/// fields are `Submission`'s, in the same order, so that both write the same JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubmissionHead<'a> {
    task_id: &'a str,
    api: ApiId,
    idempotency_key: Option<&'a str>,
    received_at: u64,
}

/// The counts of `GET /_mock/stats`.
#[derive(Serialize)]
pub(crate) struct Stats {
    rows: usize,
    submissions: usize,
    records_received: usize,
}

/// A record after the checks: accepted when `errors` is empty, and then `change` is applied.
pub(crate) struct CheckedRecord {
    pub received: JsonText,
    pub history_key: Option<String>,
    pub errors: Vec<PmhError>,
    pub change: Option<RowChange>,
}

pub(crate) struct NewTask {
    pub api: ApiId,
    pub sync: SyncMode,
    pub idempotency_key: Option<String>,
    pub received_at: u64,
    pub stuck: bool,
    /// `None` when the payload could not be read at all.
    pub records: Option<Vec<CheckedRecord>>,
}

mod rows_as_list {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::json_text::{JsonText, Owned, Raw};
    use crate::rows::RowKey;

    #[derive(Serialize, Deserialize)]
    struct Held<K, V> {
        key: K,
        record: V,
    }

    // JSON object keys are strings, so the map is written as a list of (key, record).
    pub fn serialize<S: Serializer>(
        rows: &BTreeMap<RowKey, JsonText>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(rows.iter().map(|(key, record)| Held {
            key,
            record: Raw(record),
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<RowKey, JsonText>, D::Error> {
        let list: Vec<Held<RowKey, Owned>> = Vec::deserialize(d)?;
        Ok(list.into_iter().map(|h| (h.key, h.record.0)).collect())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HubState {
    pub version: u32,
    /// Tasks issued so far; the next id is `t-` + this plus one.
    pub issued: u64,
    /// The sync mode of the last task that was applied; decides whether a reset task clears.
    pub last_sync: Option<SyncMode>,
    #[serde(with = "rows_as_list")]
    pub rows: BTreeMap<RowKey, JsonText>,
    pub tasks: Vec<Task>,
    pub submissions: Vec<Submission>,
    #[serde(skip)]
    by_id: HashMap<String, usize>,
    #[serde(skip)]
    by_key: HashMap<(ApiId, String), usize>,
}

impl Default for HubState {
    fn default() -> Self {
        HubState {
            version: STATE_VERSION,
            issued: 0,
            last_sync: None,
            rows: BTreeMap::new(),
            tasks: Vec::new(),
            submissions: Vec::new(),
            by_id: HashMap::new(),
            by_key: HashMap::new(),
        }
    }
}

fn to_pmh(e: &StoredError) -> PmhError {
    PmhError {
        code: e.code.clone(),
        item: e.item.clone(),
        message: e.message.clone(),
    }
}

impl HubState {
    /// Checks a loaded state and rebuilds its indexes.
    pub fn loaded(mut self) -> Result<HubState, String> {
        if self.version != STATE_VERSION {
            return Err(format!(
                "written by state version {}, this emulator reads {STATE_VERSION}",
                self.version
            ));
        }
        self.by_id.clear();
        self.by_key.clear();
        for (i, t) in self.tasks.iter().enumerate() {
            self.by_id.insert(t.id.clone(), i);
            if let Some(k) = &t.idempotency_key {
                self.by_key.insert((t.api, k.clone()), i);
            }
        }
        Ok(self)
    }

    pub fn task_for_key(&self, api: ApiId, key: &str) -> Option<&Task> {
        self.by_key
            .get(&(api, key.to_owned()))
            .map(|&i| &self.tasks[i])
    }

    /// Records a task and applies its accepted records, in arrival order.
    pub fn create(&mut self, new: NewTask) -> &Task {
        self.issued += 1;
        let id = format!("t-{:06}", self.issued);
        let mut received = Vec::new();
        let mut results = Vec::new();
        let failed = new.records.is_none();
        if let Some(records) = new.records {
            if new.sync == SyncMode::Reset && self.last_sync != Some(SyncMode::Reset) {
                self.rows.clear();
            }
            self.last_sync = Some(new.sync);
            for (i, r) in records.into_iter().enumerate() {
                if r.errors.is_empty() {
                    match r.change {
                        Some(RowChange::Upsert(key, held)) => {
                            self.rows.insert(key, held);
                        }
                        Some(RowChange::Remove(key)) => {
                            self.rows.remove(&key);
                        }
                        None => {}
                    }
                }
                results.push(StoredResult {
                    record_number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    history_key: r.history_key.map(String::into_boxed_str),
                    errors: r
                        .errors
                        .into_iter()
                        .map(|e| StoredError {
                            code: e.code,
                            item: e.item,
                            message: e.message,
                        })
                        .collect(),
                });
                received.push(r.received);
            }
        }
        self.submissions.push(Submission {
            task_id: id.clone(),
            api: new.api,
            idempotency_key: new.idempotency_key.clone(),
            received_at: new.received_at,
            records: received,
        });
        let index = self.tasks.len();
        self.by_id.insert(id.clone(), index);
        if let Some(k) = &new.idempotency_key {
            self.by_key.insert((new.api, k.clone()), index);
        }
        self.tasks.push(Task {
            id,
            api: new.api,
            idempotency_key: new.idempotency_key,
            received_at: new.received_at,
            polls: 0,
            stuck: new.stuck,
            failed,
            results,
        });
        &self.tasks[index]
    }

    pub fn task_mut(&mut self, id: &str) -> Option<&mut Task> {
        self.by_id.get(id).map(|&i| &mut self.tasks[i])
    }

    /// Empties the hub, task numbering included.
    pub fn clear(&mut self) {
        *self = HubState::default();
    }

    /// The held rows in listing order.
    pub fn held_records(&self) -> Vec<&str> {
        let mut rows: Vec<(&RowKey, &JsonText)> = self.rows.iter().collect();
        rows.sort_by(|a, b| a.0.listing_order().cmp(&b.0.listing_order()));
        rows.into_iter().map(|(_, v)| &**v).collect()
    }

    /// The body of `GET /_mock/records`: the held rows as a JSON array, in listing order.
    pub fn records_body(&self) -> Vec<u8> {
        let rows = self.held_records();
        let mut out = Vec::with_capacity(array_len(rows.iter().copied()));
        write_array(&mut out, rows);
        out
    }

    /// The body of `GET /_mock/submissions`, written from the stored texts straight into one
    /// buffer sized beforehand: for millions of records, a second copy or a regrowth would
    /// double what the answer costs.
    pub fn submissions_body(&self) -> Vec<u8> {
        let heads: Vec<Vec<u8>> = self
            .submissions
            .iter()
            .map(|s| {
                let mut head = serde_json::to_vec(&SubmissionHead {
                    task_id: &s.task_id,
                    api: s.api,
                    idempotency_key: s.idempotency_key.as_deref(),
                    received_at: s.received_at,
                })
                .expect("a submission head serialises");
                head.pop(); // its closing `}`, written after the records
                head.extend_from_slice(b",\"records\":");
                head
            })
            .collect();
        let len = 2
            + self.submissions.len().saturating_sub(1)
            + heads
                .iter()
                .zip(&self.submissions)
                .map(|(h, s)| h.len() + array_len(s.texts()) + 1)
                .sum::<usize>();
        let mut out = Vec::with_capacity(len);
        out.push(b'[');
        for (i, (head, s)) in heads.iter().zip(&self.submissions).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(head);
            write_array(&mut out, s.texts());
            out.push(b'}');
        }
        out.push(b']');
        debug_assert_eq!(out.len(), len);
        out
    }

    pub fn stats(&self) -> Stats {
        Stats {
            rows: self.rows.len(),
            submissions: self.submissions.len(),
            records_received: self.submissions.iter().map(|s| s.records.len()).sum(),
        }
    }
}

impl Task {
    /// Answers one result GET: processing until `ready_after_polls` GETs have been answered
    /// (forever when stuck), then the outcome.
    pub fn poll(&mut self, ready_after_polls: u32) -> TaskResult {
        let ready = !self.stuck && self.polls >= ready_after_polls;
        self.polls = self.polls.saturating_add(1);
        if !ready {
            return TaskResult {
                task_id: self.id.clone(),
                status: TaskStatus::Processing,
                records: Vec::new(),
            };
        }
        TaskResult {
            task_id: self.id.clone(),
            status: if self.failed {
                TaskStatus::Failed
            } else {
                TaskStatus::Completed
            },
            records: self
                .results
                .iter()
                .map(|r| RecordResult {
                    record_number: r.record_number,
                    history_key: r.history_key.as_deref().map(str::to_owned),
                    outcome: if r.errors.is_empty() {
                        Outcome::Accepted
                    } else {
                        Outcome::Rejected(r.errors.iter().map(to_pmh).collect())
                    },
                })
                .collect(),
        }
    }

    pub fn accepted(&self) -> usize {
        self.results.iter().filter(|r| r.errors.is_empty()).count()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::json_text::json_text;
    use crate::rows::Slot;

    /// `Submission` as it was when records were kept as `Value`s: the answers must not change.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct AsValues {
        task_id: String,
        api: ApiId,
        idempotency_key: Option<String>,
        received_at: u64,
        records: Vec<Value>,
    }

    fn records() -> Vec<Value> {
        vec![
            json!({"myNumber": "123456789018", "name": "愛知\"花子\"\n", "n": 1.5, "d": [{"a": null}]}),
            Value::Null,
            json!({"z": true, "a": {"y": "\u{1}", "b": -3}}),
        ]
    }

    fn checked(value: &Value) -> CheckedRecord {
        CheckedRecord {
            received: json_text(value),
            history_key: None,
            errors: Vec::new(),
            change: None,
        }
    }

    fn sample() -> HubState {
        let mut state = HubState::default();
        for (key, records) in [
            (Some("k\"\\1"), records()),
            (None, Vec::new()),
            (Some("k-2"), records()[..1].to_vec()),
        ] {
            state.create(NewTask {
                api: ApiId::E06,
                sync: SyncMode::Diff,
                idempotency_key: key.map(str::to_owned),
                received_at: 1_750_000_000,
                stuck: false,
                records: Some(records.iter().map(checked).collect()),
            });
        }
        state.create(NewTask {
            api: ApiId::E05,
            sync: SyncMode::Diff,
            idempotency_key: None,
            received_at: 1_750_000_001,
            stuck: false,
            records: None,
        });
        for (n, (my_number, record)) in [("2", 0), ("1", 2)].into_iter().enumerate() {
            let key = RowKey {
                my_number: my_number.into(),
                type_id: "T01".into(),
                recipient_number: String::new(),
                sub_key: String::new(),
                slot: Slot::HistoryKey(format!("H{n}")),
            };
            state.rows.insert(key, json_text(&records()[record]));
        }
        state
    }

    #[test]
    fn the_written_bodies_are_what_serialising_values_wrote() {
        let state = sample();
        let as_values: Vec<AsValues> = state
            .submissions
            .iter()
            .map(|s| AsValues {
                task_id: s.task_id.clone(),
                api: s.api,
                idempotency_key: s.idempotency_key.clone(),
                received_at: s.received_at,
                records: s
                    .records
                    .iter()
                    .map(|r| serde_json::from_str(r).unwrap())
                    .collect(),
            })
            .collect();
        assert_eq!(
            String::from_utf8(state.submissions_body()).unwrap(),
            serde_json::to_string(&as_values).unwrap()
        );
        let held = [records()[2].clone(), records()[0].clone()];
        assert_eq!(
            String::from_utf8(state.records_body()).unwrap(),
            serde_json::to_string(&held).unwrap()
        );
        let empty = HubState::default();
        assert_eq!(empty.submissions_body(), b"[]");
        assert_eq!(empty.records_body(), b"[]");
    }

    #[test]
    fn the_state_file_holds_records_as_json_and_reads_back_compact() {
        let state = sample();
        let file = serde_json::to_value(&state).unwrap();
        assert_eq!(file["submissions"][0]["records"], Value::from(records()));
        assert_eq!(file["rows"][0]["record"], records()[2]);
        let pretty = serde_json::to_vec_pretty(&state).unwrap();
        let back: HubState = serde_json::from_slice(&pretty).unwrap();
        let back = back.loaded().unwrap();
        assert_eq!(back.submissions, state.submissions);
        assert_eq!(back.rows, state.rows);
        assert_eq!(back.tasks, state.tasks);
        assert_eq!(back.submissions_body(), state.submissions_body());
    }

    #[test]
    fn stats_count_rows_submissions_and_records() {
        let stats = serde_json::to_value(sample().stats()).unwrap();
        assert_eq!(
            stats,
            json!({"rows": 2, "submissions": 4, "records_received": 4})
        );
    }
}
