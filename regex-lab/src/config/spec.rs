//! `NAME[key=value, ...]` filter specs (fail2ban's `extractOptions`) and how fail2ban-regex
//! turns a name or path into files to read.
//!
//! The two syntax regexes are fail2ban's own (facts needed for compatibility) and run on the
//! engine of record, so every corner of quoting and `][` group separators behaves the same.

use std::sync::OnceLock;

use super::layers::Fs;
use super::py;
use super::{ConfigError, ErrorKind, FilterSpec};
use crate::engine::{Regex, RegexOptions};

/// fail2ban's `OPTION_CRE` (with DOTALL).
const OPTION_RE: &str = r"(?s)^([^\[]+)(?:\[(.*)\])?\s*$";
/// fail2ban's `OPTION_EXTRACT_CRE` (with DOTALL).
const OPTION_EXTRACT_RE: &str = r#"(?s)\s*([\w\-_\.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))(?:,|\]\s*\[|$|(?P<wrngA>.+))|,?\s*$|(?P<wrngB>.+)"#;
/// fail2ban-regex's test whether its REGEX argument names a filter.
const FILTER_LIKE_RE: &str = r"(?ms)^/{0,3}[\w/_\-.]+(?:\[.*\])?$";

fn compiled(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| match Regex::new(pattern, RegexOptions::default()) {
        Ok(r) => r,
        // A constant pattern: failing to compile is a build defect caught by the tests.
        Err(e) => panic!("built-in pattern does not compile: {e}"),
    })
}

fn option_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    compiled(&R, OPTION_RE)
}

fn extract_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    compiled(&R, OPTION_EXTRACT_RE)
}

fn filter_like_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    compiled(&R, FILTER_LIKE_RE)
}

fn options_error(text: &str, what: String) -> ConfigError {
    ConfigError::new(
        ErrorKind::Options,
        format!("invalid filter spec `{text}`: {what}; write NAME[key=value, key=\"v,1\"]"),
    )
}

impl FilterSpec {
    /// Parses `sshd`, `sshd[mode=aggressive]`, `x[a=1][b="v,2"]`, or a path, as fail2ban's
    /// `extractOptions` does: keys match `[\w\-_.]+`, values are `"..."`, `'...'` or run to the
    /// next `,`/`]`; both are stripped; a repeated key keeps its first position and last value.
    pub fn parse(text: &str) -> Result<FilterSpec, ConfigError> {
        let re = option_re();
        let mut caps = re.captures();
        let matched = re.search(text, &mut caps).unwrap_or(false);
        if !matched {
            return Err(options_error(
                text,
                "expected a filter name, optionally followed by [options]".into(),
            ));
        }
        let name = caps.text(text, 1).unwrap_or_default().to_string();
        let mut spec = FilterSpec { name, options: Vec::new() };
        let Some(optstr) = caps.text(text, 2) else { return Ok(spec) };
        if optstr.is_empty() {
            return Ok(spec);
        }
        let ex = extract_re();
        let wrng_a = ex.group_index("wrngA").unwrap_or(usize::MAX);
        let wrng_b = ex.group_index("wrngB").unwrap_or(usize::MAX);
        let mut caps = ex.captures();
        let mut pos = 0;
        while pos <= optstr.len() {
            let hay = &optstr[pos..];
            if !ex.search(hay, &mut caps).unwrap_or(false) {
                break;
            }
            let Some((s, e)) = caps.get(0) else { break };
            if let Some(bad) = caps.text(hay, wrng_a) {
                let key = caps.text(hay, 1).unwrap_or_default();
                return Err(options_error(
                    text,
                    format!("unexpected `{}` after the value of `{key}`", short(bad)),
                ));
            }
            if let Some(bad) = caps.text(hay, wrng_b) {
                return Err(options_error(text, format!("expected key=value at `{}`", short(bad))));
            }
            if let Some(key) = caps.text(hay, 1) {
                let value = [2, 3, 4].iter().find_map(|&g| caps.text(hay, g)).unwrap_or_default();
                let key = py::strip(key).to_string();
                let value = py::strip(value).to_string();
                match spec.options.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    None => spec.options.push((key, value)),
                }
            }
            if e == s {
                // Empty match (only at the end): move past it.
                match hay[e..].chars().next() {
                    Some(c) => pos += e + c.len_utf8(),
                    None => break,
                }
            } else {
                pos += e;
            }
        }
        Ok(spec)
    }

    /// Whether fail2ban-regex would try `text` (its REGEX argument) as a filter name or path
    /// rather than as a literal regex. When it would, but [`crate::config::load_filter`] then
    /// fails with [`crate::config::ErrorKind::NotFound`], fail2ban-regex falls back to using
    /// the text as a literal failregex.
    pub fn is_filter_like(text: &str) -> bool {
        filter_like_re().is_match(text).unwrap_or(false)
    }

    /// The options as fail2ban-regex prints them (`Use   filter options : {...}`): a Python
    /// dict repr.
    pub fn options_repr(&self) -> String {
        let items: Vec<String> = self
            .options
            .iter()
            .map(|(k, v)| format!("{}: {}", py::repr_str(k), py::repr_str(v)))
            .collect();
        format!("{{{}}}", items.join(", "))
    }
}

