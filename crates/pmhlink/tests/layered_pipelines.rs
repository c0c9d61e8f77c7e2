//! Layered pipeline files through the real binary and plugins: a generated town whose pipeline
//! is split into a vendor's template, a prefecture's layer and the municipality's own file
//! sends byte for byte what its single file sends; `check` and `run` take the layered file;
//! `config` shows where each value came from; a bad value is named by the file it is in.

mod common;

use std::collections::BTreeMap;

use common::databases::{check, payload_bytes};
use common::town::Town;
use common::{pmhlink, run};
use serde_json::Value;

const DAY: &str = "2025-06-02";

fn table(v: &toml::Value) -> &toml::Table {
    v.as_table().expect("a table")
}

fn items(v: &toml::Value) -> &Vec<toml::Value> {
    v.as_array().expect("an array")
}

/// What the prefecture's layer says: its municipalities' local programmes and a programme of
/// its own. (The values are the example's: `config` below compares every one of them.)
const TOKYO: &str = r#"# Tokyo's municipalities on ACME: the prefecture's local programmes and 難病.
extends: acme.toml
rules:
  local_programs:
    - { prefecture: "13", houbetsu: "88", name: 子ども医療費助成 }
    - { prefecture: "13", houbetsu: "81", name: ひとり親家庭等医療費助成 }
programs:
  - code: "540"
    type_id: NANBYO54
    certification_name: 特定医療費(指定難病)受給者証
"#;

/// Splits `town`'s single pipeline file into `vendor/acme.toml` (the vendor's mapping, with
/// a programme, a source and a join this town does not have, and other values this town
/// changes), `vendor/tokyo.yaml` and a `pipeline.toml` that extends them.
fn split_into_layers(town: &Town) {
    let single = std::fs::read_to_string(town.path("pipeline.toml")).unwrap();
    let full: toml::Table = toml::from_str(&single).unwrap();

    let mut acme = full.clone();
    for key in ["municipality", "sinks", "report", "ledger", "guard"] {
        acme.remove(key);
    }
    let rules = acme["rules"].as_table_mut().unwrap();
    rules.remove("gaiji");
    rules.remove("local_programs");
    let programs = acme["programs"].as_array_mut().unwrap();
    programs.retain(|p| p["code"].as_str() != Some("540"));
    for p in programs.iter_mut() {
        p.as_table_mut().unwrap().remove("manages_sex");
    }
    programs.push(toml::Value::Table(toml::toml! {
        code = "990"
        type_id = "ACMEONLY"
        certification_name = "この団体にない制度"
    }));
    let subsidy = acme["sources"]["subsidy"]["config"].as_table_mut().unwrap();
    subsidy.insert("path".into(), "exports/subsidy.csv".into());
    acme["sources"].as_table_mut().unwrap().insert(
        "kokuho".into(),
        toml::Value::Table(toml::toml! {
            plugin = "csv"
            config = { path = "data/kokuho.csv" }
        }),
    );
    acme["joins"]
        .as_array_mut()
        .unwrap()
        .push(toml::Value::Table(toml::toml! {
            source = "kokuho"
            left = "subsidy.宛名番号"
            right = "宛名番号"
        }));
    let mapping = acme["mapping"].as_table_mut().unwrap();
    mapping.insert(
        "sex".into(),
        toml::Value::Table(toml::toml! { constant = "0" }),
    );
    for item in mapping["certification_detail"].as_array_mut().unwrap() {
        item.as_table_mut().unwrap().remove("skip_empty");
    }
    std::fs::create_dir(town.path("vendor")).unwrap();
    std::fs::write(
        town.path("vendor/acme.toml"),
        format!(
            "# ACME's template (paths are the municipality folders').\n{}",
            toml::to_string(&acme).unwrap()
        ),
    )
    .unwrap();
    std::fs::write(town.path("vendor/tokyo.yaml"), TOKYO).unwrap();

    // The town's own file: what is its own, and what differs from the layers.
    let mut own = toml::Table::new();
    for key in ["municipality", "sinks", "report", "ledger", "guard"] {
        own.insert(key.into(), full[key].clone());
    }
    let mut rules = toml::Table::new();
    rules.insert("gaiji".into(), full["rules"]["gaiji"].clone());
    own.insert("rules".into(), rules.into());
    let mut programs = vec![toml::Value::Table(toml::toml! {
        code = "990"
        remove = true
    })];
    for p in items(&full["programs"]) {
        if let Some(sex) = table(p).get("manages_sex") {
            let mut changed = toml::Table::new();
            changed.insert("code".into(), p["code"].clone());
            changed.insert("manages_sex".into(), sex.clone());
            programs.push(changed.into());
        }
    }
    own.insert("programs".into(), programs.into());
    let mut sources = toml::Table::new();
    sources.insert(
        "subsidy".into(),
        toml::Value::Table(toml::toml! { config = { path = "data/subsidy.csv" } }),
    );
    sources.insert(
        "kokuho".into(),
        toml::Value::Table(toml::toml! { remove = true }),
    );
    own.insert("sources".into(), sources.into());
    own.insert(
        "joins".into(),
        vec![toml::Value::Table(toml::toml! {
            source = "kokuho"
            remove = true
        })]
        .into(),
    );
    let mut mapping = toml::Table::new();
    mapping.insert("sex".into(), full["mapping"]["sex"].clone());
    let details: Vec<toml::Value> = items(&full["mapping"]["certification_detail"])
        .iter()
        .filter_map(|item| {
            let skip = table(item).get("skip_empty")?;
            let mut changed = toml::Table::new();
            changed.insert("name".into(), item["name"].clone());
            changed.insert("skip_empty".into(), skip.clone());
            Some(changed.into())
        })
        .collect();
    assert!(
        !details.is_empty(),
        "the example leaves an item out when empty"
    );
    mapping.insert("certification_detail".into(), details.into());
    own.insert("mapping".into(), mapping.into());
    std::fs::write(
        town.path("pipeline.toml"),
        format!(
            "# さくら野市 on ACME in Tokyo.\nextends = \"vendor/tokyo.yaml\"\n\n{}",
            toml::to_string(&own).unwrap()
        ),
    )
    .unwrap();
}

