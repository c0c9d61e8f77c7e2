//! Finding plugins in folders: what is loaded, what is refused and why.

use std::{ffi::OsStr, path::PathBuf, process::Command};

use pmhlink_plugin_host::{
    API_LEVEL, DirOrigin, Host, HostError, LoadProblem, PLUGIN_PATH_ENV, PluginDirs, PluginKind,
};

use crate::common::{BAD_LEVEL, ECHO, NOT_PLUGIN, ROGUE, SINK, built, file_name, plugin_dir};

fn only(dirs: &[&std::path::Path]) -> PluginDirs {
    PluginDirs::resolve(dirs.iter().copied(), None, None)
}

fn names(host: &Host) -> Vec<String> {
    host.plugins().into_iter().map(|p| p.name).collect()
}

#[test]
fn finds_plugins_and_refuses_other_libraries_with_warnings() {
    let dir = plugin_dir(&[ECHO, SINK, NOT_PLUGIN, BAD_LEVEL]);
    let host = Host::discover(only(&[dir.path()])).unwrap();

    let mut found = host.plugins();
    found.sort_by(|a, b| a.name.cmp(&b.name));
    let summary: Vec<_> = found
        .iter()
        .map(|p| (p.name.as_str(), p.kind, p.api_level))
        .collect();
    assert_eq!(
        summary,
        [
            ("dir-sink", PluginKind::Sink, API_LEVEL),
            ("echo", PluginKind::Source, API_LEVEL)
        ]
    );
    let echo = host.get("echo").unwrap();
    assert_eq!(echo.path, dir.path().join(file_name(ECHO)));
    assert_eq!(echo.version, "0.1.0");
    assert_eq!(echo.capabilities, ["test-fixture"]);
    let schema: serde_json::Value = serde_json::from_str(&echo.config_schema_json).unwrap();
    assert_eq!(schema["type"], "object");

    let problems = host.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    let bad_level = problems
        .iter()
        .find(|p| matches!(p, LoadProblem::IncompatibleLevel { .. }))
        .unwrap();
    assert_eq!(
        bad_level,
        &LoadProblem::IncompatibleLevel {
            path: dir.path().join(file_name(BAD_LEVEL)),
            plugin_level: API_LEVEL + 1,
            host_level: API_LEVEL,
        }
    );
    let text = bad_level.to_string();
    assert!(
        text.contains(&format!("API level {}", API_LEVEL + 1))
            && text.contains(&format!("level {API_LEVEL} only"))
            && text.contains(&format!(
                "rebuild it against pmhlink-pdk for plugin API level {API_LEVEL}"
            )),
        "{text}"
    );
    let not_plugin = problems
        .iter()
        .find(|p| matches!(p, LoadProblem::NotAPlugin { .. }))
        .unwrap();
    assert_eq!(
        not_plugin.to_string(),
        format!(
            "{} is not a pmhlink plugin (no pmhlink_plugin_api_level symbol)",
            dir.path().join(file_name(NOT_PLUGIN)).display()
        )
    );
}

#[test]
fn load_file_applies_the_same_checks() {
    let err = Host::load_file(built(BAD_LEVEL)).unwrap_err();
    assert!(
        matches!(err, LoadProblem::IncompatibleLevel { plugin_level, host_level, .. }
            if plugin_level == API_LEVEL + 1 && host_level == API_LEVEL),
        "{err}"
    );
    let err = Host::load_file(built(NOT_PLUGIN)).unwrap_err();
    assert!(matches!(err, LoadProblem::NotAPlugin { .. }), "{err}");
    let err = Host::load_file("/nonexistent/libnothing.so").unwrap_err();
    assert!(matches!(err, LoadProblem::Open { .. }), "{err}");
    assert_eq!(names(&Host::load_file(built(ECHO)).unwrap()), ["echo"]);
}

