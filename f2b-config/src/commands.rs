//! The four commands, as library calls: gather facts, plan, then print (`--dry-run`) or apply.

use std::path::{Path, PathBuf};

use crate::apply::{self, Mode};
use crate::diff;
use crate::error::{Error, Result};
use crate::fsx::{self, FileState};
use crate::manifest::Manifest;
use crate::plan::{self, Facts, InstallOptions, PackageNeed, Plan};
use crate::probe::{self, BackendChoice, Package};
use crate::profile::{Profile, ProfileName};
use crate::render::{self, Context};
use crate::root::Root;
use crate::services;
use crate::sshd;
use crate::view::View;

/// `install`'s flags.
#[derive(Clone, Debug, Default)]
pub struct InstallRequest {
    pub root: Option<PathBuf>,
    pub profile: ProfileName,
    pub dry_run: bool,
    pub yes: bool,
    pub backend: BackendChoice,
    pub ignoreip: Vec<String>,
    pub no_apt: bool,
    pub logger: Option<String>,
}

/// What a command prints: `text` on stdout, then `warnings` on stderr.
#[derive(Clone, Debug, Default)]
pub struct Output {
    pub text: String,
    pub warnings: Vec<String>,
}

fn finish(plan: &Plan, mut text: String, dry_run: bool, extra: &[String]) -> Output {
    for n in &plan.notes {
        text.push_str(&format!("note: {n}\n"));
    }
    if dry_run {
        text.push_str("dry run: nothing was written\n");
    }
    let mut warnings: Vec<String> = extra.to_vec();
    warnings.extend(plan.warnings.iter().cloned());
    Output { text, warnings }
}

/// `f2b-config install`.
pub fn install(req: &InstallRequest) -> Result<Output> {
    let root = Root::open(req.root.as_deref())?;
    let prev = Manifest::load(&root)?;
    let mut extra = Vec::new();
    let (logger, w) = probe::logger(&root, req.logger.as_deref())?;
    extra.extend(w);
    let (firewall, firewall_why) = probe::firewall(req.backend);
    let package = package_need(&root, req)?;
    let sshd_effective = sshd::run::binary().map(|_| sshd::run::max_auth_tries(&root));
    let facts =
        Facts { firewall, firewall_why, logger, ssh_client: probe::ssh_client(), sshd_effective };
    let opts = InstallOptions {
        profile: req.profile,
        package,
        ignoreip: req.ignoreip.clone(),
        yes: req.yes,
        dry_run: req.dry_run,
    };
    let plan = plan::install(&root, &opts, prev, &facts)?;
    let profile = Profile::get(req.profile);
    if req.dry_run {
        let mut text = diff::render(&plan);
        if let Some(p) = &plan.package {
            text.push_str(&format!(
                "would run: {}apt-get install -y fail2ban\n",
                if p.update { "apt-get update; " } else { "" }
            ));
        }
        if root.is_host() {
            for s in services::after_install(&plan, &profile) {
                text.push_str(&format!("would run: {}\n", s.describe()));
            }
        }
        return Ok(finish(&plan, text, true, &extra));
    }
    let report = apply::run(&root, &plan, Mode::Install, &profile)?;
    extra.extend(report.warnings);
    let mut text: String = report.lines.iter().map(|l| format!("{l}\n")).collect();
    if plan.changes.is_empty() {
        text.push_str("already installed: nothing to change\n");
    }
    if !root.is_host() {
        text.push_str("staged tree: no service was started or reloaded\n");
    }
    Ok(finish(&plan, text, false, &extra))
}

fn package_need(root: &Root, req: &InstallRequest) -> Result<PackageNeed> {
    if !root.is_host() {
        return Ok(PackageNeed::Nothing);
    }
    let mut state = probe::package();
    if state == Package::Installed {
        return Ok(PackageNeed::Nothing);
    }
    if req.no_apt {
        return Err(Error::Package(
            "fail2ban is not installed and --no-apt was given: install it (apt-get install fail2ban) or drop --no-apt".into(),
        ));
    }
    if state == Package::NoCandidate && !req.dry_run {
        // Maybe only the lists are stale. A failing unrelated source must not abort.
        if let Err(e) = crate::cmd::run("apt-get", &["update"]) {
            tracing::warn!("{e}; going on");
        }
        state = probe::package();
    }
    match state {
        Package::Installed => Ok(PackageNeed::Nothing),
        Package::Candidate(_) => Ok(PackageNeed::Install),
        Package::NoCandidate => match probe::codename(&View::disk(root)) {
            Some(c) => Ok(PackageNeed::AddSource(c)),
            None => Err(Error::Package(
                "apt has no candidate for fail2ban and /etc/os-release has no VERSION_CODENAME: add a Debian source by hand".into(),
            )),
        },
    }
}

/// `f2b-config remove`.
pub fn remove(root: Option<&Path>, yes: bool, dry_run: bool) -> Result<Output> {
    let root = Root::open(root)?;
    let Some(prev) = Manifest::load(&root)? else {
        return Err(Error::NotInstalled { path: root.path(crate::manifest::MANIFEST) });
    };
    let profile = Profile::get(prev.profile);
    let package_note = prev.package_installed;
    let plan = plan::remove(&root, prev, yes, dry_run)?;
    if dry_run {
        let mut text = diff::render(&plan);
        if root.is_host() {
            for s in services::before_remove(&plan).iter().chain(&services::after_restore(&plan)) {
                text.push_str(&format!("would run: {}\n", s.describe()));
            }
        }
        return Ok(finish(&plan, text, true, &[]));
    }
    let report = apply::run(&root, &plan, Mode::Remove, &profile)?;
    let mut text: String = report.lines.iter().map(|l| format!("{l}\n")).collect();
    if package_note {
        text.push_str("note: the fail2ban package f2b-config installed is kept (apt-get purge fail2ban removes it)\n");
    }
    Ok(finish(&plan, text, false, &report.warnings))
}

/// `f2b-config render`: the profile's files under `out` (as `out/etc/...`), host-independent
/// apart from the firewall probe when `backend` is auto.
pub fn render(
    profile: ProfileName,
    backend: BackendChoice,
    logger: Option<&str>,
    ignoreip: &[String],
    out: &Path,
) -> Result<Output> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let root = Root::staged(out)?;
    let profile = Profile::get(profile);
    let (firewall, _) = probe::firewall(backend);
    let mut ign: Vec<String> = crate::ignoreip::BASE.iter().map(|s| s.to_string()).collect();
    crate::ignoreip::merge(&mut ign, ignoreip.iter().cloned());
    let ctx = Context {
        profile: &profile,
        firewall,
        logger_bin: logger.unwrap_or(render::DEFAULT_LOGGER).to_string(),
        log_paths: vec![],
        ignoreip: ign,
        ssh_ports: vec!["22".into()],
    };
    let mut text = String::new();
    for r in render::all(&ctx)? {
        fsx::check_parents(&root, &r.path)?;
        let p = root.path(&r.path);
        fsx::create_dirs(p.parent().unwrap())?;
        fsx::write_atomic(&p, &FileState::new(r.content, r.mode))?;
        text.push_str(&format!("{}\n", p.display()));
    }
    Ok(Output {
        text,
        warnings: vec![
            "the journald drop-in and the sshd MaxAuthTries change depend on the host: see `f2b-config install --dry-run`"
                .into(),
        ],
    })
}
