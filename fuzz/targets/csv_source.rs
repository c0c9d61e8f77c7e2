//! The `csv` source plugin on any file: UTF-8 or CP932, with or without a header, named or
//! positional columns, skipped rows; the options come from the input's first bytes.

use arbitrary::Unstructured;
use pmhlink_source_csv::{Config, open};
use serde_json::json;

use crate::common::{drain, scratch};

/// The input's first two bytes: flags (bit 0 CP932, bit 1 tab-separated, bit 2 no header) and
/// how many columns are named (low two bits) and rows skipped (next two bits); then the file.
struct Options {
    cp932: bool,
    tab: bool,
    header: bool,
    named: u8,
    skip_rows: u8,
}

fn options(u: &mut Unstructured<'_>) -> arbitrary::Result<Options> {
    let flags = u.arbitrary::<u8>()?;
    let counts = u.arbitrary::<u8>()?;
    Ok(Options {
        cp932: flags & 1 != 0,
        tab: flags & 2 != 0,
        header: flags & 4 == 0,
        named: counts & 3,
        skip_rows: (counts >> 2) & 3,
    })
}

pub fn run(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(options) = options(&mut u) else {
        return;
    };
    let content = u.take_rest();
    let path = scratch("csv", content);
    let names: Vec<String> = (0..options.named).map(|i| format!("c{i}")).collect();
    let mut config = json!({
        "path": path,
        "encoding": if options.cp932 { "cp932" } else { "utf-8" },
        "delimiter": if options.tab { "\t" } else { "," },
        "header": options.header,
        "skip_rows": options.skip_rows,
    });
    if !names.is_empty() || !options.header {
        let names = if names.is_empty() {
            vec!["c0".to_owned()]
        } else {
            names
        };
        config["columns"] = json!(names);
    }
    let config: Config = serde_json::from_value(config).expect("the target writes a valid config");
    let mut source = open(config).expect("the target's settings are accepted");
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    // Header names may be named in messages (a column twice…); they are not a person's data.
    let rows = match content.iter().position(|&b| b == b'\n') {
        Some(end) if options.header => &content[end + 1..],
        _ => content,
    };
    drain(&mut source, rows, file_name);
}
