//! The error type that crosses the plugin boundary (ABI-stable).

use std::fmt;

use abi_stable::{
    StableAbi,
    std_types::{ROption, RString},
};

use crate::RErrorKind;

/// An error crossing the boundary.
///
/// `message` and `location` name files, lines, columns and config keys; they never carry
/// record content or configuration values.
#[repr(C)]
#[derive(StableAbi, Clone, PartialEq, Eq)]
pub struct RPluginError {
    pub kind: RErrorKind,
    pub message: RString,
    /// Where it happened, e.g. `certificates.csv:1203:7` or a config key path.
    pub location: ROption<RString>,
}

impl RPluginError {
    pub fn new(kind: RErrorKind, message: impl Into<RString>) -> Self {
        Self {
            kind,
            message: message.into(),
            location: ROption::RNone,
        }
    }

    #[must_use]
    pub fn at(mut self, location: impl Into<RString>) -> Self {
        self.location = ROption::RSome(location.into());
        self
    }
}

impl fmt::Debug for RPluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RPluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.kind, self.message)?;
        if let ROption::RSome(location) = &self.location {
            write!(f, " (at {location})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RPluginError {}
