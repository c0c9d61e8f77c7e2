//! Wraps plain-Rust plugins into the ABI's trait objects, turning every panic into an error:
//! a panic must never unwind across `extern "C"` (rustc would abort the host).

use std::{
    any::Any,
    cell::{Cell, RefCell},
    panic::{self, AssertUnwindSafe},
    sync::Once,
};

use pmhlink_plugin_api::{
    API_LEVEL, PluginMod, PluginModRef, RErrorKind, ROutcome, RPayload, RPluginError, RPluginKind,
    RPluginSpec, RReceipt, RRunEnd, Sink_TO, SinkBox, Source, Source_TO, SourceBox,
    abi_stable::{
        prefix_type::PrefixTypeTrait,
        sabi_trait::TD_Opaque,
        std_types::{ROption, RResult, RStr, RString, RVec},
    },
};
use serde::de::DeserializeOwned;

use crate::{PluginError, PluginSpec, SinkPlugin, SourcePlugin, parse_config};

thread_local! {
    /// Location of the last panic on this thread, recorded by the hook installed at load.
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the plugin's panic hook (the plugin has its own copy of std, so the host's hook is
/// untouched). Panic messages may quote record content and would go straight to the host's
/// stderr; only the source location is kept, for the error.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            PANIC_AT.with(|p| *p.borrow_mut() = at);
        }));
    });
}

fn discard_payload(payload: Box<dyn Any + Send>) {
    // A payload whose destructor panics again is leaked rather than unwound further.
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))) {
        std::mem::forget(again);
    }
}

/// Runs `f`, mapping its error and any panic. `poisoned` is set by a panic: the plugin's state
/// may be half-updated, so it refuses further calls.
fn guarded<T>(
    plugin: &str,
    poisoned: &Cell<bool>,
    verb: &str,
    f: impl FnOnce() -> Result<T, PluginError>,
) -> RResult<T, RPluginError> {
    if poisoned.get() {
        return RResult::RErr(RPluginError::new(
            RErrorKind::Panic,
            format!("plugin `{plugin}` panicked earlier and cannot be used; reopen it"),
        ));
    }
    PANIC_AT.with(|p| p.borrow_mut().take());
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => RResult::ROk(value),
        Ok(Err(err)) => RResult::RErr(err.into()),
        Err(payload) => {
            poisoned.set(true);
            discard_payload(payload);
            let error = RPluginError::new(
                RErrorKind::Panic,
                format!("plugin `{plugin}` panicked in `{verb}` (panic message withheld)"),
            );
            RResult::RErr(match PANIC_AT.with(|p| p.borrow_mut().take()) {
                Some(at) => error.at(at),
                None => error,
            })
        }
    }
}

/// Owns a plugin instance; `inner` is `None` only while dropping.
struct Adapter<P> {
    inner: Option<P>,
    name: String,
    poisoned: Cell<bool>,
}

impl<P> Adapter<P> {
    fn new(inner: P, name: String) -> Self {
        Self {
            inner: Some(inner),
            name,
            poisoned: Cell::new(false),
        }
    }

    fn call<T>(
        &self,
        verb: &str,
        f: impl FnOnce(&P) -> Result<T, PluginError>,
    ) -> RResult<T, RPluginError> {
        let inner = self.inner.as_ref().expect("plugin used while dropped");
        guarded(&self.name, &self.poisoned, verb, || f(inner))
    }

    fn call_mut<T>(
        &mut self,
        verb: &str,
        f: impl FnOnce(&mut P) -> Result<T, PluginError>,
    ) -> RResult<T, RPluginError> {
        let inner = self.inner.as_mut().expect("plugin used while dropped");
        guarded(&self.name, &self.poisoned, verb, || f(inner))
    }
}

// The host drops the trait object through an `extern "C"` destructor: a panicking `Drop`
// must not unwind through it either.
impl<P> Drop for Adapter<P> {
    fn drop(&mut self) {
        let inner = self.inner.take();
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(inner))) {
            discard_payload(payload);
        }
    }
}

impl<P: SourcePlugin> Source for Adapter<P> {
    fn check(&self) -> RResult<(), RPluginError> {
        self.call("check", P::check)
    }

    fn discover(&self) -> RResult<RVec<RString>, RPluginError> {
        self.call("discover", |p| {
            Ok(p.discover()?.into_iter().map(RString::from).collect())
        })
    }

