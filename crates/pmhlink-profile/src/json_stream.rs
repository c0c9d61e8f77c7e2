//! The elements of a top-level JSON array, one at a time, from any reader.
//!
//! serde_json parses a reader byte by byte through `Read`, several times slower than from a
//! slice. So this scanner only finds where each element begins and ends (tracking strings,
//! escapes and nesting), and serde_json parses each element from a slice. Memory stays at one
//! element plus one read buffer, whatever the file size. Errors carry the file's own line and
//! column, never content.

use std::io::Read;

const CHUNK: usize = 1 << 20;

#[derive(Debug, PartialEq, Eq)]
pub struct JsonPosError {
    pub message: String,
    pub line: u64,
    pub column: u64,
}

/// Where a scan stands in the file.
struct Cursor<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    line: u64,
    /// Offset in `buf` where the current line starts (may be negative after draining).
    line_start: i64,
}

impl<R: Read> Cursor<R> {
    fn column(&self, at: usize) -> u64 {
        (at as i64 - self.line_start + 1) as u64
    }

    fn error(&self, message: impl Into<String>, at: usize) -> JsonPosError {
        JsonPosError {
            message: message.into(),
            line: self.line,
            column: self.column(at),
        }
    }

    /// Reads more into the buffer; false at end of input.
    fn fill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let n = loop {
            match self.reader.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(old + n);
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// Drops what has been consumed, keeping positions consistent.
    fn drain(&mut self) {
        if self.pos > CHUNK {
            self.buf.drain(..self.pos);
            self.line_start -= self.pos as i64;
            self.pos = 0;
        }
    }

    fn newline(&mut self, at: usize) {
        self.line += 1;
        self.line_start = at as i64 + 1;
    }

    /// The next byte that is not JSON white space, without consuming it.
    fn peek_token(&mut self) -> Result<Option<u8>, Error> {
        loop {
            while self.pos < self.buf.len() {
                match self.buf[self.pos] {
                    b' ' | b'\t' | b'\r' => self.pos += 1,
                    b'\n' => {
                        self.newline(self.pos);
                        self.pos += 1;
                    }
                    b => return Ok(Some(b)),
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }
}

#[derive(Debug)]
pub enum Error {
    Io(std::io::Error),
    Empty,
    Json(JsonPosError),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e)
    }
}

/// One element of the array, and the keys its objects give more than once.
#[derive(Debug, PartialEq)]
pub struct Element {
    pub value: serde_json::Value,
    /// Paths (`basicFiveInfo.name`, `certificationDetail[0].itemName`) of keys an object gives
    /// twice: serde_json keeps the last silently, so a check would judge only that one, while
    /// PMH might read either. Each repeat is listed once per repetition.
    pub duplicate_keys: Vec<String>,
}

/// Calls `on_element` with each element of the top-level array; returns the element count.
pub fn for_each_element(
    reader: impl Read,
    mut on_element: impl FnMut(Element),
) -> Result<u64, Error> {
    let mut c = Cursor {
        reader,
        buf: Vec::with_capacity(CHUNK),
        pos: 0,
        eof: false,
        line: 1,
        line_start: 0,
    };
    match c.peek_token()? {
        None if c.buf.is_empty() => return Err(Error::Empty),
        None => return Err(Error::Json(c.error("EOF while parsing a value", c.pos))),
        Some(b'[') => c.pos += 1,
        Some(_) => {
            return Err(Error::Json(
                c.error("expected a JSON array of records", c.pos),
            ));
        }
    }
    let mut count = 0;
    loop {
        match c.peek_token()? {
            None => return Err(Error::Json(c.error("EOF while parsing a list", c.pos))),
            Some(b']') if count == 0 => {
                c.pos += 1;
                break;
            }
            Some(_) if count == 0 => {}
            Some(b',') => {
                c.pos += 1;
                if c.peek_token()? == Some(b']') {
                    return Err(Error::Json(c.error("trailing comma", c.pos)));
                }
            }
            Some(b']') => {
                c.pos += 1;
                break;
            }
            Some(_) => return Err(Error::Json(c.error("expected `,` or `]`", c.pos))),
        }
        let (start, line, column) = (c.pos, c.line, c.column(c.pos));
        let end = scan_element(&mut c)?;
        let element = parse_element(&c.buf[start..end]).map_err(|e| {
            let (l, col) = (e.line() as u64, e.column() as u64);
            let message = e.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.as_str(), |(m, _)| m)
                .to_owned();
            Error::Json(JsonPosError {
                message,
                line: line + l.saturating_sub(1),
                column: if l <= 1 {
                    column + col.saturating_sub(1)
                } else {
                    col
                },
            })
        })?;
        on_element(element);
        count += 1;
        c.drain();
    }
    if c.peek_token()?.is_some() {
        return Err(Error::Json(c.error("trailing characters", c.pos)));
    }
    Ok(count)
}

/// Advances past one element (object, array, string or scalar); returns its end offset.
/// Offsets into `c.buf` stay valid: nothing is drained while an element is open.
fn scan_element<R: Read>(c: &mut Cursor<R>) -> Result<usize, Error> {
    let mut depth = 0u32;
    let mut in_string = false;
    let mut escaped = false;
    loop {
        while c.pos < c.buf.len() {
            if in_string && !escaped {
                // Most of a payload is string content: jump to the next quote or backslash. A
                // raw line break cannot occur in a valid string; serde_json reports it.
                match memchr::memchr2(b'"', b'\\', &c.buf[c.pos..]) {
                    Some(skip) => c.pos += skip,
                    None => {
                        c.pos = c.buf.len();
                        break;
                    }
                }
            }
            let b = c.buf[c.pos];
            let at = c.pos;
            c.pos += 1;
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => {
                        in_string = false;
                        if depth == 0 {
                            return Ok(c.pos);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' if depth == 0 => {
                    c.pos = at;
                    return Ok(at);
                }
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(c.pos);
                    }
                }
                b',' | b' ' | b'\t' | b'\r' | b'\n' if depth == 0 => {
                    c.pos = at;
                    return Ok(at);
                }
                b'\n' => c.newline(at),
                _ => {}
            }
        }
        if !c.fill()? {
            return Err(Error::Json(c.error(
                if in_string {
                    "EOF while parsing a string"
                } else {
                    "EOF while parsing a value"
                },
                c.pos,
            )));
        }
    }
}

