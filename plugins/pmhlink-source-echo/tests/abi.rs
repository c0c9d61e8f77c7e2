//! Loads the built `cdylib` the way a host does and drives it across the ABI.

use std::{
    env::consts::{DLL_PREFIX, DLL_SUFFIX},
    path::{Path, PathBuf},
    sync::OnceLock,
    time::Instant,
};

use pmhlink_plugin_api::{
    API_LEVEL, API_LEVEL_SYMBOL, ApiLevelFn, PluginModRef, RBatch, RErrorKind, RPluginError,
    RPluginKind, SourceBox,
    abi_stable::{
        library::lib_header_from_path,
        std_types::{ROption, RResult, RStr},
    },
};

/// The cdylib cargo built alongside this test (`target/<profile>/deps`, then `target/<profile>`).
fn library_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let name = format!("{DLL_PREFIX}pmhlink_source_echo{DLL_SUFFIX}");
    [deps, deps.parent().unwrap()]
        .iter()
        .map(|dir| dir.join(&name))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{name} not built next to {}", exe.display()))
}

/// A host's loading sequence, minus the real host's error types.
// `unsafe`: dlopen runs the library's initialisers and the symbol's type is taken on trust;
// that is what loading a plugin means.
#[allow(unsafe_code)]
fn load(path: &Path) -> Result<PluginModRef, String> {
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let level = {
        let f = unsafe { lib.get::<ApiLevelFn>(API_LEVEL_SYMBOL.as_bytes()) }.map_err(|_| {
            format!(
                "{} is not a pmhlink plugin (no `{API_LEVEL_SYMBOL}`)",
                path.display()
            )
        })?;
        f()
    };
    // Never unload a plugin library.
    std::mem::forget(lib);
    if level != API_LEVEL {
        return Err(format!(
            "{} is built for plugin API level {level}; this host supports level {API_LEVEL}",
            path.display()
        ));
    }
    // Not `RootModule::load_from_file`: that caches one module per type for the process.
    lib_header_from_path(path)
        .and_then(|header| header.init_root_module::<PluginModRef>())
        .map_err(|e| format!("cannot load {}: {e}", path.display()))
}

fn plugin() -> PluginModRef {
    static PLUGIN: OnceLock<PluginModRef> = OnceLock::new();
    *PLUGIN.get_or_init(|| load(&library_path()).unwrap())
}

fn open(config: &str) -> Result<SourceBox, RPluginError> {
    (plugin().open_source())(RStr::from_str(config)).into_result()
}

const TWO_ROWS: &str = r#"{"columns": ["x", "y"], "rows": [["a", "b"], ["c", "d"]]}"#;

fn cells(batch: &RBatch, i: usize) -> Vec<String> {
    batch.row(i).map(str::to_owned).collect()
}

#[test]
fn spec_describes_a_source_fixture() {
    let spec = (plugin().spec())();
    assert_eq!(spec.name, "echo");
    assert_eq!(spec.kind, RPluginKind::Source);
    assert_eq!(spec.api_level, API_LEVEL);
    let schema: serde_json::Value = serde_json::from_str(&spec.config_schema_json).unwrap();
    assert_eq!(schema["required"][0], "columns");
    assert_eq!(spec.capabilities.as_slice(), ["test-fixture"]);
}

#[test]
fn reads_rows_in_batches() {
    let mut source = open(TWO_ROWS).unwrap();
    source.check().unwrap();
    assert_eq!(source.discover().unwrap().as_slice(), ["x", "y"]);

    let first = source.next_batch(1).unwrap().unwrap();
    first.validate().unwrap();
    assert_eq!(
        (first.rows(), cells(&first, 0), first.line(0)),
        (1, vec!["a".into(), "b".into()], 2)
    );
    let second = source.next_batch(10).unwrap().unwrap();
    assert_eq!(
        (cells(&second, 0), second.line(0)),
        (vec!["c".into(), "d".into()], 3)
    );
    assert!(source.next_batch(10).unwrap().is_none());
}

