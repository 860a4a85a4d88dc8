//! `f2b-config status`: OK / WARN / FAIL (or SKIP on a staged tree) per item, as text or JSON.

use serde::Serialize;

use crate::cmd;
use crate::error::{Error, Result};
use crate::fsx;
use crate::journald;
use crate::manifest::{Manifest, Phase};
use crate::plan::journald_files;
use crate::profile::{Profile, LOGGERS};
use crate::render::units;
use crate::root::Root;
use crate::selftest::{self, Verdict};
use crate::sshd::{self, run::Outcome};
use crate::view::View;

/// The state of one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    Warn,
    Fail,
    /// Cannot be checked here (a staged tree has no running services).
    Skip,
}

/// One checked item.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    pub item: String,
    pub state: State,
    pub detail: String,
}

/// The whole status.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    pub items: Vec<Item>,
    /// No item failed.
    pub ok: bool,
}

impl Status {
    /// One line per item: `OK    item: detail`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for i in &self.items {
            let s = match i.state {
                State::Ok => "OK",
                State::Warn => "WARN",
                State::Fail => "FAIL",
                State::Skip => "SKIP",
            };
            out.push_str(&format!("{s:<5} {}: {}\n", i.item, i.detail));
        }
        out
    }
}

fn item(items: &mut Vec<Item>, name: impl Into<String>, state: State, detail: impl Into<String>) {
    items.push(Item { item: name.into(), state, detail: detail.into() });
}