    fn next_batch(
        &mut self,
        max_rows: u32,
    ) -> RResult<ROption<pmhlink_plugin_api::RBatch>, RPluginError> {
        let max_rows = (max_rows as usize).max(1);
        self.call_mut("next_batch", |p| Ok(p.next_batch(max_rows)?.into()))
    }

    fn column_types(&self) -> RResult<RVec<RString>, RPluginError> {
        self.call("column_types", |p| {
            Ok(p.column_types()?
                .into_iter()
                .map(|t| RString::from(t.name()))
                .collect())
        })
    }
}

impl<P: SinkPlugin> pmhlink_plugin_api::Sink for Adapter<P> {
    fn check(&self) -> RResult<RString, RPluginError> {
        self.call("check", |p| Ok(p.check()?.into()))
    }

    fn deliver(&mut self, payload: RPayload) -> RResult<RReceipt, RPluginError> {
        self.call_mut("deliver", |p| p.deliver(payload))
    }

    fn poll(&mut self, receipt: RReceipt) -> RResult<ROutcome, RPluginError> {
        self.call_mut("poll", |p| p.poll(receipt))
    }

    fn import(&mut self, path: RStr<'_>) -> RResult<RVec<u8>, RPluginError> {
        self.call_mut("import", |p| Ok(p.import(path.as_str())?.into()))
    }

    fn finish(&mut self, end: RRunEnd) -> RResult<RString, RPluginError> {
        self.call_mut("finish", |p| Ok(p.finish(end)?.into()))
    }
}

/// The plugin's name for messages, even if its `spec` panics.
fn plugin_name(spec: fn() -> PluginSpec) -> String {
    match panic::catch_unwind(spec) {
        Ok(spec) => spec.name,
        Err(payload) => {
            discard_payload(payload);
            "<unnamed: spec panicked>".to_owned()
        }
    }
}

pub fn spec(kind: RPluginKind, spec: fn() -> PluginSpec) -> RPluginSpec {
    let spec = match panic::catch_unwind(spec) {
        Ok(spec) => spec,
        Err(payload) => {
            // Unreachable through a loaded library (the root module calls `spec` first and
            // a panic there fails the load), kept so a direct caller gets no unwinding.
            discard_payload(payload);
            PluginSpec::new("<spec panicked>", "0.0.0", "the plugin's spec() panicked")
        }
    };
    RPluginSpec {
        name: spec.name.into(),
        version: spec.version.into(),
        api_level: API_LEVEL,
        kind,
        description: spec.description.into(),
        config_schema_json: spec.config_schema_json.into(),
        capabilities: spec.capabilities.into_iter().map(RString::from).collect(),
    }
}

pub fn open_source<C, P>(
    config_json: RStr<'_>,
    spec: fn() -> PluginSpec,
    open: impl FnOnce(C) -> Result<P, PluginError>,
) -> RResult<SourceBox, RPluginError>
where
    C: DeserializeOwned,
    P: SourcePlugin,
{
    let name = plugin_name(spec);
    guarded(&name, &Cell::new(false), "open_source", || {
        open(parse_config(config_json.as_str())?)
    })
    .map(|p| Source_TO::from_value(Adapter::new(p, name), TD_Opaque))
}

pub fn open_sink<C, P>(
    config_json: RStr<'_>,
    spec: fn() -> PluginSpec,
    open: impl FnOnce(C) -> Result<P, PluginError>,
) -> RResult<SinkBox, RPluginError>
where
    C: DeserializeOwned,
    P: SinkPlugin,
{
    let name = plugin_name(spec);
    guarded(&name, &Cell::new(false), "open_sink", || {
        open(parse_config(config_json.as_str())?)
    })
    .map(|p| Sink_TO::from_value(Adapter::new(p, name), TD_Opaque))
}

pub fn wrong_kind<T>(spec: fn() -> PluginSpec, is: &str, asked: &str) -> RResult<T, RPluginError> {
    RResult::RErr(RPluginError::new(
        RErrorKind::Unsupported,
        format!(
            "plugin `{}` is a {is} plugin; it cannot be opened as a {asked}",
            plugin_name(spec)
        ),
    ))
}

