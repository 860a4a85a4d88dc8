//! The two f2b-logger units, with ProxMenux's unit names.
//!
//! Unlike ProxMenux's `PartOf=fail2ban.service` (stop propagates, start does not, so a
//! `systemctl stop fail2ban; systemctl start fail2ban` left the loggers dead), they run on their
//! own from multi-user.target and are only ordered before fail2ban. Type=notify: f2b-logger
//! reports READY=1 when it follows the journal.

use super::{Context, Rendered, TMPFILES_FILE, UNIT_DIR};
use crate::profile::LOGGERS;

/// Path of a unit file.
pub fn path(unit: &str) -> String {
    format!("{UNIT_DIR}/{unit}")
}

/// The state directory of one logger (under /var/lib, via StateDirectory=).
pub fn state_dir(unit: &str) -> String {
    format!("/var/lib/f2b-logger/{}", unit.trim_end_matches(".service"))
}

pub fn render(ctx: &Context) -> Vec<Rendered> {
    LOGGERS
        .iter()
        .map(|l| {
            let log = ctx.log_path(l.log);
            let state = state_dir(l.unit);
            let state_rel = state.trim_start_matches("/var/lib/");
            let content = format!(
                "# Managed by f2b-config (f2b-sidecar); removed by `f2b-config remove`.\n\
                 # Override with `systemctl edit {unit}`, not here.\n\
                 [Unit]\n\
                 Description={desc}\n\
                 Documentation={repo}\n\
                 After=systemd-journald.service {source}\n\
                 Before=fail2ban.service\n\
                 \n\
                 [Service]\n\
                 Type=notify\n\
                 # Recreates the log (0640 root:adm) if it was deleted: ReadWritePaths= needs it to exist.\n\
                 ExecStartPre=+/bin/systemd-tmpfiles --create {tmpfiles}\n\
                 ExecStart={bin} --route {source}={log} --state-dir {state} --format short-iso\n\
                 Restart=always\n\
                 RestartSec=2\n\
                 # f2b-logger sends WATCHDOG=1 while its journal thread makes progress.\n\
                 WatchdogSec=60s\n\
                 StateDirectory={state_rel}\n\
                 StateDirectoryMode=0700\n\
                 ReadWritePaths={log}\n\
                 UMask=0027\n\
                 ProtectSystem=strict\n\
                 ProtectHome=yes\n\
                 PrivateTmp=yes\n\
                 PrivateDevices=yes\n\
                 PrivateNetwork=yes\n\
                 PrivateMounts=yes\n\
                 IPAddressDeny=any\n\
                 NoNewPrivileges=yes\n\
                 CapabilityBoundingSet=\n\
                 AmbientCapabilities=\n\
                 ProtectKernelTunables=yes\n\
                 ProtectKernelModules=yes\n\
                 ProtectKernelLogs=yes\n\
                 ProtectControlGroups=yes\n\
                 ProtectClock=yes\n\
                 ProtectHostname=yes\n\
                 ProtectProc=invisible\n\
                 RestrictAddressFamilies=AF_UNIX\n\
                 RestrictNamespaces=yes\n\
                 RestrictRealtime=yes\n\
                 RestrictSUIDSGID=yes\n\
                 LockPersonality=yes\n\
                 MemoryDenyWriteExecute=yes\n\
                 SystemCallArchitectures=native\n\
                 SystemCallFilter=@system-service\n\
                 SystemCallFilter=~@privileged @resources\n\
                 SystemCallErrorNumber=EPERM\n\
                 \n\
                 [Install]\n\
                 WantedBy=multi-user.target\n",
                unit = l.unit,
                desc = l.description,
                repo = env!("CARGO_PKG_REPOSITORY"),
                source = l.source_unit,
                tmpfiles = TMPFILES_FILE,
                bin = ctx.logger_bin,
            );
            Rendered { path: path(l.unit), content, mode: 0o644, why: format!("logger unit {}", l.unit) }
        })
        .collect()
}
