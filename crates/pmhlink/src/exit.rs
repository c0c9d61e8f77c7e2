//! The documented exit statuses. Scripts and schedulers key on these, so they never change.

use std::process::ExitCode;

/// Everything checked out (warnings allowed).
pub const OK: u8 = 0;
/// The input was read, and at least one finding is an error.
pub const FINDINGS: u8 = 1;
/// The input, a profile, a site file or the arguments cannot be read at all.
pub const UNREADABLE: u8 = 2;

pub fn code(status: u8) -> ExitCode {
    ExitCode::from(status)
}
