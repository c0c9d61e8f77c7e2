//! Durable, atomic file operations and the names allowed in the drop folder.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::Path,
};

use pmhlink_pdk::PluginError;

/// An I/O error naming the path (never file content).
pub fn io_error(what: &str, path: &Path, err: &io::Error) -> PluginError {
    PluginError::io(format!("cannot {what} {}: {err}", path.display()))
        .at(path.display().to_string())
}

/// Writes `dir/name` so that it either does not exist or is complete: a temporary name,
/// fsync, rename, fsync of the folder.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), PluginError> {
    let temp = dir.join(format!(".{name}.tmp"));
    let target = dir.join(name);
    let write = || -> io::Result<()> {
        let mut file = File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("write", &temp, &e)
    })?;
    fs::rename(&temp, &target).map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("rename into", &target, &e)
    })?;
    sync_dir(dir)
}

/// Makes renames and creations in `dir` durable. Windows cannot open a folder as a file and
/// commits directory entries itself, so there it does nothing.
pub fn sync_dir(dir: &Path) -> Result<(), PluginError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("sync", dir, &e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes `path` (a folder) if it exists.
pub fn remove_dir_if_any(path: &Path) -> Result<bool, PluginError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error("remove", path, &e)),
    }
}

/// Run ids and file names become path components: one plain component, portable to Windows,
/// not hidden (hidden names are this sink's own: `.<run>.partial`, temporary files).
pub fn check_name(what: &str, name: &str) -> Result<(), PluginError> {
    let bad = name.is_empty()
        || name.len() > 200
        || name.starts_with('.')
        || name.ends_with(['.', ' '])
        || name.chars().any(|c| {
            c.is_control() || matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|')
        });
    if bad {
        // Debug formatting escapes control characters; the name is the host's, not a record's.
        return Err(PluginError::data(format!(
            "{what} {name:?} cannot be a file name (one path component, no leading dot, no / \\ : * ? \" < > |)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_single_visible_components() {
        for ok in ["r-2025-06-01", "E06_001.json", "131016_E05_0001.csv"] {
            check_name("file name", ok).unwrap();
        }
        for bad in [
            "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "x.", "c:x", "a\nb",
        ] {
            assert!(check_name("file name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn atomic_write_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "a.json", b"{}").unwrap();
        write_atomic(dir.path(), "a.json", b"[]").unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["a.json"]);
        assert_eq!(fs::read(dir.path().join("a.json")).unwrap(), b"[]");
    }
}