fn config(town: &Town, extra: &[&str]) -> common::Run {
    run(pmhlink()
        .arg("config")
        .arg(town.path("pipeline.toml"))
        .args(extra))
}

/// `config --json` as path → (value, origin).
fn effective(town: &Town) -> BTreeMap<String, (Value, Value)> {
    let out = config(town, &["--json"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let values: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    values
        .into_iter()
        .map(|v| {
            (
                v["path"].as_str().unwrap().to_owned(),
                (v["value"].clone(), v["origin"].clone()),
            )
        })
        .collect()
}

#[test]
fn a_layered_town_sends_byte_for_byte_what_its_single_file_sends() {
    let single = Town::new(300, 41, 100);
    let first = single.run(DAY, &[]);
    assert_eq!(first.status, 0, "{}{}", first.stdout, first.stderr);
    let expected = payload_bytes(&single);
    assert!(expected.len() >= 2, "several payload files");

    let layered = single.fresh_copy();
    split_into_layers(&layered);

    let checked = check(&layered);
    assert_eq!(checked.status, 0, "{}{}", checked.stdout, checked.stderr);
    assert!(
        checked.stdout.contains(
            "ok  layers: pipeline.toml extends vendor/tokyo.yaml, which extends vendor/acme.toml"
        ),
        "{}",
        checked.stdout
    );
    let ran = layered.run(DAY, &[]);
    assert_eq!(ran.status, 0, "{}{}", ran.stdout, ran.stderr);
    assert_eq!(payload_bytes(&layered), expected, "the same payload bytes");

    // The same effective pipeline, every value of it.
    let flat = effective(&single);
    let layers = effective(&layered);
    let values = |m: &BTreeMap<String, (Value, Value)>| -> BTreeMap<String, Value> {
        m.iter().map(|(k, (v, _))| (k.clone(), v.clone())).collect()
    };
    assert_eq!(values(&layers), values(&flat));
    for (_, (_, origin)) in flat.iter() {
        assert!(origin.is_null() || origin == "pipeline.toml", "{origin}");
    }

    // Each value named by the file that wrote it.
    let origin = |path: &str| layers[path].1.as_str().unwrap_or("default").to_owned();
    for (path, file) in [
        ("municipality.code", "pipeline.toml"),
        ("profile.path", "vendor/acme.toml"),
        ("rules.date_mode", "vendor/acme.toml"),
        ("rules.local_programs[1].houbetsu", "vendor/tokyo.yaml"),
        ("programs[0].type_id", "vendor/acme.toml"),
        ("programs[2].code", "pipeline.toml"),
        ("programs[2].manages_sex", "pipeline.toml"),
        ("programs[2].type_id", "vendor/acme.toml"),
        ("programs[3].type_id", "vendor/tokyo.yaml"),
        ("programs[3].manages_sex", "default"),
        ("sources.subsidy.config.path", "pipeline.toml"),
        ("sources.subsidy.config.encoding", "vendor/acme.toml"),
        ("joins[1].valid_from", "vendor/acme.toml"),
        ("mapping.sex", "pipeline.toml"),
        ("mapping.name", "vendor/acme.toml"),
        ("sinks[0].config.dir", "pipeline.toml"),
        ("guard.max_deletion_share", "pipeline.toml"),
    ] {
        assert_eq!(origin(path), file, "{path}");
    }

    let text = config(&layered, &[]);
    assert_eq!(text.status, 0, "{}", text.stderr);
    for line in [
        "# Files: pipeline.toml extends vendor/tokyo.yaml extends vendor/acme.toml",
        "path = \"data/subsidy.csv\"  # from pipeline.toml",
        "encoding = \"cp932\"  # from vendor/acme.toml",
        "houbetsu = \"81\"  # from vendor/tokyo.yaml",
        "\"\\uE001\" = \"髙\"  # from pipeline.toml",
    ] {
        assert!(text.stdout.contains(line), "{line}\n{}", text.stdout);
    }
}

/// The town split into layers, with `from` replaced by `to` in one of its files.
fn layered_town(file: &str, from: &str, to: &str) -> Town {
    let town = Town::new(20, 42, 100);
    split_into_layers(&town);
    if !file.is_empty() {
        let path = town.path(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no `{from}`");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }
    town
}

/// `config`, `check` and `run` all refuse the town with exit 2 and a message naming `file`
/// and `key`, and nothing is sent.
fn refused_naming(town: &Town, file: &str, key: &str, env: &[(&str, &str)]) {
    let with_env = |mut cmd: std::process::Command| {
        cmd.envs(env.iter().copied());
        cmd
    };
    let mut config = pmhlink();
    config.arg("config").arg(town.path("pipeline.toml"));
    let mut check = pmhlink();
    check.arg("check").arg(town.path("pipeline.toml"));
    for (name, cmd) in [
        ("config", config),
        ("check", check),
        ("run", town.command("run", DAY, &[])),
    ] {
        let out = run(&mut with_env(cmd));
        assert_eq!(out.status, 2, "{name}: {}{}", out.stdout, out.stderr);
        let line = out
            .stderr
            .lines()
            .find(|l| l.contains(&format!("`{key}`")))
            .unwrap_or_else(|| panic!("{name}: nothing names `{key}`:\n{}", out.stderr));
        assert!(line.contains(&format!("{file}: ")), "{name}: {line}");
    }
    assert!(!town.path("outbox").exists(), "nothing was sent");
}

#[test]
fn a_bad_value_is_named_by_the_file_it_was_written_in() {
    let in_template = layered_town(
        "vendor/acme.toml",
        "type_id = \"M13KODOMO\"",
        "type_id = \"子ども\"",
    );
    refused_naming(&in_template, "vendor/acme.toml", "programs[0].type_id", &[]);

    let in_middle = layered_town("vendor/tokyo.yaml", "houbetsu: \"81\"", "houbetsu: \"8\"");
    refused_naming(
        &in_middle,
        "vendor/tokyo.yaml",
        "rules.local_programs[1].houbetsu",
        &[],
    );

    let in_town = layered_town("pipeline.toml", "code = \"139998\"", "code = \"13999\"");
    refused_naming(&in_town, "pipeline.toml", "municipality.code", &[]);

    let over_all = layered_town("", "", "");
    refused_naming(
        &over_all,
        "environment variable PMHLINK_GUARD__MAX_DELETION_SHARE",
        "guard.max_deletion_share",
        &[("PMHLINK_GUARD__MAX_DELETION_SHARE", "1.5")],
    );

    let no_parent = layered_town(
        "vendor/tokyo.yaml",
        "extends: acme.toml",
        "extends: acme.yml",
    );
    refused_naming(&no_parent, "vendor/tokyo.yaml", "extends", &[]);
}
