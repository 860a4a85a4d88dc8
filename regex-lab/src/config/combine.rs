//! From the merged files to the filter's final option values: fail2ban's
//! `DefinitionInitConfigReader.getOptions` + `getCombined` (notes §1, "Precedence" and
//! "`<name>` tag substitution").
//!
//! Precedence: filter arguments > `[Init]` > `[Definition]` > `[DEFAULT]`. `%(x)s` sees the
//! arguments (and the automatic `logtype`) but not `[Init]`; `<x>` tags see everything.

use std::collections::{HashMap, HashSet};

use super::interp::{Missing, Store};
use super::layers::conditional;
use super::py;
use super::{ConfigError, ErrorKind};

/// The seven options fail2ban reads from `[Definition]`, in its order.
pub(crate) const FILTER_OPTIONS: [&str; 7] =
    ["usedns", "prefregex", "ignoreregex", "failregex", "maxlines", "datepattern", "journalmatch"];

/// fail2ban's `MAX_TAG_REPLACE_COUNT`.
const MAX_TAG_REPLACE: usize = 25;

/// Values that grow past this during substitution come from tags that keep re-inserting
/// each other (the size can double on every round); fail2ban would exhaust memory on them.
/// Real filters stay far below it (sshd aggressive: ~12 KiB).
pub(crate) const MAX_VALUE_LEN: usize = 1 << 20;

/// A value of the combined options; `maxlines` becomes an integer like in fail2ban.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptValue {
    Str(String),
    Int(i64),
    /// Known but unset (fail2ban's `None`, e.g. when the filter has no `[Definition]`).
    None,
}

impl OptValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            OptValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Python `repr()` of the value.
    pub fn repr(&self) -> String {
        match self {
            OptValue::Str(s) => py::repr_str(s),
            OptValue::Int(i) => i.to_string(),
            OptValue::None => "None".into(),
        }
    }
}

/// The outcome of combining: ordered options and what the reader needs later.
pub(crate) struct Combined {
    pub opts: Vec<(String, OptValue)>,
    /// The `vars` used for `%(x)s` and `[Definition]` lookups: arguments + automatic logtype.
    pub pvars: Vec<(String, String)>,
    /// Problems fail2ban passes over with a log message.
    pub warnings: Vec<String>,
}

