//! Carrying out a plan as one transaction.
//!
//! 1. Lock the tree; create missing directories; write every new content to a temporary file
//!    next to its target (fsync'd). A failure here (read-only or full disk) leaves nothing.
//! 2. Commit in an order that a crash cannot make unrecoverable: kept copies, backups and
//!    f2b-config's own copies first, then a manifest in phase `applying` that lists every path
//!    touched, then the targets (rename, fsync of the directory), then the final manifest.
//! 3. Check: `sshd -t` (and `sshd -T` for the planned MaxAuthTries) when sshd's config changed,
//!    `fail2ban-client -t` on the host. On failure, every committed step is undone in reverse.
//! 4. On the host only: reload and restart what changed ([`crate::services`]); if that fails the
//!    files are put back and the services reloaded again.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::fsx::{self, FileState, Node, Staged};
use crate::lock;
use crate::manifest::{state_path, Manifest, Phase, MANIFEST, STATE_DIR};
use crate::plan::{saved_path, Plan};
use crate::profile::Profile;
use crate::root::Root;
use crate::services::{self, Step};
use crate::sshd::run::{self as sshd_run, Outcome};

/// Install or remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Install,
    Remove,
}

/// One file write or delete.
struct Op {
    abs: String,
    target: Option<FileState>,
    /// A file in f2b-config's state directory (not reported to the admin).
    state: bool,
}

/// A done step and how to undo it.
struct Undo {
    abs: String,
    before: Node,
}

/// What a finished run did, one line per file, and what could not be checked.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub lines: Vec<String>,
    pub warnings: Vec<String>,
}

/// Applies `plan`; `profile` names the jails to check after an install.
pub fn run(root: &Root, plan: &Plan, mode: Mode, profile: &Profile) -> Result<Report> {
    let _lock = lock::acquire(root)?;
    // Seconds.nanoseconds: two runs in the same second keep separate copies.
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| format!("{}.{:09}", d.as_secs(), d.subsec_nanos()))
        .unwrap_or_default();
    let (first, targets, last) = ops(plan, &stamp);

    if mode == Mode::Remove && root.is_host() {
        run_steps(&services::before_remove(plan))?;
    }

    let mut tx = Tx { root, undo: Vec::new(), created_dirs: Vec::new() };
    let mut report = Report::default();
    let result = if plan.is_noop() {
        Ok(())
    } else {
        tx.commit_all(&first, &targets, &last, plan)
            .and_then(|()| install_package(root, plan))
            .and_then(|()| check(root, plan, mode, &mut report.warnings))
    };
    if let Err(e) = result {
        tx.rollback();
        if mode == Mode::Remove && root.is_host() {
            // The loggers were stopped before the files changed: start them again.
            for s in services::undo_before_remove(plan) {
                if let Err(e2) = s.run() {
                    tracing::warn!("while putting things back: {}: {e2}", s.describe());
                }
            }
        }
        if let Error::SshdCheck { output, .. } = e {
            // Was it broken before f2b-config touched it?
            let hint = match sshd_run::test(root) {
                Outcome::Failed(_) => {
                    ". `sshd -t` fails on the original configuration too: fix that first".into()
                }
                _ => String::new(),
            };
            return Err(Error::SshdCheck { output, hint });
        }
        return Err(e);
    }
    if root.is_host() {
        let steps = match mode {
            Mode::Install => services::after_install(plan, profile),
            Mode::Remove => services::after_restore(plan),
        };
        if let Err(e) = run_steps(&steps) {
            tx.rollback();
            let again = match mode {
                Mode::Install => services::after_install_rollback(plan),
                Mode::Remove => services::after_install(plan, profile),
            };
            for s in again {
                if let Err(e2) = s.run() {
                    tracing::warn!("while putting things back: {}: {e2}", s.describe());
                }
            }
            return Err(Error::Activation {
                step: "starting the services".into(),
                detail: e.to_string(),
            });
        }
    }
    prune_state(root, plan, mode)?;

    for (path, _) in &plan.saves {
        report.lines.push(format!("kept your changed {path} as {}", saved_path(&stamp, path)));
    }
    for c in &plan.changes {
        let verb = match (&c.current, &c.target, mode) {
            (Node::Absent, Some(_), _) => "created",
            (_, None, Mode::Install) => "moved aside (kept in the backup)",
            (_, None, Mode::Remove) => "removed",
            (_, Some(_), Mode::Install) => "replaced (original kept in the backup)",
            (_, Some(_), Mode::Remove) => "restored",
        };
        report.lines.push(format!("{verb} {}", c.path));
    }
    Ok(report)
}

fn run_steps(steps: &[Step]) -> Result<()> {
    for s in steps {
        tracing::info!("{}", s.describe());
        s.run()?;
    }
    Ok(())
}

