//! A joined source held in memory and indexed by its join column. Keys are compared after
//! trimming, because fixed-width exports pad them.

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
}

pub struct JoinIndex {
    pub name: String,
    pub table: Table,
    index: Index,
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
        for row in 0..table.len() {
            if table.error(row).is_some() || !keep(&table, row) {
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
        }
    }

    pub fn lookup(&self, key: &str) -> Lookup {
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
        let j = JoinIndex::build("residents", t, 0);
        assert_eq!(j.lookup("0001"), Lookup::Found(0));
        assert_eq!(j.lookup(" 0001 "), Lookup::Found(0));
        assert_eq!(j.lookup("0002"), Lookup::Ambiguous);
        assert_eq!(j.lookup("0003"), Lookup::Missing);
        assert_eq!(j.lookup("9999"), Lookup::Missing);
    }
}
