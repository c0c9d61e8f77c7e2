//! A run's decisions in numbers, for the report and the mass-change guard.

use crate::action::Action;

/// What a run decided, in numbers: for reports and for the mass-change guard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows PMH was believed to hold before the run.
    pub baseline: u64,
    /// Today's clean rows, duplicates excluded.
    pub current: u64,
    /// Today's quarantined rows.
    pub held: u64,
    pub register: u64,
    pub update: u64,
    pub resend: u64,
    pub keep: u64,
    pub delete: u64,
    pub omit: u64,
    pub unchanged: u64,
    pub still_rejected: u64,
    /// Removals not made because a held row covers them.
    pub withheld: u64,
}

impl Counts {
    /// Records in today's upload.
    pub fn sent(&self) -> u64 {
        self.register + self.update + self.resend + self.keep + self.delete
    }

    /// Rows PMH ends up without, explicitly or by omission.
    pub fn removals(&self) -> u64 {
        self.delete + self.omit
    }

    pub(crate) fn add(&mut self, action: Action) {
        let slot = match action {
            Action::Register => &mut self.register,
            Action::Update => &mut self.update,
            Action::Resend => &mut self.resend,
            Action::Keep => &mut self.keep,
            Action::Delete => &mut self.delete,
            Action::Omit => &mut self.omit,
        };
        *slot += 1;
    }
}
