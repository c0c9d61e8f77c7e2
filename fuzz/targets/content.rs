//! The ledger's canonical content decoder: it accepts only the one byte string a record
//! encodes to, so whatever decodes must encode back to exactly the same bytes.

use pmhlink_model::{decode_content, encode_content};

pub fn run(data: &[u8]) {
    let Ok(record) = decode_content(data) else {
        return;
    };
    let mut again = Vec::new();
    encode_content(&record, &mut again);
    assert!(
        again == data,
        "a decoded record encodes to the bytes it came from"
    );
}
