//! Registration results (E03/E04, E07/E08, E13/E14): a task's status and each record's outcome,
//! in the profile's JSON or CSV result format. Readers for the route back from PMH (API or a
//! result file); writers for the hub emulator and for tests.

use serde_json::{Map, Value};

use crate::api::Format;
use crate::spec::ResultSpec;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    Processing,
    Completed,
    Failed,
}

/// One error PMH reports on a record. Its message is PMH's text about the rule, not the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmhError {
    pub code: String,
    /// The wire key PMH names, if any.
    pub item: Option<String>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Accepted,
    Rejected(Vec<PmhError>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordResult {
    /// 1-based position of the record in the submitted batch.
    pub record_number: u32,
    pub history_key: Option<String>,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskResult {
    pub task_id: String,
    pub status: TaskStatus,
    /// Empty while processing.
    pub records: Vec<RecordResult>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("result is not valid JSON: {0}")]
    Json(String),
    #[error("result CSV: {0}")]
    Csv(String),
    #[error("result: {0}")]
    Shape(String),
}

fn status_word(spec: &ResultSpec, s: TaskStatus) -> &str {
    match s {
        TaskStatus::Processing => &spec.status_processing,
        TaskStatus::Completed => &spec.status_completed,
        TaskStatus::Failed => &spec.status_failed,
    }
}

fn parse_status(spec: &ResultSpec, word: &str) -> Result<TaskStatus, ResultError> {
    [
        TaskStatus::Processing,
        TaskStatus::Completed,
        TaskStatus::Failed,
    ]
    .into_iter()
    .find(|s| status_word(spec, *s) == word)
    .ok_or_else(|| ResultError::Shape(format!("unknown task status `{word}`")))
}

fn shape(msg: impl Into<String>) -> ResultError {
    ResultError::Shape(msg.into())
}

// ---------------------------------------------------------------------------------------------
// JSON

pub fn write_json(spec: &ResultSpec, result: &TaskResult) -> Vec<u8> {
    let records: Vec<Value> = result
        .records
        .iter()
        .map(|r| {
            let mut m = Map::new();
            m.insert(spec.record_number.clone(), r.record_number.into());
            if let Some(k) = &r.history_key {
                m.insert(spec.history_key.clone(), k.clone().into());
            }
            let (word, errors) = match &r.outcome {
                Outcome::Accepted => (&spec.outcome_accepted, &[][..]),
                Outcome::Rejected(e) => (&spec.outcome_rejected, &e[..]),
            };
            m.insert(spec.outcome.clone(), word.clone().into());
            let errors: Vec<Value> = errors
                .iter()
                .map(|e| {
                    let mut em = Map::new();
                    em.insert(spec.error_code.clone(), e.code.clone().into());
                    if let Some(item) = &e.item {
                        em.insert(spec.error_item.clone(), item.clone().into());
                    }
                    em.insert(spec.error_message.clone(), e.message.clone().into());
                    Value::Object(em)
                })
                .collect();
            m.insert(spec.errors.clone(), errors.into());
            Value::Object(m)
        })
        .collect();
    let mut top = Map::new();
    top.insert(spec.task_id.clone(), result.task_id.clone().into());
    top.insert(spec.status.clone(), status_word(spec, result.status).into());
    top.insert(spec.records.clone(), records.into());
    serde_json::to_vec(&Value::Object(top)).expect("a Value serialises")
}

fn str_of<'v>(m: &'v Map<String, Value>, key: &str, at: &str) -> Result<&'v str, ResultError> {
    m.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| shape(format!("{at}: `{key}` is missing or not a string")))
}

