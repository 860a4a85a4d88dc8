//! Pure rendering: profile + host facts → the files f2b-config owns (same input, same bytes).
//!
//! Every file carries a header saying it is managed and how to override it without editing it.
//! The journald and sshd changes depend on the files already there; they are planned by
//! [`crate::journald`] and [`crate::sshd`].

pub mod apt;
pub mod filter;
pub mod jail;
pub mod logrotate;
pub mod units;

use crate::error::Result;
use crate::probe::Firewall;
use crate::profile::{LogFile, Profile};

/// The jail file: one `.local` of our own in jail.d (never jail.local, which is the admin's).
/// `50-` sorts before ProxMenux's `99-proxmenux-ignore.local` allowlist, so that one still wins.
pub const JAIL_FILE: &str = "/etc/fail2ban/jail.d/50-f2b-sidecar.local";
pub const LOGROTATE_FILE: &str = "/etc/logrotate.d/f2b-sidecar";
pub const TMPFILES_FILE: &str = "/etc/tmpfiles.d/f2b-sidecar.conf";
pub const UNIT_DIR: &str = "/etc/systemd/system";
/// Where the logger units look for f2b-logger unless told otherwise.
pub const DEFAULT_LOGGER: &str = "/usr/local/bin/f2b-logger";

/// Everything rendering needs to know.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    pub profile: &'a Profile,
    pub firewall: Firewall,
    /// f2b-logger as the logger units run it.
    pub logger_bin: String,
    /// The log path of each log file (adopted ProxMenux paths win over the defaults).
    pub log_paths: Vec<(LogFile, String)>,
    pub ignoreip: Vec<String>,
    /// sshd's `Port` values.
    pub ssh_ports: Vec<String>,
}

impl Context<'_> {
    pub fn log_path(&self, f: LogFile) -> &str {
        self.log_paths
            .iter()
            .find(|(k, _)| *k == f)
            .map(|(_, p)| p.as_str())
            .unwrap_or(f.default_path())
    }
}

/// A file f2b-config writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub path: String,
    pub content: String,
    pub mode: u32,
    pub why: String,
}

/// The jail file, the filters, the logger units, the logrotate and tmpfiles files.
pub fn all(ctx: &Context) -> Result<Vec<Rendered>> {
    let mut out = vec![jail::render(ctx)];
    for name in ctx.profile.builtin_filters() {
        out.push(filter::render(name)?);
    }
    out.extend(units::render(ctx));
    out.push(logrotate::render(ctx));
    out.push(logrotate::render_tmpfiles(ctx));
    Ok(out)
}
