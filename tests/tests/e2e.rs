//! End to end (issue 7): pvedaemon / sshd failures logged to a real journald from the units'
//! cgroups → f2b-logger → the log files of a tree made by `f2b-config install --root` → the real
//! fail2ban-server → a real nftables set, all inside private namespaces.
//!
//! Each test starts its own stack; a lock runs them one at a time, so the 2 s ban deadline is not
//! measured on a machine busy with five fail2ban servers.

use f2b_e2e::{ConfigSource, Forwarder, JournalSource, Options, Stack};
use nix::sys::signal::Signal;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::Duration;

/// Evaluates a stack call, then unwraps it with the stack's diagnostics on failure.
macro_rules! ok {
    ($s:ident, $what:expr, $e:expr) => {{
        let r = $e;
        $s.check(r, $what)
    }};
}

static SERIAL: Mutex<()> = Mutex::new(());

/// The functional deadline of issue 7: banned within 2 s of the last failure reaching the journal.
const BAN_DEADLINE: Duration = Duration::from_secs(2);
/// How long we keep polling before giving up (to report the real figure when it is late).
const BAN_PATIENCE: Duration = Duration::from_secs(15);
const PROXMOX_LOG: &str = "/var/log/proxmox-auth.log";

fn stack(opts: Options) -> Stack {
    match Stack::start(opts) {
        Ok(s) => {
            eprintln!("journal source: {:?}", s.journal_source());
            s
        }
        Err(e) => panic!("starting the stack: {e:#}"),
    }
}

/// The real flow: f2b-config's tree, f2b-logger, journald when it can run here.
fn real(ignoreip: &[&str]) -> Options {
    Options { ignoreip: ignoreip.iter().map(|s| s.to_string()).collect(), ..Options::default() }
}

/// `maxretry` failures from `addr`, then the ban within the deadline (and in fail2ban's status).
fn ban(s: &mut Stack, jail: &str, addr: &str, maxretry: usize) -> Duration {
    let r = match jail {
        "sshd" => s.sshd_failures(addr, maxretry),
        _ => s.pvedaemon_failures(addr, maxretry),
    };
    ok!(s, "sending failures", r);
    let took = ok!(s, "waiting for the ban", s.wait_banned(jail, addr, BAN_PATIENCE));
    eprintln!("{addr} banned in {jail} {took:.2?} after its last failure reached the journal");
    assert!(
        took <= BAN_DEADLINE,
        "{addr} banned after {took:.2?}, deadline {BAN_DEADLINE:?}\n{}",
        s.diagnostics()
    );
    let st = ok!(s, "fail2ban-client status", s.jail_status(jail));
    assert!(
        st.banned.iter().any(|a| a == addr),
        "fail2ban-client status {jail} does not list {addr}: {st:?}"
    );
    took
}

fn assert_not_banned(s: &Stack, jail: &str, addr: &str) {
    let nft = ok!(s, "nft list", s.nft_banned(jail));
    let st = ok!(s, "fail2ban-client status", s.jail_status(jail));
    assert!(
        !nft.iter().any(|a| a == addr) && !st.banned.iter().any(|a| a == addr),
        "{addr} must not be banned in {jail}: nft {nft:?}, status {st:?}\n{}",
        s.diagnostics()
    );
}

