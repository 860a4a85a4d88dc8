//! Shared helpers: journal files made by the real systemd-journal-remote, journalctl as the
//! oracle, the f2b-logger binary, and readable diffs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const UNIT: &str = "pvedaemon.service";
pub const BOOT: &str = "0123456789abcdef0123456789abcdef";
/// A zone with DST, used for both journalctl and f2b-logger.
pub const TZ: &str = "Europe/Berlin";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_f2b-logger")
}

/// A fresh directory per test, removed on drop unless the test failed (kept for inspection).
pub struct TestDir {
    dir: Option<tempfile::TempDir>,
}

impl TestDir {
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("f2b-logger-{name}-"))
            .tempdir_in(std::env::temp_dir())
            .unwrap();
        TestDir { dir: Some(dir) }
    }
    pub fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }
    pub fn join(&self, p: &str) -> PathBuf {
        self.path().join(p)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("F2B_KEEP_TEST_FILES").is_some() {
            let d = self.dir.take().unwrap().keep();
            eprintln!("test files kept in {}", d.display());
        }
    }
}

/// One entry in journal export format.
#[derive(Clone, Debug, Default)]
pub struct Ex {
    pub fields: Vec<(String, Vec<u8>)>,
}

impl Ex {
    /// The trusted fields every imported entry needs, plus the unit.
    pub fn new(realtime_usec: u64, seq: u64, unit: Option<&str>) -> Self {
        let mut e = Ex::default();
        e.set("__REALTIME_TIMESTAMP", realtime_usec.to_string());
        e.set("__MONOTONIC_TIMESTAMP", (1_000_000 + seq).to_string());
        e.set("_BOOT_ID", BOOT);
        if let Some(u) = unit {
            e.set("_SYSTEMD_UNIT", u);
        }
        e
    }
    pub fn set(&mut self, k: &str, v: impl AsRef<[u8]>) -> &mut Self {
        self.fields.push((k.to_owned(), v.as_ref().to_vec()));
        self
    }
}

pub fn export(entries: &[Ex]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        for (k, v) in &e.fields {
            if v.iter().any(|&b| b < 0x20) {
                out.extend_from_slice(k.as_bytes());
                out.push(b'\n');
                out.extend_from_slice(&(v.len() as u64).to_le_bytes());
                out.extend_from_slice(v);
                out.push(b'\n');
            } else {
                out.extend_from_slice(k.as_bytes());
                out.push(b'=');
                out.extend_from_slice(v);
                out.push(b'\n');
            }
        }
        out.push(b'\n');
    }
    out
}

/// Appends the entries to the journal file `out` (created if missing) with journal-remote.
pub fn journal_remote(entries: &[Ex], out: &Path) {
    let mut child = Command::new("/lib/systemd/systemd-journal-remote")
        .arg("-o")
        .arg(out)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("systemd-journal-remote");
    child.stdin.take().unwrap().write_all(&export(entries)).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "journal-remote: {}", String::from_utf8_lossy(&o.stderr));
}

