//! The scheduling examples under `examples/scheduling/` are real: the systemd units pass
//! `systemd-analyze verify` (where systemd is installed) with the binary's path put in, and
//! every example runs the same `pmhlink` command line, which the binary accepts.

mod common;

use std::path::{Path, PathBuf};

use common::{pmhlink, run};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scheduling")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(examples().join(name)).unwrap()
}

/// The arguments after the binary on the line that starts it (`ExecStart=`, the cron line,
/// the XML's `<Arguments>`).
fn fleet_arguments(text: &str, after: &str) -> Vec<String> {
    let line = text
        .lines()
        .find(|l| l.contains(after))
        .unwrap_or_else(|| panic!("no line with {after}"));
    let rest = &line[line.find(after).unwrap() + after.len()..];
    let rest = rest.split("</Arguments>").next().unwrap();
    rest.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn every_example_runs_the_same_fleet_command() {
    let unit = fleet_arguments(&read("pmhlink-fleet.service"), "/opt/pmhlink/pmhlink ");
    let cron = fleet_arguments(&read("pmhlink.cron"), "/opt/pmhlink/pmhlink ");
    let windows = fleet_arguments(&read("pmhlink-fleet.xml"), "<Arguments>");
    let unix_paths = |args: &[String]| -> Vec<String> {
        args.iter()
            .map(|a| {
                a.replace("D:\\pmhlink\\metrics", "/var/lib/prometheus/node-exporter")
                    .replace("D:\\pmhlink\\logs", "/var/log/pmhlink")
                    .replace("D:\\pmhlink\\towns", "/srv/pmhlink/towns")
            })
            .collect()
    };
    assert_eq!(unit, cron);
    assert_eq!(unix_paths(&windows), unit);
    // The binary takes the command line: run against a folder with no pipeline, it gets as
    // far as looking for one (a usage error would be clap's, with other words).
    let empty = tempfile::tempdir().unwrap();
    let towns = empty.path().join("towns");
    std::fs::create_dir(&towns).unwrap();
    let args: Vec<String> = unit
        .iter()
        .map(|a| match a.as_str() {
            "/srv/pmhlink/towns" => towns.display().to_string(),
            p if p.starts_with('/') => empty.path().join("out").display().to_string(),
            other => other.to_owned(),
        })
        .collect();
    let out = run(pmhlink().args(&args));
    assert_eq!(out.status, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("holds no pipeline file"),
        "{}",
        out.stderr
    );
    let instance = fleet_arguments(&read("pmhlink@.service"), "/opt/pmhlink/pmhlink ");
    assert_eq!(instance[0], "run");
    assert!(
        run(pmhlink().args(["run", "--help"]))
            .stdout
            .contains("--metrics-file")
    );
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    let Ok(probe) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        eprintln!("systemd-analyze is not installed here: the units are not verified");
        return;
    };
    assert!(probe.status.success());
    let dir = tempfile::tempdir().unwrap();
    let binary = env!("CARGO_BIN_EXE_pmhlink");
    let mut units = Vec::new();
    for name in [
        "pmhlink-fleet.service",
        "pmhlink-fleet.timer",
        "pmhlink@.service",
        "pmhlink@.timer",
    ] {
        let text = read(name).replace("/opt/pmhlink/pmhlink", binary);
        // An instance of a template unit is what systemd verifies.
        let file = dir.path().join(name.replace("@.", "@131016."));
        std::fs::write(&file, text).unwrap();
        units.push(file);
    }
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Warnings name the unit file; none may concern ours.
    let ours: Vec<&str> = stderr.lines().filter(|l| l.contains("pmhlink")).collect();
    assert!(ours.is_empty(), "{ours:?}");
}
