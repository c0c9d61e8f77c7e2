//! The canonical PMH data model.
//!
//! Everything here is plain data: no IO, no validation. Identifiers are strings of the sent
//! form (never integers: leading zeros are significant). Personal values are wrapped in
//! [`Pii`], whose `Debug` and `Display` never show the value, so a stray `{:?}` in a log line
//! or a panic message cannot leak My Number, names, kana, address or birth date.

mod content;
mod field;
mod pii;
mod record;

pub use content::*;
pub use field::{FieldId, FieldKind};
pub use pii::Pii;
pub use record::{
    CertificateFace, CertificateId, DetailItem, HistoryRow, MaxCopayment, Person, ReceiptFields,
    Record,
};