/// `journalctl <args> _SYSTEMD_UNIT=UNIT -o <format>` in the test's zone and the C locale.
pub fn journalctl(source: &[&str], format: &str, tz: &str) -> Vec<u8> {
    let o = Command::new("journalctl")
        .args(source)
        .arg(format!("_SYSTEMD_UNIT={UNIT}"))
        .args(["-o", format, "--no-pager"])
        .env("TZ", tz)
        .env("LC_ALL", "C")
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(o.status.success(), "journalctl: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

pub fn logger<S: AsRef<std::ffi::OsStr>>(args: &[S], tz: &str) -> Command {
    let mut c = Command::new(bin());
    c.args(args).env("TZ", tz).env("F2B_LOGGER_LOG", "info").stdin(Stdio::null());
    c
}

pub fn run_ok(mut c: Command) -> Output {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "f2b-logger failed ({:?}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Asserts equality of two outputs, printing the first differing line pair in full.
#[track_caller]
pub fn assert_same_lines(got: &[u8], want: &[u8], what: &str) {
    if got == want {
        return;
    }
    let g: Vec<&[u8]> = got.split(|&b| b == b'\n').collect();
    let w: Vec<&[u8]> = want.split(|&b| b == b'\n').collect();
    let i = g.iter().zip(&w).position(|(a, b)| a != b).unwrap_or(g.len().min(w.len()));
    panic!(
        "{what}: outputs differ ({} vs {} lines, {} vs {} bytes); first difference at line {}:\n got: {:?}\nwant: {:?}",
        g.len(),
        w.len(),
        got.len(),
        want.len(),
        i + 1,
        g.get(i).map(|l| String::from_utf8_lossy(l)),
        w.get(i).map(|l| String::from_utf8_lossy(l)),
    );
}

pub fn count_lines(b: &[u8]) -> usize {
    b.iter().filter(|&&c| c == b'\n').count()
}

/// The layout most tests share: a journal directory, the output log and the state directory,
/// all in one [`TestDir`].
pub struct Layout {
    pub dir: TestDir,
    pub jdir: PathBuf,
    pub out: PathBuf,
    pub st: PathBuf,
}

impl Layout {
    pub fn new(name: &str) -> Self {
        let dir = TestDir::new(name);
        let jdir = dir.join("journal");
        std::fs::create_dir(&jdir).unwrap();
        Layout { out: dir.join("out.log"), st: dir.join("state"), jdir, dir }
    }

    /// `extra`, then `--journal-dir JDIR --state-dir ST --route UNIT=OUT`.
    pub fn args(&self, extra: &[&str]) -> Vec<String> {
        run_args(&self.jdir, &self.st, &format!("{UNIT}={}", self.out.display()), extra)
    }
}

/// `extra`, then `--journal-dir JOURNAL` (`--journal-file` if it is a file), `--state-dir
/// STATE` and `--route ROUTE`: the arguments of a test run.
pub fn run_args(journal: &Path, state: &Path, route: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = extra.iter().map(|a| a.to_string()).collect();
    let source = if journal.is_file() { "--journal-file" } else { "--journal-dir" };
    args.extend([
        source.into(),
        journal.display().to_string(),
        "--state-dir".into(),
        state.display().to_string(),
        "--route".into(),
        route.to_string(),
    ]);
    args
}

/// A following f2b-logger, killed on drop if the test did not stop it.
pub struct Follower {
    pub child: std::process::Child,
    pub stderr: PathBuf,
}

impl Follower {
    pub fn start<S: AsRef<std::ffi::OsStr>>(args: &[S], tz: &str, stderr: PathBuf) -> Self {
        let err = std::fs::File::create(&stderr).unwrap();
        let child = logger(args, tz).stderr(err).spawn().unwrap();
        Follower { child, stderr }
    }
    pub fn signal(&self, sig: i32) {
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, sig) }, 0);
    }
    /// SIGTERM and wait; the exit must be clean.
    pub fn stop(mut self) -> String {
        self.signal(libc::SIGTERM);
        let st = self.child.wait().unwrap();
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        assert!(st.success(), "f2b-logger exited with {st:?}:\n{log}");
        log
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits until `path` holds at least `n` lines (or fails after 20 s, showing the log).
pub fn wait_lines(path: &Path, n: usize, f: &Follower) -> Vec<u8> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let b = std::fs::read(path).unwrap_or_default();
        if count_lines(&b) >= n {
            return b;
        }
        assert!(
            std::time::Instant::now() < until,
            "{} has {} lines, want {n}; log:\n{}",
            path.display(),
            count_lines(&b),
            f.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// `n` pvedaemon entries numbered from `first`, one second apart from `t0`.
pub fn numbered(first: u64, n: u64, t0: u64) -> Vec<Ex> {
    (first..first + n)
        .map(|i| {
            let mut e = Ex::new(t0 + i * 1_000_000, i, Some(UNIT));
            e.set("_HOSTNAME", "pve1")
                .set("SYSLOG_IDENTIFIER", "pvedaemon")
                .set("_PID", "1234")
                .set(
                    "MESSAGE",
                    format!(
                        "authentication failure; rhost=10.0.{}.{} user=root@pam msg=entry {i}",
                        i >> 8 & 255,
                        i & 255
                    ),
                );
            e
        })
        .collect()
}
