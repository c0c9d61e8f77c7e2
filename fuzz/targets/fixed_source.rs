//! The `fixed-width` source plugin on any file: CP932 or UTF-8, CRLF, LF or no line ends,
//! fields and an optional record-type filter cut at offsets the input's first bytes choose.

use arbitrary::Unstructured;
use pmhlink_source_fixed::{Config, open};
use serde_json::json;

use crate::common::{drain, scratch};

/// The input's first bytes, in this order: flags (bit 0 UTF-8, bit 1 trim, bit 2 a record
/// type filter, bit 3 a record length), line ending, record length, record type offset and
/// length, a field count (up to 6) and an offset and a length per field; then the file.
struct Options {
    utf8: bool,
    trim: bool,
    ending: u8,
    record_length: Option<u8>,
    record_type: Option<(u8, u8)>,
    fields: Vec<(u8, u8)>,
}

fn options(u: &mut Unstructured<'_>) -> arbitrary::Result<Options> {
    let flags = u.arbitrary::<u8>()?;
    let ending = u.arbitrary::<u8>()?;
    let record_length = u.arbitrary::<u8>()?;
    let record_type = (u.arbitrary::<u8>()?, u.arbitrary::<u8>()?);
    let n = u.arbitrary::<u8>()? % 7;
    let fields = (0..n)
        .map(|_| Ok((u.arbitrary::<u8>()?, u.arbitrary::<u8>()?)))
        .collect::<arbitrary::Result<_>>()?;
    Ok(Options {
        utf8: flags & 1 != 0,
        trim: flags & 2 != 0,
        record_type: (flags & 4 != 0).then_some(record_type),
        record_length: (flags & 8 != 0).then_some(record_length),
        ending,
        fields,
    })
}

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(options) = options(&mut u) else {
        return;
    };
    let content = u.take_rest();
    let path = scratch("fixed", content);
    let ending = ["crlf", "lf", "none"][usize::from(options.ending % 3)];
    let mut fields: Vec<_> = options
        .fields
        .iter()
        .enumerate()
        .map(|(i, &(offset, length))| {
            json!({ "name": format!("f{i}"), "offset": offset, "length": 1 + length % 64 })
        })
        .collect();
    if fields.is_empty() {
        fields.push(json!({ "name": "f0", "offset": 0, "length": 4 }));
    }
    let mut config = json!({
        "path": path,
        "encoding": if options.utf8 { "utf-8" } else { "cp932" },
        "line_ending": ending,
        "fields": fields,
        "trim": options.trim,
    });
    if let Some(length) = options.record_length.or((ending == "none").then_some(0)) {
        config["record_length"] = json!(1 + usize::from(length));
    }
    if let Some((offset, length)) = options.record_type {
        config["record_type"] = json!({
            "offset": offset % 8, "length": 1 + length % 2, "keep": ["1", "D"],
        });
    }
    let config: Config = serde_json::from_value(config).expect("the target writes a valid config");
    // A layout the plugin refuses (a field past the record's end…) is its settings check.
    let Ok(mut source) = open(config) else {
        return;
    };
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    drain(&mut source, content, file_name);
}
