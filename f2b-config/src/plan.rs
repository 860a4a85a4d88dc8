//! Planning: from the profile, the host facts and the tree *as it was before f2b-config*
//! ([`View`]), the final state of every path f2b-config touches, and the changes that get there.
//!
//! For each path that is wanted or already managed:
//! - target = the rendered file, or (no longer wanted) the original again;
//! - a managed path whose current content is neither what f2b-config installed, nor the
//!   original, nor the target was changed by someone else: refused, or with `--yes` replaced
//!   after a copy is kept;
//! - a path whose target equals its original is not managed any more (its backup goes);
//! - a log file f2b-config created is never truncated, and is only deleted while empty.
//!
//! Nothing here writes; [`crate::apply`] does.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::fsx::{self, FileState, Node};
use crate::ignoreip;
use crate::journald;
use crate::manifest::{
    state_path, Entry, Kind, Manifest, Meta, Phase, SshdRecord, UnitRecord, STATE_DIR,
};
use crate::probe::{self, Firewall};
use crate::profile::{LogFile, Profile, ProfileName, LOGGERS};
use crate::proxmenux;
use crate::render::{self, apt::APT_SOURCE, Context, JAIL_FILE};
use crate::root::Root;
use crate::selftest::{self, Verdict};
use crate::sshd::{self, run::Outcome, Edit};
use crate::view::{Overlay, Tree, View};

/// What `install` was asked to do.
#[derive(Clone, Debug, Default)]
pub struct InstallOptions {
    pub profile: ProfileName,
    /// What to do about the fail2ban package (decided by the caller from apt).
    pub package: PackageNeed,
    pub ignoreip: Vec<String>,
    pub yes: bool,
    pub dry_run: bool,
}

/// Whether fail2ban must be installed, and from where.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PackageNeed {
    /// Installed already, or a staged tree, or --no-apt.
    #[default]
    Nothing,
    /// apt has a candidate.
    Install,
    /// apt has none: add a Debian source for this codename, then install.
    AddSource(String),
}

/// Facts from outside the tree's files (see [`crate::probe`]); tests give them explicitly.
#[derive(Clone, Debug)]
pub struct Facts {
    pub firewall: Firewall,
    pub firewall_why: String,
    /// f2b-logger as the units run it.
    pub logger: String,
    pub ssh_client: Option<IpAddr>,
    /// `sshd -T`'s MaxAuthTries on the current tree, if sshd ran.
    pub sshd_effective: Option<Outcome<u32>>,
}

/// One path to change.
#[derive(Clone, Debug)]
pub struct Change {
    pub path: String,
    pub kind: Kind,
    pub why: String,
    /// On disk now.
    pub current: Node,
    /// After the change (`None`: removed).
    pub target: Option<FileState>,
}

/// The plan of an install or a remove.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Only real changes (current ≠ target), sorted by path.
    pub changes: Vec<Change>,
    /// The manifest after the run (`None`: remove deletes it).
    pub manifest: Option<Manifest>,
    pub previous: Option<Manifest>,
    /// Files changed by someone else, copied to `saved/` before they are replaced.
    pub saves: Vec<(String, FileState)>,
    /// Originals to back up: paths managed for the first time.
    pub backups: Vec<(String, FileState)>,
    /// What f2b-config leaves at each managed config path (kept in `installed/`).
    pub installed: Vec<(String, FileState)>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    /// The `MaxAuthTries` sshd must report after the change (`None`: sshd untouched).
    pub sshd_expect: Option<u32>,
    pub selftests: Vec<(String, Verdict)>,
    /// `apt-get install fail2ban` after the files are written (host only).
    pub package: Option<PackageAction>,
}

/// Installing the fail2ban package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageAction {
    /// Run `apt-get update` first (a source was just added); its failure does not abort.
    pub update: bool,
}

impl Plan {
    /// True when the run would write nothing at all (a reinstall of the same thing).
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
            && self.saves.is_empty()
            && self.backups.is_empty()
            && self.installed.is_empty()
            && self.package.is_none()
            && self.manifest.is_some()
            && self.manifest == self.previous
    }

    /// True when `path` changes.
    pub fn touches(&self, pred: impl Fn(&str) -> bool) -> bool {
        self.changes.iter().any(|c| pred(&c.path))
    }
}