/// Parses one element as serde_json would, noting every repeated key on the way.
fn parse_element(bytes: &[u8]) -> Result<Element, serde_json::Error> {
    use serde::de::DeserializeSeed as _;
    let repeated = std::cell::RefCell::new(Vec::new());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Noting {
        repeated: &repeated,
        path: String::new(),
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(Element {
        value,
        duplicate_keys: repeated.into_inner(),
    })
}

/// Builds a `serde_json::Value` like its own `Deserialize`, recording repeated keys by path.
struct Noting<'a> {
    repeated: &'a std::cell::RefCell<Vec<String>>,
    path: String,
}

impl Noting<'_> {
    fn at(&self, path: String) -> Self {
        Noting {
            repeated: self.repeated,
            path,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Noting<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Noting<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        // JSON has no NaN or infinity, so every parsed float is a number.
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) =
            seq.next_element_seed(self.at(format!("{}[{}]", self.path, items.len())))?
        {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = if self.path.is_empty() {
                key.clone()
            } else {
                format!("{}.{key}", self.path)
            };
            let value = map.next_value_seed(self.at(path.clone()))?;
            if object.insert(key, value).is_some() {
                self.repeated.borrow_mut().push(path);
            }
        }
        Ok(serde_json::Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elements(text: &str) -> Result<Vec<serde_json::Value>, String> {
        let mut out = Vec::new();
        for_each_element(text.as_bytes(), |e| out.push(e.value)).map_err(|e| match e {
            Error::Json(p) => format!("{} at {}:{}", p.message, p.line, p.column),
            Error::Empty => "empty".into(),
            Error::Io(e) => e.to_string(),
        })?;
        Ok(out)
    }

    #[test]
    fn splits_like_serde_json_parses() {
        let text = r#" [ {"a": "x,]}\"{", "b": [1, {"c": []}]}, 2, "s]", null , [ ] ]  "#;
        let whole: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        assert_eq!(elements(text).unwrap(), whole);
        assert_eq!(elements("[]").unwrap(), Vec::<serde_json::Value>::new());
    }

    #[test]
    fn errors_carry_file_positions() {
        assert_eq!(elements("").unwrap_err(), "empty");
        assert_eq!(
            elements("{}").unwrap_err(),
            "expected a JSON array of records at 1:1"
        );
        assert_eq!(
            elements("[1,\n 2 3]").unwrap_err(),
            "expected `,` or `]` at 2:4"
        );
        assert_eq!(elements("[1,]").unwrap_err(), "trailing comma at 1:4");
        assert_eq!(elements("[1] x").unwrap_err(), "trailing characters at 1:5");
        assert_eq!(
            elements("[{\"a\": 1},\n  {\"b\": tru}]").unwrap_err(),
            "expected ident at 2:12"
        );
        assert_eq!(
            elements("[{\"a\": \"x").unwrap_err(),
            "EOF while parsing a string at 1:10"
        );
        assert_eq!(
            elements("[{\"a\": 1}").unwrap_err(),
            "EOF while parsing a list at 1:10"
        );
    }

    #[test]
    fn elements_larger_than_a_read_chunk() {
        let big = "x".repeat(3 * CHUNK);
        let text = format!("[\"{big}\", {{\"k\": \"{big}\"}}]");
        let got = elements(&text).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_str().map(str::len), Some(3 * CHUNK));
    }

    #[test]
    fn repeated_keys_are_noted_by_path() {
        let mut seen = Vec::new();
        let text =
            r#"[{"a": 1, "b": {"c": 1, "c": 2}, "a": 3, "d": [{"e": 1, "e": 1}]}, {"a": 1}]"#;
        for_each_element(text.as_bytes(), |e| seen.push(e)).unwrap();
        assert_eq!(seen[0].duplicate_keys, ["b.c", "a", "d[0].e"]);
        // The value is what serde_json makes of it: the last one wins.
        assert_eq!(seen[0].value["a"], 3);
        assert_eq!(seen[0].value["b"]["c"], 2);
        assert!(seen[1].duplicate_keys.is_empty());
        let plain: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(seen[0].value, plain[0]);
    }
}
