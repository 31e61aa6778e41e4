//! The data directory holds the SQLite database, the signing and evidence keys and the sealed
//! evidence. Whatever the process umask, only the server's own user may enter it (0700) or read
//! what it keeps there (0600); a directory or file found wider, say from an older version or a
//! copy made by hand, is narrowed at start.

use std::fs::{self, DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// The files the server keeps directly in the data directory.
const FILES: &[&str] = &[
    "kintara.db",
    "kintara.db-wal",
    "kintara.db-shm",
    "jwt-secret",
    "evidence.key",
];

/// Creates `dir` (and any missing parent) 0700, or narrows it to 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
}

/// Creates `file` empty and 0600 when it is missing, or narrows it to 0600. SQLite gives its
/// `-wal` and `-shm` files the mode of the database file, so creating that one first is enough.
pub fn private_file(file: &Path) -> io::Result<()> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(file)?;
    fs::set_permissions(file, Permissions::from_mode(FILE_MODE))
}

/// Narrows the data directory, its evidence directory and the files the server keeps in it.
pub fn narrow(dir: &Path) -> io::Result<()> {
    private_dir(dir)?;
    let evidence = dir.join("evidence");
    if evidence.is_dir() {
        fs::set_permissions(&evidence, Permissions::from_mode(DIR_MODE))?;
    }
    for name in FILES {
        let path = dir.join(name);
        if path.is_file() {
            fs::set_permissions(&path, Permissions::from_mode(FILE_MODE))?;
        }
    }
    Ok(())
}