impl Combined {
    pub fn get(&self, key: &str) -> Option<&OptValue> {
        self.opts.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

fn set(map: &mut Vec<(String, Option<String>)>, key: &str, value: Option<String>) {
    match map.iter_mut().find(|(k, _)| k == key) {
        Some(slot) => slot.1 = value,
        None => map.push((key.to_string(), value)),
    }
}

fn lookup<'m>(map: &'m [(String, Option<String>)], key: &str) -> Option<&'m Option<String>> {
    map.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// Combines the store's options for a filter called with `args`. `auto_logtype` is what
/// fail2ban's `applyAutoOptions` sets (`file`, or `journal` for a systemd backend).
pub(crate) fn combine(
    store: &Store,
    args: &[(String, String)],
    auto_logtype: &str,
) -> Result<Combined, ConfigError> {
    let mut init: Vec<(String, Option<String>)> =
        args.iter().map(|(k, v)| (k.clone(), Some(v.clone()))).collect();
    let own_logtype = store.section("Definition").is_some_and(|s| s.contains("logtype"));
    let given = lookup(&init, "logtype").and_then(|v| v.as_deref()).is_some_and(|v| !v.is_empty());
    if !given && !own_logtype {
        set(&mut init, "logtype", Some(auto_logtype.to_string()));
    }
    let pvars: Vec<(String, String)> =
        init.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect();

    let mut opts: Vec<(String, Option<String>)> = Vec::new();
    for name in FILTER_OPTIONS {
        if pvars.iter().any(|(k, _)| k == name) {
            continue;
        }
        match store.get("Definition", name, &pvars, false)? {
            Ok(v) => opts.push((name.to_string(), Some(v))),
            Err(Missing::Section) => opts.push((name.to_string(), None)),
            Err(Missing::Option) => {}
        }
    }

    if let Some(sect) = store.section("Init") {
        let keys: Vec<String> = sect.iter().map(|(k, _)| k.clone()).collect();
        for opt in keys {
            let mut v = None;
            if !opt.starts_with("known/") {
                v = Some(init_value(store, &opt)?);
                set(&mut init, &format!("known/{opt}"), v.clone());
            }
            if lookup(&init, &opt).is_none() {
                let v = match v {
                    Some(v) => v,
                    None => init_value(store, &opt)?,
                };
                set(&mut init, &opt, Some(v));
            }
        }
    }

    let mut combined = opts;
    for (k, v) in init {
        set(&mut combined, &k, v);
    }
    let ignore: HashSet<String> =
        combined.iter().filter_map(|(k, _)| conditional(k).map(|(b, _)| b.to_string())).collect();

    let mut cache: HashMap<String, Option<String>> = HashMap::new();
    let mut addrepl = |name: &str| -> Result<Option<String>, ConfigError> {
        if let Some(v) = cache.get(name) {
            return Ok(v.clone());
        }
        let v = get_ex(store, "Definition", name, &pvars)?;
        cache.insert(name.to_string(), v.clone());
        Ok(v)
    };
    substitute_tags(&mut combined, &ignore, &mut addrepl)?;

    let mut warnings = Vec::new();
    let opts: Vec<(String, OptValue)> = combined
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                None => OptValue::None,
                Some(s) if k == "maxlines" => match py::parse_int(&s) {
                    Some(i) => OptValue::Int(i),
                    None => {
                        warnings.push(format!(
                            "maxlines = {s:?} is not an integer; ignored (as fail2ban does)"
                        ));
                        OptValue::None
                    }
                },
                Some(s) => OptValue::Str(s),
            };
            (k, v)
        })
        .collect();
    warnings.extend(unused_arguments(store, args));
    warnings.extend(undefined_argument_values(&opts, args));
    Ok(Combined { opts, pvars, warnings })
}

/// Filter arguments whose *value* names something the filter does not define, e.g.
/// `sshd[mode=aggresive]`: `<mdre-<mode>>` becomes `<mdre-aggresive>`, which stays as literal
/// text, so that mode's regexes are silently missing (fail2ban says nothing either).
fn undefined_argument_values(
    opts: &[(String, OptValue)],
    args: &[(String, String)],
) -> Vec<String> {
    let regexes: Vec<&str> = opts
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "failregex" | "prefregex" | "ignoreregex"))
        .filter_map(|(_, v)| match v {
            OptValue::Str(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    args.iter()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(k, v)| {
            let suffix = format!("-{v}>");
            let tag = regexes.iter().find_map(|r| {
                r.match_indices(&suffix).find_map(|(end, _)| {
                    let start = r[..end].rfind('<')?;
                    let name = &r[start + 1..end];
                    (!name.is_empty() && !name.contains([' ', '>'])).then(|| &r[start..end + suffix.len()])
                })
            })?;
            Some(format!(
                "option `{k}={v}`: the filter defines no `{}`, so the regexes of that value are missing (fail2ban ignores this); check the spelling",
                &tag[1..tag.len() - 1]
            ))
        })
        .collect()
}

/// Filter arguments that nothing in the filter refers to: likely misspelled. fail2ban accepts
/// them silently. An argument counts as used when it is one of the filter options, an option
/// of any section, or appears as `<name>` or `%(name)s` in any value.
fn unused_arguments(store: &Store, args: &[(String, String)]) -> Vec<String> {
    let values: Vec<&str> = store
        .defaults
        .iter()
        .chain(store.sections.iter().flat_map(|(_, s)| s.iter()))
        .map(|(_, v)| v.text.as_str())
        .collect();
    let defined = |k: &str| {
        let k = k.to_lowercase();
        store.defaults.contains(&k) || store.sections.iter().any(|(_, s)| s.contains(&k))
    };
    args.iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !FILTER_OPTIONS.contains(k) && *k != "logtype" && !defined(k))
        .filter(|k| {
            let tag = format!("<{k}>");
            let interp = format!("%({})s", k.to_lowercase());
            !values.iter().any(|v| v.contains(&tag) || v.to_lowercase().contains(&interp))
        })
        .map(|k| {
            format!(
                "option `{k}` is not used by this filter (fail2ban ignores it); check its spelling"
            )
        })
        .collect()
}

