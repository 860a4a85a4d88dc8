//! Journal files written by `systemd-journal-remote` from export-format entries: the journal
//! source where a real journald cannot run. Trusted fields (`_SYSTEMD_UNIT`, `_PID`, …) are kept as
//! given, and each run appends to the same file, which a follower picks up.

use crate::entry::Entry;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// One journal file (name ending in `.journal`), appended entry batch by batch.
#[derive(Debug)]
pub struct RemoteJournal {
    file: PathBuf,
    seq: u64,
}

impl RemoteJournal {
    pub fn new(file: PathBuf) -> Self {
        Self { file, seq: 0 }
    }

    /// Appends one entry per message, as if logged now by `ident` in `unit` at `priority`.
    pub fn append(
        &mut self,
        unit: &str,
        ident: &str,
        priority: u8,
        messages: &[String],
    ) -> Result<()> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
        let mut data = Vec::new();
        for m in messages {
            self.seq += 1;
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros();
            data.extend(
                Entry::new()
                    .field("__REALTIME_TIMESTAMP", now.to_string())
                    .field("__MONOTONIC_TIMESTAMP", (1_000_000 + self.seq).to_string())
                    .field("_BOOT_ID", "0123456789abcdef0123456789abcdef")
                    .field("_HOSTNAME", host.trim())
                    .field("_SYSTEMD_UNIT", unit)
                    .field("_PID", (4000 + self.seq % 1000).to_string())
                    .field("SYSLOG_IDENTIFIER", ident)
                    .field("PRIORITY", priority.to_string())
                    .field("MESSAGE", m)
                    .export(),
            );
        }
        let mut child = Command::new("/lib/systemd/systemd-journal-remote")
            .arg("-o")
            .arg(&self.file)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("spawning systemd-journal-remote")?;
        child.stdin.take().expect("piped").write_all(&data)?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "systemd-journal-remote -o {} failed ({}): {}",
                self.file.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }
}
