//! Reading filters the way fail2ban 1.0.2 does (spec: notes §1).
//!
//! # Brief overview
//!
//! [`load_filter`] turns a [`FilterSpec`] (`sshd[mode=aggressive]`, or a path) into a
//! [`FilterDef`] in five steps, each in its own module:
//!
//! 1. `spec`: find the files, as fail2ban-regex does for its REGEX argument (a name under
//!    `filter.d/` gets full layering; any other file is read "explicitly").
//! 2. `layers`: list them with their `[INCLUDES]` and `.local` companions, parse each with
//!    configparser's rules (`ini`), merge them (later files win; overridden values go to
//!    `KNOWN/<section>`).
//! 3. `interp`: `%(name)s` interpolation, done as each value is read.
//! 4. `combine`: filter arguments > `[Init]` > `[Definition]` > `[DEFAULT]`, then `<tag>`
//!    substitution over the combined options.
//! 5. here: split `failregex`/`ignoreregex` per line, `journalmatch` through `shlex`,
//!    `datepattern` per line, `maxlines` checked.
//!
//! The regexes in a [`FilterDef`] still hold fail2ban's host/field tags (`<HOST>`,
//! `<F-USER>`); [`crate::tags::expand`] turns them into PCRE2 groups.

mod combine;
pub(crate) mod ini;
mod interp;
pub(crate) mod layers;
pub(crate) mod py;
mod shlex;
mod spec;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use combine::OptValue;

use layers::{DiskFs, Fs, Reader};
use spec::Located;

/// Where filters are looked up: a fail2ban config dir (`/etc/fail2ban`, `-c DIR`) or the
/// project's built-in filters embedded in the binary (see [`crate::builtin`]).
#[derive(Clone, Debug)]
pub enum ConfigSource {
    Dir(PathBuf),
    Builtin,
}

/// `NAME[key=value, ...]` or a path to a filter file, as given on a command line or in a jail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterSpec {
    pub name: String,
    pub options: Vec<(String, String)>,
}

/// How a filter is read beyond its spec.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The log comes from the systemd journal (fail2ban-regex `systemd-journal` input, a jail
    /// with `backend = systemd`): the automatic `logtype` is `journal` instead of `file`.
    pub journal: bool,
}

/// A filter after reading, interpolation and `<tag>` substitution: regex *text* still holding
/// fail2ban's host/field tags (`<HOST>`, `<F-USER>`...), one entry per regex line.
#[derive(Clone, Debug, Default)]
pub struct FilterDef {
    /// The name as the user gave it (`sshd`), for reports.
    pub name: String,
    /// What fail2ban-regex prints for it: the short name for a layered filter
    /// (`Use   failregex filter file : sshd, basedir: /etc/fail2ban`), the path as given for
    /// an explicitly read file (`Use   failregex file : ./my.conf`).
    pub header_name: String,
    /// The base dir of a layered filter (`<builtin>` for the embedded ones); `None` for a file
    /// read explicitly.
    pub basedir: Option<PathBuf>,
    /// Every file read, in order (for `Use failregex filter file` and errors).
    pub files: Vec<PathBuf>,
    pub prefregex: Option<String>,
    pub failregex: Vec<String>,
    pub ignoreregex: Vec<String>,
    /// fail2ban checks it is > 0.
    pub maxlines: Option<usize>,
    /// One template per line; `None` means the default templates (also when the filter sets
    /// an empty `datepattern`, which fail2ban treats the same way).
    pub datepattern: Option<Vec<String>>,
    /// The `datepattern` value as written (after interpolation and tags), which is what
    /// fail2ban-regex prints in `Use      datepattern : ...`.
    pub datepattern_raw: Option<String>,
    /// Groups ORed together, fields inside a group ANDed (after `shlex.split`): all lines, as
    /// the fail2ban server adds them.
    pub journalmatch: Vec<Vec<String>>,
    /// The `shlex.split` tokens of each `journalmatch` line (with `+` separators). fail2ban-regex
    /// only uses the last line.
    pub journalmatch_lines: Vec<Vec<String>>,
    /// The filter's own `usedns`. The fail2ban server uses it; fail2ban-regex ignores it (only
    /// its `--usedns` counts).
    pub usedns: Option<String>,
    /// Effective init options (filter arguments over `[Init]`), e.g. `mode`, `logtype`.
    pub init: BTreeMap<String, String>,
    /// All combined options after substitution, in fail2ban's order (the seven filter options
    /// found, then arguments, automatic `logtype`, `[Init]` and `known/` entries).
    pub options: Vec<(String, OptValue)>,
    /// fail2ban-regex's `Real  filter options : {...}` (`-vv`): `logtype`, `datepattern` and
    /// each argument, from the combined options or else `[Definition]`.
    pub real_options: Vec<(String, OptValue)>,
    /// Problems that do not stop fail2ban (missing include, non-numeric maxlines, an argument
    /// the filter never uses), one line each, for the caller to show.
    pub warnings: Vec<String>,
}

