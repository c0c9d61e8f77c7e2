//! Opening a file source's input: only a regular file, and never by blocking.
//!
//! `File::open` on a named pipe (FIFO) waits until a writer appears, so a FIFO given as a
//! source would hang `check` and every run; a device or a socket is no export either. Every
//! file plugin opens its input through [`open_regular_file`]: the path is looked at (`stat`,
//! which never blocks) before it is opened, and opened without blocking, then the opened file
//! is looked at again, so a path swapped for a FIFO in between is refused as well.
//!
//! [`file_name`] is how a file is named in positions (`export.tsv:12`).

use std::{
    fs::{File, FileType, Metadata, OpenOptions},
    path::Path,
};

use crate::PluginError;

/// Opens `path` for reading if it is a regular file (a symbolic link is followed). Errors are
/// of kind `Io`, located at the path, and name the path and what it is instead.
pub fn open_regular_file(path: &Path) -> Result<File, PluginError> {
    let fail = |message: String| PluginError::io(message).at(path.display().to_string());
    let cannot_open = |e: std::io::Error| fail(format!("cannot open {}: {e}", path.display()));
    regular(path, &std::fs::metadata(path).map_err(cannot_open)?).map_err(fail)?;
    let file = open_nonblocking(path).map_err(cannot_open)?;
    let metadata = file
        .metadata()
        .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
    regular(path, &metadata).map_err(fail)?;
    Ok(file)
}

/// The file's name for positions in it (`export.tsv:12`) and row errors: the last component of
/// the configured path. The path is a configuration value, but its last component is what the
/// operator configured the source to read, and names no person; a failure to *open* the file
/// names the whole path instead ([`open_regular_file`]), which is what the operator must fix.
pub fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

/// `Err(message)` unless the metadata is a regular file's.
fn regular(path: &Path, metadata: &Metadata) -> Result<(), String> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(format!(
        "{} is {}, not a regular file",
        path.display(),
        describe(kind)
    ))
}

/// What a file that is not a regular file is, for messages.
fn describe(kind: FileType) -> &'static str {
    if kind.is_dir() {
        return "a folder";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
    }
    if kind.is_symlink() {
        return "a symbolic link";
    }
    "a special file"
}

/// Opening with `O_NONBLOCK` returns at once even on a FIFO without a writer; on a regular
/// file the flag has no effect on reads.
#[cfg(unix)]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::{os::unix::net::UnixListener, process::Command};

    use super::*;

    fn refused(path: &Path) -> PluginError {
        open_regular_file(path).expect_err("not a regular file")
    }

    #[test]
    fn opens_a_regular_file_and_a_link_to_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("export.csv");
        std::fs::write(&file, "a\n").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert!(open_regular_file(&file).is_ok());
        assert!(open_regular_file(&link).is_ok());
    }

    #[test]
    fn refuses_what_is_not_a_regular_file_naming_path_and_kind() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("export.fifo");
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let socket = dir.path().join("export.sock");
        let _listener = UnixListener::bind(&socket).unwrap();
        let cases = [
            (fifo, "a named pipe (FIFO)"),
            (socket, "a socket"),
            (Path::new("/dev/null").to_owned(), "a character device"),
            (dir.path().to_owned(), "a folder"),
        ];
        for (path, kind) in cases {
            let err = refused(&path);
            assert_eq!(err.kind, pmhlink_plugin_api::RErrorKind::Io, "{err}");
            let expected = format!("{} is {kind}, not a regular file", path.display());
            assert_eq!(err.message, expected);
            assert_eq!(err.location, Some(path.display().to_string()));
        }
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.csv");
        let err = refused(&path);
        assert!(
            err.message
                .starts_with(&format!("cannot open {}: ", path.display()))
        );
    }
}
