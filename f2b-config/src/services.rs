//! What is started, reloaded and checked on the live host after the files change (never on a
//! staged tree). Every step is a plain command, so `--dry-run` can list them.

use std::time::{Duration, Instant};

use crate::cmd;
use crate::error::{Error, Result};
use crate::journald;
use crate::plan::Plan;
use crate::profile::{Profile, LOGGERS};
use crate::render::TMPFILES_FILE;

/// One host step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `systemctl ARGS…`
    Systemctl(Vec<String>),
    /// `systemd-tmpfiles --create FILE`
    Tmpfiles,
    /// `systemctl reload ssh` (or `sshd` on systems that name it so); keeps sessions alive.
    ReloadSsh,
    /// `fail2ban-client -t`
    CheckFail2ban,
    /// Wait for `fail2ban-client ping`, then `fail2ban-client status JAIL` for each jail.
    WaitFail2ban(Vec<String>),
}

impl Step {
    pub fn describe(&self) -> String {
        match self {
            Step::Systemctl(a) => format!("systemctl {}", a.join(" ")),
            Step::Tmpfiles => format!("systemd-tmpfiles --create {TMPFILES_FILE}"),
            Step::ReloadSsh => "systemctl reload ssh".into(),
            Step::CheckFail2ban => "fail2ban-client -t".into(),
            Step::WaitFail2ban(j) => {
                format!("fail2ban-client ping; fail2ban-client status {}", j.join(", "))
            }
        }
    }

