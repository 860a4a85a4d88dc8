//! End-to-end harness for f2b-sidecar: journal → f2b-logger → fail2ban-server → nftables.
//!
//! A [`stack::Stack`] is one private `unshare -m -n -p` namespace holding a real
//! systemd-journald, the journal → file forwarders and the real fail2ban-server (foreground, with
//! the nftables ban action), over a [`stage::Stage`] (the fail2ban package's files plus the
//! configuration `f2b-config install --root` writes) bind-mounted on /etc/fail2ban, /etc/systemd,
//! /var/log and /var/lib. Senders are short processes placed in fake unit cgroups
//! ([`cgroup`]) that log over journald's native protocol ([`entry`]), so journald stamps
//! `_SYSTEMD_UNIT` as for the real pvedaemon and sshd. Bans are read back with `nft -j` and
//! `fail2ban-client status` ([`observe`]). Everything is stopped by PID ([`ns`]); the namespaces
//! vanish with their last process.
//!
//! The forwarders are f2b-logger, run with the command lines of the units f2b-config installed, or
//! the seed's `journalctl -f` loggers for contrast ([`forwarder`]). Where journald cannot run (no
//! cgroup2), the stack uses journal files appended by systemd-journal-remote ([`remote`]),
//! followed with `--journal-dir`.

pub mod cgroup;
pub mod entry;
pub mod forwarder;
pub mod ns;
pub mod observe;
pub mod remote;
pub mod stack;
pub mod stage;

pub use forwarder::Forwarder;
pub use stack::{JournalSource, Options, Stack};
pub use stage::ConfigSource;
