//! Loading good pipelines: defaults, TOML = YAML, environment overrides, secrets, the starter,
//! the schema and the reference page.

use std::path::{Path, PathBuf};

use pmhlink_config::{
    CleanStep, ConfigError, Env, FileFormat, KeyPath, LocalRecipient, Mapping, Pipeline,
    ProgramField, STARTER_TOML, TemplatePart, ValueSource,
};
use pmhlink_model::FieldId;
use pmhlink_profile::{ApiId, Format, SyncMode};
use pmhlink_rules::era::DateMode;
use serde_json::json;

fn good(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/good")
        .join(name)
}

fn load(env: &Env) -> Pipeline {
    Pipeline::load_with_env(good("pipeline.toml"), env).unwrap_or_else(|e| panic!("{e}"))
}

fn good_text() -> String {
    std::fs::read_to_string(good("pipeline.toml")).unwrap()
}

fn with_config(old: &str, new: &str) -> String {
    let text = good_text();
    assert!(text.contains(old));
    text.replacen(old, new, 1)
}

#[test]
fn a_good_pipeline_loads_with_its_defaults() {
    let p = load(&Env::empty());
    assert_eq!(p.municipality.code, "139998");
    assert_eq!(p.base_dir(), good("pipeline.toml").parent().unwrap());
    assert_eq!(p.profile.sync, SyncMode::Diff);
    assert_eq!(p.profile.format, Format::Json);
    assert_eq!(p.api(), ApiId::E06);
    assert_eq!(p.rules.date_mode, DateMode::Lenient);
    assert_eq!(p.rules.local_recipient, LocalRecipient::Warning);
    assert_eq!(p.report.dir, Path::new("reports"));
    assert_eq!(p.ledger.path, Path::new("state/ledger.sqlite"));
    assert_eq!(
        p.ledger.key_file.as_deref(),
        Some(Path::new("state/ledger.key"))
    );
    assert_eq!(p.ledger.key_env, "PMHLINK_LEDGER_KEY");
    assert_eq!(p.guard.max_deletion_share, 0.05);
    assert_eq!(p.primary_source(), "subsidy");
    assert!(p.programs[0].manages_sex);
    assert!(!p.programs[1].manages_sex);
    assert!(
        p.joins[0].required,
        "a join is required unless it says otherwise"
    );
    assert!(!p.joins[1].required);
    assert_eq!(p.program.column.source, "subsidy");
    assert_eq!(p.program.column.column, "制度コード");
    assert_eq!(
        p.sources["subsidy"].config.value()["skip"],
        json!(0),
        "plugin settings keep their types"
    );

    let kana = p.mapping.get(FieldId::NameKana).unwrap();
    assert_eq!(
        kana.clean,
        [
            CleanStep::Trim,
            CleanStep::WidenKana,
            CleanStep::KanaSeparator
        ]
    );
    let sex = p.mapping.get(FieldId::Sex).unwrap();
    let map = sex.map.as_ref().unwrap();
    assert_eq!(map.entries["2"], "2");
    assert_eq!(map.fallback.as_deref(), Some("0"));
    assert_eq!(
        p.mapping.get(FieldId::IsNotDisclosed).unwrap().source,
        ValueSource::Exists("shien".into())
    );
    assert_eq!(
        p.mapping.get(FieldId::TypeId).unwrap().source,
        ValueSource::Program(ProgramField::TypeId)
    );
    assert_eq!(
        p.mapping
            .get(FieldId::IsAlwaysReimbursement)
            .unwrap()
            .default
            .as_deref(),
        Some("0")
    );
    let items = p.mapping.detail_items();
    assert_eq!(items.len(), 2);
    let ValueSource::Template(t) = &items[1].value.source else {
        panic!("a template");
    };
    assert_eq!(
        t.parts(),
        [
            TemplatePart::Field(FieldId::ValidFrom),
            TemplatePart::Text("から".into()),
            TemplatePart::Field(FieldId::ValidTo),
            TemplatePart::Text("まで".into()),
        ]
    );
    assert!(items[1].skip_empty && !items[0].skip_empty);
    assert_eq!(p.mapping.iter().count(), 16);
}

#[test]
fn api_follows_sync_and_format() {
    let mut p = load(&Env::empty());
    for (sync, format, api) in [
        (SyncMode::Full, Format::Csv, ApiId::E01),
        (SyncMode::Full, Format::Json, ApiId::E02),
        (SyncMode::Diff, Format::Csv, ApiId::E05),
        (SyncMode::Diff, Format::Json, ApiId::E06),
    ] {
        p.profile.sync = sync;
        p.profile.format = format;
        assert_eq!(p.profile.api(), api);
    }
}

