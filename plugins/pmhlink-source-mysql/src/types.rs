//! A prepared statement's columns as the server describes them, and the binary protocol's
//! values as [`pmhlink_sql::Value`]s. Text arrives as the server's bytes (the session has
//! `character_set_results = NULL`), so each text column's character set is the column's own,
//! and is checked against `encoding` before a row is read.

use std::collections::BTreeMap;

use mysql::consts::{ColumnFlags, ColumnType as Wire};
use mysql::{Column as Described, Value as Wired};
use pmhlink_pdk::{ColumnType, PluginError};
use pmhlink_sql::{Encoding, Value};

/// The collation id of the `binary` character set: bytes, not text.
pub const BINARY: u16 = 63;

/// How a column's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Text in the collation of this id (decoded in `encoding`).
    Text {
        collation: u16,
    },
    Binary,
    /// TINYINT … BIGINT, YEAR; UNSIGNED ones arrive unsigned.
    Integer,
    Float,
    Double,
    Decimal,
    Date,
    Timestamp,
    /// BIT(1): `0` or `1`.
    Bit1,
    /// BIT(n), n > 1: the bits as an unsigned number.
    Bits,
}

impl Column {
    /// The reading of a described column, or `None` for a type this source does not read
    /// (TIME, GEOMETRY, VECTOR).
    pub fn of(c: &Described) -> Option<Column> {
        use Wire::*;
        Some(match c.column_type() {
            MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => Column::Integer,
            MYSQL_TYPE_FLOAT => Column::Float,
            MYSQL_TYPE_DOUBLE => Column::Double,
            MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => Column::Decimal,
            MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => Column::Date,
            MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP => Column::Timestamp,
            MYSQL_TYPE_BIT if c.column_length() <= 1 => Column::Bit1,
            MYSQL_TYPE_BIT => Column::Bits,
            // `SELECT NULL`: no value but NULL.
            MYSQL_TYPE_NULL => Column::Text {
                collation: c.character_set(),
            },
            // MySQL's JSON is utf8mb4 text whatever collation it reports.
            MYSQL_TYPE_JSON => Column::Text { collation: 45 },
            MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_STRING
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_SET
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_BLOB => {
                if c.character_set() == BINARY
                    && !c
                        .flags()
                        .intersects(ColumnFlags::ENUM_FLAG | ColumnFlags::SET_FLAG)
                {
                    Column::Binary
                } else {
                    Column::Text {
                        collation: c.character_set(),
                    }
                }
            }
            _ => return None,
        })
    }

    /// What the host is told of the column.
    pub fn column_type(self) -> ColumnType {
        match self {
            Column::Text { .. } => ColumnType::Text,
            Column::Binary => ColumnType::Binary,
            Column::Integer | Column::Bits => ColumnType::Integer,
            Column::Float | Column::Double => ColumnType::Float,
            Column::Decimal => ColumnType::Decimal,
            Column::Date => ColumnType::Date,
            Column::Timestamp => ColumnType::Timestamp,
            Column::Bit1 => ColumnType::Boolean,
        }
    }

