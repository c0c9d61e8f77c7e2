//! **Test fixture** — a shared library that is not a pmhlink plugin (think of a vendor's
//! helper library installed next to its plugin). The host must skip it with a clear warning and
//! go on discovering the plugins beside it.

/// Something for the library to contain.
pub fn answer() -> u32 {
    42
}
