//! `cargo xtask gen`: writes a synthetic municipality's files into a directory, streaming:
//! the vendor exports, the resident registry as a SQLite database beside them, and with
//! `--postgres URL` the subsidy rows into a table of that PostgreSQL database, all in one pass.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::Instant;

use crate::payloads::PayloadFiles;
use clap::Args;
use pmhlink_rules::CivilDate;
use pmhlink_synth::files::{RESIDENTS_SQLITE, write_dir};
use pmhlink_synth::postgres::{SUBSIDY_TABLE, SubsidyTable};
use pmhlink_synth::{PersonSink, ResidentsSqlite, Synth, SynthConfig};

#[derive(Args, Debug)]
pub struct GenArgs {
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of certificates (people are drawn until exactly this many exist).
    #[arg(long, default_value_t = 1000)]
    certificates: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Share of certificates with exactly one defect, in [0, 1].
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub dirty: f64,
    /// Share of people on the 支援措置 list, in [0, 1] (most in force: 不開示フラグ).
    #[arg(long, default_value_t = SynthConfig::default().support_measures, value_parser = parse_share)]
    pub support_measures: f64,
    /// Reference day (YYYY-MM-DD): periods run through it, 不開示フラグ is read on it.
    #[arg(long, value_parser = parse_day)]
    as_of: Option<CivilDate>,
    /// Also load the subsidy rows into the table 助成履歴 of this PostgreSQL database
    /// (`postgres://user@host:5432/db`; the password from the URL or PGPASSWORD), dropping
    /// and creating it: what examples/sakurano/pipeline-postgres.toml reads.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

impl GenArgs {
    pub fn new(seed: u64, certificates: u64, out: PathBuf) -> Self {
        GenArgs {
            seed,
            certificates,
            out,
            dirty: 0.0,
            support_measures: SynthConfig::default().support_measures,
            as_of: None,
            postgres: None,
        }
    }
}

/// A client for the database `url` names; the password, when the URL has none, from
/// `PGPASSWORD` as PostgreSQL's own tools take it. Errors never show the URL (it may hold the
/// password).
pub fn connect_postgres(url: &str) -> io::Result<postgres::Client> {
    let mut config: postgres::Config = url.parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("--postgres is not a PostgreSQL URL: {e}"),
        )
    })?;
    if config.get_password().is_none()
        && let Some(password) = std::env::var_os("PGPASSWORD")
    {
        config.password(password.as_encoded_bytes());
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(std::time::Duration::from_secs(10));
    }
    config
        .connect(postgres::NoTls)
        .map_err(|e| io::Error::other(format!("--postgres: cannot connect: {e}")))
}

fn parse_share(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("must lie in [0, 1]".into())
    }
}

fn parse_day(s: &str) -> Result<CivilDate, String> {
    CivilDate::parse_iso(s).map_err(|e| format!("{e:?}: expected YYYY-MM-DD"))
}

pub use pmhlink_synth::files::FILES;

/// The municipality's local programmes as a `--site` file for `pmhlink lint`.
fn site_toml(synth: &Synth) -> String {
    let tables = synth.municipality().site_tables();
    format!(
        "# Site tables of the synthetic municipality {} ({}).\n{}",
        synth.municipality().name,
        synth.municipality().code,
        toml::to_string(&tables).expect("site tables serialise")
    )
}

