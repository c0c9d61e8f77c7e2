//! The running emulator's shared parts: the compiled profile, the state behind a lock, the
//! fault rules, and the router that ties the handlers to them.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use pmhlink_model::FieldId;
use pmhlink_profile::{ApiId, Layout, Profile, Role};

use crate::error::MockError;
use crate::faults::Faults;
use crate::routes::Routes;
use crate::state::HubState;
use crate::{MockConfig, api, inspect, persist};

/// Counts and task ids only: the emulator never logs what a record holds. A closed or full
/// stderr loses the line rather than stopping the hub (`eprintln!` would panic the handler).
pub(crate) fn log(message: fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "pmhlink mock-hub: {message}");
}

pub(crate) struct App {
    pub profile: Profile,
    /// The layout of every registration API.
    pub layouts: BTreeMap<ApiId, Layout>,
    pub routes: Routes,
    pub token: Option<String>,
    pub ready_after_polls: u32,
    pub is_deleted_key: Option<String>,
    state_path: Option<PathBuf>,
    state: Mutex<HubState>,
    faults: Mutex<Faults>,
}

impl App {
    pub fn new(config: MockConfig) -> Result<App, MockError> {
        let MockConfig {
            profile,
            token,
            state,
            faults,
            ready_after_polls,
        } = config;
        faults.validate().map_err(|message| MockError::Faults {
            origin: "in the configuration".into(),
            message,
        })?;
        let routes = Routes::new(&profile)?;
        let mut layouts = BTreeMap::new();
        for (&id, spec) in &profile.apis {
            if spec.role == Role::Register {
                let layout = Layout::new(&profile, id).map_err(|e| MockError::Profile {
                    name: profile.name.clone(),
                    message: e.to_string(),
                })?;
                layouts.insert(id, layout);
            }
        }
        let held = match &state {
            Some(path) => persist::load(path)?.unwrap_or_default(),
            None => HubState::default(),
        };
        if !held.tasks.is_empty() {
            log(format_args!(
                "state loaded: {} tasks, {} held rows",
                held.tasks.len(),
                held.rows.len()
            ));
        }
        Ok(App {
            is_deleted_key: profile.field(FieldId::IsDeleted).map(|f| f.key.clone()),
            profile,
            layouts,
            routes,
            token,
            ready_after_polls,
            state_path: state,
            state: Mutex::new(held),
            faults: Mutex::new(faults),
        })
    }

    // A handler that panicked mid-change leaves state that is still well-formed (every change
    // is a single push or insert), so a poisoned lock is used as it is.
    pub fn state(&self) -> MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes the state file, if there is one. Called with the state lock held, so writes
    /// happen in the order of the changes. A failed write is logged, not answered: the state
    /// file is a convenience for demos, and the change itself has happened.
    pub fn persist(&self, state: &HubState) {
        if let Some(path) = &self.state_path
            && let Err(e) = persist::save(path, state)
        {
            log(format_args!(
                "cannot write state file {}: {e}",
                path.display()
            ));
        }
    }

    pub fn result_api_of(&self, register: ApiId) -> Option<ApiId> {
        self.profile.api(register).and_then(|a| a.result)
    }
}

pub(crate) fn router(app: Arc<App>) -> Router {
    let limit = app.profile.limits.max_bytes;
    Router::new()
        .route("/_mock/records", get(inspect::records))
        .route("/_mock/submissions", get(inspect::submissions))
        .route("/_mock/stats", get(inspect::stats))
        .route("/_mock/reset", post(inspect::reset))
        .route(
            "/_mock/faults",
            get(inspect::faults).post(inspect::set_faults),
        )
        .fallback(api::pmh_api)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}
