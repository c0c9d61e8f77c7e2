//! What several targets share: the built-in profile and its registration layouts, the rule
//! context lint uses, and a scratch file for the plugins that read a path.

use std::path::PathBuf;
use std::sync::LazyLock;

use pmhlink_profile::{Format, Layout, Profile, Role};
use pmhlink_rules::{CivilDate, Policy, RuleContext, SiteTables};

pub static PROFILE: LazyLock<Profile> = LazyLock::new(Profile::builtin);

static LAYOUTS: LazyLock<Vec<Layout>> = LazyLock::new(|| {
    PROFILE
        .apis
        .iter()
        .filter(|(_, spec)| spec.role == Role::Register)
        .map(|(&id, _)| Layout::new(&PROFILE, id).expect("the built-in profile's layouts"))
        .collect()
});

static SITE: LazyLock<SiteTables> = LazyLock::new(SiteTables::default);

/// One of the registration layouts in `format`, chosen by `selector`.
pub fn layout(selector: u8, format: Format) -> &'static Layout {
    let of_format: Vec<&Layout> = LAYOUTS.iter().filter(|l| l.format() == format).collect();
    of_format[usize::from(selector) % of_format.len()]
}

/// The rules as `pmhlink lint` applies them without a site file, on a fixed day.
pub fn rule_context() -> RuleContext<'static> {
    RuleContext {
        today: CivilDate::new(2026, 12, 1).expect("a real day"),
        site: &SITE,
        municipality_code: Some("131016"),
        policy: Policy::default(),
    }
}

/// Writes `bytes` to this process's scratch file for `target` (in memory where `/dev/shm`
/// exists) and returns its path.
pub fn scratch(target: &str, bytes: &[u8]) -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    let dir = if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("pmhlink-fuzz-{target}-{}", std::process::id()));
    std::fs::write(&path, bytes).expect("the scratch file is writable");
    path
}

/// Fails when `message` (with the `allowed` name taken out) quotes what the file held: a run
/// of eight digits (how identifiers and My Numbers look), or two non-ASCII characters in a
/// row (how names and kana look), found in the file as UTF-8 or decoded from CP932. Only the
/// message's own runs are looked up, so a message in plain ASCII costs next to nothing.
pub fn assert_quotes_nothing(message: &str, data: &[u8], allowed: &str) {
    let message = message.replace(allowed, "");
    let chars: Vec<char> = message.chars().collect();
    let mut runs: Vec<String> = Vec::new();
    for group in chars.chunk_by(|a, b| a.is_ascii_digit() == b.is_ascii_digit()) {
        if group.len() >= 8 && group[0].is_ascii_digit() {
            runs.push(group.iter().collect());
        }
    }
    for group in chars.chunk_by(|a, b| a.is_ascii() == b.is_ascii()) {
        if group.len() >= 2 && !group[0].is_ascii() {
            runs.extend(group.windows(2).map(|w| w.iter().collect::<String>()));
        }
    }
    if runs.is_empty() {
        return;
    }
    let utf8 = String::from_utf8_lossy(data);
    let (cp932, _, _) = encoding_rs::SHIFT_JIS.decode(data);
    for run in runs {
        assert!(
            !utf8.contains(&run) && !cp932.contains(&run),
            "a message quotes the file's content"
        );
    }
}

/// Reads a source to its end the way the host does, checking every batch's shape, that lines
/// never go backwards, and that no row error or read error quotes `data` (the file's rows).
pub fn drain(source: &mut dyn pmhlink_pdk::SourcePlugin, data: &[u8], file_name: &str) {
    if let Err(e) = source.check() {
        assert_quotes_nothing(&e.to_string(), data, file_name);
    }
    let mut last_line = 0;
    for max_rows in [3usize].into_iter().cycle() {
        match source.next_batch(max_rows) {
            Ok(Some(batch)) => {
                batch.validate().expect("a source's batch is well formed");
                assert!(
                    batch.rows() <= max_rows,
                    "a batch holds at most max_rows rows"
                );
                for i in 0..batch.rows() {
                    assert!(
                        batch.line(i) > last_line,
                        "lines only go forward: line {} after line {last_line}",
                        batch.line(i)
                    );
                    last_line = batch.line(i);
                }
                for error in batch.row_errors() {
                    assert_quotes_nothing(&error.message, data, file_name);
                }
            }
            Ok(None) => return,
            Err(e) => {
                assert_quotes_nothing(&e.to_string(), data, file_name);
                return;
            }
        }
    }
}
