//! Where a database source's failure happened, and the words every message about a read
//! starts with, so that every database plugin names the row a read stopped at alike.

/// Where a failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Connecting and setting up the session.
    Connect,
    /// Preparing the statement (`check`, `discover`, or before the read).
    Prepare,
    /// Executing the statement or fetching its rows, the next being row `row` (1-based).
    Read { row: u64 },
}

impl Stage {
    /// Whether rows were being read.
    pub fn reading(self) -> bool {
        matches!(self, Stage::Read { .. })
    }

    /// What a message about this stage starts with: `reading stopped at row N: ` while rows
    /// are read, nothing before.
    pub fn prefix(self) -> String {
        match self {
            Stage::Read { row } => format!("reading stopped at row {row}: "),
            Stage::Connect | Stage::Prepare => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Stage;

    #[test]
    fn only_a_read_names_its_row() {
        assert_eq!(
            Stage::Read { row: 7 }.prefix(),
            "reading stopped at row 7: "
        );
        assert_eq!(Stage::Connect.prefix(), "");
        assert_eq!(Stage::Prepare.prefix(), "");
        assert!(Stage::Read { row: 1 }.reading() && !Stage::Prepare.reading());
    }
}
