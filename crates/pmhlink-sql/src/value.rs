//! Typed database values into text cells. Every database source converts through here, so a
//! value reads the same whichever database holds it:
//!
//! | value | cell |
//! |---|---|
//! | NULL | empty |
//! | text, `CHAR(n)` | as stored, padding kept (the mapping's `trim` removes it), decoded strictly in the source's `encoding` |
//! | integer | as written: `-12`, `0042` cannot occur (a number has no leading zeros) |
//! | NUMERIC / DECIMAL | the driver's exact decimal text, never through a float |
//! | REAL / DOUBLE | the shortest text that reads back as the same float |
//! | NaN, ±infinity (a float, a NUMERIC, a DATE or TIMESTAMP) | a row error naming the column |
//! | boolean | `1` or `0` |
//! | DATE | `YYYY-MM-DD` |
//! | TIMESTAMP | `YYYY-MM-DDTHH:MM:SS`, with `.fffffffff` trimmed of trailing zeros when not whole |
//! | binary (BLOB, BYTEA, VARBINARY) | a row error naming the column |

use std::fmt::Write as _;

use crate::settings::Encoding;

/// One value as a driver hands it over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// NUMERIC/DECIMAL as the driver's exact text.
    Decimal(&'a str),
    Float(f64),
    /// Text as stored, in the source's encoding.
    Text(&'a [u8]),
    Date {
        year: i32,
        month: u8,
        day: u8,
    },
    Timestamp {
        year: i32,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
        nanos: u32,
    },
    Binary,
    /// A NUMERIC `NaN`, or a DATE or TIMESTAMP `infinity`: no text a mapping could use.
    Infinite,
}

/// Why a value cannot be a cell. Never carries the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellProblem {
    /// A binary column: no text a mapping could use.
    Binary,
    /// Text that does not decode in the declared encoding: the offset of the first bad byte.
    Undecodable { encoding: Encoding, offset: usize },
    /// A number or date that is not finite (NaN, infinity).
    NotFinite,
}

impl CellProblem {
    /// The row error, naming the row and the column (a column name is the query's, not data).
    pub fn message(self, row: u64, column: &str) -> String {
        match self {
            CellProblem::Binary => format!(
                "row {row}, column `{column}`: a binary value cannot be a text cell (select it as text, or leave it out)"
            ),
            CellProblem::Undecodable { encoding, offset } => format!(
                "row {row}, column `{column}`: malformed {} byte at offset {offset}",
                encoding.name()
            ),
            CellProblem::NotFinite => {
                format!(
                    "row {row}, column `{column}`: a value that is not a finite number or date (NaN or infinity)"
                )
            }
        }
    }
}

