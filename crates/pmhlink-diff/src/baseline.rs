//! What PMH is believed to hold, row by row: the accepted version overlaid by any in flight.

use crate::keys::{Digest, Shield};

/// What PMH is believed to hold for one history row: its last accepted version overlaid by any
/// later version still in flight.
///
/// A version in flight counts as held because sending it again while its result is pending
/// would only duplicate the submission; if PMH rejects it, the ledger rolls the row back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BaselineRow {
    pub digest: Digest,
    /// Lets a quarantined row whose identity could only partly be read protect this row.
    pub shield: Shield,
}
