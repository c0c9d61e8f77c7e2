//! Today's clean set against what PMH holds: what to register, update, resend, keep or remove.
//!
//! Each day pmhlink reads the municipality's full current state, while PMH's diff-history sync
//! (E05/E06) wants only what changed. The ledger remembers what PMH holds; this crate decides,
//! row by row, what to send. Rows are known only by opaque keyed hashes ([`RowKey`],
//! [`Digest`], [`Shield`]) computed by the ledger, so no personal value passes through here,
//! and there is no IO.
//!
//! # Rules
//!
//! [`Differ::observe`], for each of today's clean rows:
//! - a key already observed today is a [`Decision::Duplicate`] and counts nothing else;
//! - a key not in the baseline is [`Action::Register`]ed;
//! - a key in the baseline with the same digest is [`Decision::Unchanged`] in Diff and
//!   [`Action::Resend`] in Full/Reset (which send every row every time);
//! - a key in the baseline with another digest is an [`Action::Update`];
//! - except that a Register or Update whose digest is exactly the one PMH last rejected for this
//!   key is [`Decision::StillRejected`] unless the run retries rejected rows: the same content
//!   would only be refused again, so it goes again once the source changes or on retry. In
//!   Full/Reset such a row with a baseline version gets [`Action::Keep`] from `finish`, since
//!   leaving it out would make PMH drop the version it accepted.
//!
//! [`Differ::hold`], for each of today's quarantined rows: a quarantined row must not become a
//! deletion of what PMH holds. [`Held::Row`] protects that baseline row, [`Held::Shield`] every
//! baseline row with that shield, and [`Held::Unidentified`] every baseline row not seen today:
//! when a row cannot be identified at all, nothing is removed that day.
//!
//! [`Differ::finish`], for every baseline key not observed today:
//! - protected by a hold: nothing in Diff, [`Action::Keep`] in Full/Reset; either way it counts
//!   as `withheld` (and Keep as `keep`);
//! - otherwise [`Action::Delete`] in Diff, [`Action::Omit`] in Full/Reset.
//!
//! The resulting actions are sorted by key. [`SyncKind::Reset`] decides exactly like
//! [`SyncKind::Full`]; only the endpoint and the reports differ.
//!
//! [`guard`] then stops runs that would remove too much (see [`GuardPolicy`]), and
//! [`derived_history_key`] names history rows for sources that give no key.

mod action;
mod baseline;
mod counts;
mod differ;
mod guard;
mod held;
mod history_key;
mod keys;
mod kind;

pub use action::{Action, Decision};
pub use baseline::BaselineRow;
pub use counts::Counts;
pub use differ::{Differ, Finished};
pub use guard::{DEFAULT_MAX_REMOVAL_SHARE, GuardPolicy, GuardStop, guard};
pub use held::Held;
pub use history_key::derived_history_key;
pub use keys::{Digest, RowKey, Shield};
pub use kind::SyncKind;
