//! A column's type as a typed source (a database) knows it. It crosses the boundary as its
//! name ([`ColumnType::name`]), so a type added later reads as [`ColumnType::Other`] in an
//! older host instead of breaking it.

/// What kind of value a column holds, as far as the host needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// Character data (`CHAR`, `VARCHAR`, `TEXT`, …).
    Text,
    /// A whole number (`INTEGER`, `BIGINT`, `SMALLINT`, …).
    Integer,
    /// An exact decimal (`NUMERIC`, `DECIMAL`).
    Decimal,
    /// A binary floating-point number (`REAL`, `DOUBLE`).
    Float,
    Boolean,
    Date,
    Timestamp,
    /// Bytes (`BLOB`, `BYTEA`, `VARBINARY`): never a cell.
    Binary,
    /// Anything else, or a name this host does not know.
    Other,
}

impl ColumnType {
    pub const ALL: [ColumnType; 9] = [
        ColumnType::Text,
        ColumnType::Integer,
        ColumnType::Decimal,
        ColumnType::Float,
        ColumnType::Boolean,
        ColumnType::Date,
        ColumnType::Timestamp,
        ColumnType::Binary,
        ColumnType::Other,
    ];

    /// The name it crosses the boundary as.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Decimal => "decimal",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Binary => "binary",
            ColumnType::Other => "other",
        }
    }

    /// The type of `name`; [`ColumnType::Other`] for a name this host does not know.
    pub fn from_name(name: &str) -> ColumnType {
        ColumnType::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .unwrap_or(ColumnType::Other)
    }

    /// A number: it keeps no leading zeros, so an identifier stored as one has lost them.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            ColumnType::Integer | ColumnType::Decimal | ColumnType::Float
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_reads_back_from_its_name_and_an_unknown_name_is_other() {
        for t in ColumnType::ALL {
            assert_eq!(ColumnType::from_name(t.name()), t);
        }
        assert_eq!(ColumnType::from_name("interval"), ColumnType::Other);
        assert_eq!(ColumnType::from_name(""), ColumnType::Other);
    }
}
