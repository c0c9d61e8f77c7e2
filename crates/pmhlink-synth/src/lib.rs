//! Deterministic synthetic municipalities for tests and benchmarks.
//!
//! A [`Synth`] draws people one at a time from `(seed, person index)`: each person holds one or
//! two certificates of the municipality's programmes, each with one to three validity periods.
//! The same people feed the vendor-style exports ([`SubsidyCsv`], [`ResidentsFixed`],
//! [`ShienCsv`]), the same registry as a SQLite database ([`ResidentsSqlite`]), the subsidy rows
//! as a PostgreSQL table (`postgres`, with the feature of that name) and the canonical output
//! ([`ExpectedJsonl`]): the records PMH should receive,
//! with the error that must quarantine a period whose exports carry a [`Defect`]. Nothing is
//! held beyond one person, so 10^6 certificates stream in constant memory; the same
//! configuration gives byte-identical files.

mod address;
mod certificate;
mod defect;
mod era_forms;
mod expected;
mod export;
pub mod files;
mod kana;
mod municipality;
mod names;
mod person;
#[cfg(feature = "postgres")]
pub mod postgres;
mod rng;
mod scramble;
mod synth;

pub use address::Address;
pub use certificate::{RowStyle, SynthCertificate, SynthPeriod};
pub use defect::{Defect, DefectScope};
pub use expected::{ExpectedJsonl, ExpectedRow, expected_rows, face_items, validity_text};
pub use export::{
    FixedField, FixedLayout, Pad, RESIDENTS_TABLE, RecordLayout, ResidentCells, ResidentsFixed,
    ResidentsSqlite, SUBSIDY_HEADER, ShienCsv, SubsidyCsv, SubsidyRows, resident_cells,
    resident_columns,
};
pub use municipality::{
    CopayCap, IncomeSegment, Municipality, Programme, ProgrammeKind, RecipientNumbering,
};
pub use names::{NAME_SEPARATOR, NameEntry, PersonName};
pub use person::{ShienEntry, SynthPerson};
pub use synth::{Counts, People, PersonSink, Synth, SynthConfig};
