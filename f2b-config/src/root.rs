//! One resolver for every path: `/` on a live host, or a staged tree given with `--root DIR`.
//!
//! Paths inside f2b-config are always written as they are on the target system
//! (`/etc/fail2ban/jail.d/…`); [`Root::path`] maps them into the tree. On a staged tree nothing
//! outside it is started, reloaded or installed (no systemctl, apt, reload).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where the target system's `/` is.
#[derive(Clone, Debug)]
pub struct Root {
    dir: PathBuf,
    host: bool,
}

impl Root {
    /// The live host.
    pub fn host() -> Root {
        Root { dir: PathBuf::from("/"), host: true }
    }

    /// A staged tree; it must be an existing directory. `--root /` means the live host.
    pub fn staged(dir: &Path) -> Result<Root> {
        let meta = std::fs::metadata(dir).map_err(|e| Error::BadRoot {
            path: dir.to_path_buf(),
            reason: format!("{e}; give an existing directory"),
        })?;
        if !meta.is_dir() {
            return Err(Error::BadRoot {
                path: dir.to_path_buf(),
                reason: "not a directory".into(),
            });
        }
        let dir = dir.canonicalize().map_err(|e| Error::io(dir, e))?;
        if dir == Path::new("/") {
            return Ok(Root::host());
        }
        Ok(Root { dir, host: false })
    }

    /// `--root` if given, else the live host.
    pub fn open(dir: Option<&Path>) -> Result<Root> {
        match dir {
            Some(d) => Root::staged(d),
            None => Ok(Root::host()),
        }
    }

    /// True on the live host: services may be restarted and packages installed.
    pub fn is_host(&self) -> bool {
        self.host
    }

    /// The tree's top directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Maps an absolute target-system path into the tree.
    pub fn path(&self, abs: &str) -> PathBuf {
        debug_assert!(abs.starts_with('/'), "not absolute: {abs}");
        if self.host {
            PathBuf::from(abs)
        } else {
            self.dir.join(abs.trim_start_matches('/'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_paths_into_the_tree() {
        let t = tempfile::tempdir().unwrap();
        let r = Root::staged(t.path()).unwrap();
        assert!(!r.is_host());
        assert_eq!(
            r.path("/etc/ssh/sshd_config"),
            t.path().canonicalize().unwrap().join("etc/ssh/sshd_config")
        );
        assert_eq!(Root::host().path("/etc/x"), PathBuf::from("/etc/x"));
        assert!(Root::staged(Path::new("/")).unwrap().is_host());
    }

    #[test]
    fn rejects_missing_and_non_directory_roots() {
        let t = tempfile::tempdir().unwrap();
        let f = t.path().join("file");
        std::fs::write(&f, "x").unwrap();
        assert!(matches!(Root::staged(&f), Err(Error::BadRoot { .. })));
        assert!(matches!(Root::staged(&t.path().join("nope")), Err(Error::BadRoot { .. })));
    }
}