    pub fn run(&self) -> Result<()> {
        match self {
            Step::Systemctl(a) => {
                let args: Vec<&str> = a.iter().map(String::as_str).collect();
                cmd::run("systemctl", &args).map(drop)
            }
            Step::Tmpfiles => cmd::run("systemd-tmpfiles", &["--create", TMPFILES_FILE]).map(drop),
            Step::ReloadSsh => cmd::run("systemctl", &["reload", "ssh"])
                .or_else(|_| cmd::run("systemctl", &["reload", "sshd"]))
                .map(drop),
            Step::CheckFail2ban => cmd::run("fail2ban-client", &["-t"]).map(drop),
            Step::WaitFail2ban(jails) => {
                let start = Instant::now();
                while !cmd::succeeds("fail2ban-client", &["ping"]) {
                    if start.elapsed() > Duration::from_secs(20) {
                        return Err(Error::Command {
                            command: "fail2ban-client ping".into(),
                            detail: "fail2ban did not answer within 20 s; see `journalctl -u fail2ban -n 20`".into(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                for j in jails {
                    cmd::run("fail2ban-client", &["status", j])?;
                }
                Ok(())
            }
        }
    }
}

fn sc(args: &[&str]) -> Step {
    Step::Systemctl(args.iter().map(|s| s.to_string()).collect())
}

fn units() -> Vec<&'static str> {
    LOGGERS.iter().map(|l| l.unit).collect()
}

/// After an install: reload what changed, start the loggers, then fail2ban, and check it.
pub fn after_install(plan: &Plan, profile: &Profile) -> Vec<Step> {
    let mut steps = Vec::new();
    let units_changed = plan.touches(|p| p.starts_with("/etc/systemd/system/"));
    if units_changed {
        steps.push(sc(&["daemon-reload"]));
    }
    steps.push(Step::Tmpfiles);
    if plan.touches(|p| p == journald::DROPIN) {
        steps.push(sc(&["restart", "systemd-journald.service"]));
    }
    let mut enable = vec!["enable"];
    enable.extend(units());
    steps.push(sc(&enable));
    let mut start = vec![if units_changed { "restart" } else { "start" }];
    start.extend(units());
    steps.push(sc(&start));
    if plan.touches(|p| p.starts_with("/etc/ssh/")) {
        steps.push(Step::ReloadSsh);
    }
    steps.push(sc(&["enable", "fail2ban.service"]));
    steps.push(sc(&[
        if plan.touches(|p| p.starts_with("/etc/fail2ban/")) { "restart" } else { "start" },
        "fail2ban.service",
    ]));
    steps.push(Step::WaitFail2ban(profile.jails.iter().map(|j| j.name.to_string()).collect()));
    steps
}

/// Before a remove touches files: stop and disable the logger units f2b-config created.
pub fn before_remove(plan: &Plan) -> Vec<Step> {
    let Some(m) = &plan.previous else { return vec![] };
    let ours: Vec<&str> = m.units.iter().filter(|u| !u.adopted).map(|u| u.unit.as_str()).collect();
    if ours.is_empty() {
        return vec![];
    }
    let mut a = vec!["disable", "--now"];
    a.extend(ours);
    vec![sc(&a)]
}

/// Undoes [`before_remove`] when the remove failed.
pub fn undo_before_remove(plan: &Plan) -> Vec<Step> {
    before_remove(plan)
        .into_iter()
        .map(|s| match s {
            Step::Systemctl(a) => Step::Systemctl(
                std::iter::once("enable".to_string())
                    .chain(std::iter::once("--now".to_string()))
                    .chain(a.into_iter().skip(2))
                    .collect(),
            ),
            other => other,
        })
        .collect()
}

/// After a failed install put the files back: units it created are stopped, the rest reloaded.
pub fn after_install_rollback(plan: &Plan) -> Vec<Step> {
    let mut steps = Vec::new();
    if plan.touches(|p| p.starts_with("/etc/systemd/system/")) {
        steps.push(sc(&["daemon-reload"]));
    }
    for l in LOGGERS {
        let created =
            plan.changes.iter().any(|c| c.path.ends_with(l.unit) && c.current.is_absent());
        let args: &[&str] =
            if created { &["disable", "--now", l.unit] } else { &["try-restart", l.unit] };
        steps.push(sc(args));
    }
    if plan.touches(|p| p == journald::DROPIN) {
        steps.push(sc(&["restart", "systemd-journald.service"]));
    }
    if plan.touches(|p| p.starts_with("/etc/ssh/")) {
        steps.push(Step::ReloadSsh);
    }
    steps.push(sc(&["try-restart", "fail2ban.service"]));
    steps
}

/// After the files changed back (remove) or were put back (rollback): reload what changed.
pub fn after_restore(plan: &Plan) -> Vec<Step> {
    let mut steps = Vec::new();
    if plan.touches(|p| p.starts_with("/etc/systemd/system/")) {
        steps.push(sc(&["daemon-reload"]));
    }
    if let Some(m) = &plan.previous {
        let adopted: Vec<&str> =
            m.units.iter().filter(|u| u.adopted).map(|u| u.unit.as_str()).collect();
        if !adopted.is_empty() {
            let mut a = vec!["try-restart"];
            a.extend(adopted);
            steps.push(sc(&a));
        }
    }
    if plan.touches(|p| p == journald::DROPIN) {
        steps.push(sc(&["restart", "systemd-journald.service"]));
    }
    if plan.touches(|p| p.starts_with("/etc/ssh/")) {
        steps.push(Step::ReloadSsh);
    }
    if plan.touches(|p| p.starts_with("/etc/fail2ban/")) {
        steps.push(sc(&["try-restart", "fail2ban.service"]));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsx::{FileState, Node};
    use crate::manifest::{Kind, Manifest, UnitRecord};
    use crate::plan::Change;
    use crate::profile::ProfileName;

    fn plan(paths: &[(&str, bool)], adopted: bool) -> Plan {
        let mut prev = Manifest::new(ProfileName::Proxmenux);
        prev.units = LOGGERS.iter().map(|l| UnitRecord { unit: l.unit.into(), adopted }).collect();
        Plan {
            changes: paths
                .iter()
                .map(|(p, new)| Change {
                    path: p.to_string(),
                    kind: Kind::Config,
                    why: String::new(),
                    current: if *new {
                        Node::Absent
                    } else {
                        Node::File(FileState::new("x", 0o644))
                    },
                    target: Some(FileState::new("y", 0o644)),
                })
                .collect(),
            manifest: None,
            previous: Some(prev),
            saves: vec![],
            backups: vec![],
            installed: vec![],
            notes: vec![],
            warnings: vec![],
            sshd_expect: None,
            selftests: vec![],
            package: None,
        }
    }

    fn describe(steps: &[Step]) -> Vec<String> {
        steps.iter().map(Step::describe).collect()
    }

    #[test]
    fn install_reloads_what_changed_in_order() {
        let p = plan(
            &[
                ("/etc/systemd/system/ssh-auth-logger.service", true),
                (journald::DROPIN, true),
                ("/etc/ssh/sshd_config.d/00-f2b-sidecar.conf", true),
                ("/etc/fail2ban/jail.d/50-f2b-sidecar.local", true),
            ],
            false,
        );
        let d = describe(&after_install(&p, &Profile::get(ProfileName::Proxmenux)));
        assert_eq!(
            d,
            [
                "systemctl daemon-reload",
                "systemd-tmpfiles --create /etc/tmpfiles.d/f2b-sidecar.conf",
                "systemctl restart systemd-journald.service",
                "systemctl enable proxmox-auth-logger.service ssh-auth-logger.service",
                "systemctl restart proxmox-auth-logger.service ssh-auth-logger.service",
                "systemctl reload ssh",
                "systemctl enable fail2ban.service",
                "systemctl restart fail2ban.service",
                "fail2ban-client ping; fail2ban-client status sshd, proxmox, proxmenux",
            ]
        );
        // Nothing changed: only make sure everything runs.
        let d = describe(&after_install(&plan(&[], false), &Profile::get(ProfileName::Strict)));
        assert!(
            d.contains(&"systemctl start fail2ban.service".to_string())
                && !d.iter().any(|s| s.contains("reload")),
            "{d:?}"
        );
    }

    #[test]
    fn remove_stops_own_units_and_restarts_adopted_ones() {
        let own = plan(&[("/etc/systemd/system/ssh-auth-logger.service", false)], false);
        assert_eq!(
            describe(&before_remove(&own)),
            ["systemctl disable --now proxmox-auth-logger.service ssh-auth-logger.service"]
        );
        assert_eq!(
            describe(&undo_before_remove(&own)),
            ["systemctl enable --now proxmox-auth-logger.service ssh-auth-logger.service"]
        );
        let adopted = plan(&[("/etc/systemd/system/ssh-auth-logger.service", false)], true);
        assert!(before_remove(&adopted).is_empty());
        assert_eq!(
            describe(&after_restore(&adopted)),
            [
                "systemctl daemon-reload",
                "systemctl try-restart proxmox-auth-logger.service ssh-auth-logger.service"
            ]
        );
    }

    #[test]
    fn failed_install_stops_only_the_units_it_created() {
        let p = plan(
            &[
                ("/etc/systemd/system/ssh-auth-logger.service", true),
                ("/etc/systemd/system/proxmox-auth-logger.service", false),
            ],
            false,
        );
        let d = describe(&after_install_rollback(&p));
        assert!(
            d.contains(&"systemctl disable --now ssh-auth-logger.service".to_string()),
            "{d:?}"
        );
        assert!(
            d.contains(&"systemctl try-restart proxmox-auth-logger.service".to_string()),
            "{d:?}"
        );
    }
}
