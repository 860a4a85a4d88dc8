//! The two setups f2b-config installs, as data.
//!
//! `proxmenux` re-implements the ProxMenux Fail2Ban installer (three jails, same values);
//! `strict` is the "Proxmox security – fail2ban" hardening guide (pam-generic, sshd and proxmox,
//! one failure in 14 days bans for 30 days, every port). Both are fed by the same two
//! f2b-logger units, named as ProxMenux names its `journalctl -f` services.

use std::fmt;

/// Which setup to install.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ProfileName {
    /// ProxMenux's three jails: sshd (aggressive, 2/60 min/9 h), proxmox (8006, 3/10 min/1 h),
    /// proxmenux (8008,http,https, 3/10 min/1 h).
    #[default]
    Proxmenux,
    /// The hardening guide: pam-generic, sshd, proxmox; maxretry 1, findtime 14d, bantime 30d,
    /// every port.
    Strict,
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProfileName::Proxmenux => "proxmenux",
            ProfileName::Strict => "strict",
        })
    }
}

/// The log file a jail reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFile {
    /// Written by `ssh-auth-logger.service` from `ssh.service`.
    SshAuth,
    /// Written by `proxmox-auth-logger.service` from `pvedaemon.service`.
    ProxmoxAuth,
    /// Written by the ProxMenux Monitor itself.
    ProxmenuxAuth,
}

impl LogFile {
    /// The path the seed uses (an adopted ProxMenux install may use others).
    pub fn default_path(self) -> &'static str {
        match self {
            LogFile::SshAuth => "/var/log/ssh-auth.log",
            LogFile::ProxmoxAuth => "/var/log/proxmox-auth.log",
            LogFile::ProxmenuxAuth => "/var/log/proxmenux-auth.log",
        }
    }
}

/// Where a jail's lines come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file, read with `backend = auto`: set on the jail because Debian's
    /// `defaults-debian.conf` (fail2ban ≥ 1.1.0-3) sets `backend = systemd` in `[DEFAULT]`,
    /// which would make the jail ignore `logpath`.
    File(LogFile),
    /// The journal (`backend = systemd`).
    Journal,
}

/// The filter a jail uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterRef {
    /// One of the project's filters (regex-lab/filters/NAME.conf), installed as
    /// `filter.d/f2b-NAME.conf`, with an optional `mode`.
    Builtin { name: &'static str, mode: Option<&'static str> },
    /// A filter fail2ban ships.
    Stock(&'static str),
}

impl FilterRef {
    /// The `filter =` value of the jail.
    pub fn jail_value(self) -> String {
        match self {
            FilterRef::Builtin { name, mode: Some(m) } => {
                format!("{}[mode={m}]", installed_filter_name(name))
            }
            FilterRef::Builtin { name, mode: None } => installed_filter_name(name),
            FilterRef::Stock(s) => s.to_string(),
        }
    }
}

/// The name a built-in filter is installed under. Never fail2ban's own names: fail2ban ≥ 1.1.1
/// ships `filter.d/proxmox.conf`.
pub fn installed_filter_name(builtin: &str) -> String {
    format!("f2b-{builtin}")
}

/// One jail.
#[derive(Clone, Debug)]
pub struct Jail {
    pub name: &'static str,
    pub filter: FilterRef,
    pub source: Source,
    /// `port =`; `None` with `allports` bans every port.
    pub port: Option<&'static str>,
    pub allports: bool,
    pub maxretry: u32,
    pub findtime: &'static str,
    pub bantime: &'static str,
}

/// A whole setup.
#[derive(Clone, Debug)]
pub struct Profile {
    pub name: ProfileName,
    /// `[DEFAULT]` values besides `ignoreip` and the ban actions.
    pub defaults: Vec<(&'static str, &'static str)>,
    pub jails: Vec<Jail>,
}

impl Profile {
    pub fn get(name: ProfileName) -> Profile {
        match name {
            ProfileName::Proxmenux => proxmenux(),
            ProfileName::Strict => strict(),
        }
    }

    /// The built-in filters this profile's jails use.
    pub fn builtin_filters(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .jails
            .iter()
            .filter_map(|j| match j.filter {
                FilterRef::Builtin { name, .. } => Some(name),
                FilterRef::Stock(_) => None,
            })
            .collect();
        v.dedup();
        v
    }

