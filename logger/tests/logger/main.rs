//! Integration tests of f2b-logger against the real thing: journal files written by
//! systemd-journal-remote, journalctl 252 as the oracle, a real journald where possible.

mod crash;
mod follow;
mod hostile;
mod identity;
mod journald;
mod service;
mod util;
