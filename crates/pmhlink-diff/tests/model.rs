//! The differ against a model of PMH, over sequences of daily snapshots of a small
//! municipality.
//!
//! Each day the municipality changes (certificates and rows come and go, contents change,
//! periods split, rows are quarantined and recover, PMH refuses some contents until they are
//! fixed), the differ decides what to send from a ledger model, and the sends are applied to an
//! independent model of PMH keyed by (certificate identity, history key). After every day PMH
//! must hold exactly what the municipality's state implies:
//!
//! - each of today's clean rows that PMH accepts, with today's content;
//! - for a clean row PMH refuses, and for a row that is not sent because a held row covers it,
//!   the version PMH accepted before, if any;
//! - nothing else.
//!
//! Every content change carries a fresh revision, so in Diff sync no (row key, digest,
//! isDeleted) event is ever legitimately sent twice: a repeat means the differ resent what PMH
//! already has (a retry of rejected rows is the one exception).

use std::collections::{HashMap, HashSet};

use pmhlink_diff::{
    Action, BaselineRow, Decision, Differ, Digest, Held, RowKey, Shield, SyncKind,
    derived_history_key,
};
use proptest::collection::vec;
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

// ---- what the municipality holds ----

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CertId {
    type_id: String,
    my_number: String,
    recipient: String,
    sub_key: String,
}

/// How PMH names a history row.
type RowId = (CertId, String);

/// One version of a history row as sent; `poisoned` stands for whatever PMH refuses.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Content {
    cert: CertId,
    history_key: String,
    valid_from: String,
    valid_to: String,
    revision: u64,
    poisoned: bool,
}

impl Content {
    fn id(&self) -> RowId {
        (self.cert.clone(), self.history_key.clone())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    Row,
    Shield,
    Unidentified,
}

#[derive(Clone, Debug)]
struct Row {
    history_key: String,
    valid_from: u32,
    valid_to: u32,
    revision: u64,
    poisoned: bool,
    /// Quarantined, and the last day it stays so.
    quarantine: Option<(How, usize)>,
}

#[derive(Clone, Debug)]
struct Cert {
    id: CertId,
    derived_keys: bool,
    next_from: u32,
    rows: Vec<Row>,
}

#[derive(Default)]
struct Municipality {
    certs: Vec<Cert>,
    people: u64,
    revisions: u64,
    given_keys: u64,
}

const MAX_CERTS: usize = 40;
const MAX_ROWS: usize = 5;
const PERIOD: u32 = 100;

fn date(day: u32) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        2024 + day / 360,
        day / 30 % 12 + 1,
        day % 30 + 1
    )
}

impl Municipality {
    fn revision(&mut self) -> u64 {
        self.revisions += 1;
        self.revisions
    }

    fn new_row(&mut self, cert: usize, poisoned: bool) -> Row {
        let valid_from = self.certs[cert].next_from;
        self.certs[cert].next_from += PERIOD;
        let c = &self.certs[cert];
        let history_key = if c.derived_keys {
            derived_history_key(
                &c.id.type_id,
                &c.id.recipient,
                &c.id.sub_key,
                &date(valid_from),
            )
        } else {
            self.given_keys += 1;
            format!("G{}", self.given_keys)
        };
        Row {
            history_key,
            valid_from,
            valid_to: valid_from + PERIOD - 1,
            revision: self.revision(),
            poisoned,
            quarantine: None,
        }
    }

    /// (cert, row) for two arbitrary indices, if any row exists.
    fn pick(&self, cert: u16, row: u16) -> Option<(usize, usize)> {
        if self.certs.is_empty() {
            return None;
        }
        let c = usize::from(cert) % self.certs.len();
        let r = usize::from(row) % self.certs[c].rows.len();
        Some((c, r))
    }

