//! Which PMH sync a run feeds: diff-history, full, or a reset.

/// Which PMH sync the run feeds (§4 of the interface notes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncKind {
    /// Diff-history sync (E05/E06): only what changed is sent; a removal is an explicit
    /// `isDeleted` record.
    Diff,
    /// Full sync (E01/E02): every row is sent daily; absence is deletion.
    Full,
    /// Diff-history with reset (E11/E12): the set sent becomes the whole new baseline.
    ///
    /// Decides exactly like [`SyncKind::Full`] here, since both send the complete set; it is
    /// kept apart because the caller picks another endpoint and reports name it.
    Reset,
}

impl SyncKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncKind::Diff => "diff",
            SyncKind::Full => "full",
            SyncKind::Reset => "reset",
        }
    }

    /// True when every row PMH should keep has to be in today's upload.
    pub fn sends_whole_set(self) -> bool {
        matches!(self, SyncKind::Full | SyncKind::Reset)
    }
}
