//! What the diff does with one history row: register, update, delete, re-send, keep, omit.

/// What is done with one history row in this run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// New row key: send today's content.
    Register,
    /// Known key, content changed: send today's content.
    Update,
    /// Full/Reset only: unchanged, but every row is sent each time.
    Resend,
    /// Full/Reset only: today's row is held back (quarantined or still rejected) but PMH must
    /// keep its version, so the baseline content is sent.
    Keep,
    /// Diff only: the row disappeared: send its baseline content with `isDeleted = true`.
    Delete,
    /// Full/Reset only: the row disappeared: not sent, PMH drops it by omission; the ledger
    /// forgets it once the run is accepted.
    Omit,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Register => "register",
            Action::Update => "update",
            Action::Resend => "resend",
            Action::Keep => "keep",
            Action::Delete => "delete",
            Action::Omit => "omit",
        }
    }

    /// Whether a record goes into today's upload.
    pub fn is_sent(self) -> bool {
        !matches!(self, Action::Omit)
    }

    /// Whether PMH ends up without the row; what the mass-change guard counts.
    pub fn is_removal(self) -> bool {
        matches!(self, Action::Delete | Action::Omit)
    }

    /// Whether the record is built from the ledger's copy of the accepted version rather than
    /// from today's export (which has no usable row for it).
    pub fn uses_baseline_content(self) -> bool {
        matches!(self, Action::Keep | Action::Delete)
    }
}

/// The decision for one of today's clean rows, returned by [`crate::Differ::observe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Send today's content with this action ([`Action::Register`], [`Action::Update`] or
    /// [`Action::Resend`]).
    Send(Action),
    /// Diff only: PMH already holds exactly this content.
    Unchanged,
    /// PMH refused exactly this content before; it is not sent again until the source changes
    /// or the operator asks for a retry. In Full/Reset a row with an accepted version is kept
    /// through [`Action::Keep`] at [`crate::Differ::finish`].
    StillRejected,
    /// The row key was already observed today; the first occurrence's decision stands.
    Duplicate,
}

#[cfg(test)]
mod tests {
    use super::Action::{self, *};

    #[test]
    fn predicates() {
        // (action, name, sent, removal, baseline content)
        let table: [(Action, &str, bool, bool, bool); 6] = [
            (Register, "register", true, false, false),
            (Update, "update", true, false, false),
            (Resend, "resend", true, false, false),
            (Keep, "keep", true, false, true),
            (Delete, "delete", true, true, true),
            (Omit, "omit", false, true, false),
        ];
        for (action, name, sent, removal, baseline) in table {
            assert_eq!(action.as_str(), name);
            assert_eq!(action.is_sent(), sent, "{name}");
            assert_eq!(action.is_removal(), removal, "{name}");
            assert_eq!(action.uses_baseline_content(), baseline, "{name}");
        }
    }
}