fn init_value(store: &Store, opt: &str) -> Result<String, ConfigError> {
    match store.get("Init", opt, &[], false)? {
        Ok(v) => Ok(v),
        Err(_) => Ok(String::new()),
    }
}

/// fail2ban's `get_ex`: like `get`, but `sec/opt` reads section `sec` (`known/opt` the value
/// before the last override, then the current one; `default/opt` reads `[DEFAULT]`).
/// `None` when nothing is found.
pub(crate) fn get_ex(
    store: &Store,
    section: &str,
    option: &str,
    vars: &[(String, String)],
) -> Result<Option<String>, ConfigError> {
    if let Some((sec, opt)) = split_section_option(option) {
        let seclwr = sec.to_lowercase();
        let candidates: Vec<String> = if seclwr == "known" {
            vec![format!("KNOWN/{section}"), section.to_string()]
        } else if seclwr == "default" {
            vec!["DEFAULT".to_string()]
        } else {
            vec![sec.to_string()]
        };
        for c in candidates {
            if let Ok(v) = store.get(&c, opt, &[], false)? {
                return Ok(Some(v));
            }
        }
    }
    Ok(store.get(section, option, vars, false)?.ok())
}

/// fail2ban's `^([\w\-]+)/([^\s>]+)$`.
fn split_section_option(s: &str) -> Option<(&str, &str)> {
    let slash = s.find('/')?;
    let (sec, rest) = (&s[..slash], &s[slash + 1..]);
    let sec_ok = !sec.is_empty() && sec.chars().all(|c| py::is_word(c) || c == '-');
    let opt_ok = !rest.is_empty() && !rest.chars().any(|c| py::is_space(c) || c == '>');
    (sec_ok && opt_ok).then_some((sec, rest))
}

/// fail2ban's `<([^ <>]+)>` searched from byte `from`: (start, end, name).
pub(crate) fn find_tag(s: &str, from: usize) -> Option<(usize, usize, &str)> {
    let mut i = from;
    while let Some(p) = s.get(i..)?.find('<') {
        let start = i + p;
        let body = &s[start + 1..];
        let len = body.find([' ', '<', '>']).unwrap_or(body.len());
        if len > 0 && body[len..].starts_with('>') {
            return Some((start, start + 1 + len + 1, &body[..len]));
        }
        i = start + 1;
    }
    None
}