/// Appends the cell text of `value` to `out` (cleared first).
pub fn write_cell(
    value: Value<'_>,
    encoding: Encoding,
    out: &mut String,
) -> Result<(), CellProblem> {
    out.clear();
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push(if b { '1' } else { '0' }),
        Value::Int(n) => write!(out, "{n}").expect("writing to a String"),
        Value::UInt(n) => write!(out, "{n}").expect("writing to a String"),
        Value::Decimal(text) => out.push_str(text),
        Value::Float(f) if !f.is_finite() => return Err(CellProblem::NotFinite),
        Value::Float(f) => write!(out, "{f}").expect("writing to a String"),
        Value::Text(bytes) => {
            let text = encoding
                .decode(bytes)
                .map_err(|offset| CellProblem::Undecodable { encoding, offset })?;
            out.push_str(&text);
        }
        Value::Date { year, month, day } => {
            write!(out, "{year:04}-{month:02}-{day:02}").expect("writing to a String")
        }
        Value::Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanos,
        } => {
            write!(
                out,
                "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"
            )
            .expect("writing to a String");
            if nanos > 0 {
                let fraction = format!("{nanos:09}");
                out.push('.');
                out.push_str(fraction.trim_end_matches('0'));
            }
        }
        Value::Binary => return Err(CellProblem::Binary),
        Value::Infinite => return Err(CellProblem::NotFinite),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cell(value: Value<'_>, encoding: Encoding) -> Result<String, CellProblem> {
        let mut out = String::from("left over");
        write_cell(value, encoding, &mut out).map(|()| out)
    }

    #[test]
    fn every_kind_of_value_becomes_the_documented_text() {
        let cp932_name = [0x8E, 0x52, 0x93, 0x63]; // 山田
        let cases: [(Value<'_>, Encoding, &str); 14] = [
            (Value::Null, Encoding::Utf8, ""),
            (Value::Bool(true), Encoding::Utf8, "1"),
            (Value::Bool(false), Encoding::Utf8, "0"),
            (Value::Int(-12), Encoding::Utf8, "-12"),
            (
                Value::UInt(u64::MAX),
                Encoding::Utf8,
                "18446744073709551615",
            ),
            (Value::Decimal("0.10"), Encoding::Utf8, "0.10"),
            (Value::Float(0.1), Encoding::Utf8, "0.1"),
            (Value::Float(20000.0), Encoding::Utf8, "20000"),
            (Value::Text(b"0012345  "), Encoding::Utf8, "0012345  "),
            (Value::Text(&cp932_name), Encoding::Cp932, "山田"),
            (Value::Text("山田".as_bytes()), Encoding::Utf8, "山田"),
            (
                Value::Date {
                    year: 2025,
                    month: 4,
                    day: 1,
                },
                Encoding::Utf8,
                "2025-04-01",
            ),
            (
                Value::Timestamp {
                    year: 2025,
                    month: 4,
                    day: 1,
                    hour: 9,
                    minute: 5,
                    second: 0,
                    nanos: 0,
                },
                Encoding::Utf8,
                "2025-04-01T09:05:00",
            ),
            (
                Value::Timestamp {
                    year: 2025,
                    month: 4,
                    day: 1,
                    hour: 23,
                    minute: 59,
                    second: 59,
                    nanos: 120_000_000,
                },
                Encoding::Utf8,
                "2025-04-01T23:59:59.12",
            ),
        ];
        for (value, encoding, expected) in cases {
            assert_eq!(cell(value, encoding).as_deref(), Ok(expected), "{value:?}");
        }
    }

    #[test]
    fn what_cannot_be_a_cell_is_refused_without_the_value() {
        assert_eq!(
            cell(Value::Binary, Encoding::Utf8),
            Err(CellProblem::Binary)
        );
        assert_eq!(
            cell(Value::Float(f64::NAN), Encoding::Utf8),
            Err(CellProblem::NotFinite)
        );
        assert_eq!(
            cell(Value::Infinite, Encoding::Utf8),
            Err(CellProblem::NotFinite)
        );
        let bad = cell(Value::Text(b"ab\x83"), Encoding::Cp932).unwrap_err();
        assert_eq!(
            bad,
            CellProblem::Undecodable {
                encoding: Encoding::Cp932,
                offset: 2
            }
        );
        assert_eq!(
            bad.message(7, "shimei"),
            "row 7, column `shimei`: malformed CP932 byte at offset 2"
        );
        assert!(
            CellProblem::Binary
                .message(1, "photo")
                .contains("column `photo`")
        );
    }

    proptest! {
        #[test]
        fn a_float_cell_reads_back_as_the_same_float(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let text = cell(Value::Float(f), Encoding::Utf8).unwrap();
            prop_assert_eq!(text.parse::<f64>().unwrap(), f);
        }

        #[test]
        fn an_integer_cell_reads_back(n in any::<i64>()) {
            prop_assert_eq!(cell(Value::Int(n), Encoding::Utf8).unwrap().parse::<i64>().unwrap(), n);
        }
    }

    /// The table of this module's doc, as docs/database-sources.md shows it to operators.
    #[test]
    fn the_operators_page_shows_this_conversion_table() {
        let table = |text: &str, prefix: &str| -> Vec<String> {
            text.lines()
                .filter_map(|l| l.strip_prefix(prefix))
                .map(str::trim_start)
                .filter(|l| l.starts_with('|'))
                .map(str::to_owned)
                .collect()
        };
        let here = table(include_str!("value.rs"), "//! ");
        let page = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/database-sources.md"),
        )
        .unwrap();
        let start = page
            .find("| value | cell |")
            .expect("the table on the page");
        let shown: Vec<String> = page[start..]
            .lines()
            .take_while(|l| l.starts_with('|'))
            .map(str::to_owned)
            .collect();
        assert_eq!(
            shown, here,
            "docs/database-sources.md differs from value.rs's table"
        );
    }
}