    /// The column's value from what the client parsed. A value of another shape than its
    /// type sends is an error (never guessed).
    pub fn value(self, wired: &Wired) -> Result<Value<'_>, Malformed> {
        if let Wired::NULL = wired {
            return Ok(Value::Null);
        }
        Ok(match (self, wired) {
            (Column::Text { .. }, Wired::Bytes(b)) => Value::Text(b),
            (Column::Binary, _) => Value::Binary,
            (Column::Integer, Wired::Int(n)) => Value::Int(*n),
            (Column::Integer, Wired::UInt(n)) => Value::UInt(*n),
            // The shortest text of the f32 (`0.1`, as the server prints it), not of its
            // widening to f64: read back as f64, it prints the same.
            (Column::Float, Wired::Float(f)) => {
                Value::Float(f.to_string().parse().map_err(|_| Malformed)?)
            }
            (Column::Double, Wired::Double(f)) => Value::Float(*f),
            (Column::Decimal, Wired::Bytes(b)) => {
                let text = std::str::from_utf8(b).map_err(|_| Malformed)?;
                let digits = text.strip_prefix('-').unwrap_or(text);
                let well_formed = !digits.is_empty()
                    && digits.bytes().all(|c| c.is_ascii_digit() || c == b'.')
                    && digits.bytes().filter(|&c| c == b'.').count() <= 1;
                if !well_formed {
                    return Err(Malformed);
                }
                Value::Decimal(text)
            }
            (Column::Date, Wired::Date(year, month, day, ..)) => Value::Date {
                year: i32::from(*year),
                month: *month,
                day: *day,
            },
            (Column::Timestamp, Wired::Date(year, month, day, hour, minute, second, micros)) => {
                Value::Timestamp {
                    year: i32::from(*year),
                    month: *month,
                    day: *day,
                    hour: *hour,
                    minute: *minute,
                    second: *second,
                    nanos: micros.checked_mul(1000).ok_or(Malformed)?,
                }
            }
            (Column::Bit1 | Column::Bits, Wired::Bytes(b)) if b.len() <= 8 => {
                let n = b.iter().fold(0u64, |n, &byte| n << 8 | u64::from(byte));
                if self == Column::Bit1 {
                    Value::Bool(n != 0)
                } else {
                    Value::UInt(n)
                }
            }
            _ => return Err(Malformed),
        })
    }
}

/// A value that is not what its type sends.
#[derive(Debug)]
pub struct Malformed;

/// What a character set means for reading its bytes in a source's `encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// utf8mb3, utf8mb4: UTF-8.
    Utf8,
    /// cp932, sjis: Shift_JIS as Windows has it.
    Cp932,
    /// A multi-byte character set neither encoding reads (ujis, gbk, utf16, …).
    Foreign,
    /// A single-byte set (latin1, ascii, …): its label says nothing of what old systems
    /// stored in it; the bytes are read in `encoding`.
    Bytes,
}

impl Charset {
    /// The meaning of the character set of this name.
    pub fn of(name: &str) -> Charset {
        match name {
            "utf8" | "utf8mb3" | "utf8mb4" => Charset::Utf8,
            "cp932" | "sjis" => Charset::Cp932,
            "ujis" | "eucjpms" | "big5" | "gb2312" | "gbk" | "gb18030" | "euckr" | "ucs2"
            | "utf16" | "utf16le" | "utf32" => Charset::Foreign,
            _ => Charset::Bytes,
        }
    }
}

/// Refuses a text column whose character set `encoding` would read wrongly. `names` are the
/// columns' names, `charsets` the character set of each collation id, as the server names it
/// (a collation it does not name is not judged).
pub fn check_charsets(
    names: &[String],
    readings: &[Column],
    charsets: &BTreeMap<u16, String>,
    encoding: Encoding,
) -> Result<(), PluginError> {
    for (name, reading) in names.iter().zip(readings) {
        let Column::Text { collation } = reading else {
            continue;
        };
        let Some(charset) = charsets.get(collation) else {
            continue;
        };
        let fits = matches!(
            (Charset::of(charset), encoding),
            (Charset::Bytes, _)
                | (Charset::Utf8, Encoding::Utf8)
                | (Charset::Cp932, Encoding::Cp932)
        );
        if !fits {
            let advice = match Charset::of(charset) {
                Charset::Utf8 => {
                    "leave `encoding` out (utf-8), or convert the column in the query (`CONVERT(col USING cp932)`)"
                }
                Charset::Cp932 => {
                    "set `encoding = \"cp932\"`, or convert the column in the query (`CONVERT(col USING utf8mb4)`)"
                }
                _ => "convert the column in the query (`CONVERT(col USING utf8mb4)`)",
            };
            return Err(PluginError::config(format!(
                "the column `{name}` is {charset} text, which `encoding` {} would read wrongly: {advice}",
                encoding.name()
            ))
            .at("encoding"));
        }
    }
    Ok(())
}

/// The readings of a prepared statement's columns, or the error naming the first column of a
/// type this source does not read.
pub fn columns(described: &[Described], key: &str) -> Result<Vec<Column>, PluginError> {
    described
        .iter()
        .map(|c| {
            Column::of(c).ok_or_else(|| {
                let name = c.name_str();
                PluginError::config(format!(
                    "`{key}` returns the column `{name}` of type {}, which this source does not read: cast it to text in the query (`CAST({name} AS CHAR)`)",
                    type_name(c.column_type())
                ))
                .at(key)
            })
        })
        .collect()
}

