//! A joined source held in memory and indexed by its join column. Keys are compared after
//! trimming, because fixed-width exports pad them.
//!
//! A row the plugin could not read is never joined, and never silently ignored either: when its
//! key can be read (the key cell is there and the row has every cell), a record with that key
//! is told so (`Lookup::Unreadable`) and quarantined, since the row may have said something the
//! record must carry (a 支援措置 row's 不開示フラグ). When even its key cannot be read, the
//! index counts it as *blind* and the run decides by the join's `on_unreadable_key`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::clean::trim;
use crate::table::Table;

/// FxHash (rustc's): join keys are short vendor numbers from the municipality's own files, so
/// SipHash's flooding resistance buys nothing here, and lookups run for every row of every join.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(SEED);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type Index = HashMap<Box<str>, Hit, BuildHasherDefault<KeyHasher>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hit {
    One(usize),
    Many,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found(usize),
    Missing,
    /// The key occurs on more than one row: joining would have to guess.
    Ambiguous,
    /// A row with this key could not be read: whatever it said is unknown.
    Unreadable,
}

pub struct JoinIndex {
    pub name: String,
    pub table: Table,
    index: Index,
    /// Keys of unreadable rows whose key could be read.
    unreadable_keys: Index,
    /// Lines of unreadable rows whose key could not be read.
    pub blind_lines: Vec<u64>,
}

/// Whether an unreadable row's key cell can be trusted: present, and in a row that has every
/// cell (a short row may have its cells shifted).
fn key_readable(table: &Table, row: usize, key_column: usize) -> bool {
    table.width(row) == table.columns.len() && !trim(table.cell(row, key_column)).is_empty()
}

impl JoinIndex {
    /// Indexes `table` by `key_column`; rows the source could not read are left out (they are
    /// reported as source errors, and a join on them would be a guess).
    pub fn build(name: &str, table: Table, key_column: usize) -> JoinIndex {
        Self::build_where(name, table, key_column, |_, _| true)
    }

    /// Like [`JoinIndex::build`], indexing only the rows `keep` accepts (rows in force on the
    /// business date).
    pub fn build_where(
        name: &str,
        table: Table,
        key_column: usize,
        keep: impl Fn(&Table, usize) -> bool,
    ) -> JoinIndex {
        let mut index = Index::with_capacity_and_hasher(table.len(), Default::default());
        let mut unreadable_keys = Index::default();
        let mut blind_lines = Vec::new();
        for row in 0..table.len() {
            if table.error(row).is_some() {
                if key_readable(&table, row, key_column) {
                    unreadable_keys.insert(trim(table.cell(row, key_column)).into(), Hit::One(row));
                } else {
                    blind_lines.push(table.line(row));
                }
                continue;
            }
            if !keep(&table, row) {
                continue;
            }
            let key = trim(table.cell(row, key_column));
            if key.is_empty() {
                continue;
            }
            index
                .entry(key.into())
                .and_modify(|hit| *hit = Hit::Many)
                .or_insert(Hit::One(row));
        }
        JoinIndex {
            name: name.to_owned(),
            table,
            index,
            unreadable_keys,
            blind_lines,
        }
    }

    pub fn lookup(&self, key: &str) -> Lookup {
        if self.unreadable_keys.contains_key(trim(key)) {
            return Lookup::Unreadable;
        }
        match self.index.get(trim(key)) {
            Some(Hit::One(row)) => Lookup::Found(*row),
            Some(Hit::Many) => Lookup::Ambiguous,
            None => Lookup::Missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        let mut t = Table::new(vec!["k".into(), "v".into()]);
        t.push_row(["0001      ", "a"], 1);
        t.push_row(["0002", "b"], 2);
        t.push_row(["0002", "c"], 3);
        t.push_row(["0003", "d"], 4);
        t.mark_error("line 4: malformed byte".into());
        t.push_row(["", "e"], 5);
        t.mark_error("line 5, column 1: malformed byte".into());
        t.push_row(["0005"], 6);
        t.mark_error("line 6: 1 fields, the header has 2".into());
        let j = JoinIndex::build("residents", t, 0);
        assert_eq!(j.lookup("0001"), Lookup::Found(0));
        assert_eq!(j.lookup(" 0001 "), Lookup::Found(0));
        assert_eq!(j.lookup("0002"), Lookup::Ambiguous);
        // Its key was readable: the record is told the row could not be read.
        assert_eq!(j.lookup("0003"), Lookup::Unreadable);
        assert_eq!(j.lookup("9999"), Lookup::Missing);
        // An empty key cell, and a short row, are rows whose key cannot be trusted.
        assert_eq!(j.lookup("0005"), Lookup::Missing);
        assert_eq!(j.blind_lines, vec![5, 6]);
    }
}
