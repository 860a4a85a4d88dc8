//! Adopting a ProxMenux Fail2Ban install (`scripts/security/fail2ban_installer.sh`).
//!
//! Recognised: its two `journalctl -f … >> FILE` logger units (replaced in place by f2b-logger
//! units of the same names, keeping FILE), its jail and filter files (moved aside: kept in the
//! backups, restored by `remove`; `filter.d/proxmox.conf` would collide with the file fail2ban
//! ≥ 1.1.1 ships), and its saved `MaxAuthTries` original. Its sshd_config edit and its journald
//! drop-in are left as they are: they already do what f2b-config would do.
//!
//! [`installer_files`] describes what the installer writes (from its documented behaviour); it
//! serves the recognition tests and the adoption tests on staged trees.

use crate::error::Result;
use crate::ini;
use crate::profile::{Logger, LOGGERS};
use crate::sshd::PROXMENUX_BACKUP;
use crate::view::Tree;

/// What was found and what to do with it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Adoption {
    /// Logger units to replace: (unit, log path it writes).
    pub units: Vec<(&'static str, String)>,
    /// ProxMenux files to move aside, with why.
    pub move_aside: Vec<(String, String)>,
    /// Things worth telling the admin.
    pub notes: Vec<String>,
    /// `MaxAuthTries` before ProxMenux changed it.
    pub max_auth_tries_backup: Option<u32>,
}

impl Adoption {
    pub fn found(&self) -> bool {
        !self.units.is_empty()
            || !self.move_aside.is_empty()
            || self.max_auth_tries_backup.is_some()
    }

    /// The log path an adopted unit wrote, if `logger` was adopted.
    pub fn log_path(&self, logger: &Logger) -> Option<&str> {
        self.units.iter().find(|(u, _)| *u == logger.unit).map(|(_, p)| p.as_str())
    }
}

/// The log file of a `journalctl -f _SYSTEMD_UNIT=SOURCE … >> FILE` unit, if `text` is one.
pub fn journalctl_unit_log(text: &str, source_unit: &str) -> Option<String> {
    let exec = text.lines().find(|l| l.trim_start().starts_with("ExecStart="))?;
    if !exec.contains("journalctl") || !exec.contains(&format!("_SYSTEMD_UNIT={source_unit}")) {
        return None;
    }
    let after = exec.split(">>").nth(1)?;
    let path = after.split_whitespace().next()?.trim_matches(|c| c == '\'' || c == '"');
    let ok =
        path.starts_with('/') && !path.contains("..") && path.chars().all(|c| c.is_ascii_graphic());
    ok.then(|| path.to_string())
}

/// Looks for a ProxMenux install in `tree`.
pub fn detect(tree: &dyn Tree) -> Result<Adoption> {
    let mut a = Adoption::default();
    for l in LOGGERS {
        let path = format!("/etc/systemd/system/{}", l.unit);
        if let Some(text) = tree.text(&path)? {
            if let Some(log) = journalctl_unit_log(&text, l.source_unit) {
                a.units.push((l.unit, log));
            } else {
                a.notes.push(format!("{path} exists but is not a `journalctl -f` logger; it will be replaced (a backup is kept)"));
            }
        }
    }
    if let Some(t) = tree.text(PROXMENUX_BACKUP)? {
        a.max_auth_tries_backup = t.trim().parse().ok();
    }
    let present = !a.units.is_empty()
        || !tree.node("/usr/local/share/proxmenux")?.is_absent()
        || a.max_auth_tries_backup.is_some();
    if !present {
        return Ok(a);
    }

    for (jail, log) in
        [("proxmox", "/var/log/proxmox-auth.log"), ("proxmenux", "/var/log/proxmenux-auth.log")]
    {
        let path = format!("/etc/fail2ban/jail.d/{jail}.conf");
        if let Some(text) = tree.text(&path)? {
            let secs = ini::parse(&text);
            let s = ini::section(&secs, jail);
            if secs.iter().all(|s| s.name == jail)
                && s.as_ref().is_some_and(|s| {
                    s.get("filter") == Some(jail)
                        && s.get("logpath").is_some_and(|p| p.starts_with(log))
                })
            {
                a.move_aside.push((
                    path,
                    format!("ProxMenux's [{jail}] jail; f2b-sidecar's jail replaces it"),
                ));
            }
        }
    }
    for (filter, marker) in [
        ("proxmox", "rhost=(::ffff:)?<HOST>"),
        ("proxmenux", "proxmenux-auth: authentication failure"),
    ] {
        let path = format!("/etc/fail2ban/filter.d/{filter}.conf");
        if let Some(text) = tree.text(&path)? {
            let def = ini::section(&ini::parse(&text), "Definition");
            if def.and_then(|d| d.get("failregex").map(|f| f.contains(marker))).unwrap_or(false) {
                a.move_aside.push((path, format!("ProxMenux's {filter} filter; f2b-sidecar installs filter.d/f2b-{filter}.conf")));
            }
        }
    }
    if let Some(text) = tree.text("/etc/fail2ban/jail.local")? {
        const DEFAULT_KEYS: [&str; 8] = [
            "ignoreip",
            "ignoreself",
            "bantime",
            "maxretry",
            "findtime",
            "backend",
            "banaction",
            "banaction_allports",
        ];
        const SSHD_KEYS: [&str; 7] =
            ["enabled", "filter", "backend", "logpath", "maxretry", "findtime", "bantime"];
        let secs = ini::parse(&text);
        let shaped = secs.iter().all(|s| match s.name.as_str() {
            "DEFAULT" => s.keys.iter().all(|(k, _)| DEFAULT_KEYS.contains(&k.as_str())),
            "sshd" => s.keys.iter().all(|(k, _)| SSHD_KEYS.contains(&k.as_str())),
            _ => false,
        });
        let sshd = ini::section(&secs, "sshd");
        let theirs =
            sshd.as_ref().is_some_and(|s| s.get("logpath") == Some("/var/log/ssh-auth.log"));
        if theirs && shaped {
            a.move_aside.push(("/etc/fail2ban/jail.local".into(), "ProxMenux's jail.local; f2b-sidecar's jail.d file replaces it (its ignoreip entries are kept)".into()));
        } else if theirs {
            a.notes.push("/etc/fail2ban/jail.local was written by ProxMenux and changed since: left in place; f2b-sidecar's jail.d/50-f2b-sidecar.local overrides its [sshd]".into());
        }
    }
    Ok(a)
}