impl FilterDef {
    /// The lines fail2ban-regex prints about the filter it reads (`Use   failregex filter
    /// file : sshd, basedir: /etc/fail2ban`, then `Use   filter options : {...}` when the spec
    /// has options).
    pub fn header_lines(&self, spec: &FilterSpec) -> Vec<String> {
        let mut lines = vec![match &self.basedir {
            Some(b) => {
                format!(
                    "Use   failregex filter file : {}, basedir: {}",
                    self.header_name,
                    b.display()
                )
            }
            None => format!("Use   failregex file : {}", self.header_name),
        }];
        if !spec.options.is_empty() {
            lines.push(format!("Use   filter options : {}", spec.options_repr()));
        }
        lines
    }

    /// `real_options` as the Python dict repr fail2ban-regex prints.
    pub fn real_options_repr(&self) -> String {
        let items: Vec<String> = self
            .real_options
            .iter()
            .map(|(k, v)| format!("{}: {}", py::repr_str(k), v.repr()))
            .collect();
        format!("{{{}}}", items.join(", "))
    }
}

/// What kind of problem a [`ConfigError`] is, for callers that react differently (e.g.
/// fail2ban-regex takes an unknown filter name as a literal regex).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A line of a filter file that configparser would reject.
    Syntax,
    /// No filter file by that name.
    NotFound,
    /// A file that exists but cannot be read or decoded.
    Unreadable,
    /// Bad `NAME[key=value]` syntax.
    Options,
    /// A `%(name)s` reference that cannot be resolved.
    Interpolation,
    /// `<tag>` substitution that loops.
    TagLoop,
    /// An option value fail2ban rejects (`maxlines = 0`, unbalanced quotes in journalmatch).
    Value,
    /// A regex that cannot be built from its tags (empty regex).
    Regex,
}

/// A filter that cannot be read: names the file and line (or option) and what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ConfigError {
    /// Control characters in `message` (from multi-line values or hostile file names) are
    /// escaped, so an error is always one line.
    pub(crate) fn new(kind: ErrorKind, message: String) -> ConfigError {
        let message = if message.chars().any(char::is_control) {
            let mut out = String::with_capacity(message.len() + 8);
            for c in message.chars() {
                match c {
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.extend(c.escape_unicode()),
                    c => out.push(c),
                }
            }
            out
        } else {
            message
        };
        ConfigError { kind, message }
    }
}

/// Reads filter `spec` from `source` with fail2ban's layering, interpolation and tags.
pub fn load_filter(source: &ConfigSource, spec: &FilterSpec) -> Result<FilterDef, ConfigError> {
    load_filter_with(source, spec, &LoadOptions::default())
}

/// [`load_filter`] with [`LoadOptions`].
pub fn load_filter_with(
    source: &ConfigSource,
    spec: &FilterSpec,
    opts: &LoadOptions,
) -> Result<FilterDef, ConfigError> {
    match source {
        ConfigSource::Dir(d) => load_from(&DiskFs, &d.to_string_lossy(), false, spec, opts),
        // A path always means a file on disk, even when the default source is built in.
        ConfigSource::Builtin if spec.name.contains('/') => {
            load_from(&DiskFs, "/etc/fail2ban", false, spec, opts)
        }
        ConfigSource::Builtin => load_from(
            &crate::builtin::BuiltinFs::embedded(),
            crate::builtin::ROOT,
            true,
            spec,
            opts,
        ),
    }
}