#[test]
fn rules_give_the_policy_and_era_table() {
    let p = load(&Env::empty());
    assert_eq!(
        p.rules.policy().local_recipient,
        Some(pmhlink_rules::Severity::Warning)
    );
    assert_eq!(LocalRecipient::Off.severity(), None);
    assert_eq!(p.rules.era_table(), pmhlink_rules::era::EraTable::default());
}

#[test]
fn yaml_and_toml_give_the_same_pipeline() {
    let toml = load(&Env::empty());
    let yaml = Pipeline::load_with_env(good("pipeline.yaml"), &Env::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(toml, yaml);
}

#[test]
fn environment_overrides_are_typed_by_the_schema() {
    let env = Env::empty()
        .with("PMHLINK_MUNICIPALITY__NAME", "さくら野市（上書き）")
        .with("PMHLINK_PROFILE__SYNC", "full")
        .with("PMHLINK_PROFILE__FORMAT", "csv")
        // A string field: `0` stays the text "0".
        .with("PMHLINK_MAPPING__IS_DELETED__CONSTANT", "0")
        .with("PMHLINK_SOURCES__SHIEN__PRIMARY", "false")
        .with("PMHLINK_RULES__DATE_MODE", "strict")
        .with("PMHLINK_LEDGER__PATH", "/var/lib/pmhlink/139998.sqlite")
        .with("PMHLINK_LEDGER__KEY_ENV", "SAKURANO_LEDGER_KEY")
        // A number field: `1` is read as 1.0.
        .with("PMHLINK_GUARD__MAX_DELETION_SHARE", "1")
        // Not overrides: no `__`, or not ours.
        .with("PMHLINK_LOG", "debug")
        .with("HOME", "/root");
    let p = load(&env);
    assert_eq!(p.municipality.name, "さくら野市（上書き）");
    assert_eq!(p.api(), ApiId::E01);
    assert_eq!(p.rules.date_mode, DateMode::Strict);
    assert_eq!(
        p.mapping.get(FieldId::IsDeleted).unwrap().source,
        ValueSource::Constant("0".into())
    );
    assert_eq!(
        p.ledger_path(),
        Path::new("/var/lib/pmhlink/139998.sqlite"),
        "an absolute path stays as it is"
    );
    assert_eq!(p.ledger.key_env, "SAKURANO_LEDGER_KEY");
    assert_eq!(p.guard.max_deletion_share, 1.0);
    let env = Env::empty().with("PMHLINK_GUARD__MAX_DELETION_SHARE", "0.2");
    assert_eq!(load(&env).guard.max_deletion_share, 0.2);
}

#[test]
fn ledger_paths_are_relative_to_the_pipeline_file() {
    let p = load(&Env::empty());
    let dir = good("pipeline.toml").parent().unwrap().to_owned();
    assert_eq!(p.ledger_path(), dir.join("state/ledger.sqlite"));
    assert_eq!(p.ledger_key_file(), Some(dir.join("state/ledger.key")));

    let text = good_text().replace(
        "[rules]",
        "[ledger]\npath = \"ledger/sakurano.sqlite\"\nkey_file = \"/etc/pmhlink/sakurano.key\"\n\n[rules]",
    );
    let p = Pipeline::from_str_with_env(&text, FileFormat::Toml, "/srv/p.toml", &Env::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.ledger_path(), Path::new("/srv/ledger/sakurano.sqlite"));
    assert_eq!(
        p.ledger_key_file().as_deref(),
        Some(Path::new("/etc/pmhlink/sakurano.key"))
    );
    assert_eq!(
        p.ledger.key_env, "PMHLINK_LEDGER_KEY",
        "unset keys keep their defaults"
    );

    // Without a key file (YAML's null) the key can only come from `key_env`.
    let yaml =
        std::fs::read_to_string(good("pipeline.yaml")).unwrap() + "ledger:\n  key_file: null\n";
    let p = Pipeline::from_str_with_env(&yaml, FileFormat::Yaml, "/srv/p.yaml", &Env::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.ledger_key_file(), None);
    assert_eq!(p.ledger_path(), Path::new("/srv/state/ledger.sqlite"));
}

#[test]
fn no_sync_mode_needs_a_history_key() {
    // pmhlink derives one when the pipeline does not map it.
    let text = good_text().replace("history_key = {", "# history_key = {");
    for sync in ["diff", "full"] {
        let env = Env::empty().with("PMHLINK_PROFILE__SYNC", sync);
        let p = Pipeline::from_str_with_env(&text, FileFormat::Toml, "p.toml", &env)
            .unwrap_or_else(|e| panic!("{sync}: {e}"));
        assert!(p.mapping.get(FieldId::HistoryKey).is_none());
    }
    // Mapping one in a full-sync pipeline is allowed too.
    let env = Env::empty().with("PMHLINK_PROFILE__SYNC", "full");
    let p = load(&env);
    assert!(p.mapping.get(FieldId::HistoryKey).is_some());
    let schema = pmhlink_config::json_schema();
    assert!(
        schema.get("else").is_none() && schema.get("if").is_none(),
        "the schema has no rule on `history_key`"
    );
}

const SECRET: &str = "s3cr3t-hunter2";

#[test]
fn secrets_are_substituted_and_redacted() {
    let text = with_config(
        r#"config = { path = "data/shien.csv" }"#,
        r#"config = { path = "data/shien.csv", dsn = "postgres://app:${DB_PASSWORD}@db/app", nested = { tokens = ["${API_TOKEN}", "plain"] }, literal = "cost $${NOT_A_VAR} $5" }"#,
    );
    let env = Env::empty()
        .with("DB_PASSWORD", SECRET)
        .with("API_TOKEN", "tok-999");
    let p = Pipeline::from_str_with_env(&text, FileFormat::Toml, "/srv/p.toml", &env)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.base_dir(), Path::new("/srv"));

    let config = &p.sources["shien"].config;
    assert_eq!(
        config.value()["dsn"],
        json!(format!("postgres://app:{SECRET}@db/app"))
    );
    assert_eq!(config.value()["nested"]["tokens"][0], json!("tok-999"));
    assert_eq!(config.value()["literal"], json!("cost ${NOT_A_VAR} $5"));

    let paths: Vec<String> = p.secret_paths().iter().map(KeyPath::to_string).collect();
    assert_eq!(
        paths,
        [
            "sources.shien.config.dsn",
            "sources.shien.config.nested.tokens[0]"
        ]
    );

    let shown = p.redacted_json();
    assert_eq!(shown["sources"]["shien"]["config"]["dsn"], json!("***"));
    assert_eq!(
        shown["sources"]["shien"]["config"]["nested"]["tokens"],
        json!(["***", "plain"])
    );
    assert_eq!(
        shown["sources"]["shien"]["config"]["path"],
        json!("data/shien.csv")
    );
    assert_eq!(shown["municipality"]["code"], json!("139998"));
    let shown = shown.to_string();
    assert!(
        !shown.contains(SECRET) && !shown.contains("tok-999"),
        "{shown}"
    );

    let debug = format!("{p:?}");
    assert!(
        !debug.contains(SECRET) && !debug.contains("tok-999"),
        "{debug}"
    );
    assert!(!format!("{env:?}").contains(SECRET));
}

