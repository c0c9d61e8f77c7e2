//! The error a plugin returns, made ABI-stable at the boundary.

use std::fmt;

use pmhlink_plugin_api::{
    RErrorKind, RPluginError,
    abi_stable::std_types::{ROption, RString},
};

/// An error a plugin returns; becomes an [`RPluginError`] at the boundary.
///
/// Messages name files, lines, columns and config keys — never record content or config values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    pub kind: RErrorKind,
    pub message: String,
    /// e.g. `certificates.csv:1203:7`.
    pub location: Option<String>,
}

impl PluginError {
    pub fn new(kind: RErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            location: None,
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(RErrorKind::Config, message)
    }

    pub fn io(message: impl Into<String>) -> Self {
        Self::new(RErrorKind::Io, message)
    }

    pub fn data(message: impl Into<String>) -> Self {
        Self::new(RErrorKind::Data, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(RErrorKind::Unsupported, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(RErrorKind::Other, message)
    }

    #[must_use]
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error: {}", self.kind, self.message)?;
        if let Some(location) = &self.location {
            write!(f, " (at {location})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PluginError {}

/// OS error texts name the failure, not file content; add the path with [`PluginError::at`].
impl From<std::io::Error> for PluginError {
    fn from(err: std::io::Error) -> Self {
        Self::io(err.to_string())
    }
}

impl From<PluginError> for RPluginError {
    fn from(err: PluginError) -> Self {
        Self {
            kind: err.kind,
            message: err.message.into(),
            location: err.location.map(RString::from).into(),
        }
    }
}

impl From<RPluginError> for PluginError {
    fn from(err: RPluginError) -> Self {
        Self {
            kind: err.kind,
            message: err.message.into(),
            location: match err.location {
                ROption::RSome(l) => Some(l.into()),
                ROption::RNone => None,
            },
        }
    }
}
