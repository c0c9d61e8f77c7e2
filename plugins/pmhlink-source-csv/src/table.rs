//! Which fields of a record become cells, and the row errors of a record.

use csv::ByteRecord;
use pmhlink_pdk::{PluginError, api::BatchBuilder};

use crate::{
    config::{Columns, Settings},
    reader::Records,
};

/// How many fields every record should have.
#[derive(Debug, Clone, Copy)]
enum Width {
    Header(usize),
    Columns(usize),
    /// Known by position only: the first row sets it.
    FirstRow(Option<usize>),
}

pub struct Table {
    /// Field index of each cell, in cell order.
    fields: Vec<usize>,
    /// Column name of each cell.
    names: Vec<String>,
    /// The names were written in the settings (`columns`), not read from the file: only then
    /// may a message show them, since a file exported without its header line has a
    /// resident's data where the names should be.
    declared: bool,
    width: Width,
}

impl Table {
    /// Reads the header when there is one.
    pub fn resolve(settings: &Settings, records: &mut Records) -> Result<Self, PluginError> {
        let file = &settings.file_name;
        let (names, positions, explicit) = match &settings.columns {
            Columns::Positional {
                names,
                positions,
                explicit,
            } => (names, positions, *explicit),
            columns => {
                let header = read_header(settings, records)?;
                let fields = match columns {
                    Columns::FromHeader(wanted) => select(file, &header, wanted)?,
                    _ => (0..header.len()).collect(),
                };
                return Ok(Self {
                    names: fields.iter().map(|&f| header[f].clone()).collect(),
                    fields,
                    declared: matches!(columns, Columns::FromHeader(_)),
                    width: Width::Header(header.len()),
                });
            }
        };
        Ok(Self {
            fields: positions.clone(),
            names: names.clone(),
            declared: true,
            width: if explicit {
                Width::FirstRow(None)
            } else {
                Width::Columns(names.len())
            },
        })
    }

    /// A cell's column for a message: its number, and its name when the settings declared it.
    fn label(&self, field: usize, name: &str) -> String {
        if self.declared {
            format!("column {} (`{name}`)", field + 1)
        } else {
            format!("column {}", field + 1)
        }
    }

    /// Column names, in cell order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Appends one record as a row. A row whose field count is off, or with a cell that does
    /// not decode, is still yielded (with the cells it has) and carries a row error.
    pub fn push_row(
        &mut self,
        settings: &Settings,
        line: u64,
        record: &ByteRecord,
        batch: &mut BatchBuilder,
    ) {
        let file = &settings.file_name;
        let n = record.len();
        let expected = match &mut self.width {
            Width::Header(w) => (*w, "the header has"),
            Width::Columns(w) => (*w, "`columns` names"),
            Width::FirstRow(w) => (*w.get_or_insert(n), "the first row has"),
        };
        let misfit = n != expected.0;
        if misfit {
            let (w, what) = expected;
            batch.row_error(format!("{file} line {line}: {n} fields, {what} {w}"));
        }
        for (&field, name) in self.fields.iter().zip(&self.names) {
            let Some(bytes) = record.get(field) else {
                // Cells are positional: stop at the first missing one rather than shift the
                // rest into the wrong columns.
                if !misfit {
                    batch.row_error(format!(
                        "{file} line {line}: {n} fields, none for {}",
                        self.label(field, name)
                    ));
                }
                break;
            };
            match settings.encoding.decode(bytes) {
                Ok(text) => batch.push_cell(&text),
                Err(offset) => {
                    batch.row_error(format!(
                        "{file} line {line}, {}: malformed {} byte at offset {offset}",
                        self.label(field, name),
                        settings.encoding.name()
                    ));
                    batch.push_cell("");
                }
            }
        }
        batch.end_row(line);
    }
}

fn read_header(settings: &Settings, records: &mut Records) -> Result<Vec<String>, PluginError> {
    let file = &settings.file_name;
    let Some((line, record)) = records.next_record()? else {
        return Err(PluginError::data(format!(
            "{file} has no header line (the file is empty); set header = false if it has none"
        ))
        .at(file.as_str()));
    };
    record
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            settings
                .encoding
                .decode(bytes)
                .map(|name| name.into_owned())
                .map_err(|offset| {
                    PluginError::data(format!(
                        "{file} line {line}, column {}: header name has a malformed {} byte at offset {offset}",
                        i + 1,
                        settings.encoding.name()
                    ))
                    .at(format!("{file}:{line}"))
                })
        })
        .collect()
}

/// Field indices of the wanted columns; each must appear in the header exactly once.
fn select(file: &str, header: &[String], wanted: &[String]) -> Result<Vec<usize>, PluginError> {
    wanted
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut found = header.iter().enumerate().filter(|(_, h)| *h == name);
            match (found.next(), found.next()) {
                (Some((f, _)), None) => Ok(f),
                (None, _) => Err(PluginError::config(format!(
                    "{file}: the header has no column `{name}`"
                ))
                .at(format!("columns[{i}]"))),
                (Some((a, _)), Some((b, _))) => Err(PluginError::config(format!(
                    "{file}: the header has column `{name}` twice (columns {} and {})",
                    a + 1,
                    b + 1
                ))
                .at(format!("columns[{i}]"))),
            }
        })
        .collect()
}
