//! systemd `Type=notify` messages: READY, STATUS, WATCHDOG, STOPPING. Outside systemd
//! (no `$NOTIFY_SOCKET`) every call is a no-op.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;

use crate::route::Shared;

pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping: saving state")]);
}

pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// `WatchdogSec=` of the unit, if set for this process.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// One line for `systemctl status`: per route, lines forwarded and how far behind the
/// journal it is (time since the last forwarded entry was logged, while catching up).
pub fn status_line(routes: &[Arc<Shared>]) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    routes
        .iter()
        .map(|r| {
            let lines = r.lines.load(Ordering::Relaxed);
            let lag = if r.caught_up.load(Ordering::Relaxed) {
                "caught up".to_string()
            } else {
                let behind = now.saturating_sub(r.last_entry_usec.load(Ordering::Relaxed));
                format!("{:.1}s behind", behind as f64 / 1e6)
            };
            format!("{}: {lines} lines, {lag}", r.unit)
        })
        .collect::<Vec<_>>()
        .join("; ")
}
