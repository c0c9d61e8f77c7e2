//! Rows of text cells as the host keeps them: packed into one string with cell offsets, so a
//! joined source of a million rows costs a few allocations, not one per cell.

/// A block of rows from one source, with the source line of each row and the rows the plugin
/// could not read.
#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<String>,
    text: String,
    cell_ends: Vec<usize>,
    /// Index into `cell_ends` where each row's cells end.
    row_ends: Vec<usize>,
    lines: Vec<u64>,
    /// Rows the source could not read, by row index, in order; the message names a position.
    errors: Vec<(usize, String)>,
}

impl Table {
    pub fn new(columns: Vec<String>) -> Self {
        Table {
            columns,
            ..Default::default()
        }
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    pub fn push_row<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>, line: u64) {
        for cell in cells {
            self.text.push_str(cell);
            self.cell_ends.push(self.text.len());
        }
        self.row_ends.push(self.cell_ends.len());
        self.lines.push(line);
    }

    /// Marks the last pushed row as unreadable.
    pub fn mark_error(&mut self, message: String) {
        let row = self.len().checked_sub(1).expect("a row to mark");
        self.errors.push((row, message));
    }

    pub fn len(&self) -> usize {
        self.row_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_ends.is_empty()
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cell_ends.clear();
        self.row_ends.clear();
        self.lines.clear();
        self.errors.clear();
    }

    fn cells_of(&self, row: usize) -> std::ops::Range<usize> {
        let start = if row == 0 { 0 } else { self.row_ends[row - 1] };
        start..self.row_ends[row]
    }

    /// The cell at (row, column); a row shorter than the header reads as empty cells.
    pub fn cell(&self, row: usize, column: usize) -> &str {
        let cells = self.cells_of(row);
        if column >= cells.len() {
            return "";
        }
        let i = cells.start + column;
        let start = if i == 0 { 0 } else { self.cell_ends[i - 1] };
        &self.text[start..self.cell_ends[i]]
    }

    pub fn width(&self, row: usize) -> usize {
        self.cells_of(row).len()
    }

    pub fn line(&self, row: usize) -> u64 {
        self.lines[row]
    }

    pub fn error(&self, row: usize) -> Option<&str> {
        self.errors
            .binary_search_by_key(&row, |(r, _)| *r)
            .ok()
            .map(|i| self.errors[i].1.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_rows_read_back() {
        let mut t = Table::new(vec!["a".into(), "b".into()]);
        t.push_row(["1", "愛知"], 2);
        t.push_row(["", "x"], 3);
        t.push_row(["only"], 4);
        t.mark_error("line 4: short".into());
        assert_eq!(
            (t.cell(0, 0), t.cell(0, 1), t.cell(1, 0), t.cell(1, 1)),
            ("1", "愛知", "", "x")
        );
        assert_eq!((t.cell(2, 0), t.cell(2, 1), t.width(2)), ("only", "", 1));
        assert_eq!(
            (t.line(1), t.error(1), t.error(2)),
            (3, None, Some("line 4: short"))
        );
        assert_eq!(t.column("b"), Some(1));
    }
}