/// Plans an install.
pub fn install(
    root: &Root,
    opts: &InstallOptions,
    prev: Option<Manifest>,
    facts: &Facts,
) -> Result<Plan> {
    let view = View::new(root, prev.as_ref())?;
    let profile = Profile::get(opts.profile);
    let mut notes = Vec::new();
    let mut warnings = Vec::new();

    // A ProxMenux install to adopt?
    let adoption = proxmenux::detect(&view)?;
    if adoption.found() {
        notes.push(
            "found a ProxMenux Fail2Ban install: adopting it (its files are kept in the backups)"
                .into(),
        );
    }
    warnings.extend(adoption.notes.iter().cloned());
    let log_paths: Vec<(LogFile, String)> = LOGGERS
        .iter()
        .filter_map(|l| adoption.log_path(l).map(|p| (l.log, p.to_string())))
        .collect();

    // ignoreip: the seed's, what earlier [DEFAULT]s listed, --ignoreip, earlier self-ban additions.
    let mut ignore: Vec<String> = ignoreip::BASE.iter().map(|s| s.to_string()).collect();
    let earlier = ignoreip::earlier_jail_files(&view, JAIL_FILE)?;
    let carried = ignoreip::collect(&view, &earlier)?;
    for (addr, file) in &carried {
        if !ignore.contains(addr) {
            notes.push(format!("ignoreip: keeping {addr} from {file}"));
        }
    }
    ignoreip::merge(&mut ignore, carried.into_iter().map(|(a, _)| a));
    for a in &opts.ignoreip {
        if a.is_empty()
            || a.contains(|c: char| c.is_whitespace() || c == ',' || c == '%' || c == '#')
        {
            return Err(Error::Usage(format!(
                "--ignoreip {a:?}: give one address, network (ADDR/PREFIX) or host name"
            )));
        }
    }
    ignoreip::merge(&mut ignore, opts.ignoreip.iter().cloned());
    let mut added: Vec<String> =
        prev.as_ref().map(|m| m.ignoreip_added.clone()).unwrap_or_default();
    ignoreip::merge(&mut ignore, added.iter().cloned());
    if let Some(client) = facts.ssh_client {
        if !ignore.iter().any(|n| ignoreip::covers(n, client)) {
            let addr = client.to_string();
            if opts.yes {
                notes.push(format!("ignoreip: adding {addr}, the address of this SSH session"));
                ignore.push(addr.clone());
                added.push(addr);
            } else if root.is_host() && !opts.dry_run {
                return Err(Error::SelfBan { addr });
            } else {
                warnings.push(format!(
                    "this SSH session comes from {addr}, not in ignoreip: --yes adds it"
                ));
            }
        }
    }

    // sshd: where its ports are, and the MaxAuthTries edit.
    let sshd_dirs = sshd::directives(&view, sshd::MAIN)?;
    let ctx = Context {
        profile: &profile,
        firewall: facts.firewall,
        logger_bin: facts.logger.clone(),
        log_paths,
        ignoreip: ignore,
        ssh_ports: sshd::ports(&sshd_dirs),
    };
    notes.push(format!("firewall: {} ({})", facts.firewall.banactions().0, facts.firewall_why));

    // The filters must pass their corpora before they are enabled.
    let mut selftests = Vec::new();
    for name in profile.builtin_filters() {
        let v = selftest::check(name);
        match &v {
            Verdict::Fail(detail) => {
                return Err(Error::SelfTest { filter: name.into(), detail: detail.clone() })
            }
            Verdict::Unavailable(why) => {
                warnings.push(format!("filter self-test of {name} not run: {why}"))
            }
            Verdict::Pass { samples } => {
                notes.push(format!("filter {name}: {samples} corpus samples pass"))
            }
        }
        selftests.push((name.to_string(), v));
    }

    let mut wants: BTreeMap<String, (Option<FileState>, Kind, String)> = BTreeMap::new();
    for r in render::all(&ctx)? {
        wants.insert(r.path, (Some(FileState::new(r.content, r.mode)), Kind::Config, r.why));
    }

    // Log files the jails read must exist (fail2ban will not start a jail without its file).
    let adm = probe::adm_gid(&view);
    let mut logs: BTreeSet<String> =
        LOGGERS.iter().map(|l| ctx.log_path(l.log).to_string()).collect();
    logs.extend(profile.log_files().into_iter().map(|f| ctx.log_path(f).to_string()));
    for log in logs {
        if view.node(&log)?.is_absent() {
            let empty = FileState { content: Vec::new(), mode: 0o640, uid: 0, gid: adm };
            wants.insert(log, (Some(empty), Kind::Log, "log file a jail reads".into()));
        }
    }

    // journald must keep info-level messages.
    let jfiles = journald_files(&view)?;
    let levels = journald::effective(&jfiles);
    if let Some(dropin) = journald::dropin_for(&levels) {
        let ov = Overlay {
            base: &view,
            files: BTreeMap::from([(journald::DROPIN.to_string(), Some(dropin.clone()))]),
        };
        let after = journald::effective(&journald_files(&ov)?);
        for s in [&after.store, &after.syslog] {
            if s.level < journald::INFO {
                let (p, l) = s.origin.clone().unwrap_or_default();
                warnings.push(format!(
                    "journald: {p}:{l} sorts after {} and keeps a level below info; edit it",
                    journald::DROPIN
                ));
            }
        }
        wants.insert(
            journald::DROPIN.into(),
            (
                Some(FileState::new(dropin, 0o644)),
                Kind::Config,
                "journald keeps info-level auth messages".into(),
            ),
        );
    } else {
        notes.push(format!(
            "journald: MaxLevelStore={} MaxLevelSyslog={}, nothing to raise",
            journald::level_name(levels.store.level),
            journald::level_name(levels.syslog.level)
        ));
    }

    // sshd MaxAuthTries.
    let mut sshd_expect = None;
    let mut sshd_record = prev.as_ref().and_then(|m| m.sshd.clone());
    match sshd::plan(&view)? {
        Ok(Edit::None { current }) => {
            notes.push(format!("sshd: MaxAuthTries is {}, nothing to lower", current.value));
            record_sshd(&mut sshd_record, &adoption, facts, &current, &mut warnings, prev.as_ref());
        }
        Ok(Edit::Write { path, text, current, how }) => {
            let base = view.node(&path)?;
            let mut st = FileState::new(text, 0o644);
            if let Some(orig) = base.file() {
                (st.mode, st.uid, st.gid) = (orig.mode, orig.uid, orig.gid);
            }
            notes.push(format!(
                "sshd: MaxAuthTries {} -> {} in {path} ({how})",
                current.value,
                sshd::WANT
            ));
            record_sshd(&mut sshd_record, &adoption, facts, &current, &mut warnings, prev.as_ref());
            wants.insert(
                path,
                (Some(st), Kind::Config, format!("sshd MaxAuthTries {}", sshd::WANT)),
            );
            sshd_expect = Some(sshd::WANT);
        }
        Err(why) => warnings.push(format!("sshd: MaxAuthTries left alone: {why}")),
    }

    // ProxMenux files that f2b-sidecar replaces are moved aside.
    for (path, why) in &adoption.move_aside {
        wants.insert(path.clone(), (None, Kind::Config, why.clone()));
    }
    let package = match &opts.package {
        PackageNeed::Nothing => None,
        PackageNeed::Install => Some(PackageAction { update: false }),
        PackageNeed::AddSource(codename) => {
            if !view.node(APT_SOURCE)?.is_absent() {
                return Err(Error::Package(format!(
                    "apt has no candidate for fail2ban and {APT_SOURCE} already exists: f2b-config never \
                     overwrites a source; check it, then `apt-get update`"
                )));
            }
            let r = render::apt::render(codename);
            wants.insert(r.path, (Some(FileState::new(r.content, r.mode)), Kind::Config, r.why));
            Some(PackageAction { update: true })
        }
    };
    // The Debian source added by an earlier run stays while f2b-config is installed.
    if let Some(m) = &prev {
        if let Some(e) = m.entry(APT_SOURCE) {
            let st = m.installed_state(root, e)?;
            wants.insert(APT_SOURCE.into(), (st, Kind::Config, e.why.clone()));
        }
    }

    let mut manifest = Manifest::new(opts.profile);
    manifest.phase = Phase::Installed;
    manifest.ignoreip_added = added;
    manifest.sshd = sshd_record;
    manifest.units = LOGGERS
        .iter()
        .map(|l| UnitRecord {
            unit: l.unit.into(),
            adopted: adoption.log_path(l).is_some()
                || prev
                    .as_ref()
                    .is_some_and(|m| m.units.iter().any(|u| u.unit == l.unit && u.adopted)),
        })
        .collect();
    if let Some(m) = &prev {
        manifest.dirs = m.dirs.clone();
        manifest.package_installed = m.package_installed;
    }
    manifest.package_installed |= package.is_some();
    let r = reconcile(root, prev.as_ref(), &wants, &mut manifest, &mut notes)?;
    let (changes, saves, conflicts) = (r.changes, r.saves, r.conflicts);
    if !conflicts.is_empty() && !opts.yes && !opts.dry_run {
        return Err(Error::ChangedSinceInstall {
            paths: conflicts,
            command: "install",
            saved_dir: root.path(&format!("{STATE_DIR}/saved")),
        });
    }
    for c in &conflicts {
        warnings.push(format!(
            "{c} was changed since f2b-config installed it: --yes replaces it, keeping a copy"
        ));
    }
    Ok(Plan {
        changes,
        manifest: Some(manifest),
        previous: prev,
        saves,
        backups: r.backups,
        installed: r.installed,
        notes,
        warnings,
        sshd_expect,
        selftests,
        package,
    })
}

