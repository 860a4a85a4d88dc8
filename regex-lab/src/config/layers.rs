//! Which files make up a filter, in which order, and how they merge (notes §1).
//!
//! For filter `NAME` under base dir `B`: `B/filter.d/NAME.conf`, `NAME.d/*.conf` (sorted),
//! `NAME.local`, `NAME.d/*.local` (sorted), those that exist. Each file expands to its
//! `[INCLUDES] before` files, itself, then its `after` files; an included `X.conf` brings its
//! `X.local` right after it. Paths are built and compared as strings, as fail2ban does, which
//! is what decides when an include loop is cut.
//!
//! Merging: `[DEFAULT]`s update one map; sections merge per option, later files winning, and
//! the value a later file overrides is kept in `KNOWN/<section>`. A conditional section
//! `name?cond` merges into `name` with its keys renamed `key?cond`.

use std::collections::HashMap;
use std::sync::Arc;

use super::ini::{self, IniFile, OMap};
use super::interp::Store;
use super::py;
use super::{ConfigError, ErrorKind};

/// Read access to config files: the real file system, or the filters embedded in the binary.
pub(crate) trait Fs {
    /// `os.path.isfile`.
    fn is_file(&self, path: &str) -> bool;
    /// `os.path.exists`.
    fn exists(&self, path: &str) -> bool;
    /// The decoded text; `Ok(None)` when there is no regular file there.
    fn read(&self, path: &str) -> Result<Option<String>, ConfigError>;
    /// `sorted(glob(dir + "/*" + suffix))` (hidden files excluded, as Python's glob does).
    fn glob(&self, dir: &str, suffix: &str) -> Vec<String>;
}

/// The real file system.
pub(crate) struct DiskFs;

impl Fs for DiskFs {
    fn is_file(&self, path: &str) -> bool {
        std::path::Path::new(path).is_file()
    }

    fn exists(&self, path: &str) -> bool {
        std::path::Path::new(path).exists()
    }

    fn read(&self, path: &str) -> Result<Option<String>, ConfigError> {
        if !self.is_file(path) {
            return Ok(None);
        }
        let bytes = std::fs::read(path).map_err(|e| {
            ConfigError::new(
                ErrorKind::Unreadable,
                format!("{path}: cannot read filter file: {e}; fix its permissions or remove it"),
            )
        })?;
        String::from_utf8(bytes).map(Some).map_err(|e| {
            let off = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..off].iter().filter(|&&b| b == b'\n').count() + 1;
            ConfigError::new(
                ErrorKind::Unreadable,
                format!(
                    "{path}:{line}: not valid UTF-8 (byte offset {off}); save the file as UTF-8"
                ),
            )
        })
    }

    fn glob(&self, dir: &str, suffix: &str) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut out: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.') && n.ends_with(suffix))
            .map(|n| py::join(dir, &n))
            .collect();
        out.sort();
        out
    }
}

/// How deep `[INCLUDES]` may nest.
const MAX_INCLUDE_DEPTH: usize = 64;

