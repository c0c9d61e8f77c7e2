//! A client for the emulator's inspection endpoints (`/_mock/…`), for tests and the demo: one
//! HTTP/1.1 request per connection over std's TcpStream, so a caller needs no HTTP stack.

use std::io::{Read, Write};

/// One request to `addr` (`host:port`); returns the status and the body.
pub fn call(addr: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer");
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let (head, rest) = answer.split_once("\r\n\r\n").ok_or_else(bad)?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].strip_prefix("\r\n").unwrap_or(&rest[n..]);
    }
    out
}

/// `GET path` as JSON.
pub fn get_json(addr: &str, path: &str) -> Result<serde_json::Value, String> {
    let (status, body) = call(addr, "GET", path, "").map_err(|e| format!("{addr}{path}: {e}"))?;
    if status != 200 {
        return Err(format!("{addr}{path}: status {status}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("{addr}{path}: {e}"))
}

/// Replaces the hub's fault rules (`POST /_mock/faults`).
pub fn set_faults(addr: &str, faults: &serde_json::Value) -> Result<(), String> {
    let (status, body) = call(addr, "POST", "/_mock/faults", &faults.to_string())
        .map_err(|e| format!("{addr}: {e}"))?;
    if status == 200 {
        Ok(())
    } else {
        Err(format!("{addr}/_mock/faults: status {status}: {body}"))
    }
}
