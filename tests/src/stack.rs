//! The fixture: one namespace holding journald, the journal → file forwarders and
//! fail2ban-server over a staged tree, with helpers to send failures and watch the bans.
//!
//! Start order: namespace (tmpfs /run, staged binds, `lo` up) → journald → forwarders (waiting
//! for READY=1) → fail2ban-server (waiting until every jail has started). Drop stops them in
//! reverse by PID, then kills the namespace and removes the fake cgroups and the temp dir.

use crate::cgroup::{cgroup2_root, UnitCgroups};
use crate::forwarder::{command_lines, Forwarder};
use crate::ns::{Daemon, Namespace};
use crate::observe::{nft_sets, JailStatus};
use crate::remote::RemoteJournal;
use crate::stage::{ConfigSource, Stage, ROUTES};
use anyhow::{bail, Context, Result};
use nix::sys::signal::Signal;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Where the journal entries come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalSource {
    /// journald when this host can run it (cgroup2 mounted, binary present), else `Remote`.
    Auto,
    /// A real systemd-journald in the namespace; senders log to it from fake unit cgroups.
    Journald,
    /// Journal files appended by systemd-journal-remote, followed with `--journal-dir`.
    Remote,
}

#[derive(Debug, Clone)]
pub struct Options {
    pub journal: JournalSource,
    pub config: ConfigSource,
    pub forwarder: Forwarder,
    /// Extra ignoreip addresses (`--ignoreip` of f2b-config).
    pub ignoreip: Vec<String>,
    /// Jails that must have started before the stack is ready.
    pub jails: Vec<String>,
    /// Print every step on stderr (the demo; `F2B_E2E_VERBOSE=1` in tests).
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            journal: JournalSource::Auto,
            config: ConfigSource::F2bConfig,
            forwarder: Forwarder::F2bLogger,
            ignoreip: Vec::new(),
            jails: vec!["proxmox".into(), "sshd".into()],
            verbose: std::env::var_os("F2B_E2E_VERBOSE").is_some(),
        }
    }
}

/// A journal → file forwarder process (restartable).
#[derive(Debug)]
struct Logger {
    name: String,
    argv: Vec<String>,
    daemon: Option<Daemon>,
}

const REMOTE_DIR: &str = "/var/log/f2b-e2e-journal";
const FAIL2BAN_LOG: &str = "/var/log/fail2ban.log";

const SETUP: &str = r#"set -eu
if [ -n "${E2E_CG_INIT:-}" ]; then echo 0 > "$E2E_CG_INIT/cgroup.procs"; fi
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal /run/log /run/fail2ban
mount --bind "$E2E_ROOT/etc/fail2ban" /etc/fail2ban
mount --bind "$E2E_ROOT/etc/systemd" /etc/systemd
mount --bind "$E2E_ROOT/var/log" /var/log
mount --bind "$E2E_ROOT/var/lib" /var/lib
ip link set lo up
echo ready
exec sleep infinity
"#;

/// journald, forwarders and fail2ban-server running in private namespaces.
#[derive(Debug)]
pub struct Stack {
    opts: Options,
    journal: JournalSource,
    tmp: TempDir,
    stage: Stage,
    bin: PathBuf,
    cgroups: Option<UnitCgroups>,
    ns: Option<Namespace>,
    journald: Option<Daemon>,
    loggers: Vec<Logger>,
    fail2ban: Option<Daemon>,
    remote: Option<RemoteJournal>,
}

