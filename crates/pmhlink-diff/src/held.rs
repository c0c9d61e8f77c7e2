//! Quarantined rows of today's export, and the baseline rows each one protects from deletion.

use crate::keys::{RowKey, Shield};

/// A row of today's export that failed a check (quarantined). A row that could not be sent
/// must not turn into a deletion of what PMH holds, so each one protects the baseline rows it
/// might be, as precisely as its identity could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Held {
    /// Fully identified: protects exactly this baseline row.
    Row(RowKey),
    /// The certificate identity is incomplete (typically no My Number after a failed join):
    /// protects every baseline row with this shield.
    Shield(Shield),
    /// Nothing could be identified (e.g. unreadable bytes): protects every baseline row not
    /// seen today, since any of them might be this one.
    Unidentified,
}
