//! Rotation of the forwarded logs, and the tmpfiles entries that keep every jail's log present.
//!
//! The logger units see their log through a per-file `ReadWritePaths=` bind mount, so after
//! logrotate renames the file a running logger cannot reopen the new one (SIGHUP would reopen
//! the old inode): `postrotate` restarts them instead. f2b-logger resumes from its saved
//! cursor, so a restart loses and repeats nothing.

use super::{Context, Rendered, LOGROTATE_FILE, TMPFILES_FILE};
use crate::profile::{LogFile, LOGGERS};

pub fn render(ctx: &Context) -> Rendered {
    let logs: Vec<&str> = LOGGERS.iter().map(|l| ctx.log_path(l.log)).collect();
    let units: Vec<&str> = LOGGERS.iter().map(|l| l.unit).collect();
    let content = format!(
        "# Managed by f2b-config (f2b-sidecar); removed by `f2b-config remove`.\n\
         # The loggers resume from their saved journal cursor: a restart loses and repeats nothing.\n\
         {} {{\n\tweekly\n\trotate 4\n\tmaxsize 50M\n\tmissingok\n\tnotifempty\n\tcompress\n\tdelaycompress\n\
         \tcreate 0640 root adm\n\tsharedscripts\n\tpostrotate\n\
         \t\tsystemctl try-restart {} >/dev/null 2>&1 || true\n\tendscript\n}}\n",
        logs.join(" "),
        units.join(" ")
    );
    Rendered {
        path: LOGROTATE_FILE.into(),
        content,
        mode: 0o644,
        why: "rotation of the forwarded logs".into(),
    }
}

/// `f` lines: create the log files (0640 root:adm) if missing, at boot and before each logger
/// starts; fail2ban refuses to start a jail whose log file does not exist.
pub fn render_tmpfiles(ctx: &Context) -> Rendered {
    let mut logs: Vec<&str> = LOGGERS.iter().map(|l| ctx.log_path(l.log)).collect();
    for f in ctx.profile.log_files() {
        if f == LogFile::ProxmenuxAuth {
            logs.push(ctx.log_path(f));
        }
    }
    let mut content =
        String::from("# Managed by f2b-config (f2b-sidecar); removed by `f2b-config remove`.\n");
    for l in logs {
        content.push_str(&format!("f {l} 0640 root adm -\n"));
    }
    Rendered {
        path: TMPFILES_FILE.into(),
        content,
        mode: 0o644,
        why: "log files the jails read".into(),
    }
}