fn record_sshd(
    rec: &mut Option<SshdRecord>,
    adoption: &proxmenux::Adoption,
    facts: &Facts,
    parsed: &sshd::Effective,
    warnings: &mut Vec<String>,
    prev: Option<&Manifest>,
) {
    if rec.is_some() {
        return;
    }
    if let Some(v) = adoption.max_auth_tries_backup {
        *rec = Some(SshdRecord {
            original_max_auth_tries: v,
            source: format!("ProxMenux's {}", sshd::PROXMENUX_BACKUP),
        });
        return;
    }
    // sshd -T reads the disk, which is the original only while f2b-config manages no sshd file.
    let untouched = prev.is_none_or(|m| !m.files.iter().any(|e| e.path.starts_with("/etc/ssh/")));
    if let (true, Some(Outcome::Ok(v))) = (untouched, &facts.sshd_effective) {
        if *v != parsed.value {
            warnings.push(format!(
                "sshd -T reports MaxAuthTries {v}, f2b-config's reading of the files {}; the change is checked with sshd -T",
                parsed.value
            ));
        }
        *rec = Some(SshdRecord { original_max_auth_tries: *v, source: "sshd -T".into() });
        return;
    }
    let source = match &parsed.origin {
        Some((f, l)) => format!("{f}:{l}"),
        None => "sshd's default".into(),
    };
    *rec = Some(SshdRecord { original_max_auth_tries: parsed.value, source });
}

