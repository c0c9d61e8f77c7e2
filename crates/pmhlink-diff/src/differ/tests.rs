//! One table of small runs. Keys, digests and shields are single bytes spread over 16.

use std::collections::HashMap;

use crate::Action::*;
use crate::Decision::*;
use crate::SyncKind::{Diff, Full, Reset};
use crate::{Action, BaselineRow, Counts, Decision, Differ, Held as H, SyncKind};

struct Case {
    name: &'static str,
    kind: SyncKind,
    retry: bool,
    /// (key, digest, shield)
    baseline: &'static [(u8, u8, u8)],
    /// (key, rejected digest)
    rejected: &'static [(u8, u8)],
    /// (key, digest), in file order.
    today: &'static [(u8, u8)],
    held: &'static [H],
    decisions: &'static [Decision],
    removals: &'static [(u8, Action)],
    /// The non-zero counts, in field order.
    counts: &'static str,
}

/// Rows, digests and shields are named by one byte, repeated.
fn k(b: u8) -> [u8; 16] {
    [b; 16]
}

const fn row(b: u8) -> H {
    H::Row([b; 16])
}

const fn shield(b: u8) -> H {
    H::Shield([b; 16])
}

fn summary(c: &Counts) -> String {
    let fields = [
        ("baseline", c.baseline),
        ("current", c.current),
        ("held", c.held),
        ("register", c.register),
        ("update", c.update),
        ("resend", c.resend),
        ("keep", c.keep),
        ("delete", c.delete),
        ("omit", c.omit),
        ("unchanged", c.unchanged),
        ("still_rejected", c.still_rejected),
        ("withheld", c.withheld),
    ];
    let parts: Vec<String> = fields
        .iter()
        .filter(|(_, n)| *n != 0)
        .map(|(name, n)| format!("{name}={n}"))
        .collect();
    parts.join(" ")
}

