//! f2b-logger: forwards the journal entries of chosen systemd units to plain log files that
//! fail2ban reads, with the lines `journalctl -o short-iso` would print, exactly once.
//!
//! # Brief overview
//!
//! A *route* maps a unit to a file. [`cli`] turns arguments into a [`cli::Config`];
//! [`daemon::run`] opens each route's [`checkpoint::Checkpoint`] (saved *state*: cursor plus
//! output size) and [`writer::Output`], then starts one thread per route ([`route`]). That
//! thread owns a [`reader::Reader`] (libsystemd, `_SYSTEMD_UNIT=` match), copies each entry's
//! fields into an [`entry::Entry`], turns it into a *line* with [`format::Formatter`] (and
//! [`escape`] for anything journalctl would not print as one line), and appends batches of
//! lines. A tokio task per route *commits*: fdatasync the file, then save the state
//! atomically. On restart, [`recover`] recognises lines written after the last saved state;
//! [`rotation`] notices logrotate.
//! [`notify`] speaks sd_notify.

pub mod checkpoint;
pub mod cli;
pub mod daemon;
pub mod entry;
pub mod error;
pub mod escape;
pub mod format;
pub mod notify;
pub mod reader;
pub mod recover;
pub mod rotation;
pub mod route;
pub mod writer;

pub use error::{Error, Result};