    fn apply(&mut self, op: &Op, day: usize) {
        match *op {
            Op::AddCert {
                type_id,
                recipient,
                sub_key,
                rows,
                derived_keys,
                poisoned,
            } => {
                if self.certs.len() >= MAX_CERTS {
                    return;
                }
                self.people += 1;
                let id = CertId {
                    type_id: format!("T{type_id}"),
                    my_number: format!("{:012}", self.people),
                    // Few numbers, so that shields are shared by several certificates.
                    recipient: format!("{recipient:07}"),
                    sub_key: if sub_key == 0 {
                        String::new()
                    } else {
                        format!("S{sub_key}")
                    },
                };
                self.certs.push(Cert {
                    id,
                    derived_keys,
                    next_from: u32::from(recipient) * 7,
                    rows: Vec::new(),
                });
                let c = self.certs.len() - 1;
                for i in 0..rows {
                    let row = self.new_row(c, poisoned && i == 0);
                    self.certs[c].rows.push(row);
                }
            }
            Op::Change {
                cert,
                row,
                poisoned,
            } => {
                if let Some((c, r)) = self.pick(cert, row) {
                    let revision = self.revision();
                    let row = &mut self.certs[c].rows[r];
                    row.revision = revision;
                    row.poisoned = poisoned;
                }
            }
            Op::Fix { nth } => {
                let poisoned: Vec<(usize, usize)> = self
                    .certs
                    .iter()
                    .enumerate()
                    .flat_map(|(c, cert)| {
                        cert.rows
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| r.poisoned)
                            .map(move |(r, _)| (c, r))
                    })
                    .collect();
                if !poisoned.is_empty() {
                    let (c, r) = poisoned[usize::from(nth) % poisoned.len()];
                    let revision = self.revision();
                    let row = &mut self.certs[c].rows[r];
                    row.revision = revision;
                    row.poisoned = false;
                }
            }
            Op::Split {
                cert,
                row,
                poisoned,
            } => {
                let Some((c, r)) = self.pick(cert, row) else {
                    return;
                };
                if self.certs[c].rows.len() >= MAX_ROWS {
                    return;
                }
                let new = self.new_row(c, poisoned);
                let revision = self.revision();
                let old = &mut self.certs[c].rows[r];
                old.valid_to = old.valid_to.min(new.valid_from - 1).max(old.valid_from);
                old.revision = revision;
                self.certs[c].rows.push(new);
            }
            Op::DeleteRow { cert, row } => {
                if let Some((c, r)) = self.pick(cert, row)
                    && self.certs[c].rows.len() > 1
                {
                    self.certs[c].rows.remove(r);
                }
            }
            Op::DeleteCert { cert } => {
                if let Some((c, _)) = self.pick(cert, 0) {
                    self.certs.remove(c);
                }
            }
            Op::Quarantine {
                cert,
                row,
                how,
                days,
            } => {
                if let Some((c, r)) = self.pick(cert, row) {
                    self.certs[c].rows[r].quarantine = Some((how, day + usize::from(days) - 1));
                }
            }
        }
    }

    fn recover(&mut self, day: usize) {
        for row in self.certs.iter_mut().flat_map(|c| c.rows.iter_mut()) {
            if row.quarantine.is_some_and(|(_, last)| last < day) {
                row.quarantine = None;
            }
        }
    }
}

// ---- the keyed hashes the ledger would compute (any deterministic hash will do here) ----

fn h16(parts: &[&str]) -> [u8; 16] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    let hash = hasher.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&hash[..16]);
    out
}

fn row_key(id: &RowId) -> RowKey {
    let (c, hk) = id;
    h16(&[
        "row",
        &c.type_id,
        &c.my_number,
        &c.recipient,
        &c.sub_key,
        hk,
    ])
}

fn shield(c: &CertId) -> Shield {
    h16(&["shield", &c.recipient, &c.sub_key])
}

fn digest(x: &Content) -> Digest {
    let (c, revision) = (&x.cert, x.revision.to_string());
    let poisoned = if x.poisoned { "1" } else { "0" };
    h16(&[
        "digest",
        &c.type_id,
        &c.my_number,
        &c.recipient,
        &c.sub_key,
        &x.history_key,
        &x.valid_from,
        &x.valid_to,
        &revision,
        poisoned,
    ])
}

// ---- scenarios ----

#[derive(Clone, Debug)]
enum Op {
    AddCert {
        type_id: u8,
        recipient: u8,
        sub_key: u8,
        rows: u8,
        derived_keys: bool,
        poisoned: bool,
    },
    Change {
        cert: u16,
        row: u16,
        poisoned: bool,
    },
    /// Changes the nth refused row so that PMH accepts it.
    Fix {
        nth: u16,
    },
    Split {
        cert: u16,
        row: u16,
        poisoned: bool,
    },
    DeleteRow {
        cert: u16,
        row: u16,
    },
    DeleteCert {
        cert: u16,
    },
    Quarantine {
        cert: u16,
        row: u16,
        how: How,
        days: u8,
    },
}

