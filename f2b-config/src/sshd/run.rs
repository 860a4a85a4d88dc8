//! Running the real sshd: `sshd -t` (is the config valid?) and `sshd -T` (effective values).
//!
//! On a staged tree the main file is copied to a temporary directory with its `Include`
//! paths pointed into the tree (sshd would otherwise read the host's drop-ins), and checked
//! with `sshd -t -f COPY`. sshd refuses to run without its privilege separation directory
//! /run/sshd: before applying a change on the host it is created (as ssh.service does);
//! otherwise the check is skipped with that reason.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::root::Root;
use crate::sshd::{resolve_include, split_line};

/// Where sshd is looked for (the host's binary checks staged trees too).
pub const SSHD_BINARIES: [&str; 2] = ["/usr/sbin/sshd", "/sbin/sshd"];

/// The outcome of running sshd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome<T> {
    Ok(T),
    /// sshd ran and rejected the config (its message).
    Failed(String),
    /// sshd could not be run here (why).
    Skipped(String),
}

/// The sshd binary, if installed.
pub fn binary() -> Option<PathBuf> {
    SSHD_BINARIES.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Points every `Include` of the main file into `root` (relative ones are under /etc/ssh).
pub fn rewrite_includes(text: &str, root: &Path) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        match split_line(line) {
            Some((k, args)) if k == "include" => {
                let indent: String =
                    line.chars().take_while(|c| c.is_whitespace() && *c != '\n').collect();
                let paths: Vec<String> = args
                    .iter()
                    .map(|a| format!("{}{}", root.display(), resolve_include(a)))
                    .collect();
                out.push_str(&format!("{indent}Include {}\n", paths.join(" ")));
            }
            _ => out.push_str(line),
        }
    }
    out
}

fn run(root: &Root, flag: &str) -> Outcome<String> {
    let Some(bin) = binary() else { return Outcome::Skipped("sshd is not installed".into()) };
    if !Path::new("/run/sshd").is_dir() {
        if root.is_host() {
            // What ssh.service's RuntimeDirectory= does; sshd -t refuses to run without it.
            if let Err(e) = std::fs::create_dir_all("/run/sshd") {
                return Outcome::Skipped(format!("cannot create /run/sshd: {e}"));
            }
        } else {
            return Outcome::Skipped(
                "/run/sshd is missing (start ssh.service once, or create it)".into(),
            );
        }
    }
    let mut cmd = Command::new(&bin);
    cmd.arg(flag).stdin(Stdio::null());
    // Keeps the rewritten copy alive until sshd has read it.
    let _tmp;
    if !root.is_host() {
        let main = root.path(crate::sshd::MAIN);
        let text = match std::fs::read_to_string(&main) {
            Ok(t) => t,
            Err(e) => return Outcome::Failed(format!("{}: {e}", main.display())),
        };
        let dir = match tempfile::tempdir() {
            Ok(d) => d,
            Err(e) => return Outcome::Skipped(format!("no temporary directory: {e}")),
        };
        let copy = dir.path().join("sshd_config");
        if let Err(e) = std::fs::write(&copy, rewrite_includes(&text, root.dir())) {
            return Outcome::Skipped(format!("{}: {e}", copy.display()));
        }
        cmd.arg("-f").arg(&copy);
        _tmp = dir;
    }
    match cmd.output() {
        Err(e) => Outcome::Skipped(format!("{}: {e}", bin.display())),
        Ok(o) if o.status.success() => Outcome::Ok(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let msg = err.lines().filter(|l| !l.trim().is_empty()).collect::<Vec<_>>().join("; ");
            Outcome::Failed(if msg.is_empty() { format!("exit status {}", o.status) } else { msg })
        }
    }
}

/// Creates /run/sshd (0755) if missing, as ssh.service's `RuntimeDirectory=` does: only on the
/// host, just before a change to sshd's config must be checked.
pub fn ensure_privsep_dir() {
    if !Path::new("/run/sshd").is_dir() {
        if let Err(e) = std::fs::create_dir_all("/run/sshd") {
            tracing::warn!("cannot create /run/sshd: {e}");
        }
    }
}

/// `sshd -t` on the tree's config.
pub fn test(root: &Root) -> Outcome<()> {
    match run(root, "-t") {
        Outcome::Ok(_) => Outcome::Ok(()),
        Outcome::Failed(m) => Outcome::Failed(m),
        Outcome::Skipped(m) => Outcome::Skipped(m),
    }
}

/// The effective global `MaxAuthTries` from `sshd -T`.
pub fn max_auth_tries(root: &Root) -> Outcome<u32> {
    match run(root, "-T") {
        Outcome::Ok(out) => match out
            .lines()
            .find_map(|l| l.strip_prefix("maxauthtries ").and_then(|v| v.trim().parse().ok()))
        {
            Some(v) => Outcome::Ok(v),
            None => Outcome::Failed("sshd -T printed no maxauthtries".into()),
        },
        Outcome::Failed(m) => Outcome::Failed(m),
        Outcome::Skipped(m) => Outcome::Skipped(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn includes_point_into_the_tree() {
        let t =
            "Include /etc/ssh/sshd_config.d/*.conf\n  include extra.conf other/*.conf\nPort 22\n";
        assert_eq!(
            rewrite_includes(t, Path::new("/stage")),
            "Include /stage/etc/ssh/sshd_config.d/*.conf\n  Include /stage/etc/ssh/extra.conf /stage/etc/ssh/other/*.conf\nPort 22\n"
        );
    }
}