/// The write/delete operations: (state files first, targets, state files last).
fn ops(plan: &Plan, stamp: &str) -> (Vec<Op>, Vec<Op>, Vec<Op>) {
    let state = |abs: String, target: Option<FileState>| Op { abs, target, state: true };
    let private =
        |f: &FileState| FileState { content: f.content.clone(), mode: 0o600, uid: 0, gid: 0 };
    let mut first = Vec::new();
    let mut last = Vec::new();
    for (path, f) in &plan.saves {
        first.push(state(saved_path(stamp, path), Some(private(f))));
    }
    let prev = plan.previous.as_ref();
    let next = plan.manifest.as_ref();
    let in_next = |p: &str| next.and_then(|m| m.entry(p));

    if let Some(next) = next {
        for (path, f) in &plan.backups {
            first.push(state(state_path("backup", path), Some(private(f))));
        }
        for (path, f) in &plan.installed {
            first.push(state(state_path("installed", path), Some(private(f))));
        }
        for e in next.files.iter().filter(|e| e.installed.is_none()) {
            first.push(state(state_path("installed", &e.path), None));
        }
        // While applying, the manifest lists the old entries too, so `remove` after a crash
        // still finds every backup.
        let mut applying = next.clone();
        applying.phase = Phase::Applying;
        if let Some(p) = prev {
            for e in &p.files {
                if applying.entry(&e.path).is_none() {
                    applying.files.push(e.clone());
                }
            }
            applying.files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        first.push(state(MANIFEST.into(), Some(FileState::new(applying.to_bytes(), 0o600))));
        // `dirs` is only known after the targets' directories exist: written in `commit_all`.
        last.push(state(MANIFEST.into(), Some(FileState::new(next.to_bytes(), 0o600))));
    }
    if let Some(prev) = prev {
        for e in &prev.files {
            if in_next(&e.path).is_none() {
                last.push(state(state_path("backup", &e.path), None));
                last.push(state(state_path("installed", &e.path), None));
            }
        }
        if next.is_none() {
            last.push(state(MANIFEST.into(), None));
        }
    }
    let targets = plan
        .changes
        .iter()
        .map(|c| Op { abs: c.path.clone(), target: c.target.clone(), state: false })
        .collect();
    (first, targets, last)
}

struct Tx<'a> {
    root: &'a Root,
    undo: Vec<Undo>,
    created_dirs: Vec<PathBuf>,
}

impl Tx<'_> {
    fn commit_all(&mut self, first: &[Op], targets: &[Op], last: &[Op], plan: &Plan) -> Result<()> {
        // Directories first (recorded for the manifest and for rollback).
        let mut new_dirs: Vec<String> = Vec::new();
        for op in first.iter().chain(targets).chain(last).filter(|o| o.target.is_some()) {
            let parent = self.root.path(&op.abs).parent().unwrap().to_path_buf();
            for d in fsx::create_dirs(&parent)? {
                let abs = self.abs_of(&d);
                if !abs.starts_with(&format!("{STATE_DIR}/")) {
                    new_dirs.push(abs);
                }
                self.created_dirs.push(d);
            }
        }
        // Everything staged before anything is committed: a failure leaves only temp files,
        // which are dropped.
        let stage = |ops: &[Op]| -> Result<Vec<(usize, Option<Staged>)>> {
            ops.iter()
                .enumerate()
                .map(|(i, op)| match &op.target {
                    Some(t) => fsx::stage(&self.root.path(&op.abs), t).map(|s| (i, Some(s))),
                    None => Ok((i, None)),
                })
                .collect()
        };
        let s_first = stage(first)?;
        let s_targets = stage(targets)?;
        let mut last = last
            .iter()
            .map(|o| Op { abs: o.abs.clone(), target: o.target.clone(), state: o.state })
            .collect::<Vec<_>>();
        // The final manifest records the directories this run created.
        if let (Some(m), Some(op)) = (
            plan.manifest.as_ref(),
            last.iter_mut().find(|o| o.abs == MANIFEST && o.target.is_some()),
        ) {
            let mut m: Manifest = m.clone();
            for d in new_dirs {
                if !m.dirs.contains(&d) {
                    m.dirs.push(d);
                }
            }
            op.target = Some(FileState::new(m.to_bytes(), 0o600));
        }
        let s_last = stage(&last)?;

        self.commit(first, s_first)?;
        self.commit(targets, s_targets)?;
        self.commit(&last, s_last)?;
        Ok(())
    }

    fn abs_of(&self, p: &std::path::Path) -> String {
        if self.root.is_host() {
            p.display().to_string()
        } else {
            format!("/{}", p.strip_prefix(self.root.dir()).unwrap_or(p).display())
        }
    }

    fn commit(&mut self, ops: &[Op], staged: Vec<(usize, Option<Staged>)>) -> Result<()> {
        for (i, s) in staged {
            let op = &ops[i];
            let path = self.root.path(&op.abs);
            let before = fsx::read_node(&path)?;
            if let Node::Other(what) = before {
                return Err(Error::Refused { path, reason: format!("is {what}") });
            }
            match s {
                Some(s) => s.commit()?,
                None => fsx::remove_file(&path)?,
            }
            tracing::debug!("{} {}", if op.state { "state" } else { "wrote" }, op.abs);
            self.undo.push(Undo { abs: op.abs.clone(), before });
        }
        Ok(())
    }

    /// Undoes every committed step, newest first; errors are logged, not returned (the first
    /// error is what the admin needs to see).
    fn rollback(&mut self) {
        for u in self.undo.drain(..).rev() {
            let path = self.root.path(&u.abs);
            let r = match &u.before {
                Node::File(f) => fsx::write_atomic(&path, f),
                _ => fsx::remove_file(&path),
            };
            if let Err(e) = r {
                tracing::error!("rollback of {}: {e}", u.abs);
            }
        }
        for d in self.created_dirs.drain(..).rev() {
            let _ = prune_tree(&d);
        }
    }
}

