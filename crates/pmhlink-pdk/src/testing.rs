//! Helpers for a plugin's own unit tests: call the plugin directly (no ABI, no built library)
//! and look at its batches as plain rows. The conformance kit (feature `conformance`) checks
//! the built library the way pmhlink loads it; these are for testing what the rows are.
//!
//! ```ignore
//! let mut source = open(Config { path: fixture("damaged.tsv"), skip_comments: true })?;
//! let read = pmhlink_pdk::testing::read_to_end(&mut source, 100)?;
//! assert_eq!(read.errors(), [(3, "line 3: 2 cells where the header names 3")]);
//! ```

use pmhlink_plugin_api::RBatch;

use crate::{PluginError, SourcePlugin};

/// One row of a batch as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
    /// The row error, if the source flagged the row.
    pub error: Option<String>,
}

/// The rows of one batch, in order.
///
/// # Panics
/// If the batch is malformed (the host would refuse it as a protocol error).
pub fn rows(batch: &RBatch) -> Vec<Row> {
    if let Err(e) = batch.validate() {
        panic!("malformed batch (the host refuses it): {e:?}");
    }
    let mut rows: Vec<Row> = (0..batch.rows())
        .map(|i| Row {
            line: batch.line(i),
            cells: batch.row(i).map(str::to_owned).collect(),
            error: None,
        })
        .collect();
    for e in batch.row_errors() {
        rows[e.row as usize].error = Some(e.message.to_string());
    }
    rows
}

/// Everything a source yielded, read to its end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Read {
    pub rows: Vec<Row>,
    /// The number of rows of each batch.
    pub batches: Vec<usize>,
}

impl Read {
    /// The cells of every row, in order.
    pub fn cells(&self) -> Vec<Vec<&str>> {
        self.rows
            .iter()
            .map(|r| r.cells.iter().map(String::as_str).collect())
            .collect()
    }

    /// The line of each row.
    pub fn lines(&self) -> Vec<u64> {
        self.rows.iter().map(|r| r.line).collect()
    }

    /// (line, message) of every row error.
    pub fn errors(&self) -> Vec<(u64, &str)> {
        self.rows
            .iter()
            .filter_map(|r| r.error.as_deref().map(|e| (r.line, e)))
            .collect()
    }
}

/// Calls `next_batch(max_rows)` until `None`, checking what the host checks of every batch:
/// well-formed, 1 to `max_rows` rows, line numbers strictly increasing; and that the end stays
/// the end. A plugin error is returned; a broken rule panics, naming it.
pub fn read_to_end(source: &mut impl SourcePlugin, max_rows: usize) -> Result<Read, PluginError> {
    let mut read = Read::default();
    while let Some(batch) = source.next_batch(max_rows)? {
        let rows = rows(&batch);
        assert!(
            !rows.is_empty() && rows.len() <= max_rows,
            "a batch of {} rows for max_rows = {max_rows} (1 to max_rows)",
            rows.len()
        );
        for row in rows {
            if let Some(last) = read.rows.last() {
                assert!(
                    row.line > last.line,
                    "line {} after line {}: line numbers must strictly increase",
                    row.line,
                    last.line
                );
            }
            read.rows.push(row);
        }
        read.batches.push(batch.rows());
    }
    assert!(
        source.next_batch(max_rows)?.is_none(),
        "a batch after the end (None must stay None)"
    );
    Ok(read)
}

#[cfg(test)]
mod tests {
    use pmhlink_plugin_api::BatchBuilder;

    use super::*;

    /// Three rows, the second flagged, in batches of `max_rows`.
    struct Three {
        next: u64,
    }

    impl SourcePlugin for Three {
        fn check(&self) -> Result<(), PluginError> {
            Ok(())
        }

        fn discover(&self) -> Result<Vec<String>, PluginError> {
            Ok(vec!["n".into()])
        }

        fn next_batch(&mut self, max_rows: usize) -> Result<Option<RBatch>, PluginError> {
            let mut batch = BatchBuilder::new();
            while crate::batch::has_room(&batch, max_rows) && self.next < 3 {
                self.next += 1;
                batch.push_cell(&self.next.to_string());
                if self.next == 2 {
                    batch.row_error("line 4: 1 cell where the header names 2");
                }
                batch.end_row(self.next * 2);
            }
            Ok((batch.rows() > 0).then(|| batch.finish()))
        }
    }

    #[test]
    fn a_source_read_to_its_end_as_plain_rows() {
        let read = read_to_end(&mut Three { next: 0 }, 2).unwrap();
        assert_eq!(read.batches, [2, 1]);
        assert_eq!(read.cells(), [["1"], ["2"], ["3"]]);
        assert_eq!(read.lines(), [2, 4, 6]);
        assert_eq!(
            read.errors(),
            [(4, "line 4: 1 cell where the header names 2")]
        );
    }
}
