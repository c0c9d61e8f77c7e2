//! Columns whose text must reach PMH exactly as written — the identifiers (個人番号,
//! 受給者番号, 公費負担者番号), the programme code and the join keys — and the warning `check`
//! gives when a typed source (a database) holds one as a number, which keeps no leading zeros
//! (`0012345` is stored as `12345`).

use std::collections::HashMap;
use std::fmt;

use pmhlink_model::FieldId;
use pmhlink_plugin_host::ColumnType;

use crate::mapping::{ColumnRef, Mapping, ValueSource};

/// Fields that are identifiers: their leading zeros are part of them.
const IDENTIFIERS: [FieldId; 3] = [
    FieldId::MyNumber,
    FieldId::RecipientNumber,
    FieldId::InsurerNumber,
];

/// A column the mapping reads as an identifier that its source holds as a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumericIdentifier {
    pub source: String,
    pub column: String,
    pub column_type: ColumnType,
    /// The pipeline key that reads it (`mapping.recipient_number`, `joins[0].left`, …).
    pub read_at: String,
}

impl fmt::Display for NumericIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "source {} column `{}` ({}) is held as a number ({}): a number keeps no leading zeros, so this identifier may have lost some; select it as text of its full width in the query (e.g. LPAD(CAST(col AS TEXT), 7, '0')) or store it as CHAR",
            self.source,
            self.column,
            self.read_at,
            self.column_type.name()
        )
    }
}

/// Every identifier column of `mapping` that its source says is numeric. `columns` and
/// `types` are what each source reported (a source without types gives no warning).
pub fn numeric_identifiers(
    mapping: &Mapping,
    columns: &HashMap<String, Vec<String>>,
    types: &HashMap<String, Vec<ColumnType>>,
) -> Vec<NumericIdentifier> {
    let source_name = |i: usize| {
        if i == 0 {
            &mapping.primary
        } else {
            &mapping.joins[i - 1].name
        }
    };
    let mut read: Vec<(ColumnRef, String)> = Vec::new();
    for f in &mapping.fields {
        if let (true, ValueSource::Column(c)) = (IDENTIFIERS.contains(&f.field), &f.value.source) {
            read.push((*c, format!("mapping.{}", f.field.name())));
        }
    }
    read.push((mapping.program_column, "program.column".into()));
    for (i, j) in mapping.joins.iter().enumerate() {
        read.push((j.left, format!("joins[{i}].left")));
        let right = ColumnRef {
            source: i + 1,
            column: j.right_column,
        };
        read.push((right, format!("joins[{i}].right")));
    }
    read.into_iter()
        .filter_map(|(at, read_at)| {
            let source = source_name(at.source);
            let column_type = *types.get(source)?.get(at.column)?;
            column_type.is_numeric().then(|| NumericIdentifier {
                source: source.clone(),
                column: columns[source][at.column].clone(),
                column_type,
                read_at,
            })
        })
        .collect()
}