/// Loads `spec` from file system `fs` with config dir `config` (`builtin`: for messages).
pub(crate) fn load_from(
    fs: &dyn Fs,
    config: &str,
    builtin: bool,
    spec: &FilterSpec,
    opts: &LoadOptions,
) -> Result<FilterDef, ConfigError> {
    let config = config.to_string();
    let Some(located) = spec::locate(fs, &config, &spec.name) else {
        return Err(not_found(fs, builtin, &config, &spec.name));
    };
    let mut def = FilterDef { name: spec.name.clone(), ..FilterDef::default() };
    let files = match &located {
        Located::Layered { basedir, name } => {
            def.basedir = Some(PathBuf::from(basedir));
            let basedir = basedir.trim_end_matches('/');
            let basedir = if basedir.is_empty() { "/" } else { basedir };
            if !fs.exists(basedir) {
                return Err(ConfigError::new(
                    ErrorKind::NotFound,
                    format!("config directory {basedir} does not exist; give an existing one (like /etc/fail2ban)"),
                ));
            }
            def.header_name = name.clone();
            let base = py::join(basedir, &format!("filter.d/{name}"));
            let c = Reader::new(fs).layered_candidates(&base);
            if c.is_empty() {
                return Err(not_found(fs, builtin, &config, &spec.name));
            }
            c
        }
        Located::Explicit { path, shown } => {
            def.header_name = shown.clone();
            if !fs.is_file(path) {
                return Err(ConfigError::new(
                    ErrorKind::NotFound,
                    format!(
                        "filter file {path} does not exist (fail2ban-regex reads a path outside filter.d literally); give the full file name, e.g. {path}.conf"
                    ),
                ));
            }
            vec![path.clone()]
        }
    };
    let mut reader = Reader::new(fs);
    let (store, read) = reader.read(&files)?;
    def.warnings = reader.warnings;
    if read.is_empty() {
        return Err(ConfigError::new(
            ErrorKind::Unreadable,
            format!("found no readable files for filter `{}` ({})", spec.name, files.join(", ")),
        ));
    }
    def.files = read.iter().map(PathBuf::from).collect();
    let combined =
        combine::combine(&store, &spec.options, if opts.journal { "journal" } else { "file" })?;
    def.warnings.extend(combined.warnings.iter().map(|w| format!("filter `{}`: {w}", spec.name)));
    fill(&mut def, &combined, spec)?;
    def.real_options = real_options(&store, &combined, spec)?;
    Ok(def)
}

/// fail2ban's `FilterReader.convert` and what fail2ban-regex does with each option.
fn fill(def: &mut FilterDef, c: &combine::Combined, spec: &FilterSpec) -> Result<(), ConfigError> {
    let lines = |v: Option<&OptValue>| -> Vec<String> {
        match v.and_then(OptValue::as_str) {
            Some(s) => s.split('\n').filter(|l| !l.is_empty()).map(str::to_string).collect(),
            None => Vec::new(),
        }
    };
    def.failregex = lines(c.get("failregex"));
    def.ignoreregex = lines(c.get("ignoreregex"));
    def.prefregex =
        c.get("prefregex").and_then(OptValue::as_str).filter(|s| !s.is_empty()).map(str::to_string);
    def.usedns = c.get("usedns").and_then(OptValue::as_str).map(str::to_string);
    if let Some(OptValue::Int(n)) = c.get("maxlines") {
        if *n <= 0 {
            return Err(ConfigError::new(
                ErrorKind::Value,
                format!(
                    "filter `{}`: maxlines = {n}, but it must be an integer greater than zero",
                    spec.name
                ),
            ));
        }
        def.maxlines = Some(*n as usize);
    }
    if let Some(raw) = c.get("datepattern").and_then(OptValue::as_str) {
        def.datepattern_raw = Some(raw.to_string());
        let templates: Vec<String> =
            raw.split('\n').map(py::strip).filter(|t| !t.is_empty()).map(str::to_string).collect();
        def.datepattern = (!templates.is_empty()).then_some(templates);
    }
    if let Some(jm) = c.get("journalmatch").and_then(OptValue::as_str) {
        for line in jm.split('\n').filter(|l| !l.is_empty()) {
            let tokens = shlex::split(line).map_err(|e| {
                ConfigError::new(
                    ErrorKind::Value,
                    format!(
                        "filter `{}`: journalmatch line `{line}`: {e}; balance the quotes",
                        spec.name
                    ),
                )
            })?;
            let mut groups: Vec<Vec<String>> = vec![Vec::new()];
            for t in &tokens {
                if t == "+" {
                    groups.push(Vec::new());
                } else if let Some(g) = groups.last_mut() {
                    g.push(t.clone());
                }
            }
            def.journalmatch.extend(groups);
            def.journalmatch_lines.push(tokens);
        }
    }
    // The init options: arguments, automatic logtype, [Init] (and their known/ copies).
    let mut init = BTreeMap::new();
    for (k, v) in &c.pvars {
        init.insert(k.clone(), v.clone());
    }
    for (k, v) in &c.opts {
        if combine::FILTER_OPTIONS.contains(&k.as_str()) && !c.pvars.iter().any(|(p, _)| p == k) {
            continue;
        }
        if let Some(s) = v.as_str() {
            init.insert(k.clone(), s.to_string());
        }
    }
    def.init = init;
    def.options = c.opts.clone();
    Ok(())
}

