//! The differ: today's rows against the baseline, one at a time, resolved at the end.

use std::collections::{HashMap, HashSet};

use crate::action::{Action, Decision};
use crate::baseline::BaselineRow;
use crate::counts::Counts;
use crate::held::Held;
use crate::keys::{Digest, RowKey, Shield};
use crate::kind::SyncKind;

/// Decides, row by row, what today's upload carries. See the crate documentation for the rules.
///
/// Protection by a held row is resolved only at [`Differ::finish`], because a hold may arrive
/// before or after the clean rows in file order and only then is it known which baseline rows
/// went unseen.
#[derive(Debug)]
pub struct Differ {
    kind: SyncKind,
    baseline: HashMap<RowKey, BaselineRow>,
    rejected: HashMap<RowKey, Digest>,
    retry_rejected: bool,
    seen: HashSet<RowKey>,
    /// Full/Reset: observed rows that are still rejected but have an accepted version.
    kept: Vec<RowKey>,
    held_rows: HashSet<RowKey>,
    held_shields: HashSet<Shield>,
    held_unidentified: bool,
    counts: Counts,
}

/// The result of a run: the actions decided once all of today's rows were seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// Sorted by row key so that uploads and reports are reproducible. Besides the removals
    /// ([`Action::Delete`], [`Action::Omit`]) it carries every [`Action::Keep`], since those
    /// too are known only at the end and use the baseline content.
    pub removals: Vec<(RowKey, Action)>,
    pub counts: Counts,
}

impl Differ {
    pub fn new(
        kind: SyncKind,
        baseline: HashMap<RowKey, BaselineRow>,
        rejected: HashMap<RowKey, Digest>,
        retry_rejected: bool,
    ) -> Differ {
        let counts = Counts {
            baseline: baseline.len() as u64,
            ..Counts::default()
        };
        Differ {
            kind,
            baseline,
            rejected,
            retry_rejected,
            seen: HashSet::new(),
            kept: Vec::new(),
            held_rows: HashSet::new(),
            held_shields: HashSet::new(),
            held_unidentified: false,
            counts,
        }
    }

    pub fn kind(&self) -> SyncKind {
        self.kind
    }

    /// Today's clean row. Called once per row in file order.
    pub fn observe(&mut self, key: RowKey, digest: Digest) -> Decision {
        if !self.seen.insert(key) {
            return Decision::Duplicate;
        }
        self.counts.current += 1;
        let still_rejected =
            !self.retry_rejected && self.rejected.get(&key).is_some_and(|d| *d == digest);
        let whole_set = self.kind.sends_whole_set();
        match self.baseline.get(&key) {
            Some(row) if row.digest == digest => {
                if whole_set {
                    self.send(Action::Resend)
                } else {
                    self.counts.unchanged += 1;
                    Decision::Unchanged
                }
            }
            Some(_) if still_rejected => {
                self.counts.still_rejected += 1;
                if whole_set {
                    // Leaving it out would make PMH drop the version it accepted.
                    self.kept.push(key);
                }
                Decision::StillRejected
            }
            Some(_) => self.send(Action::Update),
            None if still_rejected => {
                self.counts.still_rejected += 1;
                Decision::StillRejected
            }
            None => self.send(Action::Register),
        }
    }

    fn send(&mut self, action: Action) -> Decision {
        self.counts.add(action);
        Decision::Send(action)
    }

    /// Today's quarantined row.
    pub fn hold(&mut self, held: Held) {
        self.counts.held += 1;
        match held {
            Held::Row(key) => {
                self.held_rows.insert(key);
            }
            Held::Shield(shield) => {
                self.held_shields.insert(shield);
            }
            Held::Unidentified => self.held_unidentified = true,
        }
    }

    /// Baseline rows not seen today: Delete (Diff) or Omit (Full/Reset); when a held row covers
    /// them, nothing (Diff) or Keep (Full/Reset).
    pub fn finish(self) -> Finished {
        let Differ {
            kind,
            baseline,
            seen,
            kept,
            held_rows,
            held_shields,
            held_unidentified,
            mut counts,
            ..
        } = self;
        let whole_set = kind.sends_whole_set();
        let mut removals: Vec<(RowKey, Action)> = Vec::new();
        for key in kept {
            counts.add(Action::Keep);
            removals.push((key, Action::Keep));
        }
        for (key, row) in &baseline {
            if seen.contains(key) {
                continue;
            }
            let protected =
                held_unidentified || held_rows.contains(key) || held_shields.contains(&row.shield);
            let action = match (protected, whole_set) {
                (true, false) => None,
                (true, true) => Some(Action::Keep),
                (false, false) => Some(Action::Delete),
                (false, true) => Some(Action::Omit),
            };
            if protected {
                counts.withheld += 1;
            }
            if let Some(action) = action {
                counts.add(action);
                removals.push((*key, action));
            }
        }
        // Keys are unique (kept keys were seen, the others were not): even an unstable sort
        // gives one order.
        removals.sort_unstable();
        Finished { removals, counts }
    }
}

#[cfg(test)]
mod tests;
