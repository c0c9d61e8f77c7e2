//! The emulator's request handling without a socket, for the fuzz targets under `fuzz/` and
//! their replay test: a registration body goes through the same parse, record checks, state
//! change and result reply as a `POST` and a `GET` over HTTP would. Not part of the API.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use pmhlink_profile::{ApiId, Profile};

use crate::MockConfig;
use crate::api;
use crate::app::App;

/// A hub on the built-in profile, no token, results ready on the first poll.
pub struct Hub {
    app: App,
    apis: Vec<ApiId>,
}

/// What the hub answered a registration and the first result request after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answers {
    pub register: StatusCode,
    pub result: Option<StatusCode>,
}

const KEY: &str = "fuzz";

impl Hub {
    pub fn new() -> Hub {
        let config = MockConfig {
            ready_after_polls: 0,
            ..MockConfig::new(Profile::builtin())
        };
        let app = App::new(config).expect("the built-in profile makes a hub");
        let apis = app.layouts.keys().copied().collect();
        Hub { app, apis }
    }

    /// The registration APIs, in a fixed order.
    pub fn registration_apis(&self) -> &[ApiId] {
        &self.apis
    }

    /// Registers `body` at `api` on an empty hub, then asks for the task's result.
    pub fn register(&self, api: ApiId, body: &[u8]) -> Answers {
        self.app.state().clear();
        let mut headers = HeaderMap::new();
        headers.insert("idempotency-key", HeaderValue::from_static(KEY));
        let body = Ok(Bytes::copy_from_slice(body));
        let register = api::register(&self.app, api, &headers, body, false).status();
        let task = self
            .app
            .state()
            .task_for_key(api, KEY)
            .map(|t| t.id.clone());
        let result = task.and_then(|id| {
            let result_api = self.app.result_api_of(api)?;
            Some(api::result(&self.app, result_api, &id, false).status())
        });
        Answers { register, result }
    }
}

impl Default for Hub {
    fn default() -> Hub {
        Hub::new()
    }
}
