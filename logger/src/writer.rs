//! The output file: opened append-only without following symlinks, created 0640 root:adm
//! (configurable), written in whole lines, and fdatasync'd before a state may cover them.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checkpoint::FileMark;
use crate::error::{Error, Result};
pub use crate::rotation::{find_by_identity, Rotation};

/// How a newly created output file is set up (an existing file is left as it is, like
/// logrotate's `create` leaves it to us).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateMode {
    pub mode: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Default for CreateMode {
    fn default() -> Self {
        CreateMode { mode: 0o640, uid: None, gid: None }
    }
}

pub struct Output {
    path: PathBuf,
    create: CreateMode,
    file: Arc<File>,
    mark: FileMark,
    /// False when the file ends in a partial line that is not ours to complete; the next
    /// write then starts with a LF so that our line stands alone.
    at_line_start: bool,
}

impl Output {
    pub fn open(path: &Path, create: CreateMode) -> Result<Self> {
        let (file, created) = open_no_follow(path, create.mode)?;
        let err = |source| Error::Output { path: path.to_owned(), source };
        if created {
            // The umask may have narrowed the mode; the owner is set while nobody else can
            // have opened the file yet.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(create.mode)).map_err(err)?;
            if create.uid.is_some() || create.gid.is_some() {
                // A sandbox may forbid chown (SystemCallFilter=~@privileged); the file is then
                // ours with the requested mode, which is still not world-readable.
                if let Err(e) = std::os::unix::fs::fchown(&file, create.uid, create.gid) {
                    tracing::warn!(path = %path.display(), error = %e, "cannot set the owner of the new output file");
                }
            }
            tracing::info!(path = %path.display(), mode = format!("{:o}", create.mode), "created output file");
        }
        let md = file.metadata().map_err(err)?;
        if !md.is_file() {
            return Err(Error::OutputNotRegular { path: path.to_owned() });
        }
        let mut last = [0u8];
        let at_line_start = md.size() == 0 || {
            file.read_at(&mut last, md.size() - 1).map_err(err)?;
            last[0] == b'\n'
        };
        Ok(Output {
            path: path.to_owned(),
            create,
            file: Arc::new(file),
            mark: FileMark { dev: md.dev(), ino: md.ino(), size: md.size() },
            at_line_start,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Identity and the end of our last write (or the size at open).
    pub fn mark(&self) -> FileMark {
        self.mark
    }

    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    pub fn at_line_start(&self) -> bool {
        self.at_line_start
    }

    /// While recovery runs, the state may only claim the part of the file matched so far.
    pub fn set_covered_size(&mut self, size: u64) {
        self.mark.size = size;
    }

    /// Declares that the partial last line is ours and will be completed by the next write.
    pub fn adopt_partial_line(&mut self) {
        self.at_line_start = true;
    }

    /// Appends `buf`. On error, `buf` is advanced past what did reach the file, so a retry
    /// writes exactly the rest and no line is torn or doubled.
    pub fn write(&mut self, buf: &mut &[u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        if !self.at_line_start {
            (&*self.file).write_all(b"\n")?;
            self.at_line_start = true;
            tracing::warn!(path = %self.path.display(), "output ended in a partial line that is not ours; terminated it");
        }
        while !buf.is_empty() {
            match (&*self.file).write(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => *buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // With O_APPEND the offset now is the end of what we just wrote, even when another
        // writer appended before us.
        let off = unsafe { libc::lseek(self.file.as_raw_fd(), 0, libc::SEEK_CUR) };
        if off < 0 {
            return Err(io::Error::last_os_error());
        }
        self.mark.size = off as u64;
        Ok(())
    }

    /// What happened to the file since we opened it (see [`crate::rotation`]).
    pub fn rotation(&self) -> io::Result<Rotation> {
        crate::rotation::detect(&self.file, &self.path, self.mark.size)
    }

    /// Follows a rotation: `Truncated` only resets our notion of the size (O_APPEND makes
    /// the next write land at the new end, never leaving a hole); `Replaced`/`Gone` (and
    /// SIGHUP) sync the old file and open the path anew.
    pub fn follow(&mut self, r: Rotation, fsync: bool) -> Result<()> {
        match r {
            Rotation::Same => Ok(()),
            Rotation::Truncated { size } => {
                tracing::info!(path = %self.path.display(), "output was truncated (copytruncate); appending at its new end");
                self.mark.size = size;
                self.at_line_start = true;
                Ok(())
            }
            Rotation::Replaced | Rotation::Gone | Rotation::Reopen => {
                if fsync {
                    self.file
                        .sync_data()
                        .map_err(|source| Error::Output { path: self.path.clone(), source })?;
                }
                let new = Output::open(&self.path, self.create)?;
                tracing::info!(path = %self.path.display(), ?r, "reopened output");
                *self = new;
                Ok(())
            }
        }
    }
}

/// Opens for appending; creates with O_EXCL first so we know whether we created it.
/// Symlinks are refused in both cases (O_EXCL and O_NOFOLLOW do not follow them).
fn open_no_follow(path: &Path, mode: u32) -> Result<(File, bool)> {
    let flags = libc::O_CLOEXEC | libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK;
    let mut o = OpenOptions::new();
    o.read(true).append(true).custom_flags(flags).mode(mode);
    let err = |source| Error::Output { path: path.to_owned(), source };
    let symlink = || Error::OutputSymlink { path: path.to_owned() };
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => return Err(symlink()),
        Ok(md) if !md.is_file() => return Err(Error::OutputNotRegular { path: path.to_owned() }),
        _ => {}
    }
    let file = match o.clone().create_new(true).open(path) {
        Ok(f) => return Ok((clear_nonblock(f).map_err(err)?, true)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => o.open(path),
        Err(e) => Err(e),
    };
    match file {
        Ok(f) => Ok((clear_nonblock(f).map_err(err)?, false)),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(symlink()),
        Err(e) => Err(err(e)),
    }
}

/// O_NONBLOCK only guards the open against a FIFO planted at the path.
fn clear_nonblock(f: File) -> io::Result<File> {
    let fd = f.as_raw_fd();
    let fl = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if fl < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_symlinks_and_creates_0640() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::write(&target, b"").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(
            Output::open(&link, CreateMode::default()),
            Err(Error::OutputSymlink { .. })
        ));
        let dangling = d.path().join("dangling");
        std::os::unix::fs::symlink(d.path().join("nope"), &dangling).unwrap();
        assert!(matches!(
            Output::open(&dangling, CreateMode::default()),
            Err(Error::OutputSymlink { .. })
        ));
        assert!(!d.path().join("nope").exists());
        let p = d.path().join("new.log");
        let o = Output::open(&p, CreateMode::default()).unwrap();
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o7777, 0o640);
        assert!(o.at_line_start());
        assert!(matches!(
            Output::open(d.path(), CreateMode::default()),
            Err(Error::OutputNotRegular { .. })
        ));
    }

    #[test]
    fn partial_foreign_line_is_terminated() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.log");
        std::fs::write(&p, b"torn").unwrap();
        let mut o = Output::open(&p, CreateMode::default()).unwrap();
        assert!(!o.at_line_start());
        o.write(&mut &b"line\n"[..]).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"torn\nline\n");
        assert_eq!(o.mark().size, 10);
    }

    #[test]
    fn rotations_are_seen() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.log");
        let mut o = Output::open(&p, CreateMode::default()).unwrap();
        o.write(&mut &b"a\nb\n"[..]).unwrap();
        assert_eq!(o.rotation().unwrap(), Rotation::Same);
        std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(0).unwrap();
        assert_eq!(o.rotation().unwrap(), Rotation::Truncated { size: 0 });
        o.follow(Rotation::Truncated { size: 0 }, true).unwrap();
        o.write(&mut &b"c\n"[..]).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"c\n");
        let mark = o.mark();
        std::fs::rename(&p, d.path().join("x.log.1")).unwrap();
        assert_eq!(o.rotation().unwrap(), Rotation::Gone);
        assert_eq!(find_by_identity(d.path(), mark), Some(d.path().join("x.log.1")));
        std::fs::write(&p, b"").unwrap();
        assert_eq!(o.rotation().unwrap(), Rotation::Replaced);
        o.follow(Rotation::Replaced, false).unwrap();
        o.write(&mut &b"d\n"[..]).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"d\n");
        assert_eq!(std::fs::read(d.path().join("x.log.1")).unwrap(), b"c\n");
    }
}
