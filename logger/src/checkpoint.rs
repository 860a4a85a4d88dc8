//! The per-route `State`: where in the journal we are and how far the output file reached
//! when that position was written, saved atomically.
//!
//! A save writes a temporary file in the state directory, fsyncs it, renames it over the old
//! state and fsyncs the directory, so a crash leaves either the old or the new state, never a
//! mix. The caller saves only after the lines the state covers are fdatasync'd.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where reading resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Position {
    /// After the entry with this cursor (the last one forwarded or skipped).
    Cursor { cursor: String },
    /// From the first entry of the journal (`--start-at head`, nothing forwarded yet).
    Head,
    /// From the first entry at or after this time (`--start-at tail` when the unit had no
    /// entry yet, so there was no cursor to take).
    Since { realtime_usec: u64 },
}

/// Identity and size of the output file right after the last line the state covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    pub unit: String,
    pub path: PathBuf,
    pub position: Position,
    pub output: FileMark,
}

pub const VERSION: u32 = 1;

/// What was found on disk for a route.
#[derive(Debug)]
pub enum Loaded {
    Missing,
    Valid(State),
    /// Unparseable or for another route; a copy was kept at `kept`.
    Corrupt {
        reason: String,
        kept: PathBuf,
    },
}

/// The state file of one route plus the lock that keeps a second instance off it.
pub struct Checkpoint {
    path: PathBuf,
    tmp_prefix: String,
    dir: File,
    fsync: bool,
    _lock: File,
}

/// File name stem for a route: the unit, `@`, and the output path with `/` turned into `_`
/// (and `_`, `%` and unusual bytes as `%XX`), e.g. `ssh.service@var_log_ssh-auth.log`.
pub fn stem(unit: &str, path: &Path) -> String {
    let mut s = String::with_capacity(unit.len() + 40);
    let mut push = |b: u8| match b {
        b'/' => s.push('_'),
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'@' | b'+' | b':' => {
            s.push(b as char)
        }
        _ => s.push_str(&format!("%{b:02X}")),
    };
    unit.bytes().for_each(&mut push);
    push(b'@');
    use std::os::unix::ffi::OsStrExt;
    let p = path.as_os_str().as_bytes();
    p.strip_prefix(b"/").unwrap_or(p).iter().for_each(|&b| push(b));
    s
}