fn count_lines(s: &Stack, file: &str, needle: &str) -> usize {
    ok!(s, "reading the forwarded log", s.log_lines(file))
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

/// A journalctl-style line the attacker hides inside one message (the user name is theirs).
fn forged_message(attacker: &str, victim: &str) -> String {
    let now =
        std::process::Command::new("date").arg("+%Y-%m-%dT%H:%M:%S%z").output().expect("date");
    let now = String::from_utf8_lossy(&now.stdout).trim().to_owned();
    format!(
        "authentication failure; rhost=::ffff:{attacker} user=x\n\
         {now} pve pvedaemon[1562]: authentication failure; rhost=::ffff:{victim} user=root@pam \
         msg=Authentication failure"
    )
}

macro_rules! e2e_test {
    ($(#[$m:meta])* fn $name:ident() $body:block) => {
        e2e_test!(needs(any(host_has = "journald", host_has = "journal_remote")) $(#[$m])* fn $name() $body);
    };
    (needs($($need:tt)*) $(#[$m:meta])* fn $name:ident() $body:block) => {
        #[test]
        #[cfg_attr(
            not(all(host_has = "unshare", host_has = "fail2ban", host_has = "nft", $($need)*)),
            ignore = "needs root, unshare, fail2ban, nftables and systemd-journald or \
                      systemd-journal-remote (run make test as root)"
        )]
        $(#[$m])*
        fn $name() {
            let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
            $body
        }
    };
}

e2e_test! {
    fn proxmox_failures_banned_within_two_seconds() {
        let mut s = stack(real(&[]));
        let addr = "192.0.2.10";
        // One short of maxretry (3): counted, not banned.
        ok!(s, "sending failures", s.pvedaemon_failures(addr, 2));
        ok!(s, "fail2ban counting them", s.wait_failed("proxmox", 2, BAN_PATIENCE));
        assert_not_banned(&s, "proxmox", addr);
        ban(&mut s, "proxmox", addr, 1);
        assert_eq!(count_lines(&s, PROXMOX_LOG, addr), 3);
        // The log fail2ban reads stays private to root:adm (0640).
        let meta = std::fs::metadata(s.stage().host(PROXMOX_LOG)).expect("stat the log");
        let adm = nix::unistd::Group::from_name("adm").ok().flatten().map(|g| g.gid.as_raw());
        assert_eq!(meta.mode() & 0o7777, 0o640, "mode of {PROXMOX_LOG}");
        assert_eq!((meta.uid(), Some(meta.gid())), (0, adm), "owner of {PROXMOX_LOG}");
    }
}

e2e_test! {
    fn ignoreip_address_is_never_banned() {
        let ignored = "203.0.113.50";
        let mut s = stack(real(&[ignored]));
        ok!(s, "sending failures", s.pvedaemon_failures(ignored, 5));
        // Barrier: lines are read in order, so once a later address is banned, fail2ban has
        // judged every line of the ignored one.
        ban(&mut s, "proxmox", "192.0.2.20", 3);
        assert_eq!(count_lines(&s, PROXMOX_LOG, ignored), 5, "forwarded");
        assert_not_banned(&s, "proxmox", ignored);
    }
}

e2e_test! {
    fn forged_line_in_a_multiline_message_bans_nobody() {
        let (attacker, victim) = ("198.51.100.20", "198.51.100.66");
        let mut s = stack(real(&[]));
        let msg = forged_message(attacker, victim);
        ok!(s, "sending", s.send("pvedaemon.service", "pvedaemon", &vec![msg; 3]));
        // The attacker's own failures count (3 = maxretry) and serve as the barrier.
        ok!(s, "attacker's ban", s.wait_banned("proxmox", attacker, BAN_PATIENCE));
        assert_not_banned(&s, "proxmox", victim);
        let lines = ok!(s, "reading the log", s.log_lines(PROXMOX_LOG));
        assert_eq!(lines.len(), 3, "one line per entry: {lines:#?}");
        for l in &lines {
            assert!(l.contains(attacker) && l.contains(victim), "{l}");
            assert!(!l.starts_with(char::is_whitespace), "{l}");
        }
    }
}

/// One failure short of maxretry stays unbanned across a forwarder restart: the line forwarded
/// before is not written again, the one logged while it was down is written once.
fn restart_double_counts_nothing(sig: Signal) {
    let (r, barrier) = ("192.0.2.30", "192.0.2.31");
    let mut s = stack(real(&[]));
    ok!(s, "first failure", s.pvedaemon_failures(r, 1));
    ok!(s, "first line", s.wait_log(PROXMOX_LOG, r, 1, BAN_PATIENCE));
    ok!(s, "stopping f2b-logger", s.stop_loggers(sig));
    ok!(s, "failure while the logger is down", s.pvedaemon_failures(r, 1));
    ok!(s, "restarting f2b-logger", s.resume_loggers());
    ban(&mut s, "proxmox", barrier, 3);
    assert_eq!(count_lines(&s, PROXMOX_LOG, r), 2, "each failure exactly once");
    assert_not_banned(&s, "proxmox", r);
    let st = ok!(s, "status", s.jail_status("proxmox"));
    assert_eq!(st.total_failed, 5, "2 + 3 failures, none twice: {st:?}");
    // Nothing was lost either: the third failure bans.
    ban(&mut s, "proxmox", r, 1);
}

e2e_test! {
    fn logger_restart_double_counts_nothing() {
        restart_double_counts_nothing(Signal::SIGTERM);
    }
}

e2e_test! {
    fn logger_kill_9_double_counts_nothing() {
        restart_double_counts_nothing(Signal::SIGKILL);
    }
}

e2e_test! {
    fn sshd_failures_banned_in_sshd_jail() {
        let mut s = stack(real(&[]));
        ban(&mut s, "sshd", "192.0.2.40", 2);
    }
}

e2e_test! {
    needs(host_has = "journal_remote")
    fn journal_remote_fallback_bans() {
        let mut s = stack(Options {
            journal: JournalSource::Remote,
            ..real(&[])
        });
        ban(&mut s, "proxmox", "192.0.2.50", 3);
    }
}

// The seed's shell loggers, for contrast (and as a check of the harness without our tools):
// the same forged message bans the bystander.
e2e_test! {
    fn seed_journalctl_logger_lets_a_forged_line_ban_a_bystander() {
        let (attacker, victim) = ("198.51.100.21", "198.51.100.67");
        let mut s = stack(Options {
            config: ConfigSource::HandWritten,
            forwarder: Forwarder::Journalctl,
            ..Options::default()
        });
        let msg = forged_message(attacker, victim);
        ok!(s, "sending", s.send("pvedaemon.service", "pvedaemon", &vec![msg; 3]));
        ok!(s, "attacker's ban", s.wait_banned("proxmox", attacker, BAN_PATIENCE));
        ok!(s, "bystander's ban", s.wait_banned("proxmox", victim, BAN_PATIENCE));
    }
}