const CASES: &[Case] = &[
    Case {
        name: "first run registers everything",
        kind: Diff,
        retry: false,
        baseline: &[],
        rejected: &[],
        today: &[(1, 10), (2, 20)],
        held: &[],
        decisions: &[Send(Register), Send(Register)],
        removals: &[],
        counts: "current=2 register=2",
    },
    Case {
        name: "diff: unchanged, update, register, delete",
        kind: Diff,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2), (3, 30, 3)],
        rejected: &[],
        today: &[(1, 10), (2, 21), (4, 40)],
        held: &[],
        decisions: &[Unchanged, Send(Update), Send(Register)],
        removals: &[(3, Delete)],
        counts: "baseline=3 current=3 register=1 update=1 delete=1 unchanged=1",
    },
    Case {
        name: "diff: removals come out sorted by key",
        kind: Diff,
        retry: false,
        baseline: &[(9, 90, 9), (3, 30, 3), (7, 70, 7), (1, 10, 1), (5, 50, 5)],
        rejected: &[],
        today: &[(5, 50)],
        held: &[],
        decisions: &[Unchanged],
        removals: &[(1, Delete), (3, Delete), (7, Delete), (9, Delete)],
        counts: "baseline=5 current=1 delete=4 unchanged=1",
    },
    Case {
        name: "a key seen twice is a duplicate and counts nothing else",
        kind: Diff,
        retry: false,
        baseline: &[(1, 10, 1)],
        rejected: &[],
        today: &[(1, 11), (1, 12), (2, 20), (2, 20)],
        held: &[],
        decisions: &[Send(Update), Duplicate, Send(Register), Duplicate],
        removals: &[],
        counts: "baseline=1 current=2 register=1 update=1",
    },
    Case {
        name: "rejected content is not registered again, changed content is",
        kind: Diff,
        retry: false,
        baseline: &[],
        rejected: &[(1, 10), (2, 20)],
        today: &[(1, 10), (2, 21)],
        held: &[],
        decisions: &[StillRejected, Send(Register)],
        removals: &[],
        counts: "current=2 register=1 still_rejected=1",
    },
    Case {
        name: "rejected update is not sent again and is not deleted",
        kind: Diff,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2)],
        rejected: &[(1, 11), (2, 21)],
        today: &[(1, 11), (2, 22)],
        held: &[],
        decisions: &[StillRejected, Send(Update)],
        removals: &[],
        counts: "baseline=2 current=2 update=1 still_rejected=1",
    },
    Case {
        name: "a row reverted to what PMH holds is unchanged despite a rejection",
        kind: Diff,
        retry: false,
        baseline: &[(1, 10, 1)],
        rejected: &[(1, 11)],
        today: &[(1, 10)],
        held: &[],
        decisions: &[Unchanged],
        removals: &[],
        counts: "baseline=1 current=1 unchanged=1",
    },
    Case {
        name: "retry sends rejected content again",
        kind: Diff,
        retry: true,
        baseline: &[(1, 10, 1)],
        rejected: &[(1, 11), (2, 20)],
        today: &[(1, 11), (2, 20)],
        held: &[],
        decisions: &[Send(Update), Send(Register)],
        removals: &[],
        counts: "baseline=1 current=2 register=1 update=1",
    },
    Case {
        name: "diff: a held row is not deleted",
        kind: Diff,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2), (3, 30, 3)],
        rejected: &[],
        today: &[(1, 10)],
        held: &[row(2)],
        decisions: &[Unchanged],
        removals: &[(3, Delete)],
        counts: "baseline=3 current=1 held=1 delete=1 unchanged=1 withheld=1",
    },
    Case {
        name: "diff: a held shield protects every row that has it",
        kind: Diff,
        retry: false,
        baseline: &[(1, 10, 7), (2, 20, 7), (3, 30, 8), (4, 40, 7)],
        rejected: &[],
        today: &[(4, 41)],
        held: &[shield(7)],
        decisions: &[Send(Update)],
        removals: &[(3, Delete)],
        counts: "baseline=4 current=1 held=1 update=1 delete=1 withheld=2",
    },
    Case {
        name: "diff: an unidentified row holds back every removal",
        kind: Diff,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2), (3, 30, 3)],
        rejected: &[],
        today: &[(1, 11)],
        held: &[H::Unidentified, row(2)],
        decisions: &[Send(Update)],
        removals: &[],
        counts: "baseline=3 current=1 held=2 update=1 withheld=2",
    },
    Case {
        name: "a hold on a row seen today changes nothing",
        kind: Diff,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2)],
        rejected: &[],
        today: &[(1, 10)],
        held: &[row(1), shield(1), row(5)],
        decisions: &[Unchanged],
        removals: &[(2, Delete)],
        counts: "baseline=2 current=1 held=3 delete=1 unchanged=1",
    },
    Case {
        name: "held rows alone with an empty baseline",
        kind: Diff,
        retry: false,
        baseline: &[],
        rejected: &[],
        today: &[],
        held: &[H::Unidentified],
        decisions: &[],
        removals: &[],
        counts: "held=1",
    },
    Case {
        name: "full: resend, update, register, omit",
        kind: Full,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2), (3, 30, 3)],
        rejected: &[],
        today: &[(1, 10), (2, 21), (4, 40)],
        held: &[],
        decisions: &[Send(Resend), Send(Update), Send(Register)],
        removals: &[(3, Omit)],
        counts: "baseline=3 current=3 register=1 update=1 resend=1 omit=1",
    },
    Case {
        name: "reset decides like full",
        kind: Reset,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2), (3, 30, 3)],
        rejected: &[],
        today: &[(1, 10), (2, 21), (4, 40)],
        held: &[],
        decisions: &[Send(Resend), Send(Update), Send(Register)],
        removals: &[(3, Omit)],
        counts: "baseline=3 current=3 register=1 update=1 resend=1 omit=1",
    },
    Case {
        name: "full: held rows are kept, by row and by shield",
        kind: Full,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2), (3, 30, 9), (4, 40, 4)],
        rejected: &[],
        today: &[(1, 10)],
        held: &[row(2), shield(9)],
        decisions: &[Send(Resend)],
        removals: &[(2, Keep), (3, Keep), (4, Omit)],
        counts: "baseline=4 current=1 held=2 resend=1 keep=2 omit=1 withheld=2",
    },
    Case {
        name: "full: an unidentified row keeps everything not seen",
        kind: Reset,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2)],
        rejected: &[],
        today: &[(3, 30)],
        held: &[H::Unidentified],
        decisions: &[Send(Register)],
        removals: &[(1, Keep), (2, Keep)],
        counts: "baseline=2 current=1 held=1 register=1 keep=2 withheld=2",
    },
    Case {
        name: "full: a still rejected row with an accepted version is kept",
        kind: Full,
        retry: false,
        baseline: &[(1, 10, 1), (2, 20, 2)],
        rejected: &[(1, 11), (3, 30)],
        today: &[(1, 11), (2, 20), (3, 30)],
        held: &[],
        decisions: &[StillRejected, Send(Resend), StillRejected],
        removals: &[(1, Keep)],
        counts: "baseline=2 current=3 resend=1 keep=1 still_rejected=2",
    },
    Case {
        name: "full: retry sends the rejected content instead of keeping",
        kind: Full,
        retry: true,
        baseline: &[(1, 10, 1)],
        rejected: &[(1, 11)],
        today: &[(1, 11)],
        held: &[],
        decisions: &[Send(Update)],
        removals: &[],
        counts: "baseline=1 current=1 update=1",
    },
    Case {
        name: "full: empty export omits everything",
        kind: Full,
        retry: false,
        baseline: &[(2, 20, 2), (1, 10, 1)],
        rejected: &[],
        today: &[],
        held: &[],
        decisions: &[],
        removals: &[(1, Omit), (2, Omit)],
        counts: "baseline=2 omit=2",
    },
];