/// Reads and merges files, parsing each file once.
pub(crate) struct Reader<'a> {
    fs: &'a dyn Fs,
    parsed: HashMap<String, Option<Arc<IniFile>>>,
    /// Problems fail2ban passes over silently (missing includes).
    pub warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(fs: &'a dyn Fs) -> Self {
        Reader { fs, parsed: HashMap::new(), warnings: Vec::new() }
    }

    /// The candidate files of a layered filter `base` (= `B/filter.d/NAME`) that exist.
    pub fn layered_candidates(&self, base: &str) -> Vec<String> {
        let dir = format!("{base}.d");
        let mut c = vec![format!("{base}.conf")];
        c.extend(self.fs.glob(&dir, ".conf"));
        c.push(format!("{base}.local"));
        c.extend(self.fs.glob(&dir, ".local"));
        c.retain(|p| self.fs.exists(p));
        c
    }

    /// Reads `files` with their includes and merges them. Returns the merged store and the
    /// files actually read, in order.
    pub fn read(&mut self, files: &[String]) -> Result<(Store, Vec<String>), ConfigError> {
        let full = self.includes(files, &[])?;
        let mut store = Store::default();
        for path in &full {
            let Some(file) = self.parse(path)? else { continue };
            merge(&mut store, &file);
        }
        Ok((store, full))
    }

    fn parse(&mut self, path: &str) -> Result<Option<Arc<IniFile>>, ConfigError> {
        if let Some(p) = self.parsed.get(path) {
            return Ok(p.clone());
        }
        let parsed = match self.fs.read(path)? {
            Some(text) => Some(Arc::new(ini::parse(path, &text)?)),
            None => None,
        };
        self.parsed.insert(path.to_string(), parsed.clone());
        Ok(parsed)
    }

    /// fail2ban's `_getIncludes`: each file preceded by its `before` and followed by its
    /// `after` includes (recursively), with `X.local` after each `X.conf`.
    fn includes(&mut self, files: &[String], seen: &[String]) -> Result<Vec<String>, ConfigError> {
        let mut expanded = Vec::new();
        for f in files {
            expanded.push(f.clone());
            let local = format!("{}.local", py::strip_ext(f));
            if !files.contains(&local) && self.fs.is_file(&local) {
                expanded.push(local);
            }
        }
        let mut out = Vec::new();
        for f in &expanded {
            out.extend(self.includes_of(f, seen)?);
        }
        Ok(out)
    }

    fn includes_of(&mut self, resource: &str, seen: &[String]) -> Result<Vec<String>, ConfigError> {
        // fail2ban only cuts loops whose paths are equal strings; `a/../b.conf`-style loops
        // recurse until Python's recursion limit. Stop much earlier, with a clear error.
        if seen.len() >= MAX_INCLUDE_DEPTH {
            return Err(ConfigError::new(
                ErrorKind::Syntax,
                format!(
                    "{resource}: [INCLUDES] nest deeper than {MAX_INCLUDE_DEPTH} files (a loop through different paths to the same file?); fix the before/after lists"
                ),
            ));
        }
        let Some(file) = self.parse(resource)? else {
            // `.local` files are optional by design (common.conf lists `after = common.local`,
            // which hardly any host has): only a missing `.conf` is worth a warning.
            if !seen.is_empty() && !resource.ends_with(".local") {
                self.warnings.push(format!(
                    "{}: included file {resource} does not exist; skipped (as fail2ban does)",
                    seen.last().map(String::as_str).unwrap_or("")
                ));
            }
            return Ok(Vec::new());
        };
        let dir = py::dirname(resource);
        let mut before = Vec::new();
        let mut after = Vec::new();
        if file.section("INCLUDES").is_some() {
            let single = Store { defaults: file.defaults.clone(), sections: file.sections.clone() };
            for (opt, list) in [("before", &mut before), ("after", &mut after)] {
                let Ok(value) = single.get("INCLUDES", opt, &[], false)? else { continue };
                for entry in value.split('\n') {
                    if entry.is_empty() {
                        continue;
                    }
                    let r = py::join(&dir, entry);
                    if seen.contains(&r) {
                        continue;
                    }
                    let mut s = seen.to_vec();
                    s.push(resource.to_string());
                    list.extend(self.includes(&[r], &s)?);
                }
            }
        }
        before.push(resource.to_string());
        before.extend(after);
        Ok(before)
    }
}

/// Merges one file into the store (fail2ban's multi-file `read`).
fn merge(store: &mut Store, file: &IniFile) {
    store.defaults.update(&file.defaults);
    for (name, sect) in &file.sections {
        let (name, sect) = match conditional(name) {
            Some((base, cond)) => {
                let mut renamed = OMap::default();
                for (k, v) in sect.iter() {
                    renamed.insert(format!("{k}{cond}"), v.clone());
                }
                (base.to_string(), renamed)
            }
            None => (name.clone(), sect.clone()),
        };
        if let Some(existing) = store.section(&name) {
            let mut known = OMap::default();
            for (k, v) in existing.iter() {
                if sect.contains(k) {
                    known.insert(k.clone(), v.clone());
                }
            }
            let kname = format!("KNOWN/{name}");
            match store.section_mut(&kname) {
                Some(k) => k.update(&known),
                None => store.sections.push((kname, known)),
            }
            if let Some(existing) = store.section_mut(&name) {
                existing.update(&sect);
            }
        } else {
            store.sections.push((name, sect));
        }
    }
}

/// fail2ban's `^(\w+)(\?.+)$` for conditional names: (`name`, `?cond`).
pub(crate) fn conditional(name: &str) -> Option<(&str, &str)> {
    let q = name.find('?')?;
    let (base, cond) = name.split_at(q);
    if base.is_empty() || !base.chars().all(py::is_word) || cond.len() < 2 {
        return None;
    }
    Some((base, cond))
}