/// The files ProxMenux's installer leaves on a host: (path, content, mode, group), for a host
/// whose journald kept `MaxLevelStore=warning` and whose sshd_config had `#MaxAuthTries 6`.
/// The sshd_config edit itself is applied by [`installer_sshd_edit`].
pub fn installer_files(nftables: bool) -> Vec<(&'static str, String, u32, &'static str)> {
    let unit = |desc: &str, after: &str, unit: &str, log: &str| {
        format!(
            "[Unit]\nDescription={desc}\nDocumentation=https://github.com/MacRimi/ProxMenux\nAfter={after}\nPartOf=fail2ban.service\n\n\
             [Service]\nType=simple\nExecStart=/bin/bash -c 'journalctl -f _SYSTEMD_UNIT={unit} -o short-iso --no-pager >> {log}'\n\
             Restart=always\nRestartSec=5\n\n[Install]\nWantedBy=multi-user.target\n"
        )
    };
    let (ba, baa) = if nftables {
        ("nftables", "nftables[type=allports]")
    } else {
        ("iptables-multiport", "iptables-allports")
    };
    vec![
        (
            "/etc/systemd/journald.conf.d/proxmenux-loglevel.conf",
            "[Journal]\nMaxLevelStore=info\nMaxLevelSyslog=info\n".into(),
            0o644,
            "root",
        ),
        (
            "/etc/systemd/system/proxmox-auth-logger.service",
            unit("Proxmox Auth Logger for Fail2Ban", "pvedaemon.service", "pvedaemon.service", "/var/log/proxmox-auth.log"),
            0o644,
            "root",
        ),
        (
            "/etc/systemd/system/ssh-auth-logger.service",
            unit("SSH Auth Logger for Fail2Ban", "ssh.service", "ssh.service", "/var/log/ssh-auth.log"),
            0o644,
            "root",
        ),
        ("/var/log/proxmox-auth.log", String::new(), 0o640, "adm"),
        ("/var/log/ssh-auth.log", String::new(), 0o640, "adm"),
        (
            "/etc/fail2ban/filter.d/proxmox.conf",
            "[Definition]\nfailregex = authentication (failure|error); rhost=(::ffff:)?<HOST> user=.* msg=.*\nignoreregex =\n\
             datepattern = ^%%Y-%%m-%%dT%%H:%%M:%%S\n"
                .into(),
            0o644,
            "root",
        ),
        (
            "/etc/fail2ban/jail.d/proxmox.conf",
            "[proxmox]\nenabled = true\nport = 8006\nfilter = proxmox\nbackend = auto\nlogpath = /var/log/proxmox-auth.log\n\
             maxretry = 3\nbantime = 3600\nfindtime = 600\n"
                .into(),
            0o644,
            "root",
        ),
        (
            "/etc/fail2ban/filter.d/proxmenux.conf",
            "[Definition]\nfailregex = ^.*proxmenux-auth: authentication failure; rhost=<HOST> user=.*$\nignoreregex =\n\
             datepattern = ^%%Y-%%m-%%d %%H:%%M:%%S\n"
                .into(),
            0o644,
            "root",
        ),
        (
            "/etc/fail2ban/jail.d/proxmenux.conf",
            "[proxmenux]\nenabled = true\nport = 8008,http,https\nfilter = proxmenux\nbackend = auto\n\
             logpath = /var/log/proxmenux-auth.log\nmaxretry = 3\nbantime = 3600\nfindtime = 600\n"
                .into(),
            0o644,
            "root",
        ),
        ("/var/log/proxmenux-auth.log", String::new(), 0o640, "root"),
        (
            "/etc/fail2ban/jail.local",
            format!(
                "[DEFAULT]\nignoreip = 127.0.0.1/8 ::1\nignoreself = true\nbantime = 86400\nmaxretry = 2\nfindtime = 1800\n\
                 backend = auto\nbanaction = {ba}\nbanaction_allports = {baa}\n\n\
                 [sshd]\nenabled = true\nfilter = sshd[mode=aggressive]\nbackend = auto\nlogpath = /var/log/ssh-auth.log\n\
                 maxretry = 2\nfindtime = 3600\nbantime = 32400\n"
            ),
            0o644,
            "root",
        ),
        (PROXMENUX_BACKUP, "6\n".into(), 0o644, "root"),
    ]
}

