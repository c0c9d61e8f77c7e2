//! How big a source's batch may grow: the host asks for at most `max_rows` rows, and a batch
//! also stops at [`TEXT_LIMIT`] bytes of cell text, so memory stays bounded on files with very
//! long lines (and far below the batch format's 4 GiB limit).

use pmhlink_plugin_api::BatchBuilder;

/// Cell text at which a batch stops growing, whatever `max_rows` says.
pub const TEXT_LIMIT: usize = 8 << 20;

/// Whether `batch` may take another row: fewer than `max_rows` rows and less than
/// [`TEXT_LIMIT`] bytes of text so far. Loop `while has_room(&batch, max_rows)`.
pub fn has_room(batch: &BatchBuilder, max_rows: usize) -> bool {
    batch.rows() < max_rows && batch.text_len() < TEXT_LIMIT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_stops_at_max_rows_or_at_the_text_limit() {
        let mut batch = BatchBuilder::new();
        assert!(has_room(&batch, 1));
        batch.push_cell("a");
        batch.end_row(1);
        assert!(!has_room(&batch, 1));
        assert!(has_room(&batch, 2));
        let long = "x".repeat(TEXT_LIMIT);
        batch.push_cell(&long);
        batch.end_row(2);
        assert!(!has_room(&batch, 1000));
    }
}
