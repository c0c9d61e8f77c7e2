//! The opaque identifiers the ledger hands over. They are keyed hashes computed by the ledger,
//! so this crate decides what to send without ever holding a personal value.

/// Keyed hash of (certificate identity, history key): one history row.
pub type RowKey = [u8; 16];

/// Keyed hash of a row's canonical content, everything but `isDeleted`: two versions of a row
/// with equal digests are the same version.
pub type Digest = [u8; 16];

/// Keyed hash of (公費受給者番号, サブキー): a coarse identity that can still be computed when the
/// join with the resident records failed and the My Number is missing, so a quarantined row
/// can still protect the rows PMH holds for it.
pub type Shield = [u8; 16];
