//! The merged configuration of a filter and `%(name)s` interpolation on it.
//!
//! Interpolation follows configparser's `BasicInterpolation` with fail2ban's extension: a value
//! is interpolated when it is *read*, in the section it is read from, looking names up in the
//! given `vars` (filter arguments), then that section, then `[DEFAULT]`, recursively up to
//! depth 10. At every level, references written `%(sec/opt)s` are first mapped to section
//! `sec`'s raw option (`known` = the value before the last override, `default` = `[DEFAULT]`).

use super::ini::{OMap, Value};
use super::py;
use super::{ConfigError, ErrorKind};

const MAX_DEPTH: usize = 10;

/// All files of a filter merged: one `[DEFAULT]`, sections in first-seen order (including the
/// hidden `KNOWN/<section>` ones holding overridden values).
#[derive(Clone, Debug, Default)]
pub(crate) struct Store {
    pub defaults: OMap,
    pub sections: Vec<(String, OMap)>,
}

/// Why [`Store::get`] found nothing; interpolation problems are [`ConfigError`]s instead.
#[derive(Debug)]
pub(crate) enum Missing {
    Section,
    Option,
}

/// Result of [`Store::get`].
pub(crate) type Got = Result<Result<String, Missing>, ConfigError>;

/// One `%(...)s` lookup map: configparser's `ChainMap(vars, section, DEFAULT)` plus the
/// entries fail2ban adds (`__name__` and mapped `sec/opt` references).
struct Map<'a> {
    extra: Vec<(String, String)>,
    vars: &'a [(String, String)],
    section: Option<&'a OMap>,
    defaults: &'a OMap,
}

impl Map<'_> {
    fn contains(&self, key: &str) -> bool {
        self.extra.iter().any(|(k, _)| k == key)
            || self.vars.iter().any(|(k, _)| k == key)
            || self.section.is_some_and(|s| s.contains(key))
            || self.defaults.contains(key)
    }

    fn lookup(&self, key: &str) -> Option<String> {
        if let Some((_, v)) = self.extra.iter().rev().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        if let Some((_, v)) = self.vars.iter().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        if let Some(v) = self.section.and_then(|s| s.get(key)) {
            return Some(v.text.clone());
        }
        self.defaults.get(key).map(|v| v.text.clone())
    }
}

