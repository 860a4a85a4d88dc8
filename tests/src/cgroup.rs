//! Fake unit cgroups, so a standalone journald stamps `_SYSTEMD_UNIT` on what senders log.
//!
//! journald derives the unit from the sender's cgroup path *relative to the cgroup of PID 1 in
//! its own PID namespace* (minus a trailing `/init.scope`). So the namespace's init goes into
//! `<cgroup2>/f2b-e2e-<pid>-<n>/init.scope` and a sender into
//! `<cgroup2>/f2b-e2e-<pid>-<n>/system.slice/pvedaemon.service`: journald records
//! `_SYSTEMD_CGROUP=/system.slice/pvedaemon.service`, `_SYSTEMD_UNIT=pvedaemon.service`, while the
//! host's real `system.slice` (and a real sshd in it) is never touched. Every directory made here is
//! ours and is removed on drop; directories left by a killed test run are swept at the next start.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const PREFIX: &str = "f2b-e2e-";

/// The cgroup2 mount: `/sys/fs/cgroup/unified` on a hybrid host, else `/sys/fs/cgroup`.
pub fn cgroup2_root() -> Option<PathBuf> {
    ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| is_cgroup2(p))
}

fn is_cgroup2(p: &Path) -> bool {
    nix::sys::statfs::statfs(p)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// A private cgroup subtree holding `init.scope` and one directory per unit.
#[derive(Debug)]
pub struct UnitCgroups {
    base: PathBuf,
    dirs: Vec<PathBuf>,
}

impl UnitCgroups {
    /// Creates `<cgroup2>/f2b-e2e-<pid>-<n>/{init.scope,system.slice/<unit>...}`.
    pub fn create(units: &[&str]) -> Result<Self> {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let root = cgroup2_root().context("no cgroup2 hierarchy mounted")?;
        sweep_stale(&root);
        let base = root.join(format!(
            "{PREFIX}{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut me = Self { base: base.clone(), dirs: Vec::new() };
        let mut want = vec![base.clone(), base.join("init.scope"), base.join("system.slice")];
        want.extend(units.iter().map(|u| base.join("system.slice").join(u)));
        for d in want {
            std::fs::create_dir(&d).with_context(|| format!("mkdir {}", d.display()))?;
            me.dirs.push(d);
        }
        Ok(me)
    }

    /// Where the namespace's PID 1 goes (journald's reference point).
    pub fn init_scope(&self) -> PathBuf {
        self.base.join("init.scope")
    }

    /// The directory a sender for `unit` joins.
    pub fn unit(&self, unit: &str) -> PathBuf {
        self.base.join("system.slice").join(unit)
    }

    /// Removes every directory made here, deepest first. Waits briefly for exiting processes.
    pub fn remove(&mut self) -> Result<()> {
        while let Some(d) = self.dirs.pop() {
            rmdir_patiently(&d)?;
        }
        Ok(())
    }
}

impl Drop for UnitCgroups {
    fn drop(&mut self) {
        if let Err(e) = self.remove() {
            eprintln!("f2b-e2e: cgroup cleanup: {e:#}");
        }
    }
}

fn rmdir_patiently(d: &Path) -> Result<()> {
    // A cgroup stays busy until its last process has been reaped, which for processes killed
    // with their PID namespace happens asynchronously.
    for _ in 0..250 {
        match std::fs::remove_dir(d) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => bail!("rmdir {}: {e}", d.display()),
        }
    }
    bail!("rmdir {}: still busy after 5 s", d.display())
}

/// Removes `f2b-e2e-<pid>-*` trees whose test process is gone (a run killed with SIGKILL).
fn sweep_stale(root: &Path) {
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    for ent in rd.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = remove_tree(&ent.path());
    }
}

fn remove_tree(d: &Path) -> std::io::Result<()> {
    for ent in std::fs::read_dir(d)?.flatten() {
        if ent.file_type()?.is_dir() {
            remove_tree(&ent.path())?;
        }
    }
    std::fs::remove_dir(d)
}
