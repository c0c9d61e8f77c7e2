//! A column's described SQL data type (SQLDescribeCol) as the buffer it is fetched into and
//! the `pmhlink_sql::Value` each fetched value becomes. Text is fetched as UTF-16
//! (`SQL_C_WCHAR`, converted by the driver) for `encoding = "utf-8"`, or as the driver's bytes
//! (`SQL_C_CHAR`) for `encoding = "cp932"`; NUMERIC and DECIMAL, and integers, as the driver's
//! text (exact, never through a float, and an unsigned BIGINT above `i64::MAX` fits); floats,
//! booleans, dates and timestamps in their C structs; binary columns only for their NULL
//! indicator.

use odbc_api::DataType;
use odbc_api::buffers::{AnyColumnBufferSlice, BufferDesc};
use odbc_api::sys::{Date, Timestamp};
use pmhlink_pdk::{ColumnType, PluginError};
use pmhlink_sql::{Encoding, Value};

/// The longest text cell read for sure, in characters: a described length above it (or none,
/// as for `TEXT`, `VARCHAR(MAX)`, `CLOB`) is bound at this length, and a value that does not
/// fit the buffer is a row error.
pub const MAX_CELL_CHARS: usize = 4000;
/// The least a text buffer holds, in characters: drivers that describe an unbounded `varchar`
/// by a setting of theirs (psqlODBC's `MaxVarcharSize`, 255) still read longer values.
pub const MIN_CELL_CHARS: usize = 256;
/// A NUMERIC's text: its precision plus sign, point and a leading zero, at least this many.
const MIN_DECIMAL_TEXT: usize = 40;
/// An integer's text: `-9223372036854775808` and `18446744073709551615` fit.
const INTEGER_TEXT: usize = 24;
/// A boolean's text: `1` or `0`.
const BIT_TEXT: usize = 1;
/// A GUID's text: `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
const GUID_TEXT: usize = 36;

/// How a column's values are fetched and read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Character data, at most `chars` characters.
    Text {
        chars: usize,
    },
    /// NUMERIC/DECIMAL as the driver's text, at most `len` bytes.
    Decimal {
        len: usize,
    },
    /// Any integer type, as the driver's text.
    Integer,
    Real,
    Double,
    Bit,
    Date,
    Timestamp,
    /// A GUID (SQL Server's `uniqueidentifier`, PostgreSQL's `uuid`), as text.
    Guid,
    Binary,
}

impl Column {
    /// The reading of a column of `data_type`, or `None` for a type this source does not read.
    pub fn of(data_type: DataType) -> Option<Column> {
        let text = |length: Option<std::num::NonZeroUsize>| Column::Text {
            chars: length.map_or(MAX_CELL_CHARS, |l| {
                l.get().clamp(MIN_CELL_CHARS, MAX_CELL_CHARS)
            }),
        };
        Some(match data_type {
            DataType::Char { length }
            | DataType::WChar { length }
            | DataType::Varchar { length }
            | DataType::WVarchar { length }
            | DataType::LongVarchar { length }
            | DataType::WLongVarchar { length } => text(length),
            DataType::Numeric { precision, .. } | DataType::Decimal { precision, .. } => {
                Column::Decimal {
                    len: (precision + 3).clamp(MIN_DECIMAL_TEXT, 1000),
                }
            }
            DataType::TinyInt | DataType::SmallInt | DataType::Integer | DataType::BigInt => {
                Column::Integer
            }
            DataType::Real => Column::Real,
            // FLOAT(p): single precision up to 24 binary digits, double above (and when the
            // driver gives no precision).
            DataType::Float { precision } if (1..=24).contains(&precision) => Column::Real,
            DataType::Float { .. } | DataType::Double => Column::Double,
            DataType::Bit => Column::Bit,
            DataType::Date => Column::Date,
            DataType::Timestamp { .. } => Column::Timestamp,
            DataType::Binary { .. }
            | DataType::Varbinary { .. }
            | DataType::LongVarbinary { .. } => Column::Binary,
            DataType::Other { data_type, .. }
                if data_type == odbc_api::sys::SqlDataType::EXT_GUID =>
            {
                Column::Guid
            }
            _ => return None,
        })
    }

    /// What the host is told of the column.
    pub fn column_type(self) -> ColumnType {
        match self {
            Column::Text { .. } | Column::Guid => ColumnType::Text,
            Column::Decimal { .. } => ColumnType::Decimal,
            Column::Integer => ColumnType::Integer,
            Column::Real | Column::Double => ColumnType::Float,
            Column::Bit => ColumnType::Boolean,
            Column::Date => ColumnType::Date,
            Column::Timestamp => ColumnType::Timestamp,
            Column::Binary => ColumnType::Binary,
        }
    }