impl Store {
    pub fn section(&self, name: &str) -> Option<&OMap> {
        self.sections.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    pub fn section_mut(&mut self, name: &str) -> Option<&mut OMap> {
        self.sections.iter_mut().find(|(n, _)| n == name).map(|(_, s)| s)
    }

    /// configparser `get(section, option, vars=vars, raw=raw)`: `vars` keys are lower-cased
    /// like option names; `DEFAULT` is a valid section even when empty.
    pub fn get(&self, section: &str, option: &str, vars: &[(String, String)], raw: bool) -> Got {
        let sect = match self.section(section) {
            Some(s) => Some(s),
            None if section == "DEFAULT" => None,
            None => return Ok(Err(Missing::Section)),
        };
        let vars: Vec<(String, String)> =
            vars.iter().map(|(k, v)| (k.to_lowercase(), v.clone())).collect();
        let option = option.to_lowercase();
        let map = Map { extra: Vec::new(), vars: &vars, section: sect, defaults: &self.defaults };
        let Some(value) = map.lookup(&option) else { return Ok(Err(Missing::Option)) };
        if raw {
            return Ok(Ok(value));
        }
        let origin = self.origin(section, &option);
        let mut out = String::new();
        self.interpolate(&Ctx { section, option: &option, origin }, &mut out, &value, &map, 1)?;
        Ok(Ok(out))
    }

    /// Where `option` as seen from `section` was written (for messages).
    fn origin(&self, section: &str, option: &str) -> Option<&Value> {
        self.section(section).and_then(|s| s.get(option)).or_else(|| self.defaults.get(option))
    }

    fn interpolate(
        &self,
        ctx: &Ctx,
        out: &mut String,
        rest: &str,
        parent: &Map,
        depth: usize,
    ) -> Result<(), ConfigError> {
        let mut map = Map {
            extra: parent.extra.clone(),
            vars: parent.vars,
            section: parent.section,
            defaults: parent.defaults,
        };
        map.extra.push(("__name__".into(), ctx.section.to_string()));
        self.map_section_refs(ctx.section, rest, &mut map);
        if depth > MAX_DEPTH {
            return Err(ctx.error(format!(
                "%(...)s references nest deeper than {MAX_DEPTH} levels (a loop?)"
            )));
        }
        let mut rest = rest;
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            let after = &rest[1..];
            if let Some(r) = after.strip_prefix('%') {
                out.push('%');
                rest = r;
            } else if after.starts_with('(') {
                let Some((name, end)) = key_ref(rest) else {
                    return Err(ctx.error(format!(
                        "bad %(...)s reference at `{}`; write %% for a literal %",
                        short(rest)
                    )));
                };
                let var = name.to_lowercase();
                rest = &rest[end..];
                let Some(v) = map.lookup(&var) else {
                    return Err(ctx.error(format!(
                        "%({name})s refers to `{var}`, which is not defined (in [{}], [DEFAULT] or the filter arguments); define it, or write %% for a literal %",
                        ctx.section
                    )));
                };
                if v.contains('%') {
                    self.interpolate(ctx, out, &v, &map, depth + 1)?;
                } else {
                    out.push_str(&v);
                }
                if out.len() > super::combine::MAX_VALUE_LEN {
                    return Err(ctx.error(format!(
                        "the value grows past {} KiB through %(...)s references; simplify them",
                        super::combine::MAX_VALUE_LEN / 1024
                    )));
                }
            } else {
                return Err(ctx.error(format!(
                    "`%` must be followed by `%` or `(`, found `{}`; write %% for a literal %",
                    short(rest)
                )));
            }
        }
        out.push_str(rest);
        Ok(())
    }

    /// fail2ban's `_map_section_options`: for each `%(sec/opt)s` in `rest` not already in the
    /// map, add the raw value of `opt` from section `sec` (`known` → `KNOWN/<section>`,
    /// `default` → `[DEFAULT]`; a missing option falls back to `[DEFAULT]`). The key is added
    /// as written while lookups lower-case it, so only lower-case references resolve, exactly
    /// as in fail2ban.
    fn map_section_refs(&self, section: &str, rest: &str, map: &mut Map) {
        if !rest.contains('/') || !rest.contains("%(") {
            return;
        }
        for (sopt, sec, opt) in section_refs(rest) {
            if map.contains(sopt) {
                continue;
            }
            let seclwr = sec.to_lowercase();
            let found = if seclwr == "default" {
                None
            } else if seclwr == "known" {
                self.section(&format!("KNOWN/{section}")).and_then(|s| s.get(opt))
            } else {
                match self.section(sec) {
                    Some(s) => s.get(opt),
                    None => continue,
                }
            };
            let v = match found.or_else(|| self.defaults.get(opt)) {
                Some(v) => v.text.clone(),
                None => continue,
            };
            map.extra.push((sopt.to_string(), v));
        }
    }
}

/// What is being interpolated, for error messages.
struct Ctx<'a> {
    section: &'a str,
    option: &'a str,
    origin: Option<&'a Value>,
}

impl Ctx<'_> {
    fn error(&self, what: String) -> ConfigError {
        let place = match self.origin {
            Some(v) => format!("{}:{}", v.file, v.line),
            None => "filter arguments".to_string(),
        };
        ConfigError::new(
            ErrorKind::Interpolation,
            format!("{place}: [{}] {}: {what}", self.section, self.option),
        )
    }
}