#[test]
fn table() {
    for case in CASES {
        let baseline: HashMap<_, _> = case
            .baseline
            .iter()
            .map(|&(key, digest, shield)| {
                let row = BaselineRow {
                    digest: k(digest),
                    shield: k(shield),
                };
                (k(key), row)
            })
            .collect();
        let rejected = case
            .rejected
            .iter()
            .map(|&(key, d)| (k(key), k(d)))
            .collect();
        let mut differ = Differ::new(case.kind, baseline, rejected, case.retry);
        // Holds go in the middle of the file: their position must not matter.
        let (before, after) = case.today.split_at(case.today.len() / 2);
        let mut decisions: Vec<Decision> = before
            .iter()
            .map(|&(key, d)| differ.observe(k(key), k(d)))
            .collect();
        for h in case.held {
            differ.hold(*h);
        }
        decisions.extend(after.iter().map(|&(key, d)| differ.observe(k(key), k(d))));
        let finished = differ.finish();

        assert_eq!(decisions, case.decisions, "{}: decisions", case.name);
        let removals: Vec<(u8, Action)> = finished
            .removals
            .iter()
            .map(|&(key, action)| (key[0], action))
            .collect();
        assert_eq!(removals, case.removals, "{}: removals", case.name);
        assert_eq!(
            summary(&finished.counts),
            case.counts,
            "{}: counts",
            case.name
        );
        let c = &finished.counts;
        let sent_today = decisions.iter().filter(|d| matches!(d, Send(_))).count();
        let sent_at_end = removals.iter().filter(|(_, a)| a.is_sent()).count();
        assert_eq!(
            c.sent(),
            (sent_today + sent_at_end) as u64,
            "{}: sent",
            case.name
        );
        let removed = removals.iter().filter(|(_, a)| a.is_removal()).count();
        assert_eq!(c.removals(), removed as u64, "{}: removals()", case.name);
    }
}
