//! The second half of the quick start: the demo municipality over three business days through
//! the PMH API route, against the emulator on loopback — a first upload, a day of changes and
//! deletions with one record PMH rejects, and the day that record is fixed — then the status.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use pmhlink_hub_mock::inspect_client::{get_json, set_faults};
use serde_json::json;

/// The demo's own token: the emulator requires it and the API sink reads it from PMH_TOKEN.
pub const TOKEN: &str = "demo-token-not-secret";

pub struct Hub(pub Child);

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `pmhlink mock-hub` on a free loopback port; its log goes to the terminal unless `quiet`.
pub fn start_hub(bin: &Path, state: Option<&Path>, quiet: bool) -> Result<(Hub, String), String> {
    let mut cmd = Command::new(bin);
    cmd.args([
        "mock-hub",
        "--listen",
        "127.0.0.1:0",
        "--token-env",
        "PMH_TOKEN",
    ]);
    if let Some(state) = state {
        cmd.arg("--state").arg(state);
    }
    let mut child = cmd
        .env("PMH_TOKEN", TOKEN)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let mut log = BufReader::new(child.stderr.take().ok_or("no stderr")?);
    let mut line = String::new();
    log.read_line(&mut line).map_err(|e| e.to_string())?;
    let hub = Hub(child);
    let addr = line
        .split("http://")
        .nth(1)
        .map(|a| a.trim().to_owned())
        .ok_or_else(|| format!("the emulator said `{}`", line.trim()))?;
    // Its log goes on to the terminal, so the demo shows what PMH saw.
    std::thread::spawn(move || {
        for l in log.lines().map_while(Result::ok) {
            if !quiet {
                eprintln!("    {l}");
            }
        }
    });
    Ok((hub, addr))
}

/// The example pipeline with the API sink to the emulator and a ledger of its own.
pub fn api_pipeline(example: &Path, addr: &str) -> Result<std::path::PathBuf, String> {
    let text = std::fs::read_to_string(example.join("pipeline.toml")).map_err(|e| e.to_string())?;
    let (start, end) = (
        text.find("[[sinks]]").ok_or("no [[sinks]]")?,
        text.find("# ── レポート").ok_or("no report section")?,
    );
    let sink = format!(
        "[[sinks]]\nplugin = \"pmh-api\"\n[sinks.config]\nbase_url = \"http://{addr}\"\ntoken_env = \"PMH_TOKEN\"\n\n"
    );
    let text = format!("{}{sink}{}", &text[..start], &text[end..])
        .replace("state/ledger.sqlite", "state/api-ledger.sqlite")
        .replace("state/ledger.key", "state/api-ledger.key");
    let path = example.join("demo-api.toml");
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

pub fn read_rows(path: &Path) -> Result<Vec<Vec<String>>, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&bytes);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.map(|r| r.iter().map(str::to_owned).collect())
                .map_err(|e| e.to_string())
        })
        .collect()
}

pub fn write_rows(path: &Path, rows: &[Vec<String>]) -> Result<(), String> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r).map_err(|e| e.to_string())?;
    }
    let text =
        String::from_utf8(w.into_inner().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    std::fs::write(path, bytes).map_err(|e| e.to_string())
}

const HISTORY: usize = 6;
pub const MONTHLY_CAP: usize = 16;

fn run_day(bin: &Path, pipeline: &Path, date: &str) -> Result<i32, String> {
    println!(
        "\n$ pmhlink run {} --date {date} --wait-results 10",
        pipeline.display()
    );
    let status = Command::new(bin)
        .arg("run")
        .arg(pipeline)
        .args(["--date", date, "--wait-results", "10"])
        .env("PMH_TOKEN", TOKEN)
        .status()
        .map_err(|e| e.to_string())?;
    Ok(status.code().unwrap_or(-1))
}

pub fn run(bin: &Path, example: &Path) -> Result<(), String> {
    std::fs::create_dir_all(example.join("state")).map_err(|e| e.to_string())?;
    let (_hub, addr) = start_hub(bin, Some(&example.join("state/hub.json")), false)?;
    println!("\nPMH emulator (pmhlink mock-hub) listening on http://{addr}");
    let pipeline = api_pipeline(example, &addr)?;
    let subsidy = example.join("data/subsidy.csv");

    let day1 = run_day(bin, &pipeline, "2025-06-01")?;

    // Day 2: three certificates change, two rows leave the export, and PMH refuses one record.
    let mut rows = read_rows(&subsidy)?;
    for i in [3, 8, 14] {
        rows[i][MONTHLY_CAP] = "20000".into();
    }
    let refused = rows[8][HISTORY].clone();
    let rows2: Vec<Vec<String>> = rows
        .iter()
        .enumerate()
        .filter(|(i, _)| ![30, 31].contains(i))
        .map(|(_, r)| r.clone())
        .collect();
    write_rows(&subsidy, &rows2)?;
    set_faults(
        &addr,
        &json!({"reject": [{"field": "historyKey", "equals": refused, "code": "E0099", "message": "制度マスタに登録がありません(デモ)"}]}),
    )?;
    println!("\n(day 2: 3 rows changed, 2 rows gone; the emulator will reject one record)");
    let day2 = run_day(bin, &pipeline, "2025-06-02")?;

    // Day 3: the refused record is corrected at the source and goes again.
    let mut rows3 = rows2;
    if let Some(r) = rows3.iter_mut().find(|r| r[HISTORY] == refused) {
        r[MONTHLY_CAP] = "15000".into();
    }
    write_rows(&subsidy, &rows3)?;
    set_faults(&addr, &json!({"fault": []}))?;
    println!("\n(day 3: the rejected record is fixed at the source)");
    let day3 = run_day(bin, &pipeline, "2025-06-03")?;

    println!("\n$ pmhlink status {}", pipeline.display());
    let status = Command::new(bin)
        .arg("status")
        .arg(&pipeline)
        .status()
        .map_err(|e| e.to_string())?
        .code()
        .unwrap_or(-1);
    let records = get_json(&addr, "/_mock/records")?;
    let records = records.as_array().map_or(&[][..], Vec::as_slice);
    let held = records.len();
    let withheld = records
        .iter()
        .filter(|r| r["isNotDisclosed"] == true)
        .count();
    let submitted = get_json(&addr, "/_mock/submissions")?
        .as_array()
        .map_or(0, Vec::len);
    println!(
        "\nPMH (the emulator) holds {held} history rows after {submitted} registration calls ({withheld} with isNotDisclosed: true); the ledger says the same above."
    );
    println!(
        "days: {day1}, {day2}, {day3} (3: sent, with the generator's defective records quarantined); status {status}"
    );
    if [day1, day2, day3] == [3, 3, 3] && status == 0 && withheld > 0 {
        Ok(())
    } else {
        Err("the API days did not go as expected".into())
    }
}