    /// The buffer the column is bound to, one unit longer than the longest value read (so a
    /// longer one shows). Text is UTF-16 for `encoding = "utf-8"`, the driver's bytes for CP932
    /// or when `bytes` says the driver's UTF-16 is not to be trusted. Wide text has room for every character to be a surrogate pair;
    /// narrow text for four bytes a character (a driver's length may count UTF-8 or CP932
    /// bytes, or characters).
    pub fn buffer(self, encoding: Encoding, bytes: bool) -> BufferDesc {
        match self {
            Column::Text { chars } => match encoding {
                Encoding::Utf8 if !bytes => BufferDesc::WText {
                    max_str_len: chars * 2 + 1,
                },
                _ => BufferDesc::Text {
                    max_str_len: chars * 4 + 1,
                },
            },
            Column::Decimal { len } => BufferDesc::Text {
                max_str_len: len + 1,
            },
            Column::Integer => BufferDesc::Text {
                max_str_len: INTEGER_TEXT + 1,
            },
            Column::Guid => BufferDesc::Text {
                max_str_len: GUID_TEXT + 1,
            },
            // Fetched as a double (exact for a float's value): MariaDB Connector/ODBC writes
            // SQL_C_FLOAT values of a block fetch at a double's stride.
            Column::Real => BufferDesc::F64 { nullable: true },
            Column::Double => BufferDesc::F64 { nullable: true },
            // As text (`1`, `0`): MariaDB Connector/ODBC leaves a `BIT(1)` bound as SQL_C_BIT
            // NULL in a block fetch.
            Column::Bit => BufferDesc::Text {
                max_str_len: BIT_TEXT + 1,
            },
            Column::Date => BufferDesc::Date { nullable: true },
            Column::Timestamp => BufferDesc::Timestamp { nullable: true },
            // Only the indicator matters: NULL, or a value that cannot be a cell.
            Column::Binary => BufferDesc::Binary { max_bytes: 1 },
        }
    }

    /// The characters a text cell holds at most, for a message.
    pub fn limit(self) -> usize {
        match self {
            Column::Text { chars } => chars,
            Column::Decimal { len } => len,
            Column::Integer => INTEGER_TEXT,
            Column::Guid => GUID_TEXT,
            Column::Bit => BIT_TEXT,
            _ => 0,
        }
    }
}

/// Why a fetched value cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Unreadable {
    /// Longer than the buffer it was fetched into.
    TooLong,
    /// Not what its type sends (a NUMERIC that is no number, an unpaired surrogate).
    Malformed,
}

/// Row `row`'s value of a column read as `column` from its fetched `slice`. `scratch` holds
/// converted text (UTF-16 as UTF-8, a NUMERIC normalised). A text buffer is one unit longer
/// than the longest value read: a value that fills it was longer (or cut short by the driver).
pub fn value<'a>(
    column: Column,
    slice: AnyColumnBufferSlice<'a>,
    row: usize,
    scratch: &'a mut Vec<u8>,
) -> Result<Value<'a>, Unreadable> {
    let malformed = || Unreadable::Malformed;
    match column {
        Column::Text { .. } if slice.as_wide_text().is_some() => {
            let view = slice.as_wide_text().ok_or_else(malformed)?;
            let Some(units) = view.get(row) else {
                return Ok(Value::Null);
            };
            if units.len() >= view.max_len() {
                return Err(Unreadable::TooLong);
            }
            scratch.clear();
            let mut buf = [0u8; 4];
            for c in char::decode_utf16(units.iter().copied()) {
                let c = c.map_err(|_| Unreadable::Malformed)?;
                scratch.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            Ok(Value::Text(scratch))
        }
        Column::Text { .. }
        | Column::Decimal { .. }
        | Column::Integer
        | Column::Guid
        | Column::Bit => {
            let view = slice.as_text().ok_or_else(malformed)?;
            let Some(bytes) = view.get(row) else {
                return Ok(Value::Null);
            };
            if bytes.len() >= view.max_len() {
                return Err(Unreadable::TooLong);
            }
            match column {
                Column::Text { .. } | Column::Guid => Ok(Value::Text(bytes)),
                Column::Integer => integer(bytes),
                Column::Bit => match bytes {
                    b"1" => Ok(Value::Bool(true)),
                    b"0" => Ok(Value::Bool(false)),
                    _ => Err(Unreadable::Malformed),
                },
                _ => decimal(bytes, scratch),
            }
        }
        Column::Real => Ok(
            match slice
                .as_nullable_slice::<f64>()
                .ok_or_else(malformed)?
                .get(row)
            {
                None => Value::Null,
                // The shortest text of the REAL (`0.1`), not of its widening to f64.
                Some(f) => Value::Float((*f as f32).to_string().parse().map_err(|_| malformed())?),
            },
        ),
        Column::Double => Ok(slice
            .as_nullable_slice::<f64>()
            .ok_or_else(malformed)?
            .get(row)
            .map_or(Value::Null, |f| Value::Float(*f))),
        Column::Date => match slice
            .as_nullable_slice::<Date>()
            .ok_or_else(malformed)?
            .get(row)
        {
            None => Ok(Value::Null),
            Some(d) => date(d),
        },
        Column::Timestamp => match slice
            .as_nullable_slice::<Timestamp>()
            .ok_or_else(malformed)?
            .get(row)
        {
            None => Ok(Value::Null),
            Some(t) => timestamp(t),
        },
        Column::Binary => Ok(slice
            .as_binary()
            .ok_or_else(malformed)?
            .get(row)
            .map_or(Value::Null, |_| Value::Binary)),
    }
}

