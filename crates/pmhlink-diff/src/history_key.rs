//! History keys for sources that do not give one.
//!
//! PMH identifies a history row by certificate identity + `historyKey` (our assumption: the
//! published text names the key but not its scope), so a key only has to be unique within one
//! certificate. The derived key is built from the certificate identity *without* the My Number
//! and the period start:
//!
//! - it does not use the ledger's secret key: the key is sent to PMH and has to stay the same
//!   across a key rotation, or every row would be re-registered under a new key;
//! - it leaves the My Number out: the key shows up in quarantine lists and reports, and a hash
//!   of an 11-digit number (the 12th is a check digit) is reversed by trying them all;
//! - it depends on neither the vendor's row order nor the run, so the same period gets the
//!   same key every day;
//! - `"H"` + 20 hex digits keeps within the profile's rule for `historyKey` (ASCII
//!   alphanumerics, at most 50), and 80 bits make a collision among one certificate's few
//!   periods negligible.

use sha2::{Digest as _, Sha256};

const DOMAIN: &[u8] = b"pmhlink-history-key-v1\x1f";
const SEPARATOR: u8 = 0x1f;
const HEX_DIGITS: usize = 20;

/// The history key of a row whose source does not give one: derived from the certificate
/// identity (without the My Number) and the period start, so it is stable across runs and the
/// vendor's row order, never carries personal data, and stays within the profile's rule for
/// historyKey (ASCII alphanumerics, ≤ 50).
pub fn derived_history_key(
    type_id: &str,
    recipient_number: &str,
    sub_key: &str,
    valid_from: &str,
) -> String {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN);
    // The separator after each value keeps ("ab", "c") and ("a", "bc") apart.
    for value in [type_id, recipient_number, sub_key, valid_from] {
        hasher.update(value.as_bytes());
        hasher.update([SEPARATOR]);
    }
    let hash = hasher.finalize();
    let mut key = String::with_capacity(1 + HEX_DIGITS);
    key.push('H');
    for byte in hash.iter().take(HEX_DIGITS / 2) {
        key.push(hex_digit(byte >> 4));
        key.push(hex_digit(byte & 0x0f));
    }
    key
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

#[cfg(test)]
mod tests {
    use super::derived_history_key;

    const INPUTS: [&str; 4] = ["12345", "0000002", "S1", "2024-04-01"];

    fn key(v: [&str; 4]) -> String {
        derived_history_key(v[0], v[1], v[2], v[3])
    }

    fn well_formed(k: &str) -> bool {
        k.len() == 21
            && k.starts_with('H')
            && k[1..]
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }

    #[test]
    fn golden_value() {
        // Changing the derivation renames every derived row at PMH; it needs a new domain tag
        // and a reset upload, never a silent edit.
        assert_eq!(key(INPUTS), GOLDEN);
    }

    #[test]
    fn each_input_matters() {
        let base = key(INPUTS);
        for i in 0..4 {
            let mut changed = INPUTS;
            let altered = format!("{}x", INPUTS[i]);
            changed[i] = &altered;
            assert_ne!(key(changed), base, "input {i}");
        }
        // Values moving across the separator are different inputs.
        assert_ne!(key(["1234", "50000002", "S1", "2024-04-01"]), base);
        assert_ne!(key(["12345", "0000002", "", "S12024-04-01"]), base);
    }

    #[test]
    fn always_well_formed() {
        let long = "a".repeat(200);
        let cases: [[&str; 4]; 5] = [
            INPUTS,
            ["", "", "", ""],
            ["X", "受給者", "サブ\u{1f}キー", "R6.4.1"],
            [&long, "1", "2", "3"],
            ["\u{0}", "\u{1f}", "\n", " "],
        ];
        for case in cases {
            let k = key(case);
            assert!(well_formed(&k), "{k}");
        }
    }

    const GOLDEN: &str = "H4fd924406c5cbb2226d1";
}
