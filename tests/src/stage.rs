//! The staged tree the namespace mounts over `/etc/fail2ban`, `/etc/systemd`, `/var/log` and
//! `/var/lib`: the installed fail2ban package's files, plus our configuration, written either by
//! `f2b-config install --root` (the real flow) or by hand (the harness's own check, independent of
//! f2b-config).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The two journal → file routes of the proxmenux profile: (unit, log file inside the namespace).
pub const ROUTES: [(&str, &str); 2] =
    [("pvedaemon.service", "/var/log/proxmox-auth.log"), ("ssh.service", "/var/log/ssh-auth.log")];

/// Appended to journald.conf in an f2b-config stage.
pub const JOURNALD_TUNED: &str = "MaxLevelStore=warning\nMaxLevelSyslog=warning\n";

/// Who writes the fail2ban configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// `f2b-config install --root … --profile proxmenux --backend nftables --yes --no-apt`.
    F2bConfig,
    /// A minimal jail.local and filter written here: proxmox (maxretry 3), sshd (maxretry 2).
    HandWritten,
}

/// A staged root directory.
#[derive(Debug)]
pub struct Stage {
    pub root: PathBuf,
}

impl Stage {
    /// Copies the package's `/etc/fail2ban` (and, for f2b-config, the sshd and journald files it
    /// edits) into `root`, then writes our configuration.
    pub fn build(
        root: &Path,
        source: ConfigSource,
        ignoreip: &[String],
        f2b_config: Option<&Path>,
    ) -> Result<Self> {
        for d in ["etc", "etc/systemd", "var/log", "var/lib/fail2ban"] {
            std::fs::create_dir_all(root.join(d))?;
        }
        copy_package_etc(root)?;
        let stage = Self { root: root.to_owned() };
        match source {
            ConfigSource::HandWritten => stage.write_hand_written(ignoreip)?,
            ConfigSource::F2bConfig => {
                let bin = f2b_config.context("f2b-config binary not given")?;
                stage.run_f2b_config(bin, ignoreip)?
            }
        }
        Ok(stage)
    }

