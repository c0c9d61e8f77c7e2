//! The built cdylib of this crate, driven across the ABI, and a scripted stand-in for PMH: a
//! plain TCP listener on 127.0.0.1 that answers each connection with the next step of its
//! script (one request per connection, `Connection: close`) and records what it was sent.
// Each test binary of the crate uses a different part of this module.
#![allow(dead_code, unused_imports)]

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use pmhlink_pdk::conformance::built_cdylib;
use pmhlink_pdk::harness;
use pmhlink_plugin_api::{PluginModRef, RPluginError, SinkBox};
use serde_json::{Value, json};

/// The cdylib cargo built alongside this test.
pub fn library_path() -> PathBuf {
    built_cdylib(env!("CARGO_PKG_NAME"))
}

pub fn plugin() -> PluginModRef {
    harness::module(&library_path())
}

pub fn open(config: &Value) -> Result<SinkBox, RPluginError> {
    harness::open_sink(&library_path(), config)
}

pub const E06: &str = "/api/medical-subsidy/v1/subject-histories/registration-tasks";
pub const E05: &str = "/api/medical-subsidy/v1/subject-histories/registration-tasks/csv";
pub const TOKEN_URL: &str = "/oauth/token";

pub enum Reply {
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Reads the request, then closes the connection without a word.
    Drop,
    /// Reads the request, then holds the connection open without a word for a while.
    Stall(Duration),
}

pub struct Step {
    method: &'static str,
    /// The request target must start with this.
    target: String,
    reply: Reply,
}

pub fn answer(method: &'static str, target: &str, status: u16, body: &str) -> Step {
    answer_with(method, target, status, &[], body)
}

pub fn answer_with(
    method: &'static str,
    target: &str,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Step {
    Step {
        method,
        target: target.to_owned(),
        reply: Reply::Answer {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        },
    }
}

pub fn answer_bytes(method: &'static str, target: &str, status: u16, body: &[u8]) -> Step {
    Step {
        method,
        target: target.to_owned(),
        reply: Reply::Answer {
            status,
            headers: Vec::new(),
            body: body.to_vec(),
        },
    }
}

pub fn drop_after(method: &'static str, target: &str) -> Step {
    Step {
        method,
        target: target.to_owned(),
        reply: Reply::Drop,
    }
}

pub fn stall(method: &'static str, target: &str, pause: Duration) -> Step {
    Step {
        method,
        target: target.to_owned(),
        reply: Reply::Stall(pause),
    }
}

pub fn task(id: &str) -> String {
    json!({ "taskId": id }).to_string()
}

/// One request as the fake PMH received it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn is(&self, method: &str, target_prefix: &str) -> bool {
        self.method == method && self.target.starts_with(target_prefix)
    }
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

pub struct FakePmh {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    seen: Log,
    surprises: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakePmh {
    /// Serves `script`, one step per connection, then stops listening (later connections are
    /// refused). A request that does not match its step is answered 418 and recorded as a
    /// surprise, which [`FakePmh::seen`] turns into a test failure.
    pub fn start(script: Vec<Step>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        listener.set_nonblocking(true).unwrap();
        let seen: Log = Arc::default();
        let surprises: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, surprises, stop) = (seen.clone(), surprises.clone(), stop.clone());
            thread::spawn(move || serve(listener, script, &seen, &surprises, &stop))
        };
        Self {
            url,
            seen,
            surprises,
            stop,
            thread: Some(thread),
        }
    }

    /// Everything received so far, after checking that each request matched its step.
    pub fn seen(&self) -> Vec<Seen> {
        let surprises = self.surprises.lock().unwrap();
        assert!(surprises.is_empty(), "unexpected requests: {surprises:?}");
        self.seen.lock().unwrap().clone()
    }

    pub fn log(&self) -> Log {
        self.seen.clone()
    }

    /// Requests received of one method whose target starts with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.seen().iter().filter(|s| s.is(method, prefix)).count()
    }
}

impl Drop for FakePmh {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: TcpListener,
    script: Vec<Step>,
    seen: &Log,
    surprises: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    for step in script {
        let stream = loop {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        let Some(request) = read_request(&stream) else {
            surprises
                .lock()
                .unwrap()
                .push("a connection without a complete request".to_owned());
            continue;
        };
        let matches = request.method == step.method && request.target.starts_with(&step.target);
        if !matches {
            surprises.lock().unwrap().push(format!(
                "{} {} where the script expected {} {}…",
                request.method, request.target, step.method, step.target
            ));
        }
        seen.lock().unwrap().push(request);
        let mut stream = stream;
        match step.reply {
            _ if !matches => write_answer(&mut stream, 418, &[], b"unexpected"),
            Reply::Answer {
                status,
                headers,
                body,
            } => write_answer(&mut stream, status, &headers, &body),
            Reply::Drop => {}
            // Held by a thread of its own, so the next step is served meanwhile (the client
            // times out and asks again while this connection still hangs).
            Reply::Stall(pause) => {
                thread::spawn(move || {
                    thread::sleep(pause);
                    drop(stream);
                });
            }
        }
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(Some(0), |(_, v)| v.parse().ok())?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

fn write_answer(stream: &mut TcpStream, status: u16, headers: &[(String, String)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        head.push_str("Content-Type: application/json\r\n");
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    // The client may have given up (a timeout test); nothing to do about it here.
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
}

/// An address nothing listens on: bound, then released.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    url
}