fn integer(text: &[u8]) -> Result<Value<'_>, Unreadable> {
    let text = std::str::from_utf8(text)
        .map_err(|_| Unreadable::Malformed)?
        .trim();
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Value::Int(n));
    }
    text.parse::<u64>()
        .map(Value::UInt)
        .map_err(|_| Unreadable::Malformed)
}

/// A NUMERIC's text as the exact decimal a cell holds: `-12.50` as given, `.5` (as some drivers
/// write it) as `0.5`. NaN or an infinity is not finite; anything else is malformed.
fn decimal<'a>(text: &[u8], out: &'a mut Vec<u8>) -> Result<Value<'a>, Unreadable> {
    let text = std::str::from_utf8(text)
        .map_err(|_| Unreadable::Malformed)?
        .trim();
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.trim_start_matches(['-', '+']),
        "nan" | "inf" | "infinity"
    ) {
        return Ok(Value::Infinite);
    }
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Err(Unreadable::Malformed);
    }
    out.clear();
    out.extend_from_slice(sign.as_bytes());
    out.extend_from_slice(if whole.is_empty() {
        b"0"
    } else {
        whole.as_bytes()
    });
    if digits.contains('.') {
        out.push(b'.');
        out.extend_from_slice(fraction.as_bytes());
    }
    let text = std::str::from_utf8(out).map_err(|_| Unreadable::Malformed)?;
    Ok(Value::Decimal(text))
}

fn date(d: &Date) -> Result<Value<'static>, Unreadable> {
    Ok(Value::Date {
        year: d.year.into(),
        month: u8::try_from(d.month).map_err(|_| Unreadable::Malformed)?,
        day: u8::try_from(d.day).map_err(|_| Unreadable::Malformed)?,
    })
}

fn timestamp(t: &Timestamp) -> Result<Value<'static>, Unreadable> {
    let small = |n: u16| u8::try_from(n).map_err(|_| Unreadable::Malformed);
    if t.fraction >= 1_000_000_000 {
        return Err(Unreadable::Malformed);
    }
    Ok(Value::Timestamp {
        year: t.year.into(),
        month: small(t.month)?,
        day: small(t.day)?,
        hour: small(t.hour)?,
        minute: small(t.minute)?,
        second: small(t.second)?,
        nanos: t.fraction,
    })
}

/// The error naming the first column of a type this source does not read.
pub fn unreadable_type(key: &str, name: &str, data_type: DataType) -> PluginError {
    PluginError::config(format!(
        "`{key}` returns the column `{name}` of {}, which this source does not read: cast it to text in the query (CAST({name} AS VARCHAR(n)))",
        type_name(data_type)
    ))
    .at(key)
}

/// An SQL data type as a message names it.
fn type_name(data_type: DataType) -> String {
    match data_type {
        DataType::Time { .. } => "SQL type TIME".to_owned(),
        DataType::Unknown => "an unknown SQL type".to_owned(),
        DataType::Other { data_type, .. } => format!("SQL type {}", data_type.0),
        other => format!("SQL type {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_is_kept_exact_and_a_bare_point_gets_its_zero() {
        let cases: [(&str, Result<&str, Unreadable>); 9] = [
            ("20000.00", Ok("20000.00")),
            ("-0.000001234", Ok("-0.000001234")),
            (".5000", Ok("0.5000")),
            ("-.5", Ok("-0.5")),
            ("42", Ok("42")),
            ("+7.1", Ok("7.1")),
            ("1e5", Err(Unreadable::Malformed)),
            ("", Err(Unreadable::Malformed)),
            ("1.2.3", Err(Unreadable::Malformed)),
        ];
        for (text, expected) in cases {
            let mut out = Vec::new();
            let got = decimal(text.as_bytes(), &mut out).map(|v| match v {
                Value::Decimal(d) => d.to_owned(),
                other => panic!("{other:?}"),
            });
            assert_eq!(got.as_deref(), expected.as_deref(), "{text}");
        }
        let mut out = Vec::new();
        assert_eq!(decimal(b"NaN", &mut out), Ok(Value::Infinite));
    }

    #[test]
    fn integers_signed_and_unsigned() {
        assert_eq!(integer(b"-9223372036854775808"), Ok(Value::Int(i64::MIN)));
        assert_eq!(integer(b"18446744073709551615"), Ok(Value::UInt(u64::MAX)));
        assert_eq!(integer(b"12a"), Err(Unreadable::Malformed));
    }
}
