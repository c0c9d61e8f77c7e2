//! `cargo xtask fuzz --seeds`: the committed seed corpora under `fuzz/seeds/<target>/`, made
//! from what the tests already use: a small generated municipality (its exports, payloads and
//! site tables, from `pmhlink-synth`), the pipeline, profile and rule fixtures, and results and
//! ledger contents derived from those payloads. The folder is rewritten whole, so the seeds
//! are always a function of the fixtures. Each seed carries the target's leading option bytes
//! (see the target's doc comment in `fuzz/targets/`).

use std::fs;
use std::path::{Path, PathBuf};

use pmhlink_model::encode_content;
use pmhlink_profile::read::read_json_payload;
use pmhlink_profile::result::{Outcome, PmhError, RecordResult, TaskResult, TaskStatus};
use pmhlink_profile::{Format, Layout, Profile, Role};

use crate::demo::workspace_root;
use crate::gen_cmd::{GenArgs, run as generate};

/// Seeds, by target, as (file name, bytes).
#[derive(Default)]
struct Seeds {
    files: Vec<(String, String, Vec<u8>)>,
}

impl Seeds {
    fn add(&mut self, target: &str, name: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files
            .push((target.to_owned(), name.into(), bytes.into()));
    }

    fn with_prefix(&mut self, target: &str, name: &str, prefix: &[u8], body: &[u8]) {
        let bytes = [prefix, body].concat();
        self.add(target, name, bytes);
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The first lines of a file, up to about `max` bytes (seeds stay small; libFuzzer's inputs are
/// 4 KiB by default).
fn head(bytes: &[u8], max: usize) -> &[u8] {
    if bytes.len() <= max {
        return bytes;
    }
    let cut = bytes[..max]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(max, |i| i + 1);
    &bytes[..cut]
}

pub fn write(dir: &Path) -> Result<(), String> {
    let scratch = std::env::temp_dir().join(format!("pmhlink-fuzz-seeds-{}", std::process::id()));
    let mut gen_args = GenArgs::new(7, 6, scratch.clone());
    gen_args.dirty = 0.5;
    generate(&gen_args).map_err(|e| format!("generating the seed municipality: {e}"))?;
    let mut seeds = Seeds::default();
    let profile = Profile::builtin();
    let payloads = payload_files(&scratch.join("payload"))?;
    add_payloads(&mut seeds, &profile, &payloads)?;
    add_exports(&mut seeds, &scratch)?;
    add_fixtures(&mut seeds, &scratch)?;
    let _ = fs::remove_dir_all(&scratch);
    save(dir, &seeds)
}

fn payload_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    Ok(files)
}

/// Payloads for the payload readers and the emulator, and what they hold as ledger contents
/// and as results.
fn add_payloads(seeds: &mut Seeds, profile: &Profile, files: &[PathBuf]) -> Result<(), String> {
    let registration: Vec<(usize, Format)> = profile
        .apis
        .values()
        .filter(|a| a.role == Role::Register)
        .map(|a| a.format)
        .enumerate()
        .collect();
    let json_layout =
        Layout::new(profile, pmhlink_profile::ApiId::E06).map_err(|e| e.to_string())?;
    for file in files {
        let format = match file.extension().and_then(|e| e.to_str()) {
            Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            _ => continue,
        };
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("payload");
        let bytes = read(file)?;
        let target = match format {
            Format::Json => "payload_json",
            Format::Csv => "payload_csv",
        };
        for selector in 0..4u8 {
            seeds.with_prefix(target, &format!("{selector}-{name}"), &[selector], &bytes);
        }
        for &(index, api_format) in &registration {
            if api_format == format {
                let selector = u8::try_from(index).map_err(|e| e.to_string())?;
                seeds.with_prefix(
                    "hub_register",
                    &format!("{index}-{name}"),
                    &[selector],
                    &bytes,
                );
            }
        }
        if format == Format::Json {
            add_contents_and_results(seeds, profile, &json_layout, name, &bytes)?;
        }
    }
    Ok(())
}

fn add_contents_and_results(
    seeds: &mut Seeds,
    profile: &Profile,
    layout: &Layout,
    name: &str,
    bytes: &[u8],
) -> Result<(), String> {
    let mut records = Vec::new();
    read_json_payload(layout, bytes, |_, decoded| records.extend(decoded.record))
        .map_err(|e| format!("{name}: {e}"))?;
    let mut history_keys = Vec::new();
    for (i, mut record) in records.into_iter().enumerate() {
        record.normalise_empty_parts();
        history_keys.push(record.history.as_ref().map(|h| h.key.clone()));
        let mut content = Vec::new();
        encode_content(&record, &mut content);
        seeds.add("content", format!("{name}-{i}"), content);
    }
    let results = [
        (TaskStatus::Processing, Vec::new()),
        (TaskStatus::Failed, Vec::new()),
        (TaskStatus::Completed, results_for(&history_keys)),
    ];
    for (status, records) in results {
        let result = TaskResult {
            task_id: "task-000001".into(),
            status,
            records,
        };
        for (format, target, ext) in [
            (Format::Json, "result_json", "json"),
            (Format::Csv, "result_csv", "csv"),
        ] {
            let body = pmhlink_profile::result::write(&profile.result, format, &result)
                .map_err(|e| e.to_string())?;
            seeds.add(
                target,
                format!("{status:?}-{name}.{ext}").to_lowercase(),
                body,
            );
        }
    }
    Ok(())
}

/// Every other record accepted, the others rejected with one error each.
fn results_for(history_keys: &[Option<String>]) -> Vec<RecordResult> {
    history_keys
        .iter()
        .enumerate()
        .map(|(i, key)| RecordResult {
            record_number: u32::try_from(i + 1).unwrap_or(u32::MAX),
            history_key: key.clone(),
            outcome: if i % 2 == 0 {
                Outcome::Accepted
            } else {
                Outcome::Rejected(vec![PmhError {
                    code: "E0001".into(),
                    item: Some("recipientNumber".into()),
                    message: "桁数が不正です".into(),
                }])
            },
        })
        .collect()
}

/// The vendor exports, for the source plugins.
fn add_exports(seeds: &mut Seeds, dir: &Path) -> Result<(), String> {
    for name in ["subsidy.csv", "shien.csv"] {
        let cp932 = read(&dir.join(name))?;
        let cp932 = head(&cp932, 3000);
        let (utf8, _, _) = encoding_rs::SHIFT_JIS.decode(cp932);
        // flags: bit 0 CP932, bit 2 no header; counts: named columns, skipped rows.
        seeds.with_prefix("csv_source", &format!("cp932-{name}"), &[0b001, 0], cp932);
        seeds.with_prefix(
            "csv_source",
            &format!("utf8-{name}"),
            &[0, 0],
            utf8.as_bytes(),
        );
        seeds.with_prefix(
            "csv_source",
            &format!("named-{name}"),
            &[0b001, 0b0110],
            cp932,
        );
        seeds.with_prefix(
            "csv_source",
            &format!("noheader-{name}"),
            &[0b101, 3],
            cp932,
        );
    }
    let residents = read(&dir.join("residents.dat"))?;
    let residents = head(&residents, 3000);
    // flags: trim, a record type filter at offset 0, the record length (211); CRLF; the D
    // record's fields as residents.layout.toml places them (a length byte is the length - 1).
    let fields: [(u8, u8); 6] = [(1, 9), (11, 11), (23, 39), (63, 39), (103, 6), (110, 0)];
    let mut options = vec![0b1110, 0, 210, 0, 0, 6];
    for (offset, length) in fields {
        options.extend([offset, length]);
    }
    seeds.with_prefix("fixed_source", "residents-crlf", &options, residents);
    options[0] = 0b0010;
    options[1] = 1;
    seeds.with_prefix("fixed_source", "residents-lf", &options, residents);
    options[1] = 2;
    let unended: Vec<u8> = residents
        .iter()
        .copied()
        .filter(|b| !b"\r\n".contains(b))
        .collect();
    options[0] = 0b1010;
    seeds.with_prefix("fixed_source", "residents-unended", &options, &unended);
    Ok(())
}

/// Hand-written files: pipelines, the site tables, the profile, faults, dates and texts.
fn add_fixtures(seeds: &mut Seeds, generated: &Path) -> Result<(), String> {
    let root = workspace_root();
    let config_fixtures = root.join("crates/pmhlink-config/tests/fixtures");
    let mut pipelines = vec![root.join("examples/sakurano/pipeline.toml")];
    for sub in ["good", "bad"] {
        pipelines.extend(payload_files(&config_fixtures.join(sub))?);
    }
    for path in pipelines {
        let selector = match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => 0,
            Some("yaml" | "yml") => 1,
            _ => continue,
        };
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("pipeline");
        let dir = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str());
        let name = format!("{}-{name}", dir.unwrap_or("fixture"));
        let bytes = read(&path)?;
        if name.ends_with("site.toml") {
            seeds.add("site", name, bytes);
        } else {
            seeds.with_prefix("pipeline", &name, &[selector], &bytes);
        }
    }
    seeds.add(
        "site",
        "generated-site.toml",
        read(&generated.join("site.toml"))?,
    );
    seeds.add(
        "profile",
        "pmh-default.toml",
        read(&root.join("crates/pmhlink-profile/profiles/pmh-default.toml"))?,
    );
    add_faults(seeds);
    add_texts(seeds, &root.join("crates/pmhlink-rules/tests/fixtures"))
}