#[test]
fn row_errors_cross_the_boundary() {
    let mut source =
        open(r#"{"columns": ["x"], "rows": [["a"], ["b"]], "error_rows": [1]}"#).unwrap();
    let batch = source.next_batch(100).unwrap().unwrap();
    batch.validate().unwrap();
    assert_eq!(batch.row_errors().len(), 1);
    assert_eq!(batch.row_errors()[0].row, 1);
    assert!(batch.row_errors()[0].message.contains("line 3"));
}

#[test]
fn check_reports_ragged_rows() {
    let source = open(r#"{"columns": ["x", "y"], "rows": [["a"]]}"#).unwrap();
    let err = source.check().into_result().unwrap_err();
    assert_eq!(err.kind, RErrorKind::Config);
    assert_eq!(err.location, ROption::RSome("rows[0]".into()));
}

#[test]
fn a_source_is_not_a_sink() {
    let err = (plugin().open_sink())(RStr::from_str(TWO_ROWS))
        .into_result()
        .err()
        .unwrap();
    assert_eq!(err.kind, RErrorKind::Unsupported);
    assert!(err.message.contains("`echo`"), "{err}");
}

#[test]
fn bad_config_names_the_key_not_the_value() {
    let err = open(r#"{"columns": ["x"], "rows": "SECRET-VALUE"}"#)
        .err()
        .unwrap();
    assert_eq!(err.kind, RErrorKind::Config);
    assert_eq!(err.location, ROption::RSome("rows".into()));
    assert!(!err.message.contains("SECRET"), "{err}");
    let err = open(r#"{"columns": ["x"], "rows": [], "colums": 1}"#)
        .err()
        .unwrap();
    assert!(err.message.contains("unknown field `colums`"), "{err}");
}

#[test]
fn panics_become_errors_and_poison_the_instance() {
    let mut source = open(r#"{"columns": ["x"], "rows": [["a"]], "panic_on_read": true}"#).unwrap();
    let err = source.next_batch(10).into_result().unwrap_err();
    assert_eq!(err.kind, RErrorKind::Panic);
    assert!(
        err.message.contains("`echo`") && err.message.contains("`next_batch`"),
        "{err}"
    );
    assert!(
        !err.message.contains("panic_on_read is set"),
        "message must be withheld: {err}"
    );
    match &err.location {
        ROption::RSome(at) => assert!(at.contains("src/lib.rs"), "{at}"),
        ROption::RNone => panic!("no panic location"),
    }
    // Its state may be half-updated: later calls are refused, even read-only ones.
    assert!(matches!(source.check(), RResult::RErr(e) if e.kind == RErrorKind::Panic));

    let err = open(r#"{"columns": [], "rows": [], "panic_on_open": true}"#)
        .err()
        .unwrap();
    assert_eq!(err.kind, RErrorKind::Panic);
}

/// `cargo test --release -p pmhlink-source-echo --test abi -- --ignored --nocapture`
#[test]
#[ignore = "benchmark"]
fn bench_100k_rows_of_20_cells() {
    let started = Instant::now();
    let plugin = load(&library_path()).unwrap();
    let loaded = started.elapsed();

    let row: Vec<String> = (0..20).map(|i| format!("cell-{i:02}-値")).collect();
    let rows: Vec<Vec<String>> = (0..100).map(|_| row.clone()).collect();
    let config = serde_json::json!({ "columns": row, "rows": rows, "repeat": 1000 }).to_string();
    for batch_rows in [1_000, 10_000] {
        let started = Instant::now();
        let mut source = (plugin.open_source())(RStr::from_str(&config)).unwrap();
        let (mut total_rows, mut total_bytes) = (0, 0);
        while let Some(batch) = source.next_batch(batch_rows).unwrap().into_option() {
            batch.validate().unwrap();
            for i in 0..batch.rows() {
                total_bytes += batch.row(i).map(str::len).sum::<usize>();
            }
            total_rows += batch.rows();
        }
        assert_eq!(total_rows, 100_000);
        println!(
            "load {loaded:?}; batch {batch_rows}: {total_rows} rows x 20 cells ({total_bytes} B) in {:?}",
            started.elapsed()
        );
    }
}
