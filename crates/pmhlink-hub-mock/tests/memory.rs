//! How much memory the hub needs per record received, for sizing benchmark machines. Ignored:
//! run it in release, alone, and read its output:
//! `cargo test -p pmhlink-hub-mock --release --test memory -- --ignored --nocapture`.
//! `MOCK_MEMORY_BATCHES` sets how many POSTs of 1,000 records it sends (default 200).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Hub, diff_record, send};
use pmhlink_profile::ApiId;
use serde_json::{Value, json};

/// About 840 bytes of JSON: a certificate with a few detail items.
fn record(n: u32) -> Value {
    let mut r = diff_record(n, &format!("H{n:08}"));
    r["certificationDetail"] = json!([
        {"itemName": "疾病名", "itemValue": "先天性心疾患"},
        {"itemName": "指定医療機関名", "itemValue": "愛知県立第一病院 小児循環器科"},
        {"itemName": "自己負担上限月額", "itemValue": "5000"},
        {"itemName": "備考", "itemValue": "重症かつ継続 該当 / 高額療養費の多数回該当あり"},
    ]);
    r
}

/// A field of this process's `/proc/self/status` in KiB (`VmHWM:` is the peak resident set):
/// the hub runs on a thread of this process.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// GETs `path` and counts the body's bytes without keeping them, so that the figures are the
/// hub's and not a client buffer's.
fn body_len(base: &str, path: &str) -> (u16, Option<u64>, u64) {
    let host = base.strip_prefix("http://").unwrap();
    let mut s = TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    let body_start = loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed before the end of the head");
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
    };
    let mut body = (head.len() - body_start - 4) as u64;
    head.truncate(body_start);
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        body += n as u64;
    }
    let head = String::from_utf8(head).unwrap();
    let status = head[9..12].parse().unwrap();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok());
    (status, length, body)
}

#[test]
#[ignore = "a measurement: run it in release, alone"]
fn a_thousand_records_per_post() {
    const PER_BATCH: u32 = 1_000;
    let batches: u32 = std::env::var("MOCK_MEMORY_BATCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let start_kib = status_kib("VmHWM:");
    let hub = Hub::new();
    let sample = serde_json::to_vec(&record(1)).unwrap().len();
    let started = Instant::now();
    let mut sent = 0usize;
    let mut in_posts = Duration::ZERO;
    for b in 0..batches {
        let records: Vec<Value> = (0..PER_BATCH).map(|i| record(b * PER_BATCH + i)).collect();
        let body = serde_json::to_vec(&records).unwrap();
        sent += body.len();
        let posted = Instant::now();
        let reply = hub.post(ApiId::E06, &body, None);
        in_posts += posted.elapsed();
        assert_eq!(reply.status, 202);
    }
    let posting = started.elapsed();
    let after_posts = status_kib("VmHWM:");
    let rss_after_posts = status_kib("VmRSS:");
    let stats = send(hub.url(), "GET", "/_mock/stats", &[], b"")
        .unwrap()
        .json();
    assert_eq!(stats["records_received"], batches * PER_BATCH);

    let fetched = Instant::now();
    let (status, length, records_len) = body_len(hub.url(), "/_mock/records");
    assert_eq!((status, length), (200, Some(records_len)));
    let records_took = fetched.elapsed();
    let after_records = status_kib("VmHWM:");
    let fetched = Instant::now();
    let (status, length, submissions_len) = body_len(hub.url(), "/_mock/submissions");
    assert_eq!((status, length), (200, Some(submissions_len)));
    let submissions_took = fetched.elapsed();
    let after_submissions = status_kib("VmHWM:");

    let n = u64::from(batches * PER_BATCH);
    println!(
        "{n} records of {sample} B ({:.1} MiB of JSON) in {batches} POSTs: {:.1} s, of which {:.1} s waiting for answers",
        sent as f64 / 1048576.0,
        posting.as_secs_f64(),
        in_posts.as_secs_f64()
    );
    println!("stats: {stats}");
    println!(
        "peak RSS: {:.0} MiB at start, {:.0} MiB after the POSTs (RSS then {:.0} MiB, {:.0} B per record over the start)",
        mib(start_kib),
        mib(after_posts),
        mib(rss_after_posts),
        (after_posts - start_kib) as f64 * 1024.0 / n as f64
    );
    println!(
        "GET /_mock/records: {:.1} MiB in {:.2} s, peak RSS then {:.0} MiB",
        records_len as f64 / 1048576.0,
        records_took.as_secs_f64(),
        mib(after_records)
    );
    println!(
        "GET /_mock/submissions: {:.1} MiB in {:.2} s, peak RSS then {:.0} MiB",
        submissions_len as f64 / 1048576.0,
        submissions_took.as_secs_f64(),
        mib(after_submissions)
    );
}
