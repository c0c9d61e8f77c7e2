//! Domain rules for PMH 医療費助成 records (see `shared/spec/domain-rules.md`): check digits,
//! code tables, character classes, text cleaning, era dates, and the findings they produce.
//!
//! No IO, no clock: the caller passes "today" in a [`RuleContext`].

pub mod charset;
pub mod check;
pub mod check_digit;
pub mod clean;
pub mod codes;
pub mod date;
pub mod era;
mod finding;
pub mod text;

pub use charset::Charset;
pub use check::{Policy, RuleContext, check_record};
pub use codes::SiteTables;
pub use date::CivilDate;
pub use finding::{Code, FieldRef, Finding, Severity, catalogue_markdown};