#[derive(Clone, Debug)]
struct DayPlan {
    ops: Vec<Op>,
    retry: bool,
    /// Picks the sync kind where the scenario mixes them.
    kind: u8,
}

#[derive(Clone, Debug)]
struct Scenario {
    initial: Vec<Op>,
    days: Vec<DayPlan>,
}

fn add_cert() -> impl Strategy<Value = Op> {
    (
        0u8..2,
        0u8..6,
        0u8..3,
        1u8..=3,
        any::<bool>(),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(type_id, recipient, sub_key, rows, derived_keys, poisoned)| Op::AddCert {
                type_id,
                recipient,
                sub_key,
                rows,
                derived_keys,
                poisoned,
            },
        )
}

fn how() -> impl Strategy<Value = How> {
    prop_oneof![6 => Just(How::Row), 4 => Just(How::Shield), 1 => Just(How::Unidentified)]
}

fn op() -> impl Strategy<Value = Op> {
    let poison = || prop::bool::weighted(0.25);
    prop_oneof![
        3 => add_cert(),
        4 => (any::<u16>(), any::<u16>(), poison())
            .prop_map(|(cert, row, poisoned)| Op::Change { cert, row, poisoned }),
        2 => any::<u16>().prop_map(|nth| Op::Fix { nth }),
        2 => (any::<u16>(), any::<u16>(), poison())
            .prop_map(|(cert, row, poisoned)| Op::Split { cert, row, poisoned }),
        1 => (any::<u16>(), any::<u16>()).prop_map(|(cert, row)| Op::DeleteRow { cert, row }),
        1 => any::<u16>().prop_map(|cert| Op::DeleteCert { cert }),
        3 => (any::<u16>(), any::<u16>(), how(), 1u8..=3)
            .prop_map(|(cert, row, how, days)| Op::Quarantine { cert, row, how, days }),
    ]
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let day = (vec(op(), 0..8), prop::bool::weighted(0.1), any::<u8>())
        .prop_map(|(ops, retry, kind)| DayPlan { ops, retry, kind });
    (vec(add_cert(), 1..=20), vec(day, 3..=12))
        .prop_map(|(initial, days)| Scenario { initial, days })
}

#[derive(Clone, Copy, Debug)]
enum Kinds {
    Diff,
    /// Full or Reset, picked per day: they must decide alike.
    WholeSet,
    Mixed,
}

impl Kinds {
    fn pick(self, plan: &DayPlan) -> SyncKind {
        let all = [SyncKind::Diff, SyncKind::Full, SyncKind::Reset];
        match self {
            Kinds::Diff => SyncKind::Diff,
            Kinds::WholeSet => all[1 + usize::from(plan.kind % 2)],
            Kinds::Mixed => all[usize::from(plan.kind % 3)],
        }
    }
}

// ---- the simulation ----

struct Accepted {
    digest: Digest,
    shield: Shield,
    content: Content,
}

/// A record in today's upload.
struct Event {
    key: RowKey,
    content: Content,
    deleted: bool,
}

/// What today's quarantined rows protect, worked out apart from the differ.
#[derive(Default)]
struct Protection {
    rows: HashSet<RowKey>,
    shields: HashSet<Shield>,
    everything: bool,
}

impl Protection {
    fn covers(&self, key: &RowKey, shield: &Shield) -> bool {
        self.everything || self.rows.contains(key) || self.shields.contains(shield)
    }
}