    /// Host path of a path inside the namespace (everything we mount comes from the stage).
    pub fn host(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    fn write_hand_written(&self, ignoreip: &[String]) -> Result<()> {
        let etc = self.root.join("etc/fail2ban");
        // Anchored at the line start, but like the seed's filter it accepts any leading blanks
        // (`\s*`), so journalctl's indented continuation lines still match: the contrast case.
        // Our shipped filter allows at most two (regex-lab/filters/proxmox.conf).
        std::fs::write(
            etc.join("filter.d/f2b-e2e-proxmox.conf"),
            "[Definition]\n\
             failregex = ^\\s*\\S+ pvedaemon\\[\\d+\\]: authentication failure; rhost=<ADDR> user=\\S+\n\
             ignoreregex =\n",
        )?;
        let jail = format!(
            "[DEFAULT]\n\
             banaction = nftables-multiport\n\
             banaction_allports = nftables-allports\n\
             ignoreip = 127.0.0.1/8 ::1 {}\n\
             ignoreself = true\n\
             bantime = 3600\n\
             findtime = 600\n\
             backend = auto\n\
             \n\
             [sshd]\n\
             enabled = true\n\
             mode = aggressive\n\
             port = ssh\n\
             logpath = /var/log/ssh-auth.log\n\
             backend = auto\n\
             maxretry = 2\n\
             \n\
             [proxmox]\n\
             enabled = true\n\
             port = https,http,8006\n\
             filter = f2b-e2e-proxmox\n\
             logpath = /var/log/proxmox-auth.log\n\
             backend = auto\n\
             maxretry = 3\n",
            ignoreip.join(" ")
        );
        std::fs::write(etc.join("jail.local"), jail)?;
        Ok(())
    }

    fn run_f2b_config(&self, bin: &Path, ignoreip: &[String]) -> Result<()> {
        // The files f2b-config edits besides /etc/fail2ban, as on a Debian 12 host.
        let sshd_config = self.root.join("etc/ssh/sshd_config");
        if Path::new("/etc/ssh/sshd_config").exists() {
            std::fs::create_dir_all(sshd_config.parent().expect("has parent"))?;
            std::fs::copy("/etc/ssh/sshd_config", &sshd_config).context("copying sshd_config")?;
        }
        // journald as a tuned Proxmox host has it (ProxMenux's optimize_journald wrote this until
        // 2026-02): sshd's info-level failures are dropped unless f2b-config's drop-in raises
        // the level, and the namespace's journald reads that drop-in.
        let mut journald = std::fs::read_to_string("/etc/systemd/journald.conf")
            .unwrap_or_else(|_| "[Journal]\n".into());
        journald.push_str(JOURNALD_TUNED);
        std::fs::write(self.root.join("etc/systemd/journald.conf"), journald)?;
        if Path::new("/etc/ssh/sshd_config.d").is_dir() {
            std::fs::create_dir_all(self.root.join("etc/ssh/sshd_config.d"))?;
        }
        let mut cmd = Command::new(bin);
        cmd.args(["install", "--root"]).arg(&self.root).args([
            "--profile",
            "proxmenux",
            "--backend",
            "nftables",
        ]);
        for a in ignoreip {
            cmd.args(["--ignoreip", a]);
        }
        cmd.args(["--yes", "--no-apt"]);
        let out = cmd.output().with_context(|| format!("running {}", bin.display()))?;
        if !out.status.success() {
            bail!(
                "f2b-config install --root {} failed ({}):\n{}{}",
                self.root.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// The `f2b-logger` command lines of the logger units f2b-config installed (argv, without
    /// the program), in unit-name order. Empty for a hand-written stage.
    pub fn logger_units(&self) -> Result<Vec<(String, Vec<String>)>> {
        let dir = self.root.join("etc/systemd/system");
        let mut units = Vec::new();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Ok(units);
        };
        for ent in rd.flatten() {
            let name = ent.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".service") {
                continue;
            }
            let text = std::fs::read_to_string(ent.path())?;
            if let Some(argv) = exec_start(&text)
                .filter(|a| a.first().is_some_and(|p| p.rsplit('/').next() == Some("f2b-logger")))
            {
                units.push((name, argv[1..].to_vec()));
            }
        }
        units.sort();
        Ok(units)
    }
}

/// The argv of a unit's `ExecStart=` (simple whitespace/quote splitting; prefixes `-@:+!` dropped).
fn exec_start(unit: &str) -> Option<Vec<String>> {
    let mut joined = String::new();
    let mut lines = unit.lines();
    while let Some(l) = lines.next() {
        let Some(v) = l.trim().strip_prefix("ExecStart=") else {
            continue;
        };
        joined.push_str(v);
        // Backslash continuation lines.
        while joined.ends_with('\\') {
            joined.pop();
            joined.push(' ');
            joined.push_str(lines.next().unwrap_or("").trim());
        }
        if !joined.trim().is_empty() {
            break;
        }
    }
    let v = joined.trim().trim_start_matches(['-', '@', ':', '+', '!']);
    let argv = split_words(v);
    (!argv.is_empty()).then_some(argv)
}

fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Copies the files the fail2ban package installed under /etc/fail2ban (`dpkg-query -L`), so a
/// host's own `.local` files do not leak into the stage. Without dpkg, the whole directory.
fn copy_package_etc(root: &Path) -> Result<()> {
    let listed = Command::new("dpkg-query").args(["-L", "fail2ban"]).output();
    let paths: Vec<PathBuf> = match listed {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| *l == "/etc/fail2ban" || l.starts_with("/etc/fail2ban/"))
            .map(PathBuf::from)
            .collect(),
        _ => Vec::new(),
    };
    if paths.is_empty() {
        let st = Command::new("cp")
            .arg("-a")
            .arg("/etc/fail2ban")
            .arg(root.join("etc"))
            .status()
            .context("running cp")?;
        if !st.success() {
            bail!("cp -a /etc/fail2ban {} failed", root.join("etc").display());
        }
        return Ok(());
    }
    for p in paths {
        let to = root.join(p.strip_prefix("/").expect("absolute"));
        if p.is_dir() {
            std::fs::create_dir_all(&to)?;
        } else if p.is_file() {
            std::fs::create_dir_all(to.parent().expect("has parent"))?;
            std::fs::copy(&p, &to).with_context(|| format!("copying {}", p.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_start_is_split_like_systemd_for_simple_lines() {
        let unit = "[Service]\nType=notify\nExecStart=/usr/local/bin/f2b-logger \\\n  --route pvedaemon.service=/var/log/proxmox-auth.log --state-dir '/var/lib/f2b logger'\n";
        assert_eq!(
            exec_start(unit).unwrap(),
            [
                "/usr/local/bin/f2b-logger",
                "--route",
                "pvedaemon.service=/var/log/proxmox-auth.log",
                "--state-dir",
                "/var/lib/f2b logger"
            ]
        );
        assert_eq!(exec_start("ExecStart=-/bin/true\n").unwrap(), ["/bin/true"]);
        assert!(exec_start("[Unit]\n").is_none());
    }
}