/// journald's config files in reading order, with their text.
pub fn journald_files(tree: &dyn Tree) -> Result<Vec<(String, String)>> {
    let mut main = None;
    for m in journald::MAIN_FILES {
        if tree.node(m)?.file().is_some() {
            main = Some(m);
            break;
        }
    }
    let mut dirs = Vec::new();
    for d in journald::DROPIN_DIRS {
        dirs.push((d.to_string(), tree.names(d)?));
    }
    let mut out = Vec::new();
    for p in journald::reading_order(main, &dirs) {
        if let Some(t) = tree.text(&p)? {
            out.push((p, t));
        }
    }
    Ok(out)
}

type Wants = BTreeMap<String, (Option<FileState>, Kind, String)>;

#[derive(Default)]
struct Reconciled {
    changes: Vec<Change>,
    saves: Vec<(String, FileState)>,
    conflicts: Vec<String>,
    backups: Vec<(String, FileState)>,
    installed: Vec<(String, FileState)>,
}

/// Turns wanted states into changes and manifest entries (see the module docs).
fn reconcile(
    root: &Root,
    prev: Option<&Manifest>,
    wants: &Wants,
    manifest: &mut Manifest,
    notes: &mut Vec<String>,
) -> Result<Reconciled> {
    let mut paths: BTreeSet<String> = wants.keys().cloned().collect();
    if let Some(m) = prev {
        paths.extend(m.files.iter().map(|e| e.path.clone()));
    }
    let mut r = Reconciled::default();
    for path in paths {
        debug_assert!(!path.starts_with(STATE_DIR));
        fsx::check_parents(root, &path)?;
        let current = fsx::read_node(&root.path(&path))?;
        if let Node::Other(what) = current {
            return Err(Error::Refused { path: root.path(&path), reason: format!("is {what}") });
        }
        let cur = current.file().cloned();
        let entry = prev.and_then(|m| m.entry(&path));
        let original = match (prev, entry) {
            (Some(m), Some(e)) => m.original_state(root, e)?,
            _ => cur.clone(),
        };
        let installed = match (prev, entry) {
            (Some(m), Some(e)) => m.installed_state(root, e)?,
            _ => None,
        };
        let want = wants.get(&path);
        let kind = want.map(|w| w.1).or(entry.map(|e| e.kind)).unwrap_or(Kind::Config);
        let why = want.map(|w| w.2.clone()).or(entry.map(|e| e.why.clone())).unwrap_or_default();

        let mut target = match want {
            Some((st, _, _)) => st.clone(),
            None => original.clone(),
        };
        if kind == Kind::Log {
            match (&cur, want.is_some()) {
                // Never truncate a log; a log with lines in it is the admin's now.
                (Some(c), true) => target = Some(c.clone()),
                (Some(c), false) if !c.content.is_empty() => {
                    notes.push(format!("keeping {path}: it has lines in it"));
                    continue;
                }
                _ => {}
            }
        } else if entry.is_some() && cur != installed && cur != original && cur != target {
            r.conflicts.push(path.clone());
            if let Some(c) = &cur {
                r.saves.push((path.clone(), c.clone()));
            }
        }

        if target != original {
            if let (None, Some(o)) = (entry, &original) {
                r.backups.push((path.clone(), o.clone()));
            }
            if let (Kind::Config, Some(t)) = (kind, &target) {
                if installed.as_ref() != Some(t) {
                    r.installed.push((path.clone(), t.clone()));
                }
            }
            manifest.files.push(Entry {
                path: path.clone(),
                kind,
                why: why.clone(),
                original: original.as_ref().map(Meta::of),
                installed: match (kind, &target) {
                    // What f2b-config created: an empty file (the logger fills it later).
                    (Kind::Log, Some(_)) => want
                        .and_then(|w| w.0.as_ref())
                        .map(Meta::of)
                        .or(entry.and_then(|e| e.installed)),
                    (_, t) => t.as_ref().map(Meta::of),
                },
            });
        }
        if cur != target {
            r.changes.push(Change { path, kind, why, current, target });
        }
    }
    Ok(r)
}