/// `apt-get install fail2ban` on the host, when the plan says so.
fn install_package(root: &Root, plan: &Plan) -> Result<()> {
    let Some(p) = &plan.package else { return Ok(()) };
    if !root.is_host() {
        return Ok(());
    }
    if p.update {
        // An unrelated failing source (e.g. the enterprise repository without a subscription)
        // makes `apt-get update` exit non-zero; the install may still work.
        if let Err(e) = crate::cmd::run("apt-get", &["update"]) {
            tracing::warn!("{e}; trying the install anyway");
        }
    }
    crate::cmd::run_env(
        "apt-get",
        &["install", "-y", "fail2ban"],
        &[("DEBIAN_FRONTEND", "noninteractive")],
    )
    .map(drop)
    .map_err(|e| Error::Package(format!("{e}; every change was rolled back")))
}

/// The checks between writing and activating.
fn check(root: &Root, plan: &Plan, mode: Mode, warnings: &mut Vec<String>) -> Result<()> {
    if plan.touches(|p| p.starts_with("/etc/ssh/")) {
        if root.is_host() {
            sshd_run::ensure_privsep_dir();
        }
        match sshd_run::test(root) {
            Outcome::Ok(()) => {}
            Outcome::Failed(output) => {
                return Err(Error::SshdCheck { output, hint: String::new() })
            }
            Outcome::Skipped(why) => warnings.push(format!("sshd -t not run: {why}")),
        }
        if let Some(want) = plan.sshd_expect {
            match sshd_run::max_auth_tries(root) {
                Outcome::Ok(got) if got != want => {
                    return Err(Error::SshdNotEffective {
                        got,
                        want,
                        hint: "an Include or Match construct f2b-config does not understand; set it by hand".into(),
                    })
                }
                Outcome::Ok(_) => {}
                Outcome::Failed(m) | Outcome::Skipped(m) => warnings.push(format!("sshd -T not run: {m}")),
            }
        }
    }
    // Only the configuration f2b-config writes is its business: a restored original (remove)
    // may legitimately fail -t (Debian 12's default sshd jail without /var/log/auth.log).
    if mode == Mode::Install
        && root.is_host()
        && plan.touches(|p| p.starts_with("/etc/fail2ban/"))
        && crate::cmd::succeeds("sh", &["-c", "command -v fail2ban-client"])
    {
        if let Err(e) = Step::CheckFail2ban.run() {
            return Err(Error::Fail2banCheck { output: e.to_string() });
        }
    }
    Ok(())
}

/// Removes empty directories below `dir`, then `dir` itself if empty.
fn prune_tree(dir: &std::path::Path) -> Result<()> {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for ent in rd.flatten() {
            if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                prune_tree(&ent.path())?;
            }
        }
    }
    fsx::remove_dir_if_empty(dir).map(drop)
}

/// Empty state directories go; after a remove, so do the directories install created.
fn prune_state(root: &Root, plan: &Plan, mode: Mode) -> Result<()> {
    for area in ["backup", "installed"] {
        prune_tree(&root.path(&format!("{STATE_DIR}/{area}")))?;
    }
    if mode == Mode::Install {
        return Ok(());
    }
    if let Some(m) = &plan.previous {
        for d in m.dirs.iter().rev() {
            if d == STATE_DIR {
                prune_tree(&root.path(d))?;
            } else {
                fsx::remove_dir_if_empty(&root.path(d))?;
            }
        }
    }
    Ok(())
}
