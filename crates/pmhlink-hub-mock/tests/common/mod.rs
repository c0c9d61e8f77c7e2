//! A minimal HTTP/1.1 client over std::net and fixtures for the emulator's tests.
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use pmhlink_hub_mock::{MockConfig, MockHandle, spawn_local};
use pmhlink_profile::result::{TaskResult, read};
use pmhlink_profile::{ApiId, Profile};
use pmhlink_rules::check_digit::with_my_number_check_digit;
use serde_json::{Value, json};

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = body.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&body[..end]).unwrap_or("0");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = end + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
}

/// One request on a fresh connection (`Connection: close`), read to the end. A connection
/// closed before any byte of an answer is an `UnexpectedEof` error.
pub fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Reply> {
    let host = base.strip_prefix("http://").expect("an http:// base URL");
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    if raw.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed without an answer",
        ));
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8(raw[..split].to_vec()).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    }) {
        body = dechunk(&body);
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// A hub on loopback and the paths of its profile.
pub struct Hub {
    pub handle: MockHandle,
    pub profile: Profile,
    pub token: Option<String>,
}

impl Hub {
    pub fn start(config: MockConfig) -> Hub {
        let profile = config.profile.clone();
        let token = config.token.clone();
        Hub {
            handle: spawn_local(config).expect("the hub starts"),
            profile,
            token,
        }
    }

    pub fn new() -> Hub {
        Hub::start(MockConfig::default())
    }

    pub fn url(&self) -> &str {
        &self.handle.url
    }

    pub fn path(&self, api: ApiId) -> String {
        self.profile
            .api(api)
            .expect("the API is in the profile")
            .path
            .clone()
    }

    pub fn result_path(&self, api: ApiId, task: &str) -> String {
        self.path(api).replace("{taskId}", task)
    }

    fn auth(&self) -> Option<String> {
        self.token.as_ref().map(|t| format!("Bearer {t}"))
    }

    /// A registration POST with the configured token and an optional idempotency key.
    pub fn try_post(&self, api: ApiId, body: &[u8], key: Option<&str>) -> io::Result<Reply> {
        let auth = self.auth();
        let mut headers = Vec::new();
        if let Some(a) = &auth {
            headers.push(("Authorization", a.as_str()));
        }
        if let Some(k) = key {
            headers.push(("Idempotency-Key", k));
        }
        send(self.url(), "POST", &self.path(api), &headers, body)
    }

    pub fn post(&self, api: ApiId, body: &[u8], key: Option<&str>) -> Reply {
        self.try_post(api, body, key).expect("an answer")
    }

    pub fn post_json(&self, api: ApiId, records: &[Value]) -> Reply {
        self.post(api, &serde_json::to_vec(records).unwrap(), None)
    }

    /// Registers and returns the new task's id (asserting 202).
    pub fn register(&self, api: ApiId, records: &[Value]) -> String {
        let reply = self.post_json(api, records);
        assert_eq!(
            reply.status,
            202,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        task_id(&reply)
    }

    pub fn get(&self, path: &str) -> Reply {
        let auth = self.auth();
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        send(self.url(), "GET", path, &headers, b"").expect("an answer")
    }

    /// One result GET, parsed with pmhlink's own result reader.
    pub fn result(&self, api: ApiId, task: &str) -> TaskResult {
        let reply = self.get(&self.result_path(api, task));
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        let format = self.profile.api(api).unwrap().format;
        read(&self.profile.result, format, &reply.body).expect("a result pmhlink can read")
    }

    /// Polls until the task is no longer processing (a bounded number of times).
    pub fn settled(&self, api: ApiId, task: &str) -> TaskResult {
        for _ in 0..10 {
            let r = self.result(api, task);
            if r.status != pmhlink_profile::result::TaskStatus::Processing {
                return r;
            }
        }
        panic!("task {task} still processing after 10 polls");
    }

    pub fn records(&self) -> Vec<Value> {
        let reply = send(self.url(), "GET", "/_mock/records", &[], b"").unwrap();
        assert_eq!(reply.status, 200);
        serde_json::from_value(reply.json()).unwrap()
    }

    pub fn submissions(&self) -> Vec<Value> {
        let reply = send(self.url(), "GET", "/_mock/submissions", &[], b"").unwrap();
        assert_eq!(reply.status, 200);
        serde_json::from_value(reply.json()).unwrap()
    }

    pub fn set_faults(&self, faults: Value) -> Reply {
        send(
            self.url(),
            "POST",
            "/_mock/faults",
            &[("Content-Type", "application/json")],
            &serde_json::to_vec(&faults).unwrap(),
        )
        .unwrap()
    }

    pub fn faults(&self) -> Value {
        send(self.url(), "GET", "/_mock/faults", &[], b"")
            .unwrap()
            .json()
    }
}

pub fn task_id(reply: &Reply) -> String {
    reply.json()["taskId"]
        .as_str()
        .expect("a taskId")
        .to_owned()
}

/// A valid My Number, different for every `n`.
pub fn my_number(n: u32) -> String {
    with_my_number_check_digit(&format!("{:011}", 12_345_000_000u64 + u64::from(n)))
}

/// A complete, valid diff-history record (E06 shape) of person `n`.
pub fn diff_record(n: u32, history_key: &str) -> Value {
    json!({
        "orgSpecificCertificateTypeId": "T01",
        "myNumber": my_number(n),
        "basicFiveInfo": {
            "name": "愛知花子",
            "nameKana": "アイチハナコ",
            "address": "愛知県B市B町1-1-1",
            "dateOfBirth": "2013-01-01",
            "sex": "2"
        },
        "isNotDisclosed": false,
        "medicalSubsidyInsurerNumber": "87654321",
        "certificationName": "自立支援医療受給者証(育成医療)",
        "medicalSubsidyRecipientNumber": format!("{:07}", n),
        "isAlwaysReimbursement": "0",
        "validFrom": "2026-04-01",
        "validTo": "2027-03-31",
        "historyKey": history_key,
        "isDeleted": false,
        "certificationDetail": [{"itemName": "疾病名", "itemValue": "先天性心疾患"}]
    })
}

/// The same record in full-sync shape (no history key, no deleted flag).
pub fn full_record(n: u32, valid_from: &str) -> Value {
    let mut r = diff_record(n, "");
    let obj = r.as_object_mut().unwrap();
    obj.remove("historyKey");
    obj.remove("isDeleted");
    obj.insert("validFrom".into(), valid_from.into());
    r
}

pub fn deleted(mut record: Value) -> Value {
    record["isDeleted"] = Value::Bool(true);
    record
}

/// A diff record as `/_mock/records` shows it.
pub fn held(record: &Value) -> Value {
    let mut r = record.clone();
    r["isDeleted"] = Value::Bool(false);
    r
}

/// A fresh directory under the target's temp dir for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("pmhlink-hub-mock")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
