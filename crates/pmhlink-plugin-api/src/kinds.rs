//! Closed-looking, open-ended kinds.
//!
//! These are `u8` newtypes rather than enums: abi_stable rejects a plugin whose exhaustive enum
//! has a variant the host lacks, so a new kind would force an API level bump. With a newtype
//! an unknown value simply reaches the host's `_` arm.
// The constants are CamelCase so they read like the enum variants they stand in for.
#![allow(non_upper_case_globals)]

use std::fmt;

use abi_stable::StableAbi;

macro_rules! open_kind {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub u8);

        impl $name {
            $($(#[$vmeta])* pub const $variant: Self = Self($value);)+

            /// The name of a known value; `None` for a value from a newer API.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $(Self::$variant => Some(stringify!($variant)),)+
                    _ => None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
    };
}

open_kind! {
    /// What a plugin is.
    RPluginKind {
        Source = 0,
        Sink = 1,
    }
}

open_kind! {
    /// Category of an [`RPluginError`](crate::RPluginError).
    RErrorKind {
        /// The configuration is invalid (unknown key, wrong type, missing file setting…).
        Config = 0,
        /// A file, socket or other resource could not be read or written.
        Io = 1,
        /// The data does not have the expected shape (broken CSV quoting, truncated file…).
        Data = 2,
        /// The plugin does not do this (a source asked for a sink, an unsupported format…).
        Unsupported = 3,
        /// The plugin panicked; it is unusable afterwards.
        Panic = 4,
        Other = 5,
    }
}

open_kind! {
    /// Where a delivered payload stands at PMH.
    ROutcomeState {
        Pending = 0,
        Completed = 1,
        Failed = 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_printable_and_unnamed() {
        assert_eq!(RErrorKind::Config.name(), Some("Config"));
        assert_eq!(format!("{:?}", RErrorKind(200)), "RErrorKind(200)");
        assert_eq!(RErrorKind(200).name(), None);
    }
}
