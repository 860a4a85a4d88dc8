//! The project's own filters, embedded in the binary (the same files f2b-config installs), so
//! `regex-lab replay` works on a machine without `/etc/fail2ban`.
//!
//! They are read exactly like files under a config dir whose `filter.d/` holds only them
//! ([`ROOT`]`/filter.d/NAME.conf`): `[INCLUDES] before = common.conf` resolves among the
//! embedded files, and nothing on disk (no `.local`) is consulted.

use crate::config::layers::Fs;
use crate::config::ConfigError;

/// The pretend base dir of the embedded filters, shown in reports and file lists.
pub const ROOT: &str = "<builtin>";

/// The one list of embedded files. `filters:` are filters (listed by [`names`]);
/// `includes:` are files they include but that are not filters themselves.
/// Adding a filter is adding its name here.
macro_rules! embedded {
    (filters: [$($f:literal),* $(,)?], includes: [$($i:literal),* $(,)?] $(,)?) => {
        const NAMES: &[&str] = &[$($f),*];
        const FILES: &[(&str, &str)] = &[
            $((concat!($f, ".conf"), include_str!(concat!("../filters/", $f, ".conf"))),)*
            $(($i, include_str!(concat!("../filters/", $i))),)*
        ];
    };
}

embedded! {
    filters: ["proxmox", "sshd", "proxmenux"],
    includes: [],
}

/// Names of the built-in filters (`proxmox`, `sshd`, ...).
pub fn names() -> &'static [&'static str] {
    NAMES
}

/// The text of an embedded file by file name (`sshd.conf`) or filter name (`sshd`).
pub fn file(name: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(n, _)| *n == name || n.strip_suffix(".conf") == Some(name))
        .map(|(_, text)| *text)
}

/// Embedded files as a read-only file system rooted at [`ROOT`]: `(name, text)` pairs, names
/// relative to `ROOT/filter.d/`.
pub(crate) struct BuiltinFs<'a>(pub &'a [(&'a str, &'a str)]);

impl BuiltinFs<'static> {
    /// The files embedded in this binary.
    pub fn embedded() -> Self {
        BuiltinFs(FILES)
    }
}

impl<'a> BuiltinFs<'a> {
    fn lookup(&self, path: &str) -> Option<&'a str> {
        let rel = path.strip_prefix(ROOT)?.strip_prefix("/filter.d/")?;
        self.0.iter().find(|(n, _)| *n == rel).map(|(_, t)| *t)
    }
}

impl Fs for BuiltinFs<'_> {
    fn is_file(&self, path: &str) -> bool {
        self.lookup(path).is_some()
    }

    fn exists(&self, path: &str) -> bool {
        if path == ROOT || path == format!("{ROOT}/filter.d") {
            return true;
        }
        self.is_file(path)
    }

    fn read(&self, path: &str) -> Result<Option<String>, ConfigError> {
        Ok(self.lookup(path).map(str::to_string))
    }

    fn glob(&self, dir: &str, suffix: &str) -> Vec<String> {
        let Some(rel_dir) = dir.strip_prefix(ROOT).and_then(|d| d.strip_prefix("/filter.d")) else {
            return Vec::new();
        };
        let rel_dir = rel_dir.trim_start_matches('/');
        let mut out: Vec<String> = self
            .0
            .iter()
            .filter_map(|(n, _)| {
                let (d, base) = match n.rfind('/') {
                    Some(i) => (&n[..i], &n[i + 1..]),
                    None => ("", *n),
                };
                (d == rel_dir && base.ends_with(suffix) && !base.starts_with('.'))
                    .then(|| format!("{dir}/{base}"))
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_filter, ConfigSource, FilterSpec};

    #[test]
    fn every_builtin_filter_loads() {
        for name in names() {
            assert!(file(name).is_some(), "{name}");
            let spec = FilterSpec::parse(name).unwrap();
            let def = load_filter(&ConfigSource::Builtin, &spec).unwrap();
            assert!(!def.failregex.is_empty(), "{name} has no failregex");
            assert_eq!(def.basedir.as_deref(), Some(std::path::Path::new(ROOT)));
        }
    }

    #[test]
    fn includes_resolve_among_embedded_files() {
        let files = [
            (
                "a.conf",
                "[INCLUDES]\nbefore = common.conf\n[Definition]\nfailregex = ^%(__pre)s <HOST>$\n",
            ),
            (
                "common.conf",
                "[DEFAULT]\n__pre = P\n[INCLUDES]\nafter = /etc/fail2ban/filter.d/common.conf\n",
            ),
            ("a.d/x.conf", "[Definition]\nignoreregex = x\n"),
        ];
        let fs = BuiltinFs(&files);
        let spec = FilterSpec::parse("a").unwrap();
        let def = crate::config::load_from(&fs, ROOT, true, &spec, &Default::default()).unwrap();
        assert_eq!(def.failregex, vec!["^P <HOST>$".to_string()]);
        assert_eq!(def.ignoreregex, vec!["x".to_string()]);
        let files: Vec<String> = def.files.iter().map(|p| p.display().to_string()).collect();
        assert_eq!(
            files,
            [
                "<builtin>/filter.d/common.conf",
                "<builtin>/filter.d/a.conf",
                "<builtin>/filter.d/a.d/x.conf"
            ]
        );
    }

    #[test]
    fn unknown_builtin_lists_names() {
        let spec = FilterSpec::parse("sshdd").unwrap();
        let e = load_filter(&ConfigSource::Builtin, &spec).unwrap_err();
        assert!(e.message.contains("did you mean sshd?"), "{}", e.message);
    }
}