#[test]
fn a_missing_plugin_names_the_search_and_the_refusals() {
    let plugins = plugin_dir(&[ECHO, BAD_LEVEL]);
    let empty = plugin_dir(&[]);
    let host = Host::discover(only(&[plugins.path(), empty.path()])).unwrap();
    let err = host.get("csv").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "no plugin named `csv` (searched: {}, {}; available: `echo`); 1 library on the \
             plugin path could not be loaded: {}",
            plugins.path().display(),
            empty.path().display(),
            plugins.path().join(file_name(BAD_LEVEL)).display()
        )),
        "{text}"
    );
    assert!(matches!(err, HostError::NoPlugin { .. }));
}

#[test]
fn the_first_directory_wins_and_later_copies_are_reported() {
    let first = plugin_dir(&[ECHO]);
    let second = plugin_dir(&[ECHO, ROGUE]);
    for (a, b) in [(&first, &second), (&second, &first)] {
        let host = Host::discover(only(&[a.path(), b.path()])).unwrap();
        assert_eq!(
            host.get("echo").unwrap().path,
            a.path().join(file_name(ECHO))
        );
        assert_eq!(
            host.problems(),
            [LoadProblem::Shadowed {
                name: "echo".into(),
                path: b.path().join(file_name(ECHO)),
                by: a.path().join(file_name(ECHO)),
            }]
        );
        assert!(host.get("rogue").is_ok());
    }
}

#[test]
fn missing_directories_stop_only_when_the_pipeline_names_them() {
    let missing = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-such-plugin-dir");
    let err = Host::discover(PluginDirs::resolve([&missing], None, None)).unwrap_err();
    assert!(
        matches!(&err, HostError::PluginDir { dir, .. } if *dir == missing),
        "{err}"
    );

    let echo = plugin_dir(&[ECHO]);
    let host = Host::discover(PluginDirs::resolve(
        [echo.path()],
        Some(missing.as_os_str()),
        Some(&missing),
    ))
    .unwrap();
    assert_eq!(names(&host), ["echo"]);
    // The env var's directory is worth a warning (a typo there hides plugins); a missing
    // executable directory is not.
    assert!(
        matches!(host.problems(), [LoadProblem::Dir { dir, .. }] if *dir == missing),
        "{:?}",
        host.problems()
    );
}

#[test]
fn different_plugins_stay_different() {
    // Guards against abi_stable's per-type module cache (`RootModule::load_from_file`).
    let dir = plugin_dir(&[ECHO, ROGUE]);
    let host = Host::discover(only(&[dir.path()])).unwrap();
    let echo = host
        .open_source("echo", &serde_json::json!({"columns": ["e"], "rows": []}))
        .unwrap();
    let rogue = host
        .open_source("rogue", &serde_json::json!({"mode": "good"}))
        .unwrap();
    assert_eq!(echo.discover().unwrap(), ["e"]);
    assert_eq!(rogue.discover().unwrap(), ["x"]);
}

/// Run by [`the_env_var_comes_after_the_pipeline_dirs`] in a child process with the variable set
/// (changing this process's environment would race with the other tests).
#[test]
#[ignore = "run as a child process by the_env_var_comes_after_the_pipeline_dirs"]
fn child_reads_plugin_path() {
    let dirs = PluginDirs::new(["/from/pipeline"]);
    let seen: Vec<_> = dirs
        .dirs()
        .iter()
        .map(|d| (d.path.clone(), d.origin))
        .collect();
    let exe_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    assert_eq!(
        seen,
        [
            ("/from/pipeline".into(), DirOrigin::Pipeline),
            ("/from/env/a".into(), DirOrigin::EnvVar),
            ("/from/env/b".into(), DirOrigin::EnvVar),
            (exe_dir, DirOrigin::ExeDir),
        ]
    );
}

#[test]
#[cfg(unix)]
fn the_env_var_comes_after_the_pipeline_dirs() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "discover::child_reads_plugin_path"])
        .env(PLUGIN_PATH_ENV, OsStr::new("/from/env/a:/from/env/b"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