fn add_faults(seeds: &mut Seeds) {
    let toml = "[[fault]]\non = \"register\"\napi = \"E06\"\ntimes = 2\nstatus = 503\nretry_after = 1\n\n\
                [[fault]]\non = \"result\"\nstay_processing = true\n\n\
                [[fault]]\ndelay_ms = 10\ndrop = true\n\n\
                [[reject]]\nfield = \"recipientNumber\"\nends_with = \"7\"\n";
    seeds.with_prefix("faults", "rules.toml", &[0], toml.as_bytes());
    let json = r#"{"fault":[{"on":"any","times":1,"status":429,"retry_after":2}],"reject":[{"field":"insurerNumber","equals":"01234567","code":"E9","message":"x"}]}"#;
    seeds.with_prefix("faults", "rules.json", &[1], json.as_bytes());
}

/// Every string of the rule fixtures, as dates and as values for each cleaning step.
fn add_texts(seeds: &mut Seeds, fixtures: &Path) -> Result<(), String> {
    let mut texts = Vec::new();
    for name in ["era_dates.toml", "kana.toml", "check_digits.toml"] {
        let text = String::from_utf8(read(&fixtures.join(name))?).map_err(|e| e.to_string())?;
        let value: toml::Value = toml::from_str(&text).map_err(|e| format!("{name}: {e}"))?;
        collect_strings(&value, &mut texts);
    }
    texts.extend(["９−１０", "1ー2－3", "H991231", "9999-12-31", "\u{E000}様"].map(str::to_owned));
    texts.sort();
    texts.dedup();
    // Every step once, in order, strict dates; then the value.
    let all_steps = [8u8, 0, 1, 2, 3, 4, 5, 6, 7, 0];
    for (i, text) in texts.iter().enumerate() {
        seeds.add("era_date", format!("text-{i:03}"), text.as_bytes());
        seeds.with_prefix(
            "clean",
            &format!("text-{i:03}"),
            &all_steps,
            text.as_bytes(),
        );
    }
    Ok(())
}

fn collect_strings(value: &toml::Value, out: &mut Vec<String>) {
    match value {
        toml::Value::String(s) if !s.is_empty() && s.len() < 64 => out.push(s.clone()),
        toml::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        toml::Value::Table(table) => table.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

fn save(dir: &Path, seeds: &Seeds) -> Result<(), String> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for (target, name, bytes) in &seeds.files {
        let folder = dir.join(target);
        fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        fs::write(folder.join(name), bytes).map_err(|e| format!("{target}/{name}: {e}"))?;
    }
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for (target, _, _) in &seeds.files {
        *counts.entry(target).or_default() += 1;
    }
    for (target, n) in counts {
        println!("fuzz/seeds/{target}: {n} inputs");
    }
    Ok(())
}
