//! pmhlink sink plugin `pmh-api`: the PMH API route.
//!
//! ```toml
//! [[sinks]]
//! plugin = "pmh-api"
//! [sinks.config]
//! base_url = "https://pmh.example.lg.jp"
//! token_env = "PMH_TOKEN"          # or token_file = "…", or oauth2 = { … }
//! ca_bundle = "lgwan-ca.pem"       # optional, extra roots
//! proxy = "http://proxy.lg.example:8080"
//! ```
//!
//! Every key is documented in `docs/plugins/pmh-api.md`, generated from [`config::Config`].
//!
//! - `deliver` POSTs a payload to its registration API (the profile's path) with the bearer
//!   token and `Idempotency-Key: {run_id}-{seq}`, and returns PMH's task id as the receipt
//!   (detail: the API, which `poll` needs to find the result path). 429 and 5xx answers and
//!   connection failures are retried with backoff; a POST whose outcome is unknown (cut off
//!   or timed out after sending) is sent again only after PMH said, asked by the idempotency
//!   key, that it does not have it.
//! - `poll` GETs the task's result and reads its status with the profile's result format:
//!   processing → `Pending`, completed → `Completed`, failed → `Failed`, with the result's
//!   bytes as PMH sent them (the host parses them again).
//! - `check` asks for a task that does not exist: 404 (or 200) means PMH is reachable and took
//!   the credentials.
//! - `finish` has nothing to make final (each answered POST is) and sums up the run's tasks;
//!   `import` reads a result file fetched by hand.
//!
//! Each instance owns a current-thread tokio runtime and blocks on it for every call, so no
//! thread or async type crosses the plugin boundary.

mod backoff;
pub mod config;
mod http;
mod routes;

use std::{collections::BTreeMap, fs};

use pmhlink_pdk::{
    PluginError, PluginSpec, SinkPlugin,
    api::{ROutcome, ROutcomeState, RPayload, RReceipt, RRunEnd, abi_stable::std_types::RVec},
};
use pmhlink_profile::{
    Format,
    result::{self, TaskStatus},
};
use reqwest::Method;
use tokio::runtime::Runtime;

pub use config::Config;
use http::{Api, Body, Call};
use routes::{CHECK_TASK, Routes, idempotency_key, percent_encode};

pub fn spec() -> PluginSpec {
    PluginSpec::new(
        "pmh-api",
        env!("CARGO_PKG_VERSION"),
        "Registers payloads with PMH's API (bearer token or OAuth2, retries under an idempotency key) and polls their results.",
    )
    .config_schema_of::<config::Config>()
    .capability("poll")
    .capability("manual-import")
}

/// Opens the sink: checks the configuration, reads the token or client secret, the CA bundle
/// and the profile. Connects to nothing (`check` does).
pub fn open(config: Config) -> Result<ApiSink, PluginError> {
    let settings = config.settle(&|name| std::env::var(name).ok())?;
    ApiSink::new(settings)
}

/// A task PMH created in this instance.
struct Task {
    run_id: String,
    api: String,
    task_id: String,
}

pub struct ApiSink {
    // Declared before the runtime so its connections close while the runtime still exists.
    api: Api,
    runtime: Runtime,
    routes: Routes,
    tasks: Vec<Task>,
}

