//! The PMH API: registration POSTs, the idempotency-key lookup and result GETs, each behind the
//! fault rules and the bearer token.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use pmhlink_model::FieldId;
use pmhlink_profile::result::{TaskStatus, write};
use pmhlink_profile::{ApiId, Format, Layout};
use serde::Deserialize;
use serde_json::Value;

use crate::app::{App, log};
use crate::conn::Cut;
use crate::faults::{FaultRule, RejectRule, RequestKind};
use crate::json_text::json_text;
use crate::payload::{self, Received};
use crate::record_check::{check_record, value_at};
use crate::reply;
use crate::routes::Endpoint;
use crate::rows::row_change;
use crate::state::{CheckedRecord, NewTask};

fn authorized(app: &App, headers: &HeaderMap) -> bool {
    let Some(token) = &app.token else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, value)| scheme.eq_ignore_ascii_case("bearer") && value == token)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn describe(rule: &FaultRule) -> String {
    let mut parts = Vec::new();
    if let Some(ms) = rule.delay_ms {
        parts.push(format!("delay {ms} ms"));
    }
    if let Some(s) = rule.status {
        parts.push(format!("status {s}"));
    }
    if rule.drop {
        parts.push("drop".into());
    }
    if rule.stay_processing {
        parts.push("stay processing".into());
    }
    parts.join(", ")
}

/// Every request that is not `/_mock/…`.
pub(crate) async fn pmh_api(
    State(app): State<Arc<App>>,
    ConnectInfo(cut): ConnectInfo<Cut>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(endpoint) = app.routes.find(uri.path()) else {
        return reply::error(StatusCode::NOT_FOUND, "not_found", "no such API path");
    };
    let (kind, api) = match (&endpoint, &method) {
        (Endpoint::Register(api), &Method::POST) => (RequestKind::Register, *api),
        (Endpoint::Register(api), &Method::GET) => (RequestKind::Lookup, *api),
        (Endpoint::Result(api, _), &Method::GET) => (RequestKind::Result, *api),
        _ => {
            return reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this path takes another method",
            );
        }
    };
    let fault = app.faults().take(kind, api);
    if let Some(rule) = &fault {
        log(format_args!("fault on {api}: {}", describe(rule)));
        if let Some(ms) = rule.delay_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if let Some(status) = rule.status {
            return reply::injected(status, rule.retry_after);
        }
    }
    let stay = fault.as_ref().is_some_and(|r| r.stay_processing);
    let response = if !authorized(&app, &headers) {
        reply::error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        )
    } else {
        match endpoint {
            Endpoint::Register(_) if kind == RequestKind::Register => {
                register(&app, api, &headers, body, stay)
            }
            Endpoint::Register(_) => lookup(&app, api, &uri),
            Endpoint::Result(_, task) => result(&app, api, &task, stay),
        }
    };
    if fault.is_some_and(|r| r.drop) {
        cut.cut();
        log(format_args!("fault on {api}: answer dropped"));
    }
    response
}

/// The `Idempotency-Key` header; `Err` when it is there but empty or not visible ASCII.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ()> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(s) if !s.is_empty() => Ok(Some(s.to_owned())),
            _ => Err(()),
        },
    }
}

fn check(app: &App, layout: &Layout, reject: &[RejectRule], received: Received) -> CheckedRecord {
    let errors = check_record(layout, reject, &received.value, received.wire_errors);
    let history_key = layout
        .key_of(FieldId::HistoryKey)
        .and_then(|k| value_at(&received.value, k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let text = json_text(&received.value);
    let change = errors
        .is_empty()
        .then(|| row_change(layout, app.is_deleted_key.as_deref(), received.value, &text));
    CheckedRecord {
        received: text,
        history_key,
        errors,
        change,
    }
}

pub(crate) fn register(
    app: &App,
    api: ApiId,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    stay: bool,
) -> Response {
    let id_key = &app.profile.result.task_id;
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is over the profile's byte limit per call",
            );
        }
        Err(_) => {
            return reply::error(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "cannot read the body",
            );
        }
    };
    let Ok(key) = idempotency_key(headers) else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "Idempotency-Key must be non-empty visible ASCII",
        );
    };
    let repeat = |state: &crate::state::HubState| {
        let task = state.task_for_key(api, key.as_deref()?)?;
        log(format_args!("{api} task {}: idempotent repeat", task.id));
        Some(reply::task_id(StatusCode::OK, id_key, &task.id))
    };
    if let Some(response) = repeat(&app.state()) {
        return response;
    }
    let layout = &app.layouts[&api];
    let reject = app.faults().reject.clone();
    let records = payload::parse(layout, &body)
        .filter(|r| r.len() <= layout.limits.max_records)
        .map(|received| {
            received
                .into_iter()
                .map(|r| check(app, layout, &reject, r))
                .collect::<Vec<_>>()
        });
    let mut state = app.state();
    // Checked outside the lock, so a POST with the same key may have won meanwhile.
    if let Some(response) = repeat(&state) {
        return response;
    }
    let task = state.create(NewTask {
        api,
        sync: layout.sync(),
        idempotency_key: key,
        received_at: unix_now(),
        stuck: stay,
        records,
    });
    if task.failed {
        log(format_args!("{api} task {}: payload unreadable", task.id));
    } else {
        log(format_args!(
            "{api} task {}: {} records, {} accepted",
            task.id,
            task.results.len(),
            task.accepted()
        ));
    }
    let id = task.id.clone();
    app.persist(&state);
    reply::task_id(StatusCode::ACCEPTED, id_key, &id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LookupQuery {
    idempotency_key: Option<String>,
}

fn lookup(app: &App, api: ApiId, uri: &Uri) -> Response {
    let key = Query::<LookupQuery>::try_from_uri(uri)
        .ok()
        .and_then(|q| q.0.idempotency_key);
    let Some(key) = key else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "a lookup takes ?idempotencyKey=",
        );
    };
    match app.state().task_for_key(api, &key) {
        Some(task) => reply::task_id(StatusCode::OK, &app.profile.result.task_id, &task.id),
        None => reply::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "no task was created with this idempotency key",
        ),
    }
}

pub(crate) fn result(app: &App, api: ApiId, task_id: &str, stay: bool) -> Response {
    let not_found = || reply::error(StatusCode::NOT_FOUND, "not_found", "no such task");
    let mut state = app.state();
    let Some(task) = state.task_mut(task_id) else {
        return not_found();
    };
    if app.result_api_of(task.api) != Some(api) {
        return not_found();
    }
    if stay {
        task.stuck = true;
    }
    let result = task.poll(app.ready_after_polls);
    let polls = task.polls;
    app.persist(&state);
    drop(state);
    let status = match result.status {
        TaskStatus::Processing => "processing",
        TaskStatus::Completed => "completed",
        TaskStatus::Failed => "failed",
    };
    log(format_args!(
        "{api} task {task_id}: {status} (poll {polls})"
    ));
    let Some(spec) = app.profile.api(api) else {
        return not_found();
    };
    let content_type = match spec.format {
        Format::Json => "application/json",
        Format::Csv => "text/csv; charset=utf-8",
    };
    match write(&app.profile.result, spec.format, &result) {
        Ok(body) => (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response(),
        Err(_) => reply::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the profile's result format cannot be written",
        ),
    }
}
