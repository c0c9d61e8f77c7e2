//! Everything the hub remembers: held rows, tasks with their outcomes, submissions as received
//! and idempotency keys. One value, so that persisting it is one write.

use std::collections::{BTreeMap, HashMap};

use pmhlink_profile::result::{Outcome, PmhError, RecordResult, TaskResult, TaskStatus};
use pmhlink_profile::{ApiId, SyncMode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    pub history_key: Option<String>,
    /// Empty for an accepted record.
    pub errors: Vec<StoredError>,
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
    pub records: Vec<Value>,
}

/// A record after the checks: accepted when `errors` is empty, and then `change` is applied.
pub(crate) struct CheckedRecord {
    pub received: Value,
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
    use serde_json::Value;

    use crate::rows::RowKey;

    #[derive(Serialize, Deserialize)]
    struct Held<K, V> {
        key: K,
        record: V,
    }

    // JSON object keys are strings, so the map is written as a list of (key, record).
    pub fn serialize<S: Serializer>(
        rows: &BTreeMap<RowKey, Value>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(rows.iter().map(|(key, record)| Held { key, record }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<RowKey, Value>, D::Error> {
        let list: Vec<Held<RowKey, Value>> = Vec::deserialize(d)?;
        Ok(list.into_iter().map(|h| (h.key, h.record)).collect())
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
    pub rows: BTreeMap<RowKey, Value>,
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
                    history_key: r.history_key,
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
    pub fn held_records(&self) -> Vec<&Value> {
        let mut rows: Vec<(&RowKey, &Value)> = self.rows.iter().collect();
        rows.sort_by(|a, b| a.0.listing_order().cmp(&b.0.listing_order()));
        rows.into_iter().map(|(_, v)| v).collect()
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
                    history_key: r.history_key.clone(),
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
