//! What f2b-config installed, and the originals it replaced: `/var/lib/f2b-config/`.
//!
//! ```text
//! /var/lib/f2b-config/manifest.json      this file's record (versioned JSON, see Manifest)
//! /var/lib/f2b-config/backup/<path>      each original, byte for byte (mode/owner in the manifest)
//! /var/lib/f2b-config/installed/<path>   what f2b-config wrote, to tell a user's edit from ours
//! /var/lib/f2b-config/saved/<time>/<path> user-changed files kept when --yes replaced them
//! ```
//!
//! A backup is taken the first time a path is managed and kept across reinstalls, so the
//! original is never replaced by f2b-config's own output. The manifest has no timestamps:
//! installing twice writes identical bytes.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsx::{self, FileState, Node};
use crate::profile::ProfileName;
use crate::root::Root;

pub const STATE_DIR: &str = "/var/lib/f2b-config";
pub const MANIFEST: &str = "/var/lib/f2b-config/manifest.json";
/// Bumped on incompatible changes; a newer format is refused, never guessed at.
pub const FORMAT: u32 = 1;

/// Whether the last run finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Written before the files are changed: if the run dies, `remove` still knows everything.
    Applying,
    Installed,
}

/// How a managed path is treated on remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A config file: restored (or deleted) exactly.
    Config,
    /// A log file f2b-config created empty: deleted on remove only while still empty.
    Log,
}

/// Mode and owner of a file (its bytes live in `backup/` or `installed/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Written as an octal string ("0644") for the admin reading the manifest.
    #[serde(with = "octal")]
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
}

impl Meta {
    pub fn of(f: &FileState) -> Meta {
        Meta { mode: f.mode, uid: f.uid, gid: f.gid, size: f.content.len() as u64 }
    }
}

mod octal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{mode:04o}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let text = String::deserialize(d)?;
        u32::from_str_radix(&text, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| serde::de::Error::custom(format!("mode {text:?} is not an octal mode")))
    }
}

/// One path f2b-config manages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    pub kind: Kind,
    /// Why it is managed (for status and remove messages).
    pub why: String,
    /// The file before f2b-config (`None`: there was none).
    pub original: Option<Meta>,
    /// What f2b-config left there (`None`: it removed the file).
    pub installed: Option<Meta>,
}

/// sshd's `MaxAuthTries` before f2b-config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshdRecord {
    pub original_max_auth_tries: u32,
    /// Where the original came from (`sshd -T`, a file and line, ProxMenux's backup).
    pub source: String,
}

/// A logger unit f2b-config installed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitRecord {
    pub unit: String,
    /// It replaced a ProxMenux `journalctl -f` unit of the same name.
    pub adopted: bool,
}

/// The record of an install.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub phase: Phase,
    pub profile: ProfileName,
    /// Sorted by path.
    pub files: Vec<Entry>,
    /// Directories f2b-config created, parents first; removed again when empty.
    pub dirs: Vec<String>,
    /// Addresses added to ignoreip by the self-ban guard (`--yes`); kept on reinstall.
    pub ignoreip_added: Vec<String>,
    pub sshd: Option<SshdRecord>,
    pub units: Vec<UnitRecord>,
    /// fail2ban was installed with apt by f2b-config.
    pub package_installed: bool,
}

/// `backup/…`, `installed/…` or `saved/<time>/…` of a managed path.
pub fn state_path(area: &str, path: &str) -> String {
    format!("{STATE_DIR}/{area}/{}", path.trim_start_matches('/'))
}

impl Manifest {
    pub fn new(profile: ProfileName) -> Manifest {
        Manifest {
            format: FORMAT,
            phase: Phase::Applying,
            profile,
            files: Vec::new(),
            dirs: Vec::new(),
            ignoreip_added: Vec::new(),
            sshd: None,
            units: Vec::new(),
            package_installed: false,
        }
    }