/// Plans a remove: every managed path back to its original.
pub fn remove(root: &Root, prev: Manifest, yes: bool, dry_run: bool) -> Result<Plan> {
    let mut changes = Vec::new();
    let mut saves = Vec::new();
    let mut conflicts = Vec::new();
    let mut notes = Vec::new();
    for e in &prev.files {
        fsx::check_parents(root, &e.path)?;
        let current = fsx::read_node(&root.path(&e.path))?;
        if let Node::Other(what) = current {
            return Err(Error::Refused { path: root.path(&e.path), reason: format!("is {what}") });
        }
        let cur = current.file().cloned();
        let original = prev.original_state(root, e)?;
        if e.kind == Kind::Log {
            if cur.as_ref().is_some_and(|c| !c.content.is_empty()) {
                notes.push(format!("keeping {}: it has lines in it", e.path));
                continue;
            }
        } else {
            let installed = prev.installed_state(root, e)?;
            if cur != installed && cur != original {
                conflicts.push(e.path.clone());
                if let Some(c) = &cur {
                    saves.push((e.path.clone(), c.clone()));
                }
            }
        }
        if cur != original {
            changes.push(Change {
                path: e.path.clone(),
                kind: e.kind,
                why: e.why.clone(),
                current,
                target: original,
            });
        }
    }
    let mut warnings = Vec::new();
    if !conflicts.is_empty() {
        if !yes && !dry_run {
            return Err(Error::ChangedSinceInstall {
                paths: conflicts,
                command: "remove",
                saved_dir: root.path(&format!("{STATE_DIR}/saved")),
            });
        }
        for c in &conflicts {
            warnings.push(format!("{c} was changed since f2b-config installed it: a copy is kept in {STATE_DIR}/saved/"));
        }
    }
    // The restored sshd config is checked with `sshd -t` only: its value is whatever it was.
    Ok(Plan {
        changes,
        manifest: None,
        previous: Some(prev),
        saves,
        backups: vec![],
        installed: vec![],
        notes,
        warnings,
        sshd_expect: None,
        selftests: vec![],
        package: None,
    })
}

/// Path of a saved copy for this run.
pub fn saved_path(stamp: &str, path: &str) -> String {
    state_path(&format!("saved/{stamp}"), path)
}