    /// The log files this profile's jails read.
    pub fn log_files(&self) -> Vec<LogFile> {
        self.jails
            .iter()
            .filter_map(|j| match j.source {
                Source::File(f) => Some(f),
                Source::Journal => None,
            })
            .collect()
    }
}

fn proxmenux() -> Profile {
    Profile {
        name: ProfileName::Proxmenux,
        defaults: vec![
            ("ignoreself", "true"),
            ("bantime", "86400"),
            ("maxretry", "2"),
            ("findtime", "1800"),
        ],
        jails: vec![
            Jail {
                name: "sshd",
                filter: FilterRef::Builtin { name: "sshd", mode: Some("aggressive") },
                source: Source::File(LogFile::SshAuth),
                port: None, // filled from sshd's own Port settings (see plan)
                allports: false,
                maxretry: 2,
                findtime: "3600",
                bantime: "32400",
            },
            Jail {
                name: "proxmox",
                filter: FilterRef::Builtin { name: "proxmox", mode: None },
                source: Source::File(LogFile::ProxmoxAuth),
                port: Some("8006"),
                allports: false,
                maxretry: 3,
                findtime: "600",
                bantime: "3600",
            },
            Jail {
                name: "proxmenux",
                filter: FilterRef::Builtin { name: "proxmenux", mode: None },
                source: Source::File(LogFile::ProxmenuxAuth),
                port: Some("8008,http,https"),
                allports: false,
                maxretry: 3,
                findtime: "600",
                bantime: "3600",
            },
        ],
    }
}

fn strict() -> Profile {
    let jail = |name, filter, source| Jail {
        name,
        filter,
        source,
        port: None,
        allports: true,
        maxretry: 1,
        findtime: "14d",
        bantime: "30d",
    };
    Profile {
        name: ProfileName::Strict,
        defaults: vec![("ignoreself", "true")],
        jails: vec![
            jail("pam-generic", FilterRef::Stock("pam-generic"), Source::Journal),
            jail(
                "sshd",
                FilterRef::Builtin { name: "sshd", mode: None },
                Source::File(LogFile::SshAuth),
            ),
            jail(
                "proxmox",
                FilterRef::Builtin { name: "proxmox", mode: None },
                Source::File(LogFile::ProxmoxAuth),
            ),
        ],
    }
}

/// One journal-to-file logger unit (f2b-logger).
#[derive(Clone, Copy, Debug)]
pub struct Logger {
    /// The unit's name, as ProxMenux names its `journalctl -f` service.
    pub unit: &'static str,
    /// The unit whose journal entries are forwarded.
    pub source_unit: &'static str,
    pub log: LogFile,
    pub description: &'static str,
}

/// Both logger units, in a fixed order.
pub const LOGGERS: [Logger; 2] = [
    Logger {
        unit: "proxmox-auth-logger.service",
        source_unit: "pvedaemon.service",
        log: LogFile::ProxmoxAuth,
        description:
            "Proxmox VE auth log for fail2ban (pvedaemon.service journal to file, f2b-logger)",
    },
    Logger {
        unit: "ssh-auth-logger.service",
        source_unit: "ssh.service",
        log: LogFile::SshAuth,
        description: "SSH auth log for fail2ban (ssh.service journal to file, f2b-logger)",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxmenux_has_the_seed_values() {
        let p = Profile::get(ProfileName::Proxmenux);
        let names: Vec<_> = p.jails.iter().map(|j| j.name).collect();
        assert_eq!(names, ["sshd", "proxmox", "proxmenux"]);
        assert_eq!(p.jails[0].filter.jail_value(), "f2b-sshd[mode=aggressive]");
        assert_eq!(
            (p.jails[0].maxretry, p.jails[0].findtime, p.jails[0].bantime),
            (2, "3600", "32400")
        );
        assert_eq!(
            (p.jails[1].maxretry, p.jails[1].findtime, p.jails[1].bantime),
            (3, "600", "3600")
        );
        assert_eq!(p.builtin_filters(), ["sshd", "proxmox", "proxmenux"]);
    }

    #[test]
    fn strict_bans_everything_for_thirty_days() {
        let p = Profile::get(ProfileName::Strict);
        assert!(p
            .jails
            .iter()
            .all(|j| j.maxretry == 1 && j.findtime == "14d" && j.bantime == "30d" && j.allports));
        assert_eq!(p.jails[0].filter.jail_value(), "pam-generic");
        assert_eq!(p.builtin_filters(), ["sshd", "proxmox"]);
    }
}
