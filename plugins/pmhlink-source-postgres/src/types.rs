//! PostgreSQL's binary wire values as [`pmhlink_sql::Value`]s. Every column is taken as the
//! server's raw bytes ([`Raw`]) and decoded here by its type, so text keeps its stored bytes
//! (decoded later in the source's `encoding`) and NUMERIC its exact digits.

use std::fmt::Write as _;

use pmhlink_pdk::{ColumnType, PluginError};
use pmhlink_sql::Value;
use postgres::types::{FromSql, Kind, Type};

/// How a column's values are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    Text,
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    Date,
    Timestamp,
    Binary,
}

impl Column {
    /// The reading of a column of type `ty`, or `None` for a type this source does not read.
    pub fn of(ty: &Type) -> Option<Column> {
        match ty.kind() {
            Kind::Domain(inner) => return Column::of(inner),
            // An enum's value is its label, as text.
            Kind::Enum(_) => return Some(Column::Text),
            _ => {}
        }
        Some(match *ty {
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::CHAR | Type::UNKNOWN => {
                Column::Text
            }
            Type::BOOL => Column::Bool,
            Type::INT2 => Column::Int2,
            Type::INT4 => Column::Int4,
            Type::INT8 => Column::Int8,
            Type::OID => Column::Oid,
            Type::FLOAT4 => Column::Float4,
            Type::FLOAT8 => Column::Float8,
            Type::NUMERIC => Column::Numeric,
            Type::DATE => Column::Date,
            // TIMESTAMPTZ's wire value is UTC: the cell is UTC time.
            Type::TIMESTAMP | Type::TIMESTAMPTZ => Column::Timestamp,
            Type::BYTEA => Column::Binary,
            _ => return None,
        })
    }

    /// What the host is told of the column.
    pub fn column_type(self) -> ColumnType {
        match self {
            Column::Text => ColumnType::Text,
            Column::Bool => ColumnType::Boolean,
            Column::Int2 | Column::Int4 | Column::Int8 | Column::Oid => ColumnType::Integer,
            Column::Float4 | Column::Float8 => ColumnType::Float,
            Column::Numeric => ColumnType::Decimal,
            Column::Date => ColumnType::Date,
            Column::Timestamp => ColumnType::Timestamp,
            Column::Binary => ColumnType::Binary,
        }
    }

    /// The column's value from its wire bytes (`None` for NULL). `scratch` holds a NUMERIC's
    /// text. A value whose bytes are not what its type sends is an error (never guessed).
    pub fn value<'a>(
        self,
        raw: Option<&'a [u8]>,
        scratch: &'a mut String,
    ) -> Result<Value<'a>, Malformed> {
        let Some(raw) = raw else {
            return Ok(Value::Null);
        };
        Ok(match self {
            Column::Text => Value::Text(raw),
            Column::Binary => Value::Binary,
            Column::Bool => Value::Bool(fixed::<1>(raw)? != [0]),
            Column::Int2 => Value::Int(i16::from_be_bytes(fixed(raw)?).into()),
            Column::Int4 => Value::Int(i32::from_be_bytes(fixed(raw)?).into()),
            Column::Int8 => Value::Int(i64::from_be_bytes(fixed(raw)?)),
            Column::Oid => Value::UInt(u32::from_be_bytes(fixed(raw)?).into()),
            // The shortest text of the f32 (`0.1`, as PostgreSQL prints it), not of its
            // widening to f64 (`0.10000000149011612`): read back as f64, it prints the same.
            Column::Float4 => Value::Float(
                f32::from_be_bytes(fixed(raw)?)
                    .to_string()
                    .parse()
                    .map_err(|_| Malformed)?,
            ),
            Column::Float8 => Value::Float(f64::from_be_bytes(fixed(raw)?)),
            Column::Numeric => {
                if !numeric_text(raw, scratch)? {
                    return Ok(Value::Infinite);
                }
                Value::Decimal(scratch)
            }
            Column::Date => {
                let days = i32::from_be_bytes(fixed(raw)?);
                if days == i32::MAX || days == i32::MIN {
                    return Ok(Value::Infinite);
                }
                let (year, month, day) = civil(days.into());
                Value::Date { year, month, day }
            }
            Column::Timestamp => {
                let micros = i64::from_be_bytes(fixed(raw)?);
                if micros == i64::MAX || micros == i64::MIN {
                    return Ok(Value::Infinite);
                }
                const DAY: i64 = 86_400_000_000;
                let (year, month, day) = civil(micros.div_euclid(DAY));
                let in_day = micros.rem_euclid(DAY);
                let secs = in_day / 1_000_000;
                Value::Timestamp {
                    year,
                    month,
                    day,
                    hour: u8::try_from(secs / 3600).map_err(|_| Malformed)?,
                    minute: u8::try_from(secs / 60 % 60).map_err(|_| Malformed)?,
                    second: u8::try_from(secs % 60).map_err(|_| Malformed)?,
                    nanos: u32::try_from(in_day % 1_000_000 * 1000).map_err(|_| Malformed)?,
                }
            }
        })
    }
}

