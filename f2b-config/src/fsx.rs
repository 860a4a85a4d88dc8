//! File facts and safe writes: what a path holds (content, mode, owner), and atomic replacement
//! (temporary file in the same directory, fsync, rename, fsync of the directory).
//!
//! Writes never follow a symlink: a symlink at the target, or a symlinked directory between the
//! root and the target, is refused (an attacker-made link must not redirect a root write).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::root::Root;

/// A regular file's bytes, permission bits and owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
    pub content: Vec<u8>,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

impl FileState {
    /// A root-owned file.
    pub fn new(content: impl Into<Vec<u8>>, mode: u32) -> FileState {
        FileState { content: content.into(), mode, uid: 0, gid: 0 }
    }

    /// The content as text (lossy), for parsing config files.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content).into_owned()
    }
}

/// What is at a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Absent,
    File(FileState),
    /// A directory, symlink, device...: never written by f2b-config.
    Other(&'static str),
}

impl Node {
    pub fn file(&self) -> Option<&FileState> {
        match self {
            Node::File(f) => Some(f),
            _ => None,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Node::Absent)
    }
}

/// Reads what is at `path` without following a final symlink.
pub fn read_node(path: &Path) -> Result<Node> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Node::Absent),
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => return Ok(Node::Absent),
        Err(e) => return Err(Error::io(path, e)),
    };
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Ok(Node::Other("a symlink"));
    }
    if ft.is_dir() {
        return Ok(Node::Other("a directory"));
    }
    if !ft.is_file() {
        return Ok(Node::Other("not a regular file"));
    }
    let mut f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let mut content = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut f, &mut content).map_err(|e| Error::io(path, e))?;
    Ok(Node::File(FileState {
        content,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    }))
}

/// Refuses when any directory between the root and `abs` is a symlink or not a directory.
/// Missing directories are fine (they will be created).
pub fn check_parents(root: &Root, abs: &str) -> Result<()> {
    let mut cur = root.dir().to_path_buf();
    let parent = Path::new(abs).parent().unwrap_or(Path::new("/"));
    for comp in parent.components().skip(1) {
        cur.push(comp);
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::Refused {
                    path: cur,
                    reason: format!("is a symlink (on the way to {abs})"),
                })
            }
            Ok(m) if !m.is_dir() => {
                return Err(Error::Refused {
                    path: cur,
                    reason: format!("is not a directory (on the way to {abs})"),
                })
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(&cur, e)),
        }
    }
    Ok(())
}

/// New content written to a temporary file next to its target, synced, not yet visible.
/// Dropping it removes the temporary file.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

fn is_root_user() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Writes `state` to a temporary file in `target`'s directory (which must exist).
pub fn stage(target: &Path, state: &FileState) -> Result<Staged> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    let mut tmp = tempfile::Builder::new()
        .prefix(".f2b-config.")
        .tempfile_in(dir)
        .map_err(|e| Error::io(target, e))?;
    let f = tmp.as_file_mut();
    f.write_all(&state.content).map_err(|e| Error::io(target, e))?;
    if is_root_user() {
        std::os::unix::fs::fchown(&*f, Some(state.uid), Some(state.gid))
            .map_err(|e| Error::io(target, e))?;
    }
    f.set_permissions(std::fs::Permissions::from_mode(state.mode))
        .map_err(|e| Error::io(target, e))?;
    f.sync_all().map_err(|e| Error::io(target, e))?;
    Ok(Staged { tmp, target: target.to_path_buf() })
}

impl Staged {
    /// Renames the temporary file over the target (replacing a file, never following a
    /// symlink) and syncs the directory.
    pub fn commit(self) -> Result<()> {
        let target = self.target;
        self.tmp.persist(&target).map_err(|e| Error::io(&target, e.error))?;
        fsync_dir(target.parent().unwrap_or(Path::new("/")))
    }
}

/// Atomically replaces (or creates) `target` with `state`.
pub fn write_atomic(target: &Path, state: &FileState) -> Result<()> {
    stage(target, state)?.commit()
}

/// Removes a file (not a directory) and syncs its directory; a missing file is fine.
pub fn remove_file(target: &Path) -> Result<()> {
    match std::fs::remove_file(target) {
        Ok(()) => fsync_dir(target.parent().unwrap_or(Path::new("/"))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(target, e)),
    }
}

/// Makes a directory entry change durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    let d = File::open(dir).map_err(|e| Error::io(dir, e))?;
    d.sync_all().map_err(|e| Error::io(dir, e))
}

/// Creates `dir` and its missing parents (mode 0755), returning the ones it created, top first.
pub fn create_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if std::fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    missing.reverse();
    for d in &missing {
        std::fs::create_dir(d).map_err(|e| Error::io(d, e))?;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io(d, e))?;
        if let Some(p) = d.parent() {
            fsync_dir(p)?;
        }
    }
    Ok(missing)
}

/// Removes `dir` if it is empty; true when it was removed.
pub fn remove_dir_if_empty(dir: &Path) -> Result<bool> {
    match std::fs::remove_dir(dir) {
        Ok(()) => {
            if let Some(p) = dir.parent() {
                let _ = fsync_dir(p);
            }
            Ok(true)
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e)
            if e.kind() == ErrorKind::DirectoryNotEmpty
                || e.raw_os_error() == Some(libc::ENOTEMPTY) =>
        {
            Ok(false)
        }
        Err(e) => Err(Error::io(dir, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_sets_mode_and_replaces_symlink_free_targets() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("a.conf");
        write_atomic(&p, &FileState::new("one\n", 0o640)).unwrap();
        let Node::File(f) = read_node(&p).unwrap() else { panic!() };
        assert_eq!(f.content, b"one\n");
        assert_eq!(f.mode, 0o640);
        write_atomic(&p, &FileState::new("two\n", 0o644)).unwrap();
        assert_eq!(read_node(&p).unwrap().file().unwrap().content, b"two\n");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn dropped_stage_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("b");
        drop(stage(&p, &FileState::new("x", 0o644)).unwrap());
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn symlinks_are_reported_not_followed() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("real"), "x").unwrap();
        std::os::unix::fs::symlink(t.path().join("real"), t.path().join("link")).unwrap();
        assert_eq!(read_node(&t.path().join("link")).unwrap(), Node::Other("a symlink"));
        std::fs::create_dir(t.path().join("d")).unwrap();
        std::os::unix::fs::symlink(t.path().join("d"), t.path().join("etc")).unwrap();
        let root = Root::staged(t.path()).unwrap();
        assert!(matches!(check_parents(&root, "/etc/x.conf"), Err(Error::Refused { .. })));
        assert!(check_parents(&root, "/d/new/x.conf").is_ok());
    }

    #[test]
    fn creates_and_prunes_directories() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("a/b/c");
        let made = create_dirs(&d).unwrap();
        assert_eq!(made, vec![t.path().join("a"), t.path().join("a/b"), d.clone()]);
        assert!(remove_dir_if_empty(&d).unwrap());
        std::fs::write(t.path().join("a/b/f"), "").unwrap();
        assert!(!remove_dir_if_empty(&t.path().join("a/b")).unwrap());
    }
}
