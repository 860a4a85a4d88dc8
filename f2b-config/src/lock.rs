//! One f2b-config run per tree at a time: an exclusive `flock` on the root directory itself,
//! so taking the lock writes nothing (a staged tree stays byte-identical) and a crash releases it.

use std::fs::File;

use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};
use crate::root::Root;

/// Held until dropped.
pub struct Lock {
    _flock: Flock<File>,
}

/// Takes the lock, or fails at once if another run holds it.
pub fn acquire(root: &Root) -> Result<Lock> {
    let dir = File::open(root.dir()).map_err(|e| Error::io(root.dir(), e))?;
    match Flock::lock(dir, FlockArg::LockExclusiveNonblock) {
        Ok(f) => Ok(Lock { _flock: f }),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
            Err(Error::Locked { root: root.dir().to_path_buf() })
        }
        Err((_, e)) => Err(Error::io(root.dir(), std::io::Error::from(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_the_first_is_dropped() {
        let t = tempfile::tempdir().unwrap();
        let r = Root::staged(t.path()).unwrap();
        let l = acquire(&r).unwrap();
        assert!(matches!(acquire(&r), Err(Error::Locked { .. })));
        drop(l);
        assert!(acquire(&r).is_ok());
    }
}