fn type_name(t: Wire) -> &'static str {
    match t {
        Wire::MYSQL_TYPE_TIME | Wire::MYSQL_TYPE_TIME2 => "TIME",
        Wire::MYSQL_TYPE_GEOMETRY => "GEOMETRY",
        Wire::MYSQL_TYPE_VECTOR => "VECTOR",
        _ => "unknown to this source",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(t: Wire, collation: u16, length: u32) -> Described {
        Described::new(t)
            .with_character_set(collation)
            .with_column_length(length)
    }

    #[test]
    fn each_wire_type_has_its_reading_and_column_type() {
        let cases = [
            (
                described(Wire::MYSQL_TYPE_LONG, 63, 11),
                Some(ColumnType::Integer),
            ),
            (
                described(Wire::MYSQL_TYPE_YEAR, 63, 4),
                Some(ColumnType::Integer),
            ),
            (
                described(Wire::MYSQL_TYPE_NEWDECIMAL, 63, 7),
                Some(ColumnType::Decimal),
            ),
            (
                described(Wire::MYSQL_TYPE_DOUBLE, 63, 22),
                Some(ColumnType::Float),
            ),
            (
                described(Wire::MYSQL_TYPE_DATE, 63, 10),
                Some(ColumnType::Date),
            ),
            (
                described(Wire::MYSQL_TYPE_TIMESTAMP, 63, 19),
                Some(ColumnType::Timestamp),
            ),
            (
                described(Wire::MYSQL_TYPE_BIT, 63, 1),
                Some(ColumnType::Boolean),
            ),
            (
                described(Wire::MYSQL_TYPE_BIT, 63, 8),
                Some(ColumnType::Integer),
            ),
            (
                described(Wire::MYSQL_TYPE_VAR_STRING, 95, 20),
                Some(ColumnType::Text),
            ),
            (
                described(Wire::MYSQL_TYPE_BLOB, 63, 65535),
                Some(ColumnType::Binary),
            ),
            (
                described(Wire::MYSQL_TYPE_STRING, 63, 3),
                Some(ColumnType::Binary),
            ),
            (described(Wire::MYSQL_TYPE_TIME, 63, 10), None),
            (described(Wire::MYSQL_TYPE_GEOMETRY, 63, 0), None),
        ];
        for (c, expected) in cases {
            assert_eq!(
                Column::of(&c).map(Column::column_type),
                expected,
                "{:?}",
                c.column_type()
            );
        }
    }

    #[test]
    fn wire_values_become_pmhlink_values() {
        let cases: [(Column, Wired, Value<'_>); 7] = [
            (Column::Integer, Wired::Int(-12), Value::Int(-12)),
            (
                Column::Integer,
                Wired::UInt(u64::MAX),
                Value::UInt(u64::MAX),
            ),
            (Column::Float, Wired::Float(0.1), Value::Float(0.1)),
            (
                Column::Decimal,
                Wired::Bytes(b"-0.50".to_vec()),
                Value::Decimal("-0.50"),
            ),
            (Column::Bit1, Wired::Bytes(vec![1]), Value::Bool(true)),
            (Column::Bits, Wired::Bytes(vec![1, 0]), Value::UInt(256)),
            (
                Column::Timestamp,
                Wired::Date(2025, 4, 1, 9, 5, 0, 120_000),
                Value::Timestamp {
                    year: 2025,
                    month: 4,
                    day: 1,
                    hour: 9,
                    minute: 5,
                    second: 0,
                    nanos: 120_000_000,
                },
            ),
        ];
        for (column, wired, expected) in &cases {
            assert_eq!(column.value(wired).unwrap(), *expected, "{column:?}");
        }
        assert!(
            Column::Decimal
                .value(&Wired::Bytes(b"1e5".to_vec()))
                .is_err()
        );
        assert!(Column::Integer.value(&Wired::Bytes(b"1".to_vec())).is_err());
        assert_eq!(
            Column::Text { collation: 45 }.value(&Wired::NULL).unwrap(),
            Value::Null
        );
    }
}