#[test]
fn secrets_in_sinks_are_redacted_too() {
    let text = with_config(
        r#"config = { dir = "outbox" }"#,
        r#"config = { dir = "outbox", token = "${PMH_TOKEN}" }"#,
    );
    let env = Env::empty().with("PMH_TOKEN", SECRET);
    let p = Pipeline::from_str_with_env(&text, FileFormat::Toml, "p.toml", &env).unwrap();
    assert_eq!(p.sinks[0].config.value()["token"], json!(SECRET));
    assert_eq!(
        p.redacted_json()["sinks"][0]["config"]["token"],
        json!("***")
    );
    assert_eq!(p.secret_paths()[0].to_string(), "sinks[0].config.token");
}

#[test]
fn plugin_settings_from_overrides_are_secrets() {
    let env = Env::empty().with("PMHLINK_SOURCES__SUBSIDY__CONFIG__PASSWORD", SECRET);
    let p = load(&env);
    assert_eq!(
        p.sources["subsidy"].config.value()["password"],
        json!(SECRET)
    );
    assert_eq!(
        p.redacted_json()["sources"]["subsidy"]["config"]["password"],
        json!("***")
    );
    assert!(!format!("{p:?}").contains(SECRET));
}

#[test]
fn a_secret_never_appears_in_an_error() {
    // A set secret, a missing variable, a type error on an override, a semantic error.
    let text = with_config(
        r#"config = { path = "data/shien.csv" }"#,
        r#"config = { path = "data/shien.csv", password = "${DB_PASSWORD}", other = "${MISSING_ONE}" }"#,
    )
    .replace(r#"code = "160""#, r#"code = "010""#);
    let env = Env::empty().with("DB_PASSWORD", SECRET);
    let err = Pipeline::from_str_with_env(&text, FileFormat::Toml, "p.toml", &env).unwrap_err();
    let message = format!("{err}\n{err:?}");
    assert!(message.contains("`MISSING_ONE` is not set"), "{message}");
    assert!(message.contains("`010` is already given"), "{message}");
    assert!(!message.contains(SECRET), "{message}");

    // An override's value in the wrong place is named by type, not shown.
    let env = Env::empty().with("PMHLINK_SOURCES__SUBSIDY__PRIMARY", SECRET);
    let err = Pipeline::load_with_env(good("pipeline.toml"), &env).unwrap_err();
    let message = format!("{err}\n{err:?}");
    assert!(message.contains("found a string"), "{message}");
    assert!(!message.contains(SECRET), "{message}");
}

#[test]
fn a_ledger_key_is_refused_and_never_shown() {
    let key = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let text = good_text().replace("[rules]", &format!("[ledger]\nkey = \"{key}\"\n\n[rules]"));
    let err =
        Pipeline::from_str_with_env(&text, FileFormat::Toml, "p.toml", &Env::empty()).unwrap_err();
    let env = Env::empty().with("PMHLINK_LEDGER__KEY", key);
    let from_env = Pipeline::load_with_env(good("pipeline.toml"), &env).unwrap_err();
    for err in [err, from_env] {
        let paths: Vec<String> = err.problems().iter().map(|p| p.path.to_string()).collect();
        assert_eq!(paths, ["ledger.key"]);
        let message = format!("{err}\n{err:?}");
        assert!(message.contains("`ledger.key_env`"), "{message}");
        assert!(!message.contains(key), "{message}");
    }
}

#[test]
fn problems_carry_their_key_path() {
    let text = good_text().replace(r#"source = "residents""#, r#"source = "resident""#);
    let err =
        Pipeline::from_str_with_env(&text, FileFormat::Toml, "p.toml", &Env::empty()).unwrap_err();
    let paths: Vec<String> = err.problems().iter().map(|p| p.path.to_string()).collect();
    assert!(paths.contains(&"joins[0].source".to_owned()), "{paths:?}");
    assert!(err.problems().iter().all(|p| p.origin == "p.toml"));
}

#[test]
fn files_are_read_by_extension() {
    let err = Pipeline::load_with_env("pipeline.json", &Env::empty()).unwrap_err();
    assert!(matches!(err, ConfigError::Extension { .. }), "{err}");
    assert!(err.to_string().contains(".toml, .yaml or .yml"));
    let err = Pipeline::load_with_env(good("missing.yml"), &Env::empty()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    assert_eq!(
        FileFormat::from_path(Path::new("a/B.YML")),
        Some(FileFormat::Yaml)
    );
}

#[test]
fn site_tables_merge_the_file_and_the_inline_entries() {
    let p = load(&Env::empty());
    let site = p.site_tables().unwrap_or_else(|e| panic!("{e}"));
    let houbetsu: Vec<&str> = site
        .local_programs
        .iter()
        .map(|l| l.houbetsu.as_str())
        .collect();
    assert_eq!(
        houbetsu,
        ["81", "88"],
        "the file's first, then the inline ones"
    );
    assert_eq!(site.gaiji["\u{E000}"], "髙");
    assert_eq!(site.gaiji["\u{E001}"], "﨑");

    let mut clash = p.clone();
    clash.rules.gaiji.insert("\u{E000}".into(), "高".into());
    let err = clash.site_tables().unwrap_err();
    assert!(err.to_string().contains("U+E000"), "{err}");
}

#[test]
fn the_starter_file_loads_and_validates() {
    let p = Pipeline::from_str_with_env(
        STARTER_TOML,
        FileFormat::Toml,
        "pipeline.toml",
        &Env::empty(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.sources.len(), 3);
    assert_eq!(p.primary_source(), "subsidy");
    assert_eq!(p.api(), ApiId::E06);
    assert_eq!(p.ledger, pmhlink_config::Ledger::default());
    assert_eq!(p.guard, pmhlink_config::Guard::default());
    // The ledger's defaults are shown, commented, as they are.
    for line in [
        r#"# path = "state/ledger.sqlite""#,
        r#"# key_file = "state/ledger.key""#,
        r#"# key_env = "PMHLINK_LEDGER_KEY""#,
        "max_deletion_share = 0.05",
    ] {
        assert!(STARTER_TOML.contains(line), "{line}");
    }
    for field in pmhlink_config::required_fields(p.profile.sync) {
        assert!(p.mapping.is_mapped(field), "{field}");
    }
    // Both languages, and an explanation for every section.
    for needle in ["団体コード", "local government code", "[[joins]]", "${"] {
        assert!(STARTER_TOML.contains(needle), "{needle}");
    }
    let sections = [
        "[municipality]",
        "[profile]",
        "[rules]",
        "[plugins]",
        "[program]",
        "[batch]",
        "[report]",
        "[ledger]",
        "[guard]",
    ];
    for s in sections {
        assert!(STARTER_TOML.contains(s), "{s}");
    }
}

#[test]
fn mappings_can_be_built_in_code() {
    let m = Mapping::column("residents.カナ氏名");
    assert!(
        matches!(&m.source, ValueSource::Column(c) if c.source == "residents" && c.column == "カナ氏名")
    );
}

#[test]
fn the_schema_names_every_pmh_field() {
    let schema = pmhlink_config::json_schema();
    let props = schema["$defs"]["FieldMappings"]["properties"]
        .as_object()
        .unwrap();
    let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut fields: Vec<&str> = FieldId::ALL.iter().map(|f| f.name()).collect();
    fields.sort_unstable();
    assert_eq!(keys, fields);
    let required = &schema["$defs"]["FieldMappings"]["required"];
    assert_eq!(required.as_array().unwrap().len(), 13);
    assert_eq!(
        schema["$schema"],
        json!("https://json-schema.org/draft/2020-12/schema")
    );
}

/// The schema's stand-ins for `pmhlink-rules`/`pmhlink-profile` types must admit exactly
/// what those types' serde does.
#[test]
fn schema_mirrors_match_the_real_types() {
    let schema = pmhlink_config::json_schema();
    let consts = |name: &str| -> Vec<serde_json::Value> {
        let def = &schema["$defs"][name];
        match def.get("oneOf") {
            Some(branches) => branches
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["const"].clone())
                .collect(),
            None => def["enum"].as_array().unwrap().clone(),
        }
    };
    for v in consts("DateMode") {
        serde_json::from_value::<DateMode>(v).unwrap();
    }
    for v in consts("Format") {
        serde_json::from_value::<Format>(v).unwrap();
    }
    for v in consts("SyncMode") {
        serde_json::from_value::<SyncMode>(v).unwrap();
    }
    let eras: Vec<pmhlink_rules::era::Era> = consts("Era")
        .into_iter()
        .map(|v| serde_json::from_value(v).unwrap())
        .collect();
    assert_eq!(eras, pmhlink_rules::era::Era::ALL);

    let full = pmhlink_rules::codes::LocalProgram {
        prefecture: "13".into(),
        houbetsu: "88".into(),
        agency: Some("99?".into()),
        valid_from: Some("2025-04-01".into()),
        name: Some("x".into()),
    };
    let real = serde_json::to_value(full).unwrap();
    let mut real_keys: Vec<&String> = real.as_object().unwrap().keys().collect();
    let doc = schema["$defs"]["LocalProgram"]["properties"]
        .as_object()
        .unwrap();
    let mut doc_keys: Vec<&String> = doc.keys().collect();
    real_keys.sort();
    doc_keys.sort();
    assert_eq!(real_keys, doc_keys);

    let letters = json!({ "letters": { "K": "reiwa" }, "digits": { "9": "heisei" } });
    serde_json::from_value::<pmhlink_rules::era::EraTable>(letters).unwrap();
    let eras = schema["$defs"]["EraTable"]["properties"]
        .as_object()
        .unwrap();
    assert_eq!(eras.len(), 2);
}

#[test]
fn the_reference_page_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/pipeline-reference.md");
    let expected = pmhlink_config::reference_markdown();
    if std::env::var_os("PMHLINK_BLESS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "docs/pipeline-reference.md differs from the schema: run `cargo xtask docs`"
    );
}

#[test]
fn the_reference_page_documents_every_key() {
    let page = pmhlink_config::reference_markdown();
    for key in [
        "`municipality.code`",
        "`profile.sync`",
        "`rules.era.letters`",
        "`rules.local_programs[].houbetsu`",
        "`plugins.dirs`",
        "`programs[].manages_sex`",
        "`program.column`",
        "`sources.<name>.config`",
        "`joins[].required`",
        "`mapping.copay_amount_per_visit`",
        "`mapping.certification_detail[].skip_empty`",
        "`sinks[].plugin`",
        "`report.dir`",
        "`ledger.path`",
        "`ledger.key_file`",
        "`ledger.key_env`",
        "`guard.max_deletion_share`",
        "| `map_default` |",
        "- `house_number_dashes`:",
    ] {
        assert!(page.contains(key), "{key}");
    }
    for field in FieldId::ALL {
        assert!(
            page.contains(&format!("`mapping.{}`", field.name())),
            "{field}"
        );
    }
}
