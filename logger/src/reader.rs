//! The journal side of a route: one libsystemd handle with a `_SYSTEMD_UNIT=` match, owned by
//! the route's thread (`Journal` is neither Send nor Sync).
//!
//! Positioning follows the recipe that loses nothing when the saved entry was vacuumed:
//! `seek_cursor → next → test_cursor`, skipping the entry only if it is the saved one.
//! Read errors (rotation, vacuum, a file punched while mapped) reopen the journal and seek
//! to the last cursor that was written, never to the head.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::time::Duration;

use systemd::journal::{Journal, OpenDirectoryOptions, OpenFilesOptions, OpenOptions};

use crate::checkpoint::Position;
use crate::error::{Error, Result};

/// Which journal files to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// All local journal files, like `journalctl` without -D/--file.
    Local,
    Directory(PathBuf),
    Files(Vec<PathBuf>),
}

pub struct Reader {
    j: Journal,
    source: Source,
    unit: String,
    threshold: usize,
    /// The journal is on an entry that `advance` has not handed out yet (the first unread
    /// entry found while resuming from a cursor whose entry is gone).
    unread: bool,
}

/// How positioning went, for the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Seeked {
    /// Continuing right after the saved entry.
    Exact,
    /// The saved entry is gone; continuing with the oldest entry after it.
    Gap,
    /// Nothing at or after the saved position yet.
    AtEnd,
}

impl Reader {
    /// Opens the journal and adds the unit match. `threshold` caps how much of a field is
    /// decompressed (the message limit plus a little).
    pub fn open(source: &Source, unit: &str, threshold: usize) -> Result<Self> {
        let j = open_journal(source, unit, threshold)?;
        Ok(Reader { j, source: source.clone(), unit: unit.to_owned(), threshold, unread: false })
    }

    /// A new handle on the same files (after read errors).
    pub fn reopen(&mut self) -> Result<()> {
        self.j = open_journal(&self.source, &self.unit, self.threshold)?;
        self.unread = false;
        Ok(())
    }

    pub fn journal(&mut self) -> &mut Journal {
        &mut self.j
    }

    /// Positions the reader so that `advance` yields the first entry not yet forwarded.
    pub fn seek(&mut self, pos: &Position) -> io::Result<Seeked> {
        self.unread = false;
        match pos {
            Position::Head => {
                self.j.seek_head()?;
                Ok(Seeked::Exact)
            }
            Position::Since { realtime_usec } => {
                self.j.seek_realtime_usec(*realtime_usec)?;
                Ok(Seeked::Exact)
            }
            Position::Cursor { cursor } => {
                self.j.seek_cursor(cursor.as_str())?;
                if self.j.next()? == 0 {
                    return Ok(Seeked::AtEnd);
                }
                if self.j.test_cursor(cursor.as_str())? {
                    Ok(Seeked::Exact)
                } else {
                    self.unread = true;
                    Ok(Seeked::Gap)
                }
            }
        }
    }

    /// `--start-at tail`: the last entry of the unit counts as seen; returns the position to
    /// save. Without any entry of the unit, the position is "from now on".
    pub fn seek_tail(&mut self) -> io::Result<Position> {
        self.unread = false;
        self.j.seek_tail()?;
        if self.j.previous()? > 0 {
            return Ok(Position::Cursor { cursor: self.j.cursor()? });
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let pos = Position::Since { realtime_usec: now };
        self.seek(&pos)?;
        Ok(pos)
    }

    /// Moves to the next entry of the unit; false at the end.
    pub fn advance(&mut self) -> io::Result<bool> {
        if self.unread {
            self.unread = false;
            return Ok(true);
        }
        Ok(self.j.next()? > 0)
    }

    /// Cursor of the entry last handed out by `advance` (still current after `advance`
    /// returned false).
    pub fn cursor(&self) -> io::Result<String> {
        Ok(self.j.cursor()?)
    }

    /// Sleeps until the journal changes, `wake` becomes readable or `timeout` passes.
    pub fn wait(&mut self, wake: RawFd, timeout: Duration) -> io::Result<()> {
        let jfd = self.j.fd()?;
        let mut fds = [
            libc::pollfd { fd: jfd, events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: wake, events: libc::POLLIN, revents: 0 },
        ];
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        // Always let libsystemd digest inotify events (new, rotated or deleted files).
        self.j.process()?;
        Ok(())
    }
}

impl AsRawFd for Reader {
    fn as_raw_fd(&self) -> RawFd {
        self.j.fd().unwrap_or(-1)
    }
}

fn open_journal(source: &Source, unit: &str, threshold: usize) -> Result<Journal> {
    let what = |s: &str| match source {
        Source::Local => format!("(local journal) {s}"),
        Source::Directory(d) => format!("directory {}: {s}", d.display()),
        Source::Files(f) => format!(
            "files {}: {s}",
            f.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let io_err = |s: &str| {
        let w = what(s);
        move |source: io::Error| Error::Journal { what: w, source }
    };
    let err = |s: &str| {
        let w = what(s);
        move |e: systemd::Error| Error::Journal { what: w, source: e.into() }
    };
    let mut j = match source {
        Source::Local => OpenOptions::default().local_only(true).open().map_err(err("open"))?,
        Source::Directory(d) => {
            // libsystemd opens an unreadable directory "successfully" and shows nothing;
            // an admin deserves an error instead.
            std::fs::read_dir(d).map_err(io_err("cannot read"))?;
            OpenDirectoryOptions::default()
                .open_directory(d.as_os_str().as_bytes())
                .map_err(err("open"))?
        }
        Source::Files(files) => {
            for f in files {
                std::fs::File::open(f).map_err(io_err("cannot read"))?;
            }
            OpenFilesOptions::default()
                .open_files(files.iter().map(|p| p.as_os_str().as_bytes()))
                .map_err(err("open"))?
        }
    };
    j.set_data_threshold(threshold).map_err(err("set data threshold"))?;
    j.match_add("_SYSTEMD_UNIT", unit.as_bytes().to_vec()).map_err(err("add match"))?;
    // Consume the "invalidate" a fresh handle reports on its first wait/process, so it does
    // not look like a change later (rsyslog#7342).
    let _ = j.process();
    Ok(j)
}