/// fail2ban-regex's `_dumpRealOptions`.
fn real_options(
    store: &interp::Store,
    c: &combine::Combined,
    spec: &FilterSpec,
) -> Result<Vec<(String, OptValue)>, ConfigError> {
    let mut keys: Vec<&str> = vec!["logtype", "datepattern"];
    keys.extend(spec.options.iter().map(|(k, _)| k.as_str()));
    let mut out: Vec<(String, OptValue)> = Vec::new();
    for k in keys {
        let v = match c.get(k) {
            Some(v) => v.clone(),
            None => match store.get("Definition", k, &[], false)? {
                Ok(v) => OptValue::Str(v),
                Err(_) => continue,
            },
        };
        match out.iter_mut().find(|(ok, _)| ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k.to_string(), v)),
        }
    }
    Ok(out)
}

/// "No such filter", naming where we looked and the closest existing names.
fn not_found(fs: &dyn Fs, builtin: bool, config: &str, name: &str) -> ConfigError {
    if !builtin && !name.contains('/') && !fs.exists(config) {
        return ConfigError::new(
            ErrorKind::NotFound,
            format!("unknown filter `{name}`: config directory {config} does not exist; give an existing one (like /etc/fail2ban)"),
        );
    }
    let (where_, available): (String, Vec<String>) = match builtin {
        true if !name.contains('/') => (
            "among the built-in filters".into(),
            crate::builtin::names().iter().map(|s| s.to_string()).collect(),
        ),
        _ if name.contains('/') => {
            (format!("at {name} (nor {name}.conf / {name}.local)"), Vec::new())
        }
        _ => {
            let dir = if py::basename(config) == "filter.d" {
                config.to_string()
            } else {
                py::join(config, "filter.d")
            };
            let names = fs
                .glob(&dir, ".conf")
                .into_iter()
                .chain(fs.glob(&dir, ".local"))
                .map(|p| py::strip_ext(py::basename(&p)).to_string())
                .filter(|n| !n.ends_with("common"))
                .collect();
            (format!("in {dir} (no {name}.conf or {name}.local)"), names)
        }
    };
    let close = close_names(name, &available);
    let hint = if !close.is_empty() {
        format!("; did you mean {}?", close.join(", "))
    } else if !available.is_empty() && available.len() <= 10 {
        format!("; available: {}", available.join(", "))
    } else {
        "; check the name or the config directory".to_string()
    };
    ConfigError::new(
        ErrorKind::NotFound,
        format!("unknown filter `{name}`: not found {where_}{hint}"),
    )
}

/// Up to three names within a small edit distance (or sharing a prefix) of `name`.
fn close_names(name: &str, available: &[String]) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> = available
        .iter()
        .map(|a| (levenshtein(name, a), a))
        .filter(|(d, a)| {
            *d <= 2.max(name.chars().count() / 3)
                || a.starts_with(name)
                || name.starts_with(a.as_str())
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, a)| a.clone()).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_suggest() {
        let avail: Vec<String> =
            ["sshd", "proxmox", "postfix", "apache-auth"].iter().map(|s| s.to_string()).collect();
        assert_eq!(close_names("sshdd", &avail), vec!["sshd".to_string()]);
        assert_eq!(close_names("proxmx", &avail), vec!["proxmox".to_string()]);
        assert!(close_names("zzzzzzzz", &avail).is_empty());
    }
}
