//! Test helper run inside the e2e namespace: joins a unit's cgroup, logs entries to journald over
//! the native protocol, and exits only once journald has stored them with `_SYSTEMD_UNIT` (journald
//! reads the unit from `/proc/<pid>/cgroup`, so the sender must still be alive at that point).

use anyhow::{bail, Context, Result};
use clap::Parser;
use f2b_e2e::entry::Entry;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// Log journal entries from inside a (fake) unit cgroup, then wait until journald stored them.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Cgroup directory to join first (journald derives _SYSTEMD_UNIT from it).
    #[arg(long)]
    cgroup: Option<PathBuf>,
    /// Unit the entries must be stored under before exiting (skip the check if absent).
    #[arg(long)]
    unit: Option<String>,
    /// SYSLOG_IDENTIFIER of every entry.
    #[arg(long)]
    ident: String,
    /// Syslog priority of every entry (3 = err, what pvedaemon uses).
    #[arg(long, default_value_t = 3)]
    priority: u8,
    /// journald's native protocol socket.
    #[arg(long, default_value = "/run/systemd/journal/socket")]
    socket: PathBuf,
    /// Give up waiting for journald after this many milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// One MESSAGE per argument; newlines are sent in the binary field form.
    messages: Vec<String>,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("f2b-e2e-send: {e:#}");
        std::process::exit(2);
    }
}

fn run(args: Args) -> Result<()> {
    if let Some(cg) = &args.cgroup {
        let procs = cg.join("cgroup.procs");
        std::fs::write(&procs, "0").with_context(|| format!("joining {}", procs.display()))?;
    }
    let sock = UnixDatagram::unbound()?;
    for m in &args.messages {
        let dgram = Entry::new()
            .field("PRIORITY", args.priority.to_string())
            .field("SYSLOG_IDENTIFIER", &args.ident)
            .field("MESSAGE", m)
            .native();
        sock.send_to(&dgram, &args.socket)
            .with_context(|| format!("sending to {}", args.socket.display()))?;
    }
    if let Some(unit) = &args.unit {
        wait_stored(unit, args.messages.len(), Duration::from_millis(args.timeout_ms))?;
    }
    Ok(())
}

/// Polls `journalctl _PID=<me> _SYSTEMD_UNIT=<unit>` until `n` entries are there.
fn wait_stored(unit: &str, n: usize, timeout: Duration) -> Result<()> {
    let t0 = Instant::now();
    let pid = format!("_PID={}", std::process::id());
    let unit_match = format!("_SYSTEMD_UNIT={unit}");
    loop {
        let out = Command::new("journalctl")
            .args(["--no-pager", "-q", "-o", "json", &pid, &unit_match])
            .output()
            .context("running journalctl")?;
        let stored = out.stdout.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
        if stored >= n {
            return Ok(());
        }
        if t0.elapsed() > timeout {
            bail!(
                "journald stored {stored} of {n} entries with {unit_match} within {timeout:?} \
                 (is MaxLevelStore below the entries' priority, or the cgroup not a unit's?)"
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