impl ApiSink {
    fn new(settings: config::Settings) -> Result<Self, PluginError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .enable_io()
            .build()
            .map_err(|e| PluginError::io(format!("cannot start the HTTP runtime: {e}")))?;
        Ok(Self {
            api: Api::new(settings.link)?,
            runtime,
            routes: settings.routes,
            tasks: Vec::new(),
        })
    }

    fn check_inner(&self) -> Result<String, PluginError> {
        let route = self.routes.check();
        let path = route.path_for(CHECK_TASK);
        let call = Call {
            method: route.method.clone(),
            url: self.api.url(&path),
            what: format!("the connection check {} {path}", route.method),
            body: Body::Empty,
            idempotency_key: None,
        };
        let mut answer = self.runtime.block_on(self.api.probe(&call))?;
        // A busy or briefly failing PMH must not stop the day's run at its first step: an
        // answer that a delivery would retry is retried here too. An unreachable host is
        // reported at once.
        if matches!(answer.status.as_u16(), 429 | 500 | 502 | 503 | 504) {
            answer = self.runtime.block_on(self.api.retrying(&call))?;
        }
        match answer.status.as_u16() {
            200 | 404 => Ok(format!(
                "PMH API {}: reachable, credentials accepted",
                self.api.origin
            )),
            _ => Err(self.api.refusal(&call, &answer)),
        }
    }

    fn deliver_inner(&mut self, payload: RPayload) -> Result<RReceipt, PluginError> {
        let route = self.routes.register(&payload.api)?;
        let format = route.format.extension();
        if payload.format.as_str() != format {
            return Err(PluginError::data(format!(
                "payload {} is {}, but API {} takes {format}",
                payload.file_name,
                payload.format.as_str(),
                route.api
            )));
        }
        let content_type = match route.format {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
        };
        let (run_id, seq) = (payload.run_id.as_str(), payload.seq);
        let key = idempotency_key(run_id, seq);
        let post = Call {
            method: route.method.clone(),
            url: self.api.url(&route.path),
            what: format!(
                "{} {} ({}, run {run_id}, file {seq})",
                route.method, route.path, route.api
            ),
            body: Body::Bytes {
                bytes: payload.bytes.into_vec(),
                content_type,
            },
            idempotency_key: Some(&key),
        };
        let lookup_path = format!("{}?idempotencyKey={}", route.path, percent_encode(&key));
        let lookup = Call {
            method: Method::GET,
            url: self.api.url(&lookup_path),
            what: format!("the idempotency lookup GET {lookup_path}"),
            body: Body::Empty,
            idempotency_key: None,
        };
        let task_key = &self.routes.result_spec.task_id;
        let task_id = self
            .runtime
            .block_on(self.api.register(&post, &lookup, task_key))?;
        let api = route.api.as_str().to_owned();
        self.tasks.push(Task {
            run_id: run_id.to_owned(),
            api: api.clone(),
            task_id: task_id.clone(),
        });
        Ok(RReceipt {
            id: task_id.into(),
            detail: api.into(),
        })
    }

    fn poll_inner(&self, receipt: &RReceipt) -> Result<ROutcome, PluginError> {
        let task = receipt.id.as_str();
        if task.is_empty() {
            return Err(PluginError::data("the receipt names no task"));
        }
        let route = &self.routes.register(receipt.detail.as_str())?.result;
        let path = route.path_for(task);
        let call = Call {
            method: route.method.clone(),
            url: self.api.url(&path),
            what: format!("{} {path} ({} of task {task})", route.method, route.api),
            body: Body::Empty,
            idempotency_key: None,
        };
        let answer = self.runtime.block_on(self.api.retrying(&call))?;
        match answer.status.as_u16() {
            200 => {}
            // The task id came from PMH. Answering Failed would have the host send the batch
            // again, so a task PMH forgot is for the operator to look into.
            404 => {
                return Err(PluginError::data(format!(
                    "PMH API {} does not know task {task} (404 to {}); check at PMH what became of it before sending its batch again",
                    self.api.origin, call.what
                )));
            }
            _ => return Err(self.api.refusal(&call, &answer)),
        }
        let spec = &self.routes.result_spec;
        let read = result::read(spec, route.format, &answer.body).map_err(|e| {
            PluginError::data(format!(
                "PMH API {}: the answer to {} is not a {} result: {e}",
                self.api.origin,
                call.what,
                route.format.extension()
            ))
        })?;
        if read.task_id != task {
            return Err(PluginError::data(format!(
                "PMH API {}: the answer to {} is the result of another task",
                self.api.origin, call.what
            )));
        }
        Ok(match read.status {
            TaskStatus::Processing => ROutcome {
                state: ROutcomeState::Pending,
                result_bytes: RVec::new(),
            },
            TaskStatus::Completed => ROutcome {
                state: ROutcomeState::Completed,
                result_bytes: answer.body.into(),
            },
            TaskStatus::Failed => ROutcome {
                state: ROutcomeState::Failed,
                result_bytes: answer.body.into(),
            },
        })
    }

    fn finish_inner(&mut self, end: &RRunEnd) -> String {
        let run = end.run_id.as_str();
        let (done, kept): (Vec<Task>, Vec<Task>) = std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|t| t.run_id == run);
        self.tasks = kept;
        let origin = &self.api.origin;
        if done.is_empty() {
            return format!("run {run}: no task created at PMH API {origin}");
        }
        let mut per_api: BTreeMap<&str, usize> = BTreeMap::new();
        for task in &done {
            *per_api.entry(&task.api).or_default() += 1;
        }
        let per_api: Vec<String> = per_api
            .iter()
            .map(|(api, n)| format!("{api}: {n}"))
            .collect();
        let (first, last) = (&done[0].task_id, &done[done.len() - 1].task_id);
        let tasks = format!(
            "{} task(s) at PMH API {origin} ({}; first {first}, last {last})",
            done.len(),
            per_api.join(", ")
        );
        if end.commit {
            format!("run {run}: {tasks}; their results come back by polling")
        } else {
            // PMH accepted them when it answered; there is no API to withdraw a task.
            format!(
                "run {run}: aborted; {tasks} were already registered and stay there (an answered POST cannot be withdrawn)"
            )
        }
    }
}

impl SinkPlugin for ApiSink {
    fn check(&self) -> Result<String, PluginError> {
        self.check_inner().map_err(|e| self.api.scrub(e))
    }

    fn deliver(&mut self, payload: RPayload) -> Result<RReceipt, PluginError> {
        self.deliver_inner(payload).map_err(|e| self.api.scrub(e))
    }

    fn poll(&mut self, receipt: RReceipt) -> Result<ROutcome, PluginError> {
        self.poll_inner(&receipt).map_err(|e| self.api.scrub(e))
    }

    fn import(&mut self, path: &str) -> Result<Vec<u8>, PluginError> {
        fs::read(path).map_err(|e| PluginError::io(format!("cannot read {path}: {e}")).at(path))
    }

    fn finish(&mut self, end: RRunEnd) -> Result<String, PluginError> {
        Ok(self.finish_inner(&end))
    }
}

pmhlink_pdk::export_sink_plugin!(spec, open);