impl Checkpoint {
    /// Opens (creating it if needed) the state directory and locks the route's state.
    pub fn open(state_dir: &Path, unit: &str, output: &Path, fsync: bool) -> Result<Self> {
        let dir_err = |source| Error::StateDir { path: state_dir.to_owned(), source };
        fs::create_dir_all(state_dir).map_err(dir_err)?;
        let dir = File::open(state_dir).map_err(dir_err)?;
        let stem = stem(unit, output);
        let path = state_dir.join(format!("{stem}.state"));
        let lock_path = state_dir.join(format!("{stem}.lock"));
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(dir_err)?;
        use std::os::fd::AsRawFd;
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(Error::Locked { path: lock_path });
        }
        // Temporary files of a save that a crash interrupted; ours alone, as we hold the lock.
        let tmp_prefix = format!(".{stem}.tmp-");
        for e in fs::read_dir(state_dir).map_err(dir_err)?.flatten() {
            if e.file_name().to_string_lossy().starts_with(&tmp_prefix) {
                let _ = fs::remove_file(e.path());
            }
        }
        // Fail now, not at the first save, when the directory is not writable.
        tempfile::Builder::new().prefix(&tmp_prefix).tempfile_in(state_dir).map_err(dir_err)?;
        Ok(Checkpoint { path, tmp_prefix, dir, fsync, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the saved state; a corrupt file is copied aside (never deleted) and reported.
    pub fn load(&self, unit: &str, output: &Path) -> Result<Loaded> {
        let bytes = match fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(source) => return Err(Error::StateFile { path: self.path.clone(), source }),
        };
        let reason = match serde_json::from_slice::<State>(&bytes) {
            Ok(s) if s.version != VERSION => format!("unknown version {}", s.version),
            Ok(s) if s.unit != unit || s.path != output => {
                format!("belongs to route {}={}", s.unit, s.path.display())
            }
            Ok(s) => return Ok(Loaded::Valid(s)),
            Err(e) => e.to_string(),
        };
        let kept = self.keep(&bytes)?;
        Ok(Loaded::Corrupt { reason, kept })
    }

    /// Copies the saved state aside as corrupt (it parsed, but libsystemd rejects it).
    pub fn keep_copy(&self) -> Result<PathBuf> {
        let bytes = fs::read(&self.path)
            .map_err(|source| Error::StateFile { path: self.path.clone(), source })?;
        self.keep(&bytes)
    }

    fn keep(&self, bytes: &[u8]) -> Result<PathBuf> {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let kept = self.path.with_extension(format!(
            "state.corrupt-{}.{:09}",
            now.as_secs(),
            now.subsec_nanos()
        ));
        fs::write(&kept, bytes)
            .map_err(|source| Error::StateFile { path: kept.clone(), source })?;
        Ok(kept)
    }

    /// Replaces the saved state atomically (and durably unless fsync is off).
    pub fn save(&self, state: &State) -> Result<()> {
        let err = |source| Error::StateFile { path: self.path.clone(), source };
        let dir = self.path.parent().expect("state path has a parent");
        let mut tmp =
            tempfile::Builder::new().prefix(&self.tmp_prefix).tempfile_in(dir).map_err(err)?;
        let mut json = serde_json::to_vec_pretty(state).expect("state serialises");
        json.push(b'\n');
        tmp.write_all(&json).map_err(err)?;
        if self.fsync {
            tmp.as_file().sync_data().map_err(err)?;
        }
        tmp.persist(&self.path).map_err(|e| err(e.error))?;
        if self.fsync {
            self.dir.sync_all().map_err(err)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        State {
            version: VERSION,
            unit: "ssh.service".into(),
            path: "/var/log/ssh-auth.log".into(),
            position: Position::Cursor { cursor: "s=1;i=2".into() },
            output: FileMark { dev: 1, ino: 2, size: 3 },
        }
    }

    #[test]
    fn stems_are_readable_and_distinct() {
        assert_eq!(
            stem("ssh.service", Path::new("/var/log/ssh-auth.log")),
            "ssh.service@var_log_ssh-auth.log"
        );
        assert_ne!(stem("a", Path::new("/x_y")), stem("a", Path::new("/x/y")));
    }

    #[test]
    fn save_load_roundtrip_and_lock() {
        let d = tempfile::tempdir().unwrap();
        let out = Path::new("/var/log/ssh-auth.log");
        let c = Checkpoint::open(d.path(), "ssh.service", out, true).unwrap();
        assert!(matches!(c.load("ssh.service", out).unwrap(), Loaded::Missing));
        c.save(&state()).unwrap();
        match c.load("ssh.service", out).unwrap() {
            Loaded::Valid(s) => assert_eq!(s, state()),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Checkpoint::open(d.path(), "ssh.service", out, true),
            Err(Error::Locked { .. })
        ));
        drop(c);
        let stale = d.path().join(".ssh.service@var_log_ssh-auth.log.tmp-x");
        fs::write(&stale, b"half").unwrap();
        let _c = Checkpoint::open(d.path(), "ssh.service", out, true).unwrap();
        assert!(!stale.exists());
        // Only the state and the lock remain: no temporary files are left behind.
        let mut names: Vec<_> =
            fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn corrupt_state_is_kept_aside() {
        let d = tempfile::tempdir().unwrap();
        let out = Path::new("/o");
        let c = Checkpoint::open(d.path(), "u", out, false).unwrap();
        fs::write(c.path(), b"{ not json").unwrap();
        match c.load("u", out).unwrap() {
            Loaded::Corrupt { kept, .. } => assert_eq!(fs::read(kept).unwrap(), b"{ not json"),
            other => panic!("{other:?}"),
        }
        c.save(&State { unit: "other".into(), ..state() }).unwrap();
        assert!(matches!(c.load("u", out).unwrap(), Loaded::Corrupt { .. }));
    }
}