/// The installer's sshd_config edit: a `^MaxAuthTries` line replaced, else `^#MaxAuthTries`
/// uncommented, else `MaxAuthTries 3` appended (case-sensitive, as its sed).
pub fn installer_sshd_edit(text: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let idx = lines
        .iter()
        .position(|l| l.starts_with("MaxAuthTries"))
        .or_else(|| lines.iter().position(|l| l.starts_with("#MaxAuthTries")));
    match idx {
        Some(i) => {
            let mut out = String::new();
            for (j, l) in lines.iter().enumerate() {
                out.push_str(if i == j { "MaxAuthTries 3\n" } else { l });
            }
            out
        }
        None => format!("{text}MaxAuthTries 3\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::MemTree;

    fn proxmenux_tree() -> MemTree {
        MemTree::new(
            &installer_files(true).iter().map(|(p, t, _, _)| (*p, t.as_str())).collect::<Vec<_>>(),
        )
    }

    #[test]
    fn recognises_everything_the_installer_writes() {
        let a = detect(&proxmenux_tree()).unwrap();
        assert_eq!(
            a.units,
            [
                ("proxmox-auth-logger.service", "/var/log/proxmox-auth.log".to_string()),
                ("ssh-auth-logger.service", "/var/log/ssh-auth.log".to_string())
            ]
        );
        let aside: Vec<&str> = a.move_aside.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            aside,
            [
                "/etc/fail2ban/jail.d/proxmox.conf",
                "/etc/fail2ban/jail.d/proxmenux.conf",
                "/etc/fail2ban/filter.d/proxmox.conf",
                "/etc/fail2ban/filter.d/proxmenux.conf",
                "/etc/fail2ban/jail.local"
            ]
        );
        assert_eq!(a.max_auth_tries_backup, Some(6));
    }

    #[test]
    fn nothing_without_proxmenux() {
        let t = MemTree::new(&[("/etc/fail2ban/jail.local", "[DEFAULT]\nbantime = 1h\n")]);
        assert_eq!(detect(&t).unwrap(), Adoption::default());
    }

    #[test]
    fn a_changed_jail_local_stays() {
        let mut t = proxmenux_tree();
        t.0.get_mut("/etc/fail2ban/jail.local")
            .unwrap()
            .push_str("\n[nginx-http-auth]\nenabled = true\n");
        let a = detect(&t).unwrap();
        assert!(!a.move_aside.iter().any(|(p, _)| p.ends_with("jail.local")));
        assert!(a.notes.iter().any(|n| n.contains("left in place")));
    }

    #[test]
    fn a_renamed_log_path_is_kept() {
        let u = "[Service]\nExecStart=/bin/bash -c \"journalctl -f _SYSTEMD_UNIT=ssh.service -o short-iso >> /srv/log/ssh.log\"\n";
        assert_eq!(journalctl_unit_log(u, "ssh.service").as_deref(), Some("/srv/log/ssh.log"));
        assert_eq!(journalctl_unit_log(u, "pvedaemon.service"), None);
    }

    #[test]
    fn installer_sed_edit() {
        assert_eq!(installer_sshd_edit("a\n#MaxAuthTries 6\nb\n"), "a\nMaxAuthTries 3\nb\n");
        assert_eq!(
            installer_sshd_edit("MaxAuthTries 5\n#MaxAuthTries 6\n"),
            "MaxAuthTries 3\n#MaxAuthTries 6\n"
        );
        assert_eq!(installer_sshd_edit("a\n"), "a\nMaxAuthTries 3\n");
    }
}