impl Stack {
    /// Stages, starts and waits for everything; see the module doc.
    pub fn start(opts: Options) -> Result<Self> {
        let t0 = Instant::now();
        let journal = resolve_source(opts.journal)?;
        let tmp = tempfile::Builder::new().prefix("f2b-e2e-").tempdir()?;
        // Binaries are copied out of the workspace: the namespace mounts over /var/lib and
        // /var/log, where a CI checkout might live.
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin)?;
        for name in ["f2b-e2e-send", "f2b-logger", "f2b-config"] {
            let needed = match name {
                "f2b-logger" => opts.forwarder == Forwarder::F2bLogger,
                "f2b-config" => opts.config == ConfigSource::F2bConfig,
                _ => journal == JournalSource::Journald,
            };
            if needed {
                std::fs::copy(workspace_bin(name)?, bin.join(name))?;
            }
        }
        let root = tmp.path().join("root");
        let stage =
            Stage::build(&root, opts.config, &opts.ignoreip, Some(&bin.join("f2b-config")))?;
        for d in ["logs", "notify"] {
            std::fs::create_dir(tmp.path().join(d))?;
        }
        let mut me = Self {
            opts,
            journal,
            tmp,
            stage,
            bin,
            cgroups: None,
            ns: None,
            journald: None,
            loggers: Vec::new(),
            fail2ban: None,
            remote: None,
        };
        me.say(format!(
            "staged {} ({:?} config), journal source {:?}",
            me.stage.root.display(),
            me.opts.config,
            me.journal
        ));
        me.start_namespace()?;
        me.start_journal()?;
        me.start_loggers()?;
        me.start_fail2ban()?;
        me.say(format!("stack ready after {:.2?}", t0.elapsed()));
        Ok(me)
    }

    fn say(&self, msg: impl AsRef<str>) {
        if self.opts.verbose {
            eprintln!("==> {}", msg.as_ref());
        }
    }

    fn ns(&self) -> &Namespace {
        self.ns.as_ref().expect("namespace started")
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.tmp.path().join("logs").join(format!("{name}.log"))
    }

    /// The journal source actually used.
    pub fn journal_source(&self) -> JournalSource {
        self.journal
    }

    /// The staged tree.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    fn start_namespace(&mut self) -> Result<()> {
        let mut env: Vec<(&str, &OsStr)> = vec![("E2E_ROOT", self.stage.root.as_os_str())];
        let init_scope;
        if self.journal == JournalSource::Journald {
            let units: Vec<&str> = ROUTES.iter().map(|(u, _)| *u).collect();
            let cg = UnitCgroups::create(&units)?;
            init_scope = cg.init_scope();
            self.cgroups = Some(cg);
            env.push(("E2E_CG_INIT", init_scope.as_os_str()));
        }
        let ns = Namespace::start(SETUP, &env, &self.log_path("namespace"))?;
        self.say(format!("namespace up (unshare -m -n -p; PID 1 = host pid {})", ns.init_pid()));
        self.ns = Some(ns);
        Ok(())
    }

    fn start_journal(&mut self) -> Result<()> {
        match self.journal {
            JournalSource::Journald => {
                let cmd = self.ns().command("/lib/systemd/systemd-journald");
                let d = self.ns().spawn("journald", cmd, &self.log_path("journald"))?;
                self.journald = Some(d);
                let sock = self.ns().path("/run/systemd/journal/socket");
                self.wait_for("journald's socket", Duration::from_secs(10), |s| {
                    s.alive("journald")?;
                    Ok(sock.exists())
                })?;
                self.say("systemd-journald running in the namespace");
            }
            JournalSource::Remote => {
                std::fs::create_dir_all(self.stage.host(REMOTE_DIR))?;
                let mut remote =
                    RemoteJournal::new(self.stage.host(&format!("{REMOTE_DIR}/remote.journal")));
                // A first entry, so the followed directory holds a journal file from the start.
                remote.append("f2b-e2e-init.service", "f2b-e2e", 6, &["journal created".into()])?;
                self.remote = Some(remote);
                self.say(format!(
                    "journal files in {REMOTE_DIR}, appended by systemd-journal-remote"
                ));
            }
            JournalSource::Auto => unreachable!("resolved in start"),
        }
        Ok(())
    }

    fn start_loggers(&mut self) -> Result<()> {
        if self.opts.forwarder == Forwarder::Journalctl {
            // journalctl 252 `-f` with a `_SYSTEMD_UNIT=` match that has no entry yet misses
            // some of the first entries that arrive (seen here: 0 or 1 of a burst of 3). On a
            // real host the unit has logged before, so give each unit one harmless entry first.
            for (unit, _) in ROUTES {
                let ident = unit.trim_end_matches(".service");
                self.send(unit, ident, &["f2b-e2e: unit started".into()])?;
            }
        }
        for (name, argv) in command_lines(
            self.opts.forwarder,
            &self.stage,
            self.opts.config,
            &self.bin,
            (self.journal == JournalSource::Remote).then_some(REMOTE_DIR),
        )? {
            self.loggers.push(Logger { name, argv, daemon: None });
        }
        for i in 0..self.loggers.len() {
            self.start_logger(i)?;
        }
        // fail2ban refuses a jail whose log file is missing; the seed's installer creates them.
        for (_, file) in ROUTES {
            let p = self.stage.host(file);
            if !p.exists() {
                std::fs::write(&p, "")?;
            }
        }
        Ok(())
    }

    fn start_logger(&mut self, i: usize) -> Result<()> {
        let (name, argv) = (self.loggers[i].name.clone(), self.loggers[i].argv.clone());
        let sock_path = self.tmp.path().join("notify").join(format!("{i}.sock"));
        let _ = std::fs::remove_file(&sock_path);
        let sock = UnixDatagram::bind(&sock_path)?;
        sock.set_read_timeout(Some(Duration::from_millis(100)))?;
        let mut cmd = self.ns().command(&argv[0]);
        cmd.args(&argv[1..]).env("NOTIFY_SOCKET", &sock_path).env("RUST_LOG", "info");
        self.say(format!("start {name}: {}", argv.join(" ")));
        let d = self.ns().spawn(&name, cmd, &self.log_path(&name))?;
        self.loggers[i].daemon = Some(d);
        match self.opts.forwarder {
            Forwarder::F2bLogger => {
                let deadline = Instant::now() + Duration::from_secs(15);
                let mut buf = [0u8; 4096];
                loop {
                    if let Ok(n) = sock.recv(&mut buf) {
                        let msg = String::from_utf8_lossy(&buf[..n]);
                        if msg.lines().any(|l| l == "READY=1") {
                            break;
                        }
                    }
                    if let Some(s) =
                        self.loggers[i].daemon.as_mut().expect("just set").try_status()?
                    {
                        bail!(
                            "{name} exited ({s}) before READY=1:\n{}",
                            tail(&self.log_path(&name), 20)
                        );
                    }
                    if Instant::now() > deadline {
                        bail!("{name} sent no READY=1 within 15 s");
                    }
                }
            }
            // journalctl has no readiness signal; give it time to open the journal.
            Forwarder::Journalctl => std::thread::sleep(Duration::from_millis(700)),
        }
        let _ = std::fs::remove_file(&sock_path);
        Ok(())
    }

    fn start_fail2ban(&mut self) -> Result<()> {
        let mut cmd = self.ns().command("fail2ban-server");
        cmd.args(["-xf", "--logtarget", FAIL2BAN_LOG, "start"]);
        self.say("start fail2ban-server -xf start (foreground)");
        let d = self.ns().spawn("fail2ban-server", cmd, &self.log_path("fail2ban-server"))?;
        self.fail2ban = Some(d);
        let jails = self.opts.jails.clone();
        let log = self.stage.host(FAIL2BAN_LOG);
        self.wait_for("fail2ban's jails", Duration::from_secs(60), |s| {
            s.alive("fail2ban-server")?;
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            Ok(jails.iter().all(|j| text.contains(&format!("Jail '{j}' started"))))
        })?;
        self.say(format!("fail2ban-server running; jails {}", jails.join(", ")));
        Ok(())
    }

    /// Errors if the named daemon has exited.
    fn alive(&mut self, name: &str) -> Result<()> {
        let log = self.log_path(name);
        let d = match name {
            "journald" => self.journald.as_mut(),
            "fail2ban-server" => self.fail2ban.as_mut(),
            _ => None,
        };
        if let Some(d) = d {
            if let Some(s) = d.try_status()? {
                bail!("{name} exited ({s}):\n{}", tail(&log, 30));
            }
        }
        Ok(())
    }

    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut(&mut Self) -> Result<bool>,
    ) -> Result<Duration> {
        let t0 = Instant::now();
        loop {
            if ready(self)? {
                return Ok(t0.elapsed());
            }
            if t0.elapsed() > timeout {
                bail!("timed out after {timeout:?} waiting for {what}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Logs `messages` at err (3) as `ident` from `unit`; see [`Stack::send_at`].
    pub fn send(&mut self, unit: &str, ident: &str, messages: &[String]) -> Result<()> {
        self.send_at(unit, ident, 3, messages)
    }

    /// Logs `messages` at syslog `priority` as `ident` from `unit`; returns once journald has
    /// stored them (with `_SYSTEMD_UNIT`), or once journal-remote has appended them.
    pub fn send_at(
        &mut self,
        unit: &str,
        ident: &str,
        priority: u8,
        messages: &[String],
    ) -> Result<()> {
        for m in messages {
            self.say(format!("{unit}: {ident}: {}", m.escape_debug()));
        }
        match self.journal {
            JournalSource::Journald => {
                let cg = self.cgroups.as_ref().expect("journald mode has cgroups").unit(unit);
                let out = self
                    .ns()
                    .command(self.bin.join("f2b-e2e-send"))
                    .arg("--cgroup")
                    .arg(cg)
                    .args(["--unit", unit, "--ident", ident])
                    .args(["--priority", &priority.to_string(), "--"])
                    .args(messages)
                    .stdin(Stdio::null())
                    .output()?;
                if !out.status.success() {
                    bail!(
                        "sender failed ({}): {}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr).trim()
                    );
                }
                Ok(())
            }
            _ => self.remote.as_mut().expect("remote mode").append(unit, ident, priority, messages),
        }
    }

    /// `n` pvedaemon login failures from `addr` (as PVE 8 logs them: IPv4-mapped, at err).
    pub fn pvedaemon_failures(&mut self, addr: &str, n: usize) -> Result<()> {
        let m = format!(
            "authentication failure; rhost=::ffff:{addr} user=root@pam msg=Authentication failure"
        );
        self.send("pvedaemon.service", "pvedaemon", &vec![m; n])
    }

    /// `n` sshd password failures from `addr`, at info like sshd (dropped by journald under
    /// `MaxLevelStore=warning`).
    pub fn sshd_failures(&mut self, addr: &str, n: usize) -> Result<()> {
        let msgs: Vec<String> = (0..n)
            .map(|i| format!("Failed password for root from {addr} port {} ssh2", 50100 + i))
            .collect();
        self.send_at("ssh.service", "sshd", 6, &msgs)
    }

    /// Elements of every nftables set in the namespace.
    pub fn nft_sets(&self) -> Result<BTreeMap<String, Vec<String>>> {
        nft_sets(&self.ns().run_ok("nft", ["-j", "list", "ruleset"])?)
    }

    /// Addresses in the nftables set of `jail` (the nftables action's `addr-set-<jail>`).
    pub fn nft_banned(&self, jail: &str) -> Result<Vec<String>> {
        Ok(self.nft_sets()?.remove(&format!("addr-set-{jail}")).unwrap_or_default())
    }

    /// Polls the nftables set until `addr` is in it; returns how long that took.
    pub fn wait_banned(&mut self, jail: &str, addr: &str, timeout: Duration) -> Result<Duration> {
        let waited =
            self.wait_for(&format!("{addr} in nft set addr-set-{jail}"), timeout, |s| {
                Ok(s.nft_banned(jail)?.iter().any(|a| a == addr))
            })?;
        self.say(format!("{addr} banned in {jail} after {waited:.2?}"));
        Ok(waited)
    }

    /// `fail2ban-client status <jail>`.
    pub fn jail_status(&self, jail: &str) -> Result<JailStatus> {
        let text = self.ns().run_ok("fail2ban-client", ["status", jail])?;
        if self.opts.verbose {
            eprintln!("{}", text.trim_end());
        }
        Ok(JailStatus::parse(&text))
    }

    /// Waits until fail2ban has counted at least `n` failures in `jail` (Total failed).
    pub fn wait_failed(&mut self, jail: &str, n: u64, timeout: Duration) -> Result<Duration> {
        self.wait_for(&format!("{n} failures counted in {jail}"), timeout, |s| {
            Ok(JailStatus::parse(&s.ns().run_ok("fail2ban-client", ["status", jail])?).total_failed
                >= n)
        })
    }

    /// `nft list ruleset` as text (for humans).
    pub fn nft_ruleset(&self) -> Result<String> {
        self.ns().run_ok("nft", ["list", "ruleset"])
    }

    /// Lines of a forwarded log file (path inside the namespace).
    pub fn log_lines(&self, inside: &str) -> Result<Vec<String>> {
        let text = std::fs::read_to_string(self.stage.host(inside))?;
        Ok(text.lines().map(str::to_owned).collect())
    }

    /// Waits until `inside` holds at least `n` lines containing `needle`.
    pub fn wait_log(
        &mut self,
        inside: &str,
        needle: &str,
        n: usize,
        timeout: Duration,
    ) -> Result<Duration> {
        let p = self.stage.host(inside);
        self.wait_for(&format!("{n} lines with {needle:?} in {inside}"), timeout, |_| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            Ok(text.lines().filter(|l| l.contains(needle)).count() >= n)
        })
    }

    /// Stops every forwarder with `sig` (SIGTERM: clean stop; SIGKILL: crash).
    pub fn stop_loggers(&mut self, sig: Signal) -> Result<()> {
        for i in 0..self.loggers.len() {
            let name = self.loggers[i].name.clone();
            if let Some(mut d) = self.loggers[i].daemon.take() {
                let st = d.stop_with(sig, Duration::from_secs(10))?;
                self.say(format!("{name} stopped with {sig}: {st}"));
            }
        }
        Ok(())
    }

    /// Starts the stopped forwarders again, with the same command lines and state.
    pub fn resume_loggers(&mut self) -> Result<()> {
        for i in 0..self.loggers.len() {
            if self.loggers[i].daemon.is_none() {
                self.start_logger(i)?;
            }
        }
        Ok(())
    }

    /// The tail of everything worth reading when an assertion fails.
    pub fn diagnostics(&self) -> String {
        let mut out = String::new();
        let mut section = |title: String, body: String| {
            out.push_str(&format!("\n--- {title} ---\n{}\n", body.trim_end()));
        };
        let logs = self.tmp.path().join("logs");
        if let Ok(rd) = std::fs::read_dir(&logs) {
            let mut names: Vec<_> = rd.flatten().map(|e| e.path()).collect();
            names.sort();
            for p in names {
                section(format!("output of {}", p.display()), tail(&p, 15));
            }
        }
        for (_, file) in ROUTES {
            section(file.to_owned(), tail(&self.stage.host(file), 15));
        }
        section(FAIL2BAN_LOG.into(), tail(&self.stage.host(FAIL2BAN_LOG), 25));
        if let Some(ns) = &self.ns {
            if self.journal == JournalSource::Journald {
                let j = ns.run("journalctl", ["-o", "short-iso", "-n", "20", "--no-pager"]);
                section(
                    "journalctl -n 20".into(),
                    j.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                        .unwrap_or_else(|e| e.to_string()),
                );
            }
            section(
                "nft list ruleset".into(),
                self.nft_ruleset().unwrap_or_else(|e| e.to_string()),
            );
        }
        out
    }

    /// Unwraps `r`, or panics with `what`, the error and [`Stack::diagnostics`].
    #[track_caller]
    pub fn check<T>(&self, r: Result<T>, what: &str) -> T {
        match r {
            Ok(v) => v,
            Err(e) => panic!("{what}: {e:#}\n{}", self.diagnostics()),
        }
    }

    /// Stops everything by PID, kills the namespace, removes the cgroups. Also done on drop.
    pub fn shutdown(&mut self) -> Result<()> {
        let t0 = Instant::now();
        let mut errors = Vec::new();
        if let Some(mut d) = self.fail2ban.take() {
            if let Err(e) = d.stop() {
                errors.push(e);
            }
        }
        for l in &mut self.loggers {
            if let Some(mut d) = l.daemon.take() {
                if let Err(e) = d.stop() {
                    errors.push(e);
                }
            }
        }
        if let Some(mut d) = self.journald.take() {
            if let Err(e) = d.stop() {
                errors.push(e);
            }
        }
        drop(self.ns.take());
        if let Some(mut cg) = self.cgroups.take() {
            if let Err(e) = cg.remove() {
                errors.push(e);
            }
        }
        if self.ns.is_none() && t0.elapsed() > Duration::from_millis(1) {
            self.say(format!("stack stopped in {:.2?}", t0.elapsed()));
        }
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Err(e) = self.shutdown() {
            eprintln!("f2b-e2e: shutdown: {e:#}");
        }
    }
}

fn resolve_source(want: JournalSource) -> Result<JournalSource> {
    let journald_ok =
        cgroup2_root().is_some() && Path::new("/lib/systemd/systemd-journald").exists();
    Ok(match want {
        JournalSource::Auto if journald_ok => JournalSource::Journald,
        JournalSource::Auto => {
            eprintln!(
                "f2b-e2e: no cgroup2 hierarchy or no systemd-journald here; \
                 using journal files written by systemd-journal-remote instead"
            );
            JournalSource::Remote
        }
        JournalSource::Journald if !journald_ok => {
            bail!("journald mode needs a cgroup2 hierarchy and /lib/systemd/systemd-journald")
        }
        w => w,
    })
}

/// A binary of this workspace, next to the running executable (`target/<profile>/`).
/// `F2B_E2E_BIN_DIR` overrides the directory.
pub fn workspace_bin(name: &str) -> Result<PathBuf> {
    let dir = match std::env::var_os("F2B_E2E_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let exe = std::env::current_exe()?;
            let mut dir = exe.parent().context("exe has a parent")?.to_path_buf();
            if dir.ends_with("deps") {
                dir.pop();
            }
            dir
        }
    };
    let p = dir.join(name);
    if !p.is_file() {
        bail!(
            "{} is missing: build the workspace binaries first \
             (cargo build --release --workspace --bins; `make test` does)",
            p.display()
        );
    }
    Ok(p)
}

/// The last `n` lines of a file, or why it can't be read.
fn tail(p: &Path, n: usize) -> String {
    match std::fs::read(p) {
        Ok(b) => {
            let text = String::from_utf8_lossy(&b);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("({e})"),
    }
}
