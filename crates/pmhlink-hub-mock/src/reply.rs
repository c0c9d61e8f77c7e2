//! The answers the emulator writes besides results: task ids and JSON errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

pub(crate) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub(crate) fn json(status: StatusCode, value: &Value) -> Response {
    json_bytes(
        status,
        serde_json::to_vec(value).expect("a Value serialises"),
    )
}

/// `{"code": …, "message": …}`; messages are fixed texts, never request content.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        &serde_json::json!({ "code": code, "message": message }),
    )
}

/// `{"<task id key>": id}`, the key being the profile's `result.task_id`.
pub(crate) fn task_id(status: StatusCode, key: &str, id: &str) -> Response {
    let mut m = Map::new();
    m.insert(key.to_owned(), id.into());
    json(status, &Value::Object(m))
}

/// The answer of a fault rule's `status`.
pub(crate) fn injected(status: u16, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = match status {
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::SERVICE_UNAVAILABLE => "service_unavailable",
        StatusCode::INTERNAL_SERVER_ERROR => "internal_error",
        _ => "error",
    };
    let mut response = error(status, code, "injected fault");
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}
