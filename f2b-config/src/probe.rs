//! Read-only facts about the host that do not come from the tree's files: firewall, f2b-logger,
//! the SSH client of this session, the adm group, the Debian codename, the fail2ban package.

use std::net::IpAddr;
use std::path::Path;

use crate::cmd;
use crate::error::{Error, Result};
use crate::ignoreip;
use crate::render::DEFAULT_LOGGER;
use crate::root::Root;
use crate::view::Tree;

/// `--backend`: which ban action to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendChoice {
    /// nftables when `nft list ruleset` works, else iptables (as the seed).
    #[default]
    Auto,
    Nftables,
    Iptables,
}

/// The firewall fail2ban bans with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firewall {
    Nftables,
    Iptables,
}

impl Firewall {
    /// `banaction` and `banaction_allports`.
    pub fn banactions(self) -> (&'static str, &'static str) {
        match self {
            Firewall::Nftables => ("nftables", "nftables[type=allports]"),
            Firewall::Iptables => ("iptables-multiport", "iptables-allports"),
        }
    }
}

/// The firewall for `choice`, and how it was decided.
pub fn firewall(choice: BackendChoice) -> (Firewall, String) {
    match choice {
        BackendChoice::Nftables => (Firewall::Nftables, "--backend nftables".into()),
        BackendChoice::Iptables => (Firewall::Iptables, "--backend iptables".into()),
        BackendChoice::Auto => {
            if cmd::succeeds("nft", &["list", "ruleset"]) {
                (Firewall::Nftables, "`nft list ruleset` works".into())
            } else {
                (Firewall::Iptables, "`nft list ruleset` fails".into())
            }
        }
    }
}

/// Where f2b-logger is looked for, in order (the directory of the running f2b-config last).
pub fn logger_candidates() -> Vec<String> {
    let mut c = vec![
        DEFAULT_LOGGER.to_string(),
        "/usr/bin/f2b-logger".to_string(),
        "/usr/sbin/f2b-logger".to_string(),
    ];
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf))
    {
        c.push(dir.join("f2b-logger").display().to_string());
    }
    c
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The f2b-logger path the units will run, plus a warning when it is only assumed.
///
/// On the host the binary must exist (else [`Error::LoggerMissing`]); on a staged tree it is
/// looked for inside the tree, and if absent the default path is used with a warning.
pub fn logger(root: &Root, explicit: Option<&str>) -> Result<(String, Option<String>)> {
    if let Some(p) = explicit {
        if !p.starts_with('/') {
            return Err(Error::Usage(format!("--logger {p}: give an absolute path")));
        }
        if executable(&root.path(p)) {
            return Ok((p.to_string(), None));
        }
        if root.is_host() {
            return Err(Error::LoggerMissing { looked: p.to_string() });
        }
        return Ok((
            p.to_string(),
            Some(format!("--logger {p} is not in the staged tree; the units run it anyway")),
        ));
    }
    let cands = logger_candidates();
    if root.is_host() {
        return match cands.iter().find(|c| executable(Path::new(c))) {
            Some(c) if hidden_from_units(c) => Ok((
                c.clone(),
                Some(format!("{c} is under a home directory, which the units' ProtectHome=yes hides: install f2b-logger to {DEFAULT_LOGGER}")),
            )),
            Some(c) => Ok((c.clone(), None)),
            None => Err(Error::LoggerMissing { looked: cands.join(", ") }),
        };
    }
    match cands.iter().take(3).find(|c| executable(&root.path(c))) {
        Some(c) => Ok((c.clone(), None)),
        None => Ok((
            DEFAULT_LOGGER.to_string(),
            Some(format!("f2b-logger is not in the staged tree; the units run {DEFAULT_LOGGER}")),
        )),
    }
}

/// Paths the logger units cannot see (ProtectHome=yes).
fn hidden_from_units(p: &str) -> bool {
    ["/home/", "/root/", "/run/user/"].iter().any(|h| p.starts_with(h))
}

/// The client address of this SSH session, if any.
pub fn ssh_client() -> Option<IpAddr> {
    ignoreip::ssh_client(std::env::var("SSH_CONNECTION").ok().as_deref())
}

/// The gid of group `adm` in the tree's /etc/group (Debian's is 4).
pub fn adm_gid(tree: &dyn Tree) -> u32 {
    let from = |text: Option<String>| {
        text?.lines().find_map(|l| {
            let mut f = l.split(':');
            (f.next() == Some("adm")).then(|| f.nth(1).and_then(|g| g.parse().ok())).flatten()
        })
    };
    from(tree.text("/etc/group").ok().flatten()).unwrap_or(4)
}

/// `VERSION_CODENAME` of the tree's os-release.
pub fn codename(tree: &dyn Tree) -> Option<String> {
    let text = tree
        .text("/etc/os-release")
        .ok()
        .flatten()
        .or_else(|| tree.text("/usr/lib/os-release").ok().flatten())?;
    text.lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// The fail2ban package on the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Package {
    Installed,
    /// Not installed; apt can install this version.
    Candidate(String),
    NoCandidate,
}

/// Asks dpkg and apt about fail2ban.
pub fn package() -> Package {
    if let Ok(s) = cmd::run("dpkg-query", &["-W", "-f=${Status}", "fail2ban"]) {
        if s.contains("install ok installed") {
            return Package::Installed;
        }
    }
    match cmd::run("apt-cache", &["policy", "fail2ban"]) {
        Ok(out) => candidate(&out).map(Package::Candidate).unwrap_or(Package::NoCandidate),
        Err(_) => Package::NoCandidate,
    }
}

/// The `Candidate:` of `apt-cache policy` output.
pub fn candidate(policy: &str) -> Option<String> {
    policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty() && c != "(none)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::MemTree;

    #[test]
    fn apt_candidate() {
        let out = "fail2ban:\n  Installed: (none)\n  Candidate: 1.0.2-2\n  Version table:\n";
        assert_eq!(candidate(out).as_deref(), Some("1.0.2-2"));
        assert_eq!(candidate("fail2ban:\n  Installed: (none)\n  Candidate: (none)\n"), None);
        assert_eq!(candidate(""), None);
    }

    #[test]
    fn codename_and_adm() {
        let t = MemTree::new(&[
            ("/etc/os-release", "NAME=\"Debian GNU/Linux\"\nVERSION_CODENAME=trixie\n"),
            ("/etc/group", "root:x:0:\nadm:x:4:syslog\n"),
        ]);
        assert_eq!(codename(&t).as_deref(), Some("trixie"));
        assert_eq!(adm_gid(&t), 4);
        assert_eq!(codename(&MemTree::new(&[("/etc/os-release", "VERSION_CODENAME=\n")])), None);
    }

    #[test]
    fn staged_trees_without_logger_get_the_default_with_a_warning() {
        let t = tempfile::tempdir().unwrap();
        let r = Root::staged(t.path()).unwrap();
        let (p, w) = logger(&r, None).unwrap();
        assert_eq!(p, DEFAULT_LOGGER);
        assert!(w.is_some());
        assert!(matches!(logger(&r, Some("relative")), Err(Error::Usage(_))));
    }
}