fn simulate(scenario: &Scenario, kinds: Kinds) -> Result<(), TestCaseError> {
    let mut town = Municipality::default();
    let mut accepted: HashMap<RowKey, Accepted> = HashMap::new();
    let mut rejected: HashMap<RowKey, Digest> = HashMap::new();
    let mut pmh: HashMap<RowId, Content> = HashMap::new();
    let mut expected: HashMap<RowId, Content> = HashMap::new();
    let mut sent_in_diff: HashSet<(RowKey, Digest, bool)> = HashSet::new();

    for (day, plan) in scenario.days.iter().enumerate() {
        town.recover(day);
        let initial = if day == 0 {
            scenario.initial.as_slice()
        } else {
            &[]
        };
        for op in initial.iter().chain(&plan.ops) {
            town.apply(op, day);
        }
        let kind = kinds.pick(plan);

        // Today's export.
        let mut clean: Vec<(RowKey, Digest, Content)> = Vec::new();
        let mut holds: Vec<Held> = Vec::new();
        let mut protection = Protection::default();
        for cert in &town.certs {
            for row in &cert.rows {
                let content = Content {
                    cert: cert.id.clone(),
                    history_key: row.history_key.clone(),
                    valid_from: date(row.valid_from),
                    valid_to: date(row.valid_to),
                    revision: row.revision,
                    poisoned: row.poisoned,
                };
                let key = row_key(&content.id());
                match row.quarantine {
                    None => clean.push((key, digest(&content), content)),
                    Some((How::Row, _)) => {
                        holds.push(Held::Row(key));
                        protection.rows.insert(key);
                    }
                    Some((How::Shield, _)) => {
                        holds.push(Held::Shield(shield(&cert.id)));
                        protection.shields.insert(shield(&cert.id));
                    }
                    Some((How::Unidentified, _)) => {
                        holds.push(Held::Unidentified);
                        protection.everything = true;
                    }
                }
            }
        }

        // The run. Holds go first: the differ must not depend on where they are in the file.
        let baseline: HashMap<RowKey, BaselineRow> = accepted
            .iter()
            .map(|(k, a)| {
                (
                    *k,
                    BaselineRow {
                        digest: a.digest,
                        shield: a.shield,
                    },
                )
            })
            .collect();
        let mut differ = Differ::new(kind, baseline, rejected.clone(), plan.retry);
        for held in &holds {
            differ.hold(*held);
        }
        let decisions: Vec<Decision> = clean
            .iter()
            .map(|(k, d, _)| differ.observe(*k, *d))
            .collect();
        let finished = differ.finish();
        let counts = &finished.counts;

        // What the run sends, checked against the sync kind.
        let whole_set = kind != SyncKind::Diff;
        let mut events: Vec<Event> = Vec::new();
        let mut still_rejected_kept: HashSet<RowKey> = HashSet::new();
        for ((key, d, content), decision) in clean.iter().zip(&decisions) {
            match decision {
                Decision::Send(action) => {
                    let allowed = match action {
                        Action::Register | Action::Update => true,
                        Action::Resend => whole_set,
                        _ => false,
                    };
                    prop_assert!(allowed, "day {day}: {action:?} in {kind:?}");
                    events.push(Event {
                        key: *key,
                        content: content.clone(),
                        deleted: false,
                    });
                }
                Decision::Unchanged => prop_assert!(!whole_set, "day {day}: unchanged in {kind:?}"),
                Decision::StillRejected => {
                    prop_assert!(!plan.retry && rejected.get(key) == Some(d));
                    if whole_set && accepted.contains_key(key) {
                        still_rejected_kept.insert(*key);
                    }
                }
                Decision::Duplicate => {
                    prop_assert!(false, "day {day}: no key repeats in the export")
                }
            }
        }
        let observed: HashSet<RowKey> = clean.iter().map(|(k, _, _)| *k).collect();
        let mut omitted: Vec<RowKey> = Vec::new();
        for (key, action) in &finished.removals {
            let base = accepted.get(key);
            prop_assert!(
                base.is_some(),
                "day {day}: {action:?} of a row PMH does not hold"
            );
            let Some(base) = base else { continue };
            let covered = protection.covers(key, &base.shield);
            match action {
                Action::Delete | Action::Omit => {
                    // (c) A held row is never removed.
                    prop_assert!(!covered, "day {day}: {action:?} of a held row");
                    prop_assert_eq!(*action == Action::Omit, whole_set);
                }
                Action::Keep => {
                    prop_assert!(whole_set, "day {day}: keep in diff");
                    prop_assert!(covered || still_rejected_kept.contains(key));
                }
                _ => prop_assert!(false, "day {day}: {action:?} among the removals"),
            }
            match action {
                Action::Omit => omitted.push(*key),
                _ => events.push(Event {
                    key: *key,
                    content: base.content.clone(),
                    deleted: *action == Action::Delete,
                }),
            }
        }
        if whole_set {
            // Held rows and still rejected ones keep PMH's version through Keep.
            let kept: HashSet<RowKey> = finished
                .removals
                .iter()
                .filter(|(_, a)| *a == Action::Keep)
                .map(|(k, _)| *k)
                .collect();
            for (key, base) in &accepted {
                let must_keep = (!observed.contains(key) && protection.covers(key, &base.shield))
                    || still_rejected_kept.contains(key);
                prop_assert_eq!(kept.contains(key), must_keep, "day {}: keep", day);
            }
        }
        prop_assert_eq!(counts.baseline, accepted.len() as u64);
        prop_assert_eq!(counts.current, clean.len() as u64);
        prop_assert_eq!(counts.held, holds.len() as u64);
        prop_assert_eq!(counts.sent(), events.len() as u64);
        prop_assert_eq!(
            counts.removals(),
            events.iter().filter(|e| e.deleted).count() as u64 + omitted.len() as u64
        );

        // (b) Diff sync never sends the same thing twice, except a retry of a rejected content.
        if !whole_set {
            for e in &events {
                let d = digest(&e.content);
                let retried = plan.retry && !e.deleted && rejected.get(&e.key) == Some(&d);
                prop_assert!(
                    sent_in_diff.insert((e.key, d, e.deleted)) || retried,
                    "day {}: {:?} sent again (deleted: {})",
                    day,
                    e.content.id(),
                    e.deleted
                );
            }
        }

        // PMH applies the upload; a refused record changes nothing.
        if whole_set {
            let mut next: HashMap<RowId, Content> = HashMap::new();
            for e in &events {
                let id = e.content.id();
                let version = if e.content.poisoned {
                    pmh.get(&id).cloned()
                } else {
                    Some(e.content.clone())
                };
                if let Some(version) = version {
                    prop_assert!(
                        next.insert(id, version).is_none(),
                        "day {day}: row sent twice"
                    );
                }
            }
            pmh = next;
        } else {
            for e in &events {
                let id = e.content.id();
                if e.deleted {
                    prop_assert!(
                        pmh.remove(&id).is_some(),
                        "day {day}: deletion of a row PMH lacks"
                    );
                } else if !e.content.poisoned {
                    pmh.insert(id, e.content.clone());
                }
            }
        }

        // The ledger learns the results. A refusal is remembered even after PMH accepts
        // another version (a Keep of the old one), or that Keep would clear it and the refused
        // content would go again the next Diff day.
        for e in &events {
            if e.content.poisoned {
                rejected.insert(e.key, digest(&e.content));
                continue;
            }
            if e.deleted {
                accepted.remove(&e.key);
            } else {
                let entry = Accepted {
                    digest: digest(&e.content),
                    shield: shield(&e.content.cert),
                    content: e.content.clone(),
                };
                accepted.insert(e.key, entry);
            }
        }
        for key in omitted {
            accepted.remove(&key);
        }

        // (a) What PMH must hold now, from the municipality's state alone.
        let mut now: HashMap<RowId, Content> = HashMap::new();
        let mut clean_ids: HashSet<RowId> = HashSet::new();
        for (_, _, content) in &clean {
            let id = content.id();
            clean_ids.insert(id.clone());
            let version = if content.poisoned {
                expected.get(&id).cloned()
            } else {
                Some(content.clone())
            };
            if let Some(version) = version {
                now.insert(id, version);
            }
        }
        for (id, version) in &expected {
            if !clean_ids.contains(id) && protection.covers(&row_key(id), &shield(&id.0)) {
                now.insert(id.clone(), version.clone());
            }
        }
        prop_assert_eq!(
            &pmh,
            &now,
            "day {}: PMH differs from the expected snapshot",
            day
        );
        let ledger: HashMap<RowId, Content> = accepted
            .values()
            .map(|a| (a.content.id(), a.content.clone()))
            .collect();
        prop_assert_eq!(&ledger, &now, "day {}: the ledger model drifted", day);
        expected = now;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn diff_sync_keeps_pmh_equal_to_the_accepted_snapshot(s in scenario()) {
        simulate(&s, Kinds::Diff)?;
    }

    #[test]
    fn full_sync_keeps_pmh_equal_to_the_accepted_snapshot(s in scenario()) {
        simulate(&s, Kinds::WholeSet)?;
    }

    #[test]
    fn switching_sync_kinds_keeps_pmh_equal_to_the_accepted_snapshot(s in scenario()) {
        simulate(&s, Kinds::Mixed)?;
    }
}
