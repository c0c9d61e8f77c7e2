//! Rows of text cells, packed so a batch costs a handful of allocations rather than one per
//! cell: all cells live in one string and rows are offset ranges into it.

use std::fmt;

use abi_stable::{
    StableAbi,
    std_types::{RString, RVec},
};

/// A row the plugin could not decode (e.g. a malformed CP932 byte).
///
/// The row still appears in the batch with whatever cells it has, possibly none.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, PartialEq, Eq)]
pub struct RRowError {
    /// Index of the row in its batch.
    pub row: u32,
    /// Names the line and column; never the content.
    pub message: RString,
}

/// A batch of rows read by a source.
///
/// Built with [`BatchBuilder`]. The host must call [`RBatch::validate`] on a batch received
/// from a plugin; the accessors never panic or read out of bounds even on an invalid batch,
/// they just yield empty cells.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq, Default)]
pub struct RBatch {
    text: RString,
    /// End offset in `text` of each cell.
    cell_ends: RVec<u32>,
    /// End index in `cell_ends` of each row.
    row_ends: RVec<u32>,
    /// Source line (1-based) of each row.
    lines: RVec<u64>,
    row_errors: RVec<RRowError>,
}

/// Why a batch received from a plugin is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    pub problem: &'static str,
    pub index: usize,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed batch: {} (index {})",
            self.problem, self.index
        )
    }
}

impl std::error::Error for BatchError {}

impl RBatch {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.row_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_ends.is_empty()
    }

    /// The cells of row `i`.
    ///
    /// # Panics
    /// If `i >= self.rows()`, like slice indexing.
    pub fn row(&self, i: usize) -> RowCells<'_> {
        let end = self.row_ends[i] as usize;
        let start = if i == 0 {
            0
        } else {
            self.row_ends[i - 1] as usize
        };
        let ends = self.cell_ends.get(start..end).unwrap_or(&[]);
        let text_start = match start.checked_sub(1) {
            Some(prev) => self.cell_ends.get(prev).copied().unwrap_or(0) as usize,
            None => 0,
        };
        RowCells {
            text: &self.text,
            ends,
            start: text_start,
        }
    }

    /// Source line (1-based) of row `i`; 0 if the plugin did not give one.
    pub fn line(&self, i: usize) -> u64 {
        self.lines.get(i).copied().unwrap_or(0)
    }

    pub fn row_errors(&self) -> &[RRowError] {
        &self.row_errors
    }

    /// Total number of cells.
    pub fn cells(&self) -> usize {
        self.cell_ends.len()
    }

    /// Bytes of cell text.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Checks the offsets a plugin sent: every cell on a UTF-8 boundary within the text, every
    /// cell in a row, one line number per row, row errors pointing at rows.
    pub fn validate(&self) -> Result<(), BatchError> {
        let bad = |problem, index| Err(BatchError { problem, index });
        let mut prev = 0;
        for (i, &end) in self.cell_ends.iter().enumerate() {
            let end = end as usize;
            if end < prev || !self.text.is_char_boundary(end) {
                return bad(
                    "cell end out of order, out of range or inside a character",
                    i,
                );
            }
            prev = end;
        }
        if prev != self.text.len() {
            return bad("text longer than its cells", self.cell_ends.len());
        }
        let mut prev = 0;
        for (i, &end) in self.row_ends.iter().enumerate() {
            let end = end as usize;
            if end < prev || end > self.cell_ends.len() {
                return bad("row end out of order or out of range", i);
            }
            prev = end;
        }
        if prev != self.cell_ends.len() {
            return bad("cells after the last row", prev);
        }
        if self.lines.len() != self.row_ends.len() {
            return bad("line count differs from row count", self.lines.len());
        }
        if let Some(i) = self
            .row_errors
            .iter()
            .position(|e| e.row as usize >= self.row_ends.len())
        {
            return bad("row error for a row that does not exist", i);
        }
        Ok(())
    }
}

// Cells are record content: never print them.
impl fmt::Debug for RBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RBatch")
            .field("rows", &self.rows())
            .field("cells", &self.cells())
            .field("text_bytes", &self.text_len())
            .field("row_errors", &self.row_errors.len())
            .finish()
    }
}

/// The cells of one row, as `&str`.
#[derive(Clone)]
pub struct RowCells<'a> {
    text: &'a str,
    ends: &'a [u32],
    start: usize,
}

impl<'a> Iterator for RowCells<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let (&end, rest) = self.ends.split_first()?;
        let end = end as usize;
        let cell = self.text.get(self.start..end).unwrap_or("");
        self.start = end;
        self.ends = rest;
        Some(cell)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.ends.len(), Some(self.ends.len()))
    }
}

impl ExactSizeIterator for RowCells<'_> {}