pub fn run(args: &GenArgs) -> io::Result<()> {
    let started = Instant::now();
    let mut config = SynthConfig {
        seed: args.seed,
        certificates: args.certificates,
        dirty: args.dirty,
        support_measures: args.support_measures,
        ..SynthConfig::default()
    };
    if let Some(day) = args.as_of {
        config.as_of = day;
    }
    let synth = Synth::new(config);
    let as_of = synth.config().as_of;
    let dir = &args.out;
    let layouts = crate::payloads::layouts();
    let mut json = PayloadFiles::new(&dir.join("payload"), &layouts[0])?;
    let mut csv = PayloadFiles::new(&dir.join("payload"), &layouts[1])?;
    fs::write(dir.join("site.toml"), site_toml(&synth))?;
    let mut registry = ResidentsSqlite::create(&dir.join(RESIDENTS_SQLITE))?;
    let mut client = args.postgres.as_deref().map(connect_postgres).transpose()?;
    let mut table = match client.as_mut() {
        Some(client) => Some(SubsidyTable::begin(client, as_of)?),
        None => None,
    };
    let mut extra: Vec<&mut dyn PersonSink> = vec![&mut json, &mut csv, &mut registry];
    if let Some(table) = table.as_mut() {
        extra.push(table);
    }
    let counts = write_dir(&synth, dir, &mut extra)?;

    let mut sizes = Vec::with_capacity(FILES.len() + 1);
    let mut bytes = 0;
    for name in FILES.into_iter().chain([RESIDENTS_SQLITE]) {
        let size = fs::metadata(dir.join(name))?.len();
        bytes += size;
        sizes.push(format!("{name} {size}"));
    }
    println!(
        "gen: payload/: {} E06 JSON and {} E05 CSV files; site.toml: the programmes as site tables",
        json.files.len(),
        csv.files.len()
    );
    println!(
        "gen: seed {} as-of {as_of}: {} certificates, {} periods, {} people, {} defective certificates, \
         {} quarantined periods; {bytes} bytes ({}) in {}; {:.2} s",
        args.seed,
        counts.certificates,
        counts.periods,
        counts.people,
        counts.defective_certificates,
        counts.quarantined_periods,
        sizes.join(", "),
        dir.display(),
        started.elapsed().as_secs_f64(),
    );
    println!(
        "gen: {RESIDENTS_SQLITE}: {} residents in the table {} (those of residents.dat)",
        registry.count(),
        pmhlink_synth::RESIDENTS_TABLE
    );
    if let (Some(table), Some(url)) = (&table, &args.postgres) {
        let db = url
            .parse::<postgres::Config>()
            .ok()
            .and_then(|c| c.get_dbname().map(str::to_owned))
            .unwrap_or_default();
        println!(
            "gen: PostgreSQL database {db}: table {SUBSIDY_TABLE} dropped, created and loaded with {} rows (those of subsidy.csv)",
            table.loaded()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_writes_every_file_and_repeats_itself() {
        let dir = std::env::temp_dir().join(format!("xtask-gen-{}", std::process::id()));
        let args = |out: PathBuf| GenArgs {
            seed: 3,
            certificates: 200,
            out,
            dirty: 0.1,
            support_measures: 0.05,
            as_of: None,
            postgres: None,
        };
        run(&args(dir.join("a"))).unwrap();
        run(&args(dir.join("b"))).unwrap();
        for name in FILES.into_iter().chain([RESIDENTS_SQLITE]) {
            let a = fs::read(dir.join("a").join(name)).unwrap();
            assert!(!a.is_empty(), "{name}");
            assert_eq!(a, fs::read(dir.join("b").join(name)).unwrap(), "{name}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A database of the test's own on the server at 127.0.0.1:5432 (`cargo xtask services`),
    /// dropped at the end.
    struct OwnDb(String);

    fn admin() -> postgres::Client {
        connect_postgres("postgres://postgres@127.0.0.1:5432/postgres").unwrap_or_else(|e| {
            panic!("no PostgreSQL server on 127.0.0.1:5432 ({e}): run `cargo xtask services`")
        })
    }

    impl OwnDb {
        fn new() -> OwnDb {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos();
            let name = format!("xtask_gen_{}_{nanos}", std::process::id());
            admin()
                .batch_execute(&format!(
                    "CREATE DATABASE {name} ENCODING 'UTF8' TEMPLATE template0"
                ))
                .unwrap();
            OwnDb(name)
        }

        fn url(&self) -> String {
            format!("postgres://postgres@127.0.0.1:5432/{}", self.0)
        }
    }

    impl Drop for OwnDb {
        fn drop(&mut self) {
            let _ =
                admin().batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
        }
    }

    #[test]
    fn gen_with_postgres_loads_the_subsidy_rows_and_replaces_them_when_run_again() {
        let db = OwnDb::new();
        let dir = std::env::temp_dir().join(format!("xtask-gen-pg-{}", std::process::id()));
        let mut args = GenArgs::new(4, 150, dir.clone());
        args.postgres = Some(db.url());
        run(&args).unwrap();
        run(&args).unwrap();
        let csv = fs::read(dir.join("subsidy.csv")).unwrap();
        let rows = csv.windows(2).filter(|w| w == b"\r\n").count() - 1;
        let mut client = connect_postgres(&db.url()).unwrap();
        let loaded: i64 = client
            .query_one(&format!("SELECT count(*) FROM \"{SUBSIDY_TABLE}\""), &[])
            .unwrap()
            .get(0);
        assert_eq!(loaded as usize, rows, "the rows of subsidy.csv, once");
        let first: String = client
            .query_one(
                &format!("SELECT \"宛名番号\" FROM \"{SUBSIDY_TABLE}\" ORDER BY \"連番\" LIMIT 1"),
                &[],
            )
            .unwrap()
            .get(0);
        let line = String::from_utf8_lossy(&csv[..])
            .lines()
            .nth(1)
            .unwrap()
            .to_owned();
        assert!(
            line.starts_with(&format!("{first},")),
            "the export's first row first"
        );
        drop(client);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_postgres_url_that_fails_is_named_without_its_password() {
        for url in [
            "postgres://postgres:pw-not-shown@127.0.0.1:1/db",
            "postgres://postgres:pw-not-shown@127.0.0.1:5432/no_such_db_pmhlink_xtask",
            "not a url pw-not-shown",
        ] {
            let e = connect_postgres(url).err().expect("refused");
            let text = e.to_string();
            assert!(text.starts_with("--postgres"), "{text}");
            assert!(!text.contains("pw-not-shown"), "{text}");
        }
    }
}