fn opt_str(m: &Map<String, Value>, key: &str) -> Option<String> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub fn read_json(spec: &ResultSpec, bytes: &[u8]) -> Result<TaskResult, ResultError> {
    let top: Value = serde_json::from_slice(bytes).map_err(|e| ResultError::Json(e.to_string()))?;
    let top = top
        .as_object()
        .ok_or_else(|| shape("the result is not a JSON object"))?;
    let task_id = str_of(top, &spec.task_id, "result")?.to_owned();
    let status = parse_status(spec, str_of(top, &spec.status, "result")?)?;
    let empty = Vec::new();
    let list = match top.get(&spec.records) {
        None | Some(Value::Null) => &empty,
        Some(Value::Array(a)) => a,
        Some(_) => return Err(shape(format!("`{}` is not an array", spec.records))),
    };
    let mut records = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let at = format!("{}[{i}]", spec.records);
        let r = r
            .as_object()
            .ok_or_else(|| shape(format!("{at} is not an object")))?;
        let record_number = r
            .get(&spec.record_number)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                shape(format!(
                    "{at}: `{}` is not a record number",
                    spec.record_number
                ))
            })?;
        let outcome_word = str_of(r, &spec.outcome, &at)?;
        let outcome = if outcome_word == spec.outcome_accepted {
            Outcome::Accepted
        } else if outcome_word == spec.outcome_rejected {
            let errors = r
                .get(&spec.errors)
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            let errors = errors
                .iter()
                .map(|e| {
                    let e = e
                        .as_object()
                        .ok_or_else(|| shape(format!("{at}: an error is not an object")))?;
                    Ok(PmhError {
                        code: str_of(e, &spec.error_code, &at)?.to_owned(),
                        item: opt_str(e, &spec.error_item),
                        message: opt_str(e, &spec.error_message).unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, ResultError>>()?;
            Outcome::Rejected(errors)
        } else {
            return Err(shape(format!("{at}: unknown outcome `{outcome_word}`")));
        };
        records.push(RecordResult {
            record_number,
            history_key: opt_str(r, &spec.history_key),
            outcome,
        });
    }
    Ok(TaskResult {
        task_id,
        status,
        records,
    })
}

// ---------------------------------------------------------------------------------------------
// CSV: one row per error, one row for an accepted record, one bare row while processing.

#[derive(Clone, Copy)]
enum Col {
    TaskId,
    Status,
    RecordNumber,
    HistoryKey,
    Outcome,
    Code,
    Item,
    Message,
}

fn columns(spec: &ResultSpec) -> Result<Vec<Col>, ResultError> {
    spec.csv_columns
        .iter()
        .map(|c| {
            Ok(match c.as_str() {
                c if c == spec.task_id => Col::TaskId,
                c if c == spec.status => Col::Status,
                c if c == spec.record_number => Col::RecordNumber,
                c if c == spec.history_key => Col::HistoryKey,
                c if c == spec.outcome => Col::Outcome,
                c if c == spec.error_code => Col::Code,
                c if c == spec.error_item => Col::Item,
                c if c == spec.error_message => Col::Message,
                other => {
                    return Err(shape(format!(
                        "profile result.csv_columns names unknown column `{other}`"
                    )));
                }
            })
        })
        .collect()
}

pub fn write_csv(spec: &ResultSpec, result: &TaskResult) -> Result<Vec<u8>, ResultError> {
    let cols = columns(spec)?;
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let csv_err = |e: csv::Error| ResultError::Csv(e.to_string());
    w.write_record(&spec.csv_columns).map_err(csv_err)?;
    let status = status_word(spec, result.status);
    let mut row = |r: Option<&RecordResult>, e: Option<&PmhError>| {
        let cells: Vec<String> = cols
            .iter()
            .map(|c| match c {
                Col::TaskId => result.task_id.clone(),
                Col::Status => status.to_owned(),
                Col::RecordNumber => r.map(|r| r.record_number.to_string()).unwrap_or_default(),
                Col::HistoryKey => r.and_then(|r| r.history_key.clone()).unwrap_or_default(),
                Col::Outcome => r
                    .map(|r| match r.outcome {
                        Outcome::Accepted => spec.outcome_accepted.clone(),
                        Outcome::Rejected(_) => spec.outcome_rejected.clone(),
                    })
                    .unwrap_or_default(),
                Col::Code => e.map(|e| e.code.clone()).unwrap_or_default(),
                Col::Item => e.and_then(|e| e.item.clone()).unwrap_or_default(),
                Col::Message => e.map(|e| e.message.clone()).unwrap_or_default(),
            })
            .collect();
        w.write_record(&cells)
    };
    if result.records.is_empty() {
        row(None, None).map_err(csv_err)?;
    }
    for r in &result.records {
        match &r.outcome {
            Outcome::Rejected(errors) if !errors.is_empty() => {
                for e in errors {
                    row(Some(r), Some(e)).map_err(csv_err)?;
                }
            }
            _ => row(Some(r), None).map_err(csv_err)?,
        }
    }
    w.into_inner().map_err(|e| ResultError::Csv(e.to_string()))
}

pub fn read_csv(spec: &ResultSpec, bytes: &[u8]) -> Result<TaskResult, ResultError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| ResultError::Csv(e.to_string()))?
        .clone();
    let index_of = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ResultError::Csv(format!("no column `{name}`")))
    };
    let ix = [
        index_of(&spec.task_id)?,
        index_of(&spec.status)?,
        index_of(&spec.record_number)?,
        index_of(&spec.history_key)?,
        index_of(&spec.outcome)?,
        index_of(&spec.error_code)?,
        index_of(&spec.error_item)?,
        index_of(&spec.error_message)?,
    ];
    let mut task: Option<(String, TaskStatus)> = None;
    let mut records: Vec<RecordResult> = Vec::new();
    for (n, row) in rdr.records().enumerate() {
        let row = row.map_err(|e| ResultError::Csv(e.to_string()))?;
        let line = n + 2;
        let cell = |i: usize| row.get(ix[i]).unwrap_or("");
        let status = parse_status(spec, cell(1))?;
        match &task {
            None => task = Some((cell(0).to_owned(), status)),
            Some((id, s)) if id != cell(0) || *s != status => {
                return Err(ResultError::Csv(format!(
                    "line {line}: a second task or status in one result"
                )));
            }
            Some(_) => {}
        }
        if cell(2).is_empty() {
            continue;
        }
        let record_number: u32 = cell(2)
            .parse()
            .map_err(|_| ResultError::Csv(format!("line {line}: record number is not a number")))?;
        let error = (!cell(5).is_empty()).then(|| PmhError {
            code: cell(5).to_owned(),
            item: Some(cell(6).to_owned()).filter(|s| !s.is_empty()),
            message: cell(7).to_owned(),
        });
        let outcome_word = cell(4);
        if let Some(last) = records
            .last_mut()
            .filter(|r| r.record_number == record_number)
        {
            match (&mut last.outcome, error) {
                (Outcome::Rejected(errors), Some(e)) => errors.push(e),
                _ => {
                    return Err(ResultError::Csv(format!(
                        "line {line}: record {record_number} repeated"
                    )));
                }
            }
            continue;
        }
        let outcome = if outcome_word == spec.outcome_accepted {
            Outcome::Accepted
        } else if outcome_word == spec.outcome_rejected {
            Outcome::Rejected(error.into_iter().collect())
        } else {
            return Err(ResultError::Csv(format!(
                "line {line}: unknown outcome `{outcome_word}`"
            )));
        };
        records.push(RecordResult {
            record_number,
            history_key: Some(cell(3).to_owned()).filter(|s| !s.is_empty()),
            outcome,
        });
    }
    let (task_id, status) = task.ok_or_else(|| ResultError::Csv("no rows".into()))?;
    Ok(TaskResult {
        task_id,
        status,
        records,
    })
}

pub fn read(spec: &ResultSpec, format: Format, bytes: &[u8]) -> Result<TaskResult, ResultError> {
    match format {
        Format::Json => read_json(spec, bytes),
        Format::Csv => read_csv(spec, bytes),
    }
}

pub fn write(
    spec: &ResultSpec,
    format: Format,
    result: &TaskResult,
) -> Result<Vec<u8>, ResultError> {
    match format {
        Format::Json => Ok(write_json(spec, result)),
        Format::Csv => write_csv(spec, result),
    }
}