/// fail2ban's `substituteRecursiveTags`: replaces `<name>` by the value of `name` in every
/// option, innermost first, repeating while replacements reveal new tags. Unknown tags stay.
pub(crate) fn substitute_tags(
    tags: &mut [(String, Option<String>)],
    ignore: &HashSet<String>,
    addrepl: &mut dyn FnMut(&str) -> Result<Option<String>, ConfigError>,
) -> Result<(), ConfigError> {
    let mut done: HashSet<String> = HashSet::new();
    let mut rep_counts: HashMap<String, HashMap<String, usize>> = HashMap::new();
    loop {
        let mut again = false;
        for idx in 0..tags.len() {
            let tag = tags[idx].0.clone();
            if ignore.contains(&tag) || done.contains(&tag) {
                continue;
            }
            let Some(orig) = tags[idx].1.clone() else { continue };
            let mut value = orig.clone();
            let stored = rep_counts.contains_key(&tag);
            let mut counts = rep_counts.get(&tag).cloned().unwrap_or_default();
            let mut m = find_tag(&value, 0);
            while let Some((start, end, rtag)) = m {
                let rtag = rtag.to_string();
                if ignore.contains(&rtag) {
                    m = find_tag(&value, end);
                    continue;
                }
                let n = counts.get(&rtag).copied();
                if rtag == tag || n.unwrap_or(1) > MAX_TAG_REPLACE {
                    let why = if rtag == tag {
                        format!("option `{tag}` refers to itself through <{rtag}>")
                    } else {
                        format!("tag <{rtag}> in option `{tag}` was replaced more than {MAX_TAG_REPLACE} times (a loop between tags?)")
                    };
                    return Err(ConfigError::new(
                        ErrorKind::TagLoop,
                        format!("{why}; break the cycle in the filter's definitions"),
                    ));
                }
                let repl = match lookup(tags, &rtag).cloned().flatten() {
                    Some(r) => Some(r),
                    None => addrepl(&rtag)?,
                };
                let Some(repl) = repl else {
                    m = find_tag(&value, end);
                    continue;
                };
                value = value.replace(&format!("<{rtag}>"), &repl);
                if value.len() > MAX_VALUE_LEN {
                    return Err(ConfigError::new(
                        ErrorKind::TagLoop,
                        format!("option `{tag}` grows past {} KiB while replacing <{rtag}> (tags that keep inserting each other?); break the cycle in the filter's definitions", MAX_VALUE_LEN / 1024),
                    ));
                }
                *counts.entry(rtag).or_insert(0) += 1;
                m = find_tag(&value, start);
            }
            if value != orig {
                if find_tag(&value, 0).is_some() {
                    again = true;
                    rep_counts.insert(tag.clone(), counts);
                } else if stored {
                    rep_counts.insert(tag.clone(), counts);
                }
                tags[idx].1 = Some(value.clone());
            } else if stored {
                rep_counts.insert(tag.clone(), counts);
            }
            if !value.contains('<') {
                done.insert(tag);
            }
        }
        if !again {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subst(pairs: &[(&str, &str)]) -> Result<Vec<(String, String)>, String> {
        let mut tags: Vec<(String, Option<String>)> =
            pairs.iter().map(|(k, v)| (k.to_string(), Some(v.to_string()))).collect();
        let mut none = |_: &str| Ok(None);
        substitute_tags(&mut tags, &HashSet::new(), &mut none).map_err(|e| e.message)?;
        Ok(tags.into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect())
    }

    #[test]
    fn tags_nest_and_unknown_stay() {
        let r = subst(&[
            ("failregex", "^<pre> <mdre-<mode>> <HOST>$"),
            ("mode", "normal"),
            ("mdre-normal", "a<x>"),
            ("pre", "P"),
            ("x", "X"),
        ])
        .unwrap();
        assert_eq!(r[0].1, "^P aX <HOST>$");
    }

    #[test]
    fn self_reference_is_an_error() {
        let e = subst(&[("a", "<a>")]).unwrap_err();
        assert!(e.contains("refers to itself"), "{e}");
        let e = subst(&[("a", "<b>"), ("b", "<a>")]).unwrap_err();
        assert!(e.contains("refers to itself"), "{e}");
        let e = subst(&[("a", "x<b>"), ("b", "<b>y")]).unwrap_err();
        assert!(e.contains("more than 25 times"), "{e}");
    }

    #[test]
    fn find_tag_like_python() {
        assert_eq!(find_tag("a<b c><d>", 0), Some((6, 9, "d")));
        assert_eq!(find_tag("<<x>>", 0), Some((1, 4, "x")));
        assert_eq!(find_tag("<>", 0), None);
        assert_eq!(
            split_section_option("lt_file/__prefix_line"),
            Some(("lt_file", "__prefix_line"))
        );
        assert_eq!(split_section_option("a b/c"), None);
    }
}