fn short(s: &str) -> &str {
    match s.char_indices().nth(30) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// configparser's `%\(([^)]+)\)s` matched at the start of `s`: the name and the end offset.
fn key_ref(s: &str) -> Option<(&str, usize)> {
    let inner = s.strip_prefix("%(")?;
    let close = inner.find(')')?;
    if close == 0 || !inner[close + 1..].starts_with('s') {
        return None;
    }
    Some((&inner[..close], 2 + close + 2))
}

/// fail2ban's `%\(([\w\-]+/([^\)]+))\)s`, all non-overlapping matches: (`sec/opt`, sec, opt).
fn section_refs(s: &str) -> Vec<(&str, &str, &str)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(p) = s[i..].find("%(") {
        let start = i + p;
        let body_start = start + 2;
        let body = &s[body_start..];
        let sec_len: usize =
            body.chars().take_while(|&c| py::is_word(c) || c == '-').map(char::len_utf8).sum();
        let ok = sec_len > 0 && body[sec_len..].starts_with('/') && {
            let after = &body[sec_len + 1..];
            match after.find(')') {
                Some(close) if close > 0 && after[close + 1..].starts_with('s') => {
                    let sopt = &body[..sec_len + 1 + close];
                    out.push((sopt, &body[..sec_len], &after[..close]));
                    i = body_start + sec_len + 1 + close + 2;
                    true
                }
                _ => false,
            }
        };
        if !ok {
            i = start + 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn omap(pairs: &[(&str, &str)]) -> OMap {
        let mut m = OMap::default();
        for (k, v) in pairs {
            m.insert(k.to_string(), Value { text: v.to_string(), file: Arc::from("t"), line: 1 });
        }
        m
    }

    fn store() -> Store {
        Store {
            defaults: omap(&[("d", "D"), ("pct", "100%%"), ("x", "from-default")]),
            sections: vec![
                (
                    "Definition".into(),
                    omap(&[
                        ("a", "<%(b)s>"),
                        ("b", "%(d)s-%(arg)s"),
                        ("loop", "%(loop)s"),
                        ("k", "%(known/a)s+"),
                        ("s", "%(lt/x)s|%(default/x)s|%(lt/d)s|%(__name__)s"),
                        ("bad", "50% off"),
                        ("x", "from-def"),
                        ("up", "%(LT/x)s"),
                    ]),
                ),
                ("KNOWN/Definition".into(), omap(&[("a", "old %(d)s")])),
                ("lt".into(), omap(&[("x", "lt-x")])),
            ],
        }
    }

    fn get(s: &Store, sec: &str, opt: &str) -> Result<String, String> {
        let vars = vec![("ARG".to_string(), "v".to_string())];
        match s.get(sec, opt, &vars, false) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(m)) => Err(format!("{m:?}")),
            Err(e) => Err(e.message),
        }
    }

    #[test]
    fn interpolation() {
        let s = store();
        assert_eq!(get(&s, "Definition", "a").unwrap(), "<D-v>");
        assert_eq!(get(&s, "Definition", "pct").unwrap(), "100%");
        assert_eq!(get(&s, "Definition", "k").unwrap(), "old D+");
        assert_eq!(get(&s, "Definition", "s").unwrap(), "lt-x|from-default|D|Definition");
        assert_eq!(get(&s, "Definition", "arg").unwrap(), "v");
        assert_eq!(get(&s, "DEFAULT", "d").unwrap(), "D");
        assert_eq!(get(&s, "nosuch", "d").unwrap_err(), "Section");
        assert_eq!(get(&s, "Definition", "zz").unwrap_err(), "Option");
        assert!(get(&s, "Definition", "loop").unwrap_err().contains("deeper than 10"));
        assert!(get(&s, "Definition", "bad").unwrap_err().contains("must be followed by"));
        // Upper-case section references are mapped but looked up lower-cased: unresolved.
        assert!(get(&s, "Definition", "up").unwrap_err().contains("not defined"));
    }

    #[test]
    fn section_ref_scan() {
        assert_eq!(
            section_refs("%(a/b)s x %(c-d/e/f)s"),
            vec![("a/b", "a", "b"), ("c-d/e/f", "c-d", "e/f")]
        );
        assert_eq!(section_refs("%(a b/c)s %(x/y)"), vec![]);
        assert_eq!(key_ref("%(abc)s tail"), Some(("abc", 7)));
        assert_eq!(key_ref("%()s"), None);
    }
}
