//! A payload far larger than anything lint should hold in memory is streamed: a 200 MB file
//! is checked with a small, bounded peak memory. (Alone in its test binary, so the peak of
//! "children" is lint's own.)

mod common;

use std::io::Write;

const TARGET_BYTES: usize = 200 * 1024 * 1024;
const MAX_PEAK_RSS_KIB: i64 = 150 * 1024;

fn record(n: usize) -> String {
    format!(
        concat!(
            r#"{{"orgSpecificCertificateTypeId":"PMHTEST01","myNumber":"123456789018","#,
            r#""basicFiveInfo":{{"name":"試験花子","nameKana":"シケン　ハナコ","address":"北海道試験市1-2-3","#,
            r#""dateOfBirth":"2015-06-01","sex":"2"}},"isNotDisclosed":false,"#,
            r#""medicalSubsidyInsurerNumber":"54016027","certificationName":"特定医療費(指定難病)受給者証","#,
            r#""medicalSubsidyRecipientNumber":"1234566","isAlwaysReimbursement":"0","validFrom":"2025-04-01","#,
            r#""validTo":"2026-03-31","historyKey":"H{}","isDeleted":false,"#,
            r#""certificationDetail":[{{"itemName":"受給者証名","itemValue":"特定医療費(指定難病)受給者証"}}]}}"#
        ),
        n
    )
}

#[allow(unsafe_code)] // getrusage has no safe wrapper in std.
fn peak_rss_of_children_kib() -> i64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    usage.ru_maxrss
}

#[test]
fn a_200_mb_file_is_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("large.json");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    out.write_all(b"[").unwrap();
    let (mut written, mut n) = (1, 0);
    while written < TARGET_BYTES {
        let r = record(n);
        if n > 0 {
            out.write_all(b",\n").unwrap();
            written += 2;
        }
        out.write_all(r.as_bytes()).unwrap();
        written += r.len();
        n += 1;
    }
    out.write_all(b"]").unwrap();
    out.flush().unwrap();
    drop(out);

    let run = common::lint("E06", &file, &["--max-listed", "0"]);
    assert_eq!(run.status, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(&format!("レコード数:   {n}")),
        "{}",
        run.stdout
    );
    let peak = peak_rss_of_children_kib();
    assert!(
        peak < MAX_PEAK_RSS_KIB,
        "lint peaked at {peak} KiB on a 200 MB file: it is not streaming"
    );
}
