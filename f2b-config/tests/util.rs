//! Staged trees, snapshots and running the binary.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The pristine Debian 12 tree, built once per test run (and cached across runs).
pub fn base() -> &'static Path {
    static BASE: OnceLock<PathBuf> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("debian12");
        let marker = dir.join(".complete");
        if !marker.exists() {
            let script =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/stage-debian-tree.sh");
            let st = Command::new(&script).arg(&dir).status().expect("run stage-debian-tree.sh");
            assert!(st.success(), "stage-debian-tree.sh failed");
            std::fs::write(&marker, "").unwrap();
        }
        dir
    })
}

/// A private copy of the base tree.
pub struct Stage {
    pub tmp: tempfile::TempDir,
}

impl Stage {
    pub fn new() -> Stage {
        let tmp = tempfile::Builder::new().prefix("f2b-stage.").tempdir().unwrap();
        let st = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", base().display()))
            .arg(tmp.path())
            .status()
            .unwrap();
        assert!(st.success());
        std::fs::remove_file(tmp.path().join(".complete")).unwrap();
        Stage { tmp }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn root_arg(&self) -> String {
        self.dir().display().to_string()
    }

    pub fn path(&self, abs: &str) -> PathBuf {
        self.dir().join(abs.trim_start_matches('/'))
    }

    pub fn read(&self, abs: &str) -> String {
        std::fs::read_to_string(self.path(abs)).unwrap_or_else(|e| panic!("{abs}: {e}"))
    }

    pub fn exists(&self, abs: &str) -> bool {
        self.path(abs).symlink_metadata().is_ok()
    }

    pub fn write(&self, abs: &str, text: &str, mode: u32, gid: u32) {
        let p = self.path(abs);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        std::os::unix::fs::chown(&p, Some(0), Some(gid)).unwrap();
    }

    pub fn remove(&self, abs: &str) {
        std::fs::remove_file(self.path(abs)).unwrap();
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut m = BTreeMap::new();
        walk(self.dir(), self.dir(), &mut m);
        Snapshot(m)
    }

    /// `f2b-config ARGS --root STAGE` (for install/remove/status).
    pub fn f2b(&self, args: &[&str]) -> Run {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.push("--root".into());
        a.push(self.root_arg());
        f2b(&a)
    }

    /// The same, inside a private mount namespace with /run/sshd, so the real `sshd -t` and
    /// `sshd -T` run on the staged config.
    pub fn f2b_ns(&self, args: &[&str]) -> Run {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.push("--root".into());
        a.push(self.root_arg());
        let mut cmd =
            private_mounts("mount -t tmpfs tmpfs /run && mkdir /run/sshd && exec \"$0\" \"$@\"");
        cmd.arg(bin()).args(&a);
        output(cmd)
    }

    /// `fail2ban-client -c STAGE/etc/fail2ban -t` with the staged /var/log in place.
    pub fn fail2ban_test(&self) -> Run {
        let mut cmd = private_mounts(
            "mount --bind \"$0/var/log\" /var/log && exec fail2ban-client -c \"$0/etc/fail2ban\" -t",
        );
        cmd.arg(self.dir());
        output(cmd)
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_f2b-config")
}

/// Output of one run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(&self) -> &Run {
        assert_eq!(
            self.code, 0,
            "exit {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails_with(&self, code: i32, needle: &str) -> &Run {
        assert_eq!(self.code, code, "stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}:\n{}", self.stderr);
        // One clear message, no panic.
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
        self
    }
}

fn output(mut cmd: Command) -> Run {
    cmd.env_remove("SSH_CONNECTION").env_remove("RUST_LOG");
    let o = cmd.output().expect("run");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub fn f2b<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    output(cmd)
}

/// Runs with extra environment variables.
pub fn f2b_env<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    cmd.env_remove("SSH_CONNECTION").env_remove("RUST_LOG");
    cmd.envs(env.iter().copied());
    let o = cmd.output().expect("run");
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Every path of a tree: type, mode, owner, and content (or link target).
#[derive(Clone, PartialEq, Eq)]
pub struct Snapshot(pub BTreeMap<String, (char, u32, u32, u32, Vec<u8>)>);

fn walk(top: &Path, dir: &Path, m: &mut BTreeMap<String, (char, u32, u32, u32, Vec<u8>)>) {
    let mut ents: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
    ents.sort_by_key(|e| e.file_name());
    for e in ents {
        let p = e.path();
        let md = p.symlink_metadata().unwrap();
        let rel = format!("/{}", p.strip_prefix(top).unwrap().display());
        let (kind, content) = if md.file_type().is_symlink() {
            ('l', std::fs::read_link(&p).unwrap().as_os_str().as_encoded_bytes().to_vec())
        } else if md.is_dir() {
            ('d', vec![])
        } else {
            ('f', std::fs::read(&p).unwrap())
        };
        m.insert(rel, (kind, md.mode() & 0o7777, md.uid(), md.gid(), content));
        if kind == 'd' {
            walk(top, &p, m);
        }
    }
}

impl Snapshot {
    /// The paths that differ, with a short reason each.
    pub fn differences(&self, other: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (p, a) in &self.0 {
            match other.0.get(p) {
                None => out.push(format!("only before: {p}")),
                Some(b) if a != b => {
                    let what = if a.4 != b.4 { "content" } else { "type/mode/owner" };
                    out.push(format!(
                        "{what} differs: {p} ({:o} {}:{} vs {:o} {}:{})",
                        a.1, a.2, a.3, b.1, b.2, b.3
                    ));
                }
                _ => {}
            }
        }
        for p in other.0.keys() {
            if !self.0.contains_key(p) {
                out.push(format!("only after: {p}"));
            }
        }
        out
    }

    #[track_caller]
    pub fn assert_same(&self, other: &Snapshot, what: &str) {
        let d = self.differences(other);
        assert!(d.is_empty(), "{what}: trees differ:\n  {}", d.join("\n  "));
    }
}

/// Install args used throughout: deterministic firewall choice.
pub const INSTALL: [&str; 3] = ["install", "--backend", "nftables"];

/// True when namespaces and sshd are available (the real sshd checks run).
pub fn can_run_sshd() -> bool {
    cfg!(all(host_has = "unshare", host_has = "sshd"))
}

/// `unshare -m --propagation private sh -c SCRIPT`: the script (its arguments, added by the
/// caller, are `$0 $@`) runs in a private mount namespace, so its mounts vanish with it.
fn private_mounts(script: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "sh", "-c", script]);
    cmd
}