/// Checks everything f2b-config set up on `root`.
pub fn check(root: &Root) -> Result<Status> {
    let mut items = Vec::new();
    let host = root.is_host();
    let manifest = match Manifest::load(root) {
        Ok(m) => m,
        Err(e @ Error::CorruptManifest { .. }) => {
            item(&mut items, "manifest", State::Fail, e.to_string());
            None
        }
        Err(e) => return Err(e),
    };
    let profile = manifest.as_ref().map(|m| Profile::get(m.profile));
    match &manifest {
        Some(m) if m.phase == Phase::Applying => item(
            &mut items,
            "manifest",
            State::Fail,
            "a run was interrupted: run `f2b-config install` again, or `f2b-config remove`",
        ),
        Some(m) => item(
            &mut items,
            "manifest",
            State::Ok,
            format!("profile {} ({} managed paths)", m.profile, m.files.len()),
        ),
        None if items.is_empty() => {
            item(&mut items, "manifest", State::Fail, "f2b-config has not installed anything here")
        }
        None => {}
    }

    // Managed files unchanged?
    if let Some(m) = &manifest {
        let mut changed = Vec::new();
        for e in m.files.iter().filter(|e| e.kind == crate::manifest::Kind::Config) {
            let cur = fsx::read_node(&root.path(&e.path))?.file().cloned();
            if cur != m.installed_state(root, e)? {
                changed.push(e.path.clone());
            }
        }
        if changed.is_empty() {
            item(&mut items, "files", State::Ok, "every managed file is as installed");
        } else {
            item(
                &mut items,
                "files",
                State::Warn,
                format!("changed since install: {}", changed.join(", ")),
            );
        }
    }

    // fail2ban itself.
    if host {
        let installed = cmd::run("dpkg-query", &["-W", "-f=${Status} ${Version}", "fail2ban"])
            .unwrap_or_default();
        if installed.contains("install ok installed") {
            item(
                &mut items,
                "fail2ban",
                State::Ok,
                format!("installed {}", installed.rsplit(' ').next().unwrap_or("")),
            );
        } else {
            item(&mut items, "fail2ban", State::Fail, "not installed (apt-get install fail2ban)");
        }
        match cmd::run("systemctl", &["is-active", "fail2ban.service"]) {
            Ok(_) => item(&mut items, "fail2ban.service", State::Ok, "active"),
            Err(_) => item(
                &mut items,
                "fail2ban.service",
                State::Fail,
                "not active (journalctl -u fail2ban -n 20)",
            ),
        }
    } else {
        let present = root.path("/etc/fail2ban/jail.conf").is_file();
        item(
            &mut items,
            "fail2ban",
            if present { State::Skip } else { State::Warn },
            if present {
                "staged tree: config present, service not checked"
            } else {
                "no /etc/fail2ban/jail.conf in the staged tree"
            },
        );
    }

    // Jails.
    if let Some(p) = &profile {
        for j in &p.jails {
            let name = format!("jail {}", j.name);
            if !host {
                item(&mut items, name, State::Skip, "staged tree");
                continue;
            }
            match cmd::run("fail2ban-client", &["status", j.name]) {
                Ok(out) => {
                    let pick = |key: &str| {
                        out.lines()
                            .find_map(|l| l.split_once(key).map(|(_, v)| v.trim().to_string()))
                            .unwrap_or_default()
                    };
                    item(
                        &mut items,
                        name,
                        State::Ok,
                        format!(
                            "active, failed now {}, banned now {}",
                            pick("Currently failed:"),
                            pick("Currently banned:")
                        ),
                    );
                }
                Err(e) => item(&mut items, name, State::Fail, format!("not active: {e}")),
            }
        }
    }

    // Every log file a jail reads must exist, or fail2ban will not start the jail.
    if let Some(p) = &profile {
        let jail = fsx::read_node(&root.path(crate::render::JAIL_FILE))?
            .file()
            .map(|f| f.text())
            .unwrap_or_default();
        for log in jail.lines().filter_map(|l| l.strip_prefix("logpath = ")) {
            let state = if root.path(log).is_file() { State::Ok } else { State::Fail };
            let detail = if state == State::Ok {
                "present".to_string()
            } else {
                format!("missing: systemd-tmpfiles --create {}", crate::render::TMPFILES_FILE)
            };
            item(&mut items, format!("log {log}"), state, detail);
        }
        let _ = p;
    }

    // Loggers.
    for l in LOGGERS {
        let name = format!("logger {}", l.unit);
        let unit_file = root.path(&units::path(l.unit));
        let Some(text) = fsx::read_node(&unit_file)?.file().map(|f| f.text()) else {
            item(&mut items, name, State::Fail, format!("{} is missing", units::path(l.unit)));
            continue;
        };
        if !text.contains("--route ") {
            item(
                &mut items,
                name,
                State::Warn,
                "not an f2b-logger unit (a `journalctl -f` logger replays lines on restart)",
            );
            continue;
        }
        let bin = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .and_then(|e| e.split_whitespace().next())
            .unwrap_or("");
        if host && !std::path::Path::new(bin).is_file() {
            item(&mut items, name, State::Fail, format!("{bin} is missing"));
            continue;
        }
        if !host {
            item(&mut items, name, State::Skip, format!("staged tree; runs {bin}"));
            continue;
        }
        match cmd::run("systemctl", &["is-active", l.unit]) {
            Ok(_) => {
                let st = cmd::run("systemctl", &["show", "-p", "StatusText", "--value", l.unit])
                    .unwrap_or_default();
                item(
                    &mut items,
                    name,
                    State::Ok,
                    format!(
                        "active; {}",
                        if st.trim().is_empty() { "no status yet" } else { st.trim() }
                    ),
                );
            }
            Err(_) => item(
                &mut items,
                name,
                State::Fail,
                format!("not active (systemctl status {})", l.unit),
            ),
        }
    }

    // journald level.
    let disk = View::disk(root);
    let levels = journald::effective(&journald_files(&disk)?);
    for (key, s) in [("MaxLevelStore", &levels.store), ("MaxLevelSyslog", &levels.syslog)] {
        let from = s
            .origin
            .as_ref()
            .map(|(p, l)| format!(" ({p}:{l})"))
            .unwrap_or_else(|| " (default)".into());
        let state = if s.level >= journald::INFO { State::Ok } else { State::Fail };
        item(
            &mut items,
            format!("journald {key}"),
            state,
            format!("{}{from}", journald::level_name(s.level)),
        );
    }

    // sshd MaxAuthTries.
    let original = manifest
        .as_ref()
        .and_then(|m| m.sshd.as_ref())
        .map(|s| format!(", original {} ({})", s.original_max_auth_tries, s.source))
        .unwrap_or_default();
    let (value, how) = match sshd::run::max_auth_tries(root) {
        Outcome::Ok(v) => (v, "sshd -T".to_string()),
        Outcome::Failed(m) | Outcome::Skipped(m) => {
            let e = sshd::effective_max_auth_tries(&sshd::directives(&disk, sshd::MAIN)?);
            (e.value, format!("read from the files; sshd -T: {m}"))
        }
    };
    let state = if value <= sshd::WANT { State::Ok } else { State::Warn };
    item(&mut items, "sshd MaxAuthTries", state, format!("{value} ({how}){original}"));

    // Filter self-tests.
    let filters = profile.map(|p| p.builtin_filters()).unwrap_or_default();
    for f in filters {
        let (state, detail) = match selftest::check(f) {
            Verdict::Pass { samples } => (State::Ok, format!("{samples} corpus samples pass")),
            Verdict::Fail(d) => (State::Fail, d),
            Verdict::Unavailable(d) => (State::Warn, d),
        };
        item(&mut items, format!("filter {f}"), state, detail);
    }

    let ok = !items.iter().any(|i| i.state == State::Fail);
    Ok(Status { items, ok })
}
