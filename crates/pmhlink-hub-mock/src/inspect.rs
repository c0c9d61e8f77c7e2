//! `/_mock/…`: what the hub holds and received, reset, and the fault rules. No token: tests
//! and demos inspect a hub whose API may be failing on purpose.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::{App, log};
use crate::faults::Faults;
use crate::reply;

/// The held rows, each as its record's JSON with `isDeleted` false, by (myNumber, historyKey).
pub(crate) async fn records(State(app): State<Arc<App>>) -> Response {
    let body = app.state().records_body();
    reply::json_bytes(StatusCode::OK, body)
}

/// Every POST that created a task, in arrival order, with its records as received.
pub(crate) async fn submissions(State(app): State<Arc<App>>) -> Response {
    let body = app.state().submissions_body();
    reply::json_bytes(StatusCode::OK, body)
}

/// Counts, so that a benchmark can check a run without downloading every record.
pub(crate) async fn stats(State(app): State<Arc<App>>) -> Response {
    let body = serde_json::to_vec(&app.state().stats()).expect("counts serialise");
    reply::json_bytes(StatusCode::OK, body)
}

/// Forgets rows, tasks, submissions, keys and fault rules; task numbering starts again.
pub(crate) async fn reset(State(app): State<Arc<App>>) -> Response {
    let mut state = app.state();
    state.clear();
    *app.faults() = Faults::default();
    app.persist(&state);
    log(format_args!("reset"));
    reply::json(StatusCode::OK, &serde_json::json!({ "reset": true }))
}

/// The rules not yet spent.
pub(crate) async fn faults(State(app): State<Arc<App>>) -> Response {
    let body = serde_json::to_vec(&*app.faults()).expect("faults serialise");
    reply::json_bytes(StatusCode::OK, body)
}

/// Replaces every rule (request and reject rules) with the posted ones.
pub(crate) async fn set_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => {
            return reply::error(StatusCode::BAD_REQUEST, "bad_request", &e.to_string());
        }
    };
    if let Err(message) = faults.validate() {
        return reply::error(StatusCode::BAD_REQUEST, "bad_request", &message);
    }
    log(format_args!(
        "faults set: {} rules, {} reject rules",
        faults.rules.len(),
        faults.reject.len()
    ));
    let body = serde_json::to_vec(&faults).expect("faults serialise");
    *app.faults() = faults;
    reply::json_bytes(StatusCode::OK, body)
}