/// A wire value that is not what its type sends.
#[derive(Debug)]
pub struct Malformed;

fn fixed<const N: usize>(raw: &[u8]) -> Result<[u8; N], Malformed> {
    raw.try_into().map_err(|_| Malformed)
}

/// Year, month, day of `days` after 2000-01-01 (PostgreSQL's epoch), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn civil(days: i64) -> (i32, u8, u8) {
    let z = days + 10_957 + 719_468; // to 1970-01-01, then to 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // A PostgreSQL date is within years -4713..5874897: these always fit.
    (year as i32, month as u8, day as u8)
}

/// NUMERIC's binary form (`ndigits`, `weight`, `sign`, `dscale`, then base-10000 digits) as
/// its exact decimal text in `out`, with `dscale` fraction digits as PostgreSQL prints it.
/// `false` for NaN and the infinities.
fn numeric_text(raw: &[u8], out: &mut String) -> Result<bool, Malformed> {
    out.clear();
    let word = |i: usize| -> Result<u16, Malformed> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(Malformed)
    };
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = usize::from(word(3)?);
    if raw.len() != 8 + 2 * ndigits {
        return Err(Malformed);
    }
    match sign {
        0x0000 => {}
        0x4000 => out.push('-'),
        0xC000 | 0xD000 | 0xF000 => return Ok(false),
        _ => return Err(Malformed),
    }
    // The base-10000 digit of weight `w` (10000^w), zero outside the stored ones.
    let digit = |w: i64| -> Result<u16, Malformed> {
        let i = weight - w;
        if i < 0 || i >= ndigits as i64 {
            return Ok(0);
        }
        let d = word(4 + i as usize)?;
        if d > 9999 { Err(Malformed) } else { Ok(d) }
    };
    if weight < 0 {
        out.push('0');
    } else {
        write!(out, "{}", digit(weight)?).expect("writing to a String");
        for w in (0..weight).rev() {
            write!(out, "{:04}", digit(w)?).expect("writing to a String");
        }
    }
    if dscale > 0 {
        out.push('.');
        let start = out.len();
        let mut w = -1;
        while out.len() - start < dscale {
            write!(out, "{:04}", digit(w)?).expect("writing to a String");
            w -= 1;
        }
        out.truncate(start + dscale);
    }
    Ok(true)
}

/// A column's value as the server sent it: any type, the raw wire bytes (`None` for NULL).
pub struct Raw<'a>(pub Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The readings of a prepared statement's columns, or the error naming the first column of a
/// type this source does not read.
pub fn columns(statement: &postgres::Statement, key: &str) -> Result<Vec<Column>, PluginError> {
    statement
        .columns()
        .iter()
        .map(|c| {
            Column::of(c.type_()).ok_or_else(|| {
                PluginError::config(format!(
                    "`{key}` returns the column `{}` of type `{}`, which this source does not read: cast it to text in the query (`{}::text`)",
                    c.name(),
                    c.type_().name(),
                    c.name()
                ))
                .at(key)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(words: &[u16]) -> Option<String> {
        let raw: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
        let mut out = String::new();
        numeric_text(&raw, &mut out).unwrap().then_some(out)
    }

    #[test]
    fn numeric_wire_digits_become_exact_text() {
        // (ndigits, weight, sign, dscale, digits…) → text, as PostgreSQL prints it.
        let cases: [(&[u16], Option<&str>); 8] = [
            (&[0, 0, 0, 0], Some("0")),
            (&[0, 0, 0, 2], Some("0.00")),
            (&[1, 0, 0, 0, 2000], Some("2000")),
            (&[2, 1, 0, 0, 2, 0], Some("20000")),
            (&[1, (-1i16) as u16, 0, 2, 1000], Some("0.10")),
            (&[3, 0, 0x4000, 5, 12, 3456, 7000], Some("-12.34567")),
            (&[2, 4, 0, 0, 1, 2], Some("10002000000000000")),
            (&[0, 0, 0xC000, 0], None),
        ];
        for (words, text) in cases {
            assert_eq!(numeric(words).as_deref(), text, "{words:?}");
        }
    }

    #[test]
    fn days_after_2000_become_calendar_dates() {
        for (days, ymd) in [
            (0, (2000, 1, 1)),
            (-1, (1999, 12, 31)),
            (59, (2000, 2, 29)),
            (9222, (2025, 4, 1)),
            (-36_524, (1900, 1, 1)),
        ] {
            assert_eq!(civil(days), ymd, "{days}");
        }
    }
}