fn short(s: &str) -> &str {
    match s.char_indices().nth(25) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Where a filter comes from once its name is resolved.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Located {
    /// Full layering: `basedir/filter.d/name.conf`, `.d/`, `.local`.
    Layered { basedir: String, name: String },
    /// One file read "explicitly": its includes and sibling `.local`, no `NAME.d/`.
    Explicit { path: String, shown: String },
}

/// fail2ban-regex's `readRegex` lookup of `name` under config dir `config`. `Ok(None)` when
/// no file is found (fail2ban-regex would then take the text as a literal regex).
pub(crate) fn locate(fs: &dyn Fs, config: &str, name: &str) -> Option<Located> {
    let tail_has_dot = py::last_chars(name, 6).contains('.');
    let try_names: Vec<String> = if tail_has_dot {
        vec![name.to_string()]
    } else {
        vec![name.to_string(), format!("{name}.conf"), format!("{name}.local")]
    };
    let mut basedir = config.to_string();
    let mut found = false;
    for t in &try_names {
        let file = if !t.contains('/') {
            if py::basename(&basedir) == "filter.d" {
                py::join(&basedir, t)
            } else {
                py::join(&py::join(&basedir, "filter.d"), t)
            }
        } else {
            basedir = py::dirname(t);
            t.clone()
        };
        if fs.is_file(&file) {
            found = true;
            break;
        }
    }
    if !found {
        return None;
    }
    if basedir == config
        || py::basename(&basedir) == "filter.d"
        || (!tail_has_dot && !name.contains('/'))
    {
        if py::basename(&basedir) == "filter.d" {
            basedir = py::dirname(&basedir);
        }
        let short = py::strip_ext(py::basename(name)).to_string();
        Some(Located::Layered { basedir, name: short })
    } else {
        Some(Located::Explicit { path: py::abspath(name), shown: name.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> Vec<(String, String)> {
        FilterSpec::parse(text).unwrap().options
    }

    #[test]
    fn parse_specs() {
        assert_eq!(FilterSpec::parse("sshd").unwrap().name, "sshd");
        assert_eq!(opts("sshd[mode=aggressive]"), vec![("mode".into(), "aggressive".into())]);
        assert_eq!(
            opts(r#"x[a=1, b="v,2"][c='q]', d= sp ]"#),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "v,2".into()),
                ("c".into(), "q]".into()),
                ("d".into(), "sp".into())
            ]
        );
        assert_eq!(opts("x[a=1,a=2,b=]"), vec![("a".into(), "2".into()), ("b".into(), "".into())]);
        assert_eq!(opts("x[]"), vec![]);
        assert!(FilterSpec::parse("[a=1]").is_err());
        assert!(FilterSpec::parse("x[mode]")
            .unwrap_err()
            .message
            .contains("expected key=value at `mode`"));
        assert!(FilterSpec::parse(r#"x[a="1"b]"#).unwrap_err().message.contains("unexpected `b`"));
    }

    #[test]
    fn filter_like() {
        assert!(FilterSpec::is_filter_like("sshd"));
        assert!(FilterSpec::is_filter_like("sshd[mode=aggressive]"));
        assert!(FilterSpec::is_filter_like("/etc/fail2ban/filter.d/sshd.conf"));
        assert!(!FilterSpec::is_filter_like("^Failed .* <HOST>$"));
    }

    #[test]
    fn repr_options() {
        let s = FilterSpec::parse(r"x[mode=aggressive, re=\d+]").unwrap();
        assert_eq!(s.options_repr(), r"{'mode': 'aggressive', 're': '\\d+'}");
    }
}
