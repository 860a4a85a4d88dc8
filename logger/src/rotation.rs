//! Noticing logrotate: the output is checked before each batch is written.
//!
//! * `create` (rename, new file): the path names another inode → reopen;
//! * renamed or deleted without a new file: link count 0 or nothing at the path → reopen,
//!   which creates the file;
//! * `copytruncate`: same inode, smaller than the end of our last write → keep the
//!   descriptor; O_APPEND puts the next line at the new end, so no hole of NULs appears;
//! * SIGHUP (a `postrotate` script) → reopen unconditionally.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::checkpoint::FileMark;

/// What happened to the output file behind our back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Same,
    /// The path now names another file (logrotate `create`, or a new file after `rename`).
    Replaced,
    /// Our file was deleted or renamed away and nothing is at the path.
    Gone,
    /// Same file, smaller than what we wrote (logrotate `copytruncate`).
    Truncated {
        size: u64,
    },
    /// Asked for by SIGHUP.
    Reopen,
}

/// Compares our descriptor `file` with what `path` names now; `our_end` is where our last
/// write ended.
pub fn detect(file: &File, path: &Path, our_end: u64) -> io::Result<Rotation> {
    let md = file.metadata()?;
    if md.nlink() == 0 {
        return Ok(Rotation::Gone);
    }
    match std::fs::symlink_metadata(path) {
        Ok(p) if p.dev() != md.dev() || p.ino() != md.ino() => return Ok(Rotation::Replaced),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Rotation::Gone),
        Err(e) => return Err(e),
    }
    if md.size() < our_end {
        return Ok(Rotation::Truncated { size: md.size() });
    }
    Ok(Rotation::Same)
}

/// Finds the file with this identity in `dir` (where logrotate's `rename` leaves the old
/// log), to recognise lines a crash left unrecorded in a file rotated while we were down.
pub fn find_by_identity(dir: &Path, mark: FileMark) -> Option<PathBuf> {
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let md = e.metadata().ok()?;
        (md.is_file() && md.dev() == mark.dev && md.ino() == mark.ino).then(|| e.path())
    })
}