/// Builds the root module; called once, at load, inside abi_stable's `catch_unwind`.
pub fn root_module(
    spec: fn() -> PluginSpec,
    spec_fn: extern "C" fn() -> RPluginSpec,
    open_source: extern "C" fn(RStr<'_>) -> RResult<SourceBox, RPluginError>,
    open_sink: extern "C" fn(RStr<'_>) -> RResult<SinkBox, RPluginError>,
) -> PluginModRef {
    install_panic_hook();
    // A panicking spec() fails the load here, with a clear error, rather than later.
    let _ = spec();
    PluginMod {
        spec: spec_fn,
        open_source,
        open_sink,
    }
    .leak_into_prefix()
}

#[cfg(test)]
mod tests {
    use pmhlink_plugin_api::{ROutcomeState, abi_stable::std_types::RVec};
    use serde::Deserialize;

    use super::*;

    #[derive(Deserialize)]
    struct Cfg {
        dir: String,
    }

    struct Outbox {
        dir: String,
        delivered: u32,
    }

    impl SinkPlugin for Outbox {
        fn check(&self) -> Result<String, PluginError> {
            Ok(format!("writing to {}", self.dir))
        }
        fn deliver(&mut self, payload: RPayload) -> Result<RReceipt, PluginError> {
            assert!(payload.seq != 0, "seq 0");
            self.delivered += 1;
            Ok(RReceipt {
                id: payload.file_name,
                detail: RString::new(),
            })
        }
        fn poll(&mut self, _: RReceipt) -> Result<ROutcome, PluginError> {
            Ok(ROutcome {
                state: ROutcomeState::Pending,
                result_bytes: RVec::new(),
            })
        }
        fn import(&mut self, path: &str) -> Result<Vec<u8>, PluginError> {
            Err(PluginError::io("no such file").at(path))
        }
        fn finish(&mut self, end: RRunEnd) -> Result<String, PluginError> {
            Ok(format!("{} files, commit={}", self.delivered, end.commit))
        }
    }

    fn spec() -> PluginSpec {
        PluginSpec::new("drop", "0.1.0", "test sink")
    }

    fn open(cfg: Cfg) -> Result<Outbox, PluginError> {
        Ok(Outbox {
            dir: cfg.dir,
            delivered: 0,
        })
    }

    fn payload(seq: u32) -> RPayload {
        RPayload {
            run_id: "r1".into(),
            municipality: "131016".into(),
            api: "E06".into(),
            format: "json".into(),
            seq,
            records: 1,
            file_name: "a.json".into(),
            bytes: RVec::new(),
        }
    }

    #[test]
    fn sink_verbs_round_trip_and_panics_poison() {
        let mut sink = open_sink(RStr::from_str(r#"{"dir": "/out"}"#), spec, open).unwrap();
        assert_eq!(sink.check().unwrap(), "writing to /out");
        let receipt = sink.deliver(payload(1)).unwrap();
        assert_eq!(receipt.id, "a.json");
        assert_eq!(sink.poll(receipt).unwrap().state, ROutcomeState::Pending);
        let err = sink.import(RStr::from_str("res.csv")).unwrap_err();
        assert_eq!(
            (err.kind, err.location),
            (RErrorKind::Io, ROption::RSome("res.csv".into()))
        );
        let end = RRunEnd {
            run_id: "r1".into(),
            commit: true,
            manifest_json: "{}".into(),
        };
        assert_eq!(sink.finish(end.clone()).unwrap(), "1 files, commit=true");

        let err = sink.deliver(payload(0)).unwrap_err();
        assert_eq!(err.kind, RErrorKind::Panic);
        assert!(err.message.contains("`drop`") && err.message.contains("`deliver`"));
        assert_eq!(sink.finish(end).unwrap_err().kind, RErrorKind::Panic);
    }

    #[test]
    fn wrong_kind_and_bad_config_are_errors() {
        let err = wrong_kind::<()>(spec, "sink", "source").unwrap_err();
        assert_eq!(err.kind, RErrorKind::Unsupported);
        let err = open_sink(RStr::from_str(r#"{"dir": 987654}"#), spec, open)
            .into_result()
            .err()
            .unwrap();
        assert_eq!(err.kind, RErrorKind::Config);
        assert!(!err.message.contains("987654"), "{err}");
    }
}
