//! One set of private namespaces (mount, network, PID) and the processes started inside it.
//!
//! The namespace is `unshare -m -n -p --fork --mount-proc --kill-child --propagation private`
//! running a setup script whose last step execs `sleep infinity` as the namespace's PID 1.
//! Processes are started in it with `nsenter`; since nsenter forks to enter the PID namespace and
//! does not forward signals, each [`Daemon`] records the *real* process (nsenter's child) and is
//! signalled by that PID. Dropping the [`Namespace`] SIGKILLs its PID 1, which makes the kernel
//! kill everything left in the PID namespace; the mount and network namespaces vanish with their
//! last process. Every spawned helper also carries PR_SET_PDEATHSIG, so nothing outlives a test
//! process that is itself killed.

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Running private namespaces, torn down on drop.
#[derive(Debug)]
pub struct Namespace {
    unshare: Child,
    init: Pid,
}

impl Namespace {
    /// Runs `setup` (a `sh` script) as the namespace's PID 1. The script must print `ready` on
    /// stdout when done and then `exec sleep infinity`; its stderr goes to `stderr_log`.
    pub fn start(setup: &str, env: &[(&str, &OsStr)], stderr_log: &Path) -> Result<Self> {
        let mut cmd = Command::new("unshare");
        cmd.args([
            "-m",
            "-n",
            "-p",
            "--fork",
            "--mount-proc",
            "--kill-child",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            setup,
        ])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(File::create(stderr_log)?);
        die_with_parent(&mut cmd);
        let mut unshare = cmd.spawn().context("spawning unshare")?;
        let mut line = String::new();
        let read = BufReader::new(unshare.stdout.take().expect("piped"))
            .read_line(&mut line)
            .context("reading the namespace setup's output")?;
        if read == 0 || line.trim() != "ready" {
            let _ = unshare.kill();
            let _ = unshare.wait();
            bail!(
                "namespace setup failed: {}",
                std::fs::read_to_string(stderr_log).unwrap_or_default().trim()
            );
        }
        let init = match child_of(Pid::from_raw(unshare.id() as i32), Duration::from_secs(5)) {
            Ok(p) => p,
            Err(e) => {
                let _ = unshare.kill();
                let _ = unshare.wait();
                return Err(e.context("finding the namespace's PID 1"));
            }
        };
        Ok(Self { unshare, init })
    }

    /// Host PID of the namespace's PID 1.
    pub fn init_pid(&self) -> Pid {
        self.init
    }

    /// A path inside the namespace's mount tree, seen from the host (`/proc/<init>/root/...`).
    pub fn path(&self, inside: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/root/{}", self.init, inside.trim_start_matches('/')))
    }

    /// A command that runs `prog` inside the mount, network and PID namespaces.
    pub fn command(&self, prog: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg("-t").arg(self.init.to_string()).args(["-m", "-n", "-p", "--"]).arg(prog);
        die_with_parent(&mut cmd);
        cmd
    }

    /// Runs `prog args...` inside the namespaces to completion, capturing its output.
    pub fn run<I, S>(&self, prog: &str, args: I) -> Result<std::process::Output>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self
            .command(prog)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {prog} in the namespace"))?;
        Ok(out)
    }

    /// Like [`Namespace::run`], but a non-zero exit is an error carrying its stderr.
    pub fn run_ok<I, S>(&self, prog: &str, args: I) -> Result<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let out = self.run(prog, args)?;
        if !out.status.success() {
            bail!(
                "{prog} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts a long-running process inside the namespaces; its output goes to `log`.
    pub fn spawn(&self, name: &str, mut cmd: Command, log: &Path) -> Result<Daemon> {
        let out = File::options().create(true).append(true).open(log)?;
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out);
        let nsenter = cmd.spawn().with_context(|| format!("spawning {name}"))?;
        let pid = match child_of(Pid::from_raw(nsenter.id() as i32), Duration::from_secs(5)) {
            Ok(p) => p,
            Err(e) => {
                // nsenter failed before forking (e.g. the namespace is gone).
                let mut nsenter = nsenter;
                let _ = nsenter.kill();
                let _ = nsenter.wait();
                return Err(e.context(format!("{name} did not start")));
            }
        };
        Ok(Daemon { name: name.to_owned(), nsenter, pid, status: None })
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // SIGKILL to a PID namespace's init from outside always lands; the kernel then kills the
        // rest of the namespace, and unshare (its parent) reaps it and exits.
        let _ = kill(self.init, Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.unshare.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = self.unshare.kill();
                    let _ = self.unshare.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

/// A process started inside the namespace, stopped by its own PID.
#[derive(Debug)]
pub struct Daemon {
    name: String,
    nsenter: Child,
    pid: Pid,
    status: Option<ExitStatus>,
}

impl Daemon {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Host PID of the process itself (not of nsenter).
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Its exit status if it has exited (nsenter passes it through).
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        if self.status.is_none() {
            self.status = self.nsenter.try_wait()?;
        }
        Ok(self.status)
    }

    /// Waits for the exit, up to `timeout`.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.try_status()? {
                return Ok(Some(s));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `sig` and waits up to `timeout` for the exit; SIGKILL after that.
    pub fn stop_with(&mut self, sig: Signal, timeout: Duration) -> Result<ExitStatus> {
        if let Some(s) = self.try_status()? {
            return Ok(s);
        }
        let _ = kill(self.pid, sig);
        if let Some(s) = self.wait_timeout(timeout)? {
            return Ok(s);
        }
        let _ = kill(self.pid, Signal::SIGKILL);
        match self.wait_timeout(Duration::from_secs(5))? {
            Some(_) => bail!("{} ignored {sig} for {timeout:?}; killed it", self.name),
            None => bail!("{} (pid {}) survived SIGKILL", self.name, self.pid),
        }
    }

    /// SIGTERM, then SIGKILL after 10 s.
    pub fn stop(&mut self) -> Result<ExitStatus> {
        self.stop_with(Signal::SIGTERM, Duration::from_secs(10))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("f2b-e2e: stopping {}: {e:#}", self.name);
        }
    }
}

/// The single child of `parent` (nsenter and unshare fork exactly once), waiting for the fork.
fn child_of(parent: Pid, timeout: Duration) -> Result<Pid> {
    let path = format!("/proc/{parent}/task/{parent}/children");
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(p) = text.split_whitespace().next() {
            return Ok(Pid::from_raw(p.parse()?));
        }
        if Instant::now() > deadline || !Path::new(&format!("/proc/{parent}")).exists() {
            bail!("process {parent} has no child after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Makes the child get SIGKILL if the thread that spawned it dies (a killed test run).
fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