/// Builds an [`RBatch`] row by row.
///
/// ```
/// # use pmhlink_plugin_api::BatchBuilder;
/// let mut b = BatchBuilder::new();
/// b.push_cell("a");
/// b.push_cell("b");
/// b.end_row(2);
/// let batch = b.finish();
/// assert_eq!(batch.row(0).collect::<Vec<_>>(), ["a", "b"]);
/// ```
#[derive(Default)]
pub struct BatchBuilder {
    text: String,
    cell_ends: Vec<u32>,
    row_ends: Vec<u32>,
    lines: Vec<u64>,
    row_errors: Vec<RRowError>,
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(rows: usize, cells: usize, text_bytes: usize) -> Self {
        Self {
            text: String::with_capacity(text_bytes),
            cell_ends: Vec::with_capacity(cells),
            row_ends: Vec::with_capacity(rows),
            lines: Vec::with_capacity(rows),
            row_errors: Vec::new(),
        }
    }

    /// Appends a cell to the current row.
    ///
    /// # Panics
    /// If the batch text would exceed 4 GiB; cut batches by [`Self::text_len`] long before.
    pub fn push_cell(&mut self, cell: &str) {
        self.text.push_str(cell);
        let end = u32::try_from(self.text.len()).expect("batch text exceeds 4 GiB");
        self.cell_ends.push(end);
    }

    /// Records that the current row (the one [`Self::end_row`] will close) could not be
    /// decoded. `message` names line and column, never content.
    pub fn row_error(&mut self, message: impl Into<RString>) {
        let row = u32::try_from(self.row_ends.len()).expect("batch exceeds u32::MAX rows");
        self.row_errors.push(RRowError {
            row,
            message: message.into(),
        });
    }

    /// Closes the current row, read from source line `line` (1-based).
    pub fn end_row(&mut self, line: u64) {
        let end = u32::try_from(self.cell_ends.len()).expect("batch exceeds u32::MAX cells");
        self.row_ends.push(end);
        self.lines.push(line);
    }

    /// Rows closed so far.
    pub fn rows(&self) -> usize {
        self.row_ends.len()
    }

    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// # Panics
    /// If a row was started (a cell pushed or an error recorded) but not ended: dropping it
    /// silently would lose data.
    pub fn finish(self) -> RBatch {
        let closed = self.row_ends.last().copied().unwrap_or(0) as usize;
        assert!(
            closed == self.cell_ends.len()
                && self
                    .row_errors
                    .last()
                    .is_none_or(|e| (e.row as usize) < self.row_ends.len()),
            "BatchBuilder::finish with an unfinished row"
        );
        RBatch {
            text: self.text.into(),
            cell_ends: self.cell_ends.into(),
            row_ends: self.row_ends.into(),
            lines: self.lines.into(),
            row_errors: self.row_errors.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(b: &RBatch, i: usize) -> Vec<&str> {
        b.row(i).collect()
    }

    #[test]
    fn round_trips_rows_including_empty_ones() {
        let mut b = BatchBuilder::with_capacity(3, 4, 16);
        b.push_cell("名前");
        b.push_cell("");
        b.end_row(2);
        b.row_error("line 3, column 5: invalid CP932 byte");
        b.end_row(3);
        b.push_cell("x");
        b.push_cell("yz");
        b.end_row(4);
        let batch = b.finish();
        batch.validate().unwrap();
        assert_eq!(batch.rows(), 3);
        assert_eq!(cells(&batch, 0), ["名前", ""]);
        assert!(cells(&batch, 1).is_empty());
        assert_eq!(cells(&batch, 2), ["x", "yz"]);
        assert_eq!(batch.row(2).len(), 2);
        assert_eq!((batch.line(0), batch.line(2)), (2, 4));
        assert_eq!(batch.row_errors()[0].row, 1);
    }

    #[test]
    fn debug_does_not_show_cells() {
        let mut b = BatchBuilder::new();
        b.push_cell("山田太郎");
        b.end_row(1);
        let shown = format!("{:?}", b.finish());
        assert!(!shown.contains("山田"), "{shown}");
    }

    #[test]
    #[should_panic(expected = "unfinished row")]
    fn finish_refuses_an_open_row() {
        let mut b = BatchBuilder::new();
        b.push_cell("a");
        b.finish();
    }

    #[test]
    fn validate_catches_offsets_inside_a_character() {
        let batch = RBatch {
            text: "名".into(),
            cell_ends: vec![1, 3].into(),
            row_ends: vec![2].into(),
            lines: vec![1].into(),
            row_errors: RVec::new(),
        };
        assert_eq!(batch.validate().unwrap_err().index, 0);
        // Accessors stay safe on the invalid batch.
        assert_eq!(cells(&batch, 0), ["", ""]);
    }

    #[test]
    fn validate_catches_missing_lines_and_stray_cells() {
        let mut ok = BatchBuilder::new();
        ok.push_cell("a");
        ok.end_row(1);
        let ok = ok.finish();
        let mut no_lines = ok.clone();
        no_lines.lines = RVec::new();
        assert!(no_lines.validate().is_err());
        let mut stray = ok.clone();
        stray.row_ends = RVec::new();
        stray.lines = RVec::new();
        assert!(stray.validate().is_err());
    }
}