    /// Reads the manifest; `None` when there is none.
    pub fn load(root: &Root) -> Result<Option<Manifest>> {
        let path = root.path(MANIFEST);
        let corrupt = |detail: String| Error::CorruptManifest {
            path: path.clone(),
            state_dir: root.path(STATE_DIR),
            detail,
        };
        let f = match fsx::read_node(&path)? {
            Node::Absent => return Ok(None),
            Node::File(f) => f,
            Node::Other(what) => return Err(corrupt(format!("it is {what}"))),
        };
        // Check the format first so a newer manifest gets a precise message.
        let v: serde_json::Value =
            serde_json::from_slice(&f.content).map_err(|e| corrupt(e.to_string()))?;
        match v.get("format").and_then(|f| f.as_u64()) {
            Some(n) if n == FORMAT as u64 => {}
            Some(n) => {
                return Err(corrupt(format!(
                    "format {n} is not {FORMAT}; use the f2b-config that wrote it"
                )))
            }
            None => return Err(corrupt("no \"format\" field".into())),
        }
        let m: Manifest = serde_json::from_value(v).map_err(|e| corrupt(e.to_string()))?;
        for e in &m.files {
            if !e.path.starts_with('/') || e.path.contains("/../") || e.path.starts_with(STATE_DIR)
            {
                return Err(corrupt(format!("bad path {:?}", e.path)));
            }
        }
        Ok(Some(m))
    }

    /// The manifest's bytes (pretty JSON, newline-terminated).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).expect("manifest serializes");
        v.push(b'\n');
        v
    }

    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.files.iter().find(|e| e.path == path)
    }

    /// The original of `e`, read from `backup/` and checked against its recorded size.
    pub fn original_state(&self, root: &Root, e: &Entry) -> Result<Option<FileState>> {
        self.stored(root, "backup", e, e.original)
    }

    /// What f2b-config installed at `e`.
    pub fn installed_state(&self, root: &Root, e: &Entry) -> Result<Option<FileState>> {
        if e.kind == Kind::Log {
            return Ok(e.installed.map(|m| FileState {
                content: Vec::new(),
                mode: m.mode,
                uid: m.uid,
                gid: m.gid,
            }));
        }
        self.stored(root, "installed", e, e.installed)
    }

    fn stored(
        &self,
        root: &Root,
        area: &str,
        e: &Entry,
        meta: Option<Meta>,
    ) -> Result<Option<FileState>> {
        let Some(meta) = meta else { return Ok(None) };
        let p = root.path(&state_path(area, &e.path));
        let corrupt = |detail: String| Error::CorruptManifest {
            path: root.path(MANIFEST),
            state_dir: root.path(STATE_DIR),
            detail,
        };
        match fsx::read_node(&p)? {
            Node::File(f) if f.content.len() as u64 == meta.size => Ok(Some(FileState {
                content: f.content,
                mode: meta.mode,
                uid: meta.uid,
                gid: meta.gid,
            })),
            Node::File(f) => Err(corrupt(format!(
                "{} has {} bytes, the manifest says {}",
                p.display(),
                f.content.len(),
                meta.size
            ))),
            _ => Err(corrupt(format!("{} is missing", p.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(manifest: &str) -> (tempfile::TempDir, Root) {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("var/lib/f2b-config");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join("manifest.json"), manifest).unwrap();
        let r = Root::staged(t.path()).unwrap();
        (t, r)
    }

    #[test]
    fn round_trips() {
        let mut m = Manifest::new(ProfileName::Strict);
        m.files.push(Entry {
            path: "/etc/x".into(),
            kind: Kind::Config,
            why: "test".into(),
            original: None,
            installed: Some(Meta { mode: 0o644, uid: 0, gid: 0, size: 3 }),
        });
        let (_t, r) = root_with(std::str::from_utf8(&m.to_bytes()).unwrap());
        assert_eq!(Manifest::load(&r).unwrap(), Some(m));
    }

    #[test]
    fn corrupt_and_future_manifests_are_refused() {
        for (text, want) in [
            ("{not json", "unreadable"),
            ("{\"format\": 9}", "format 9 is not 1"),
            ("{\"profile\": \"strict\"}", "no \"format\""),
            ("{\"format\": 1, \"phase\": \"installed\"}", "missing field"),
        ] {
            let (_t, r) = root_with(text);
            let err = Manifest::load(&r).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains("Nothing was changed"), "{text}: {err}");
        }
    }

    #[test]
    fn missing_backup_is_corruption() {
        let mut m = Manifest::new(ProfileName::Proxmenux);
        m.files.push(Entry {
            path: "/etc/x".into(),
            kind: Kind::Config,
            why: "t".into(),
            original: Some(Meta { mode: 0o644, uid: 0, gid: 0, size: 3 }),
            installed: None,
        });
        let (_t, r) = root_with(std::str::from_utf8(&m.to_bytes()).unwrap());
        let m = Manifest::load(&r).unwrap().unwrap();
        let err = m.original_state(&r, &m.files[0]).unwrap_err().to_string();
        assert!(err.contains("backup/etc/x is missing"), "{err}");
    }
}
