//! One datepattern line → one template (name, regex, flags, kind), with fail2ban's keyword
//! rules: `%X` tokens, `{^LN-BEG}`, `{UNB}`, `^`, `**`, default word boundaries, `(?iu)`,
//! group-1 wrapping, `EPOCH`/`LEPOCH`/`{EPOCH}` and `TAI64N`.
//!
//! The syntax checks (does the pattern already start with `^`, does it have a plain group,
//! where are its global flags, ...) use fail2ban's own detection regexes, run through our
//! engine: they define the datepattern grammar, and using them keeps every corner identical.

use std::sync::OnceLock;

use super::templates;
use super::DateError;
use crate::engine::{Captures, Regex, RegexOptions};

/// Template flags, as fail2ban-regex's `--VD` shows them.
pub(crate) const LINE_BEGIN: u8 = 8;
pub(crate) const LINE_END: u8 = 4;
pub(crate) const WORD_BEGIN: u8 = 2;
pub(crate) const WORD_END: u8 = 1;

/// `LINE_BEGIN|WORD_END` style names of `flags`.
pub(crate) fn flag_names(flags: u8) -> String {
    [
        (LINE_BEGIN, "LINE_BEGIN"),
        (LINE_END, "LINE_END"),
        (WORD_BEGIN, "WORD_BEGIN"),
        (WORD_END, "WORD_END"),
    ]
    .iter()
    .filter(|(f, _)| flags & f != 0)
    .map(|(_, n)| *n)
    .collect::<Vec<_>>()
    .join("|")
}

/// Which left boundary a template gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Begin {
    /// None (`{UNB}`, or the epoch template that brings its own).
    None,
    /// `(?=^|\b|\W)`: the date starts a word.
    Word,
    /// `^(?:\W{0,2})?`: the date starts the line (`{^LN-BEG}`).
    Line,
}

/// How a template's match becomes a time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// strptime fields from named groups.
    Pattern,
    /// Unix seconds in group `group`; `long` = milli/microseconds allowed (`LEPOCH`).
    Epoch { long: bool, group: usize },
    /// `@4000...`: seconds from the TAI64 label.
    Tai64n,
}

/// A template before compilation.
#[derive(Clone, Debug)]
pub(crate) struct Spec {
    pub name: String,
    /// The datepattern it came from (`None` for epoch and TAI64N templates).
    pub pattern: Option<String>,
    pub regex: String,
    pub flags: u8,
    pub kind: Kind,
    pub weight: f64,
}

struct Meta {
    global_flags: Regex,
    no_word_begin: Regex,
    no_word_end: Regex,
    grouped: Regex,
    group: Regex,
    line_begin: Regex,
    line_end: Regex,
    strip_stars: Regex,
    alpha: Regex,
    epoch_keyword: Regex,
    date_keyword: Regex,
}

fn meta() -> &'static Meta {
    static META: OnceLock<Meta> = OnceLock::new();
    META.get_or_init(|| {
        let re = |p: &str| Regex::new(p, RegexOptions::default()).expect("built-in regex");
        Meta {
            global_flags: re(r"((?:^|(?!<\\))\(\?[a-z]+\))"),
            no_word_begin: re(r"^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)"),
            no_word_end: re(r"(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$"),
            grouped: re(r"(?<!(?:\(\?))(?<!\\)\((?!\?)"),
            group: re(r"^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)(.*?)(\$?)$"),
            line_begin: re(r"^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))"),
            line_end: re(r"(?<![\\\|])(?:\$\)?)$"),
            strip_stars: re(r"^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$"),
            alpha: re(r"(?<!\%)\%[aAbBpc]"),
            epoch_keyword: re(r"(?i)(?<!\\)\{L?EPOCH\}"),
            date_keyword: re(r"(?i)(?<!\\)\{DATE\}"),
        }
    })
}

/// Every non-overlapping match of `re` in `s` (none of the meta regexes matches empty).
fn matches(re: &Regex, s: &str) -> Vec<(usize, usize)> {
    let mut caps = re.captures();
    let mut out = Vec::new();
    let mut at = 0;
    while at <= s.len() && re.search_at(s, at, &mut caps).unwrap_or(false) {
        let (start, end) = caps.get(0).expect("group 0");
        out.push((start, end));
        at =
            if end > start { end } else { end + s[end..].chars().next().map_or(1, char::len_utf8) };
    }
    out
}

fn is_match(re: &Regex, s: &str) -> bool {
    re.is_match(s).unwrap_or(false)
}

/// Replaces every match of `re` in `s` by `f(matched text)`.
fn replace_all(re: &Regex, s: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (start, end) in matches(re, s) {
        out.push_str(&s[last..start]);
        out.push_str(&f(&s[start..end]));
        last = end;
    }
    out.push_str(&s[last..]);
    out
}

/// Replaces every `{DATE}` in `pre_match` by `date`.
pub(crate) fn replace_date_keyword(pre_match: &str, date: &str) -> String {
    replace_all(&meta().date_keyword, pre_match, |_| date.to_string())
}

/// A template's pattern without its boundary markers, as `{DATE}` inserts it.
pub(crate) fn unbound(pattern: &str) -> &str {
    let p = pattern.strip_prefix("{UNB}").unwrap_or(pattern);
    let p = p.strip_prefix("{^LN-BEG}").unwrap_or(p);
    let p = [r"(^|\b|\W)", r"(?:^|\b|\W)"].iter().find_map(|b| p.strip_prefix(b)).unwrap_or(p);
    p.strip_suffix(r"(?=\b|\W|$)").unwrap_or(p)
}

/// Adds boundaries and group 1 to a regex, and works out its flags (fail2ban's
/// `DateTemplate.setRegex`). Returns the possibly `{^LN-BEG}`-prefixed name, regex, flags.
pub(crate) fn bind(name: &str, regex: &str, begin: Begin, word_end: bool) -> (String, String, u8) {
    let m = meta();
    let mut name = name.to_string();
    let mut regex = regex.trim().to_string();
    // Global flags such as `(?iu)` must stay in front of everything added below.
    let global = matches(&m.global_flags, &regex).first().map(|&(s, e)| {
        let flags = regex[s..e].to_string();
        regex.replace_range(s..e, "");
        flags
    });
    let bound_begin = begin != Begin::None && !is_match(&m.no_word_begin, &regex);
    let bound_end = word_end && !is_match(&m.no_word_end, &regex);
    if !is_match(&m.grouped, &regex) {
        let mut caps: Captures = m.group.captures();
        if m.group.search(&regex, &mut caps).unwrap_or(false) {
            let part = |i| caps.text(&regex, i).unwrap_or("");
            regex = format!("{}({}){}", part(1), part(2), part(3));
        }
    }
    let mut flags = 0;
    if bound_begin {
        if begin == Begin::Line {
            flags |= LINE_BEGIN;
            regex.insert_str(0, r"^(?:\W{0,2})?");
            if !name.starts_with("{^LN-BEG}") {
                name.insert_str(0, "{^LN-BEG}");
            }
        } else {
            flags |= WORD_BEGIN;
            regex.insert_str(0, r"(?=^|\b|\W)");
        }
    }
    if bound_end {
        flags |= WORD_END;
        regex.push_str(r"(?=\b|\W|$)");
    }
    if flags & LINE_BEGIN == 0 && is_match(&m.line_begin, &regex) {
        flags |= LINE_BEGIN;
    }
    if is_match(&m.line_end, &regex) {
        flags |= LINE_END;
    }
    regex = replace_all(&m.strip_stars, &regex, |s| s.replace("**", ""));
    if let Some(global) = global {
        regex.insert_str(0, &global);
    }
    (name, regex, flags)
}

/// Replaces `%X` tokens: gives the display name and the regex. A `%` that starts no known
/// token is an error (fail2ban fails on it too, when it formats the pattern).
fn expand_tokens(pattern: &str, ex_year: &str) -> Result<(String, String), DateError> {
    let mut name = String::with_capacity(pattern.len());
    let mut regex = String::with_capacity(pattern.len() * 4);
    let mut rest = pattern;
    while let Some(at) = rest.find('%') {
        name.push_str(&rest[..at]);
        regex.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (tok, used) = templates::token(after, ex_year).ok_or_else(|| {
            let shown: String = after.chars().take(3).collect();
            DateError::new(format!(
                "datepattern `{pattern}`: `%{shown}` is not a date token (use %Y %m %d %H %M %S %b ... \
                 or %ExY ...; write a literal percent sign as %%)"
            ))
        })?;
        name.push_str(tok.name);
        regex.push_str(&tok.regex);
        rest = &after[used..];
    }
    name.push_str(rest);
    regex.push_str(rest);
    Ok((name, regex))
}

/// A strptime-style datepattern (fail2ban's `DatePatternRegex`).
pub(crate) fn date_pattern(pattern: &str, ex_year: &str) -> Result<Spec, DateError> {
    let mut begin = Begin::Word;
    let mut word_end = true;
    let mut p = pattern;
    if let Some(rest) = p.strip_prefix("{UNB}") {
        p = rest;
        begin = Begin::None;
        word_end = false;
    }
    if begin != Begin::None {
        if let Some(rest) = p.strip_prefix("{^LN-BEG}") {
            p = rest;
            begin = Begin::Line;
        }
    }
    let (name, mut regex) = expand_tokens(p, ex_year)?;
    if is_match(&meta().alpha, p) {
        regex.insert_str(0, "(?iu)");
    }
    let (name, regex, flags) = bind(&name, &regex, begin, word_end);
    Ok(Spec {
        name,
        pattern: Some(pattern.to_string()),
        regex,
        flags,
        kind: Kind::Pattern,
        weight: 1.0,
    })
}

const EPOCH_RE: &str = r"\d{10,11}\b(?:\.\d{3,6})?";
const LONG_EPOCH_RE: &str = r"\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?";

/// An epoch template: `EPOCH` (anywhere, also `[1234567890]` and SELinux `audit(...)`),
/// `{^LN-BEG}EPOCH` (line start only), the `LEPOCH` forms, or a pattern with `{EPOCH}`.
fn epoch(pattern: Option<&str>, line_begin_only: bool, long: bool) -> Spec {
    let digits = if long { LONG_EPOCH_RE } else { EPOCH_RE };
    let default_name = if long { "LongEpoch" } else { "Epoch" };
    let (name, regex, begin, group) = match pattern {
        Some(p) => {
            let inner = replace_all(&meta().epoch_keyword, p, |_| format!("({digits})"));
            (p, format!("({inner})"), Begin::Word, 2)
        }
        None if !line_begin_only => (
            default_name,
            r"((?:^|(?P<square>(?<=^\[))|(?P<selinux>(?<=\baudit\()))%s)(?:(?(selinux)(?=:\d+\)))|(?(square)(?=\])))"
                .replace("%s", digits),
            Begin::None,
            1,
        ),
        None => (
            default_name,
            format!(r"((?P<square>(?<=^\[))?{digits})(?(square)(?=\]))"),
            Begin::Line,
            1,
        ),
    };
    let (name, regex, flags) = bind(name, &regex, begin, true);
    Spec { name, pattern: None, regex, flags, kind: Kind::Epoch { long, group }, weight: 1.0 }
}

fn tai64n(line_begin: bool) -> Spec {
    let begin = if line_begin { Begin::Line } else { Begin::None };
    let (name, regex, flags) = bind("TAI64N", "@[0-9a-f]{24}", begin, true);
    Spec { name, pattern: None, regex, flags, kind: Kind::Tai64n, weight: 1.0 }
}

/// The lookup key fail2ban uses: patterns without `%` are keywords, compared upper-cased.
pub(crate) fn key_of(pattern: &str) -> String {
    if pattern.contains('%') {
        pattern.to_string()
    } else {
        pattern.to_uppercase()
    }
}

/// One template from one datepattern line that is not a list keyword (`{^LN-BEG}`,
/// `{DEFAULT}`, `{DATE}`, `{NONE}` are handled by the caller).
pub(crate) fn template(pattern: &str, ex_year: &str) -> Result<Spec, DateError> {
    let key = key_of(pattern);
    if key.contains("EPOCH") {
        if is_match(&meta().epoch_keyword, pattern) {
            return Ok(epoch(Some(pattern), false, key.contains("LEPOCH")));
        }
        match key.as_str() {
            "EPOCH" | "{^LN-BEG}EPOCH" | "^EPOCH" => return Ok(epoch(None, key != "EPOCH", false)),
            "LEPOCH" | "{^LN-BEG}LEPOCH" | "^LEPOCH" => {
                return Ok(epoch(None, key != "LEPOCH", true))
            }
            _ => {}
        }
    }
    match key.as_str() {
        "TAI64N" | "{^LN-BEG}TAI64N" | "^TAI64N" => Ok(tai64n(key != "TAI64N")),
        _ => date_pattern(pattern, ex_year),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: &str = r"(?P<Y>20[012]\d)";

    #[test]
    fn asctime_default_and_anchored() {
        let s = template(r"(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?", Y).unwrap();
        assert_eq!(s.name, r"(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?");
        assert_eq!(s.flags, WORD_BEGIN | WORD_END);
        assert!(s.regex.starts_with(r"(?iu)(?=^|\b|\W)((?:(?P<a>mon"));
        let a = template(r"{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?", Y).unwrap();
        assert_eq!(a.name, format!("{{^LN-BEG}}{}", s.name));
        assert_eq!(a.flags, LINE_BEGIN | WORD_END);
        assert!(a.regex.starts_with(r"(?iu)^(?:\W{0,2})?((?:(?P<a>"));
    }

    #[test]
    fn keywords() {
        let none = template("{UNB}^", Y).unwrap();
        assert_eq!((none.name.as_str(), none.regex.as_str(), none.flags), ("^", "^()", LINE_BEGIN));
        let e = template("EPOCH", Y).unwrap();
        assert_eq!(e.name, "Epoch");
        assert_eq!(e.flags, WORD_END);
        let e = template("{^LN-BEG}EPOCH", Y).unwrap();
        assert_eq!(e.name, "{^LN-BEG}Epoch");
        let e = template("^LEPOCH", Y).unwrap();
        assert_eq!(e.name, "{^LN-BEG}LongEpoch");
        let e = template(r"^\[{EPOCH}\]", Y).unwrap();
        assert_eq!(e.kind, Kind::Epoch { long: false, group: 2 });
        assert_eq!(e.regex, r"(^\[(\d{10,11}\b(?:\.\d{3,6})?)\])(?=\b|\W|$)");
        let t = template("tai64n", Y).unwrap();
        assert_eq!((t.name.as_str(), t.regex.as_str()), ("TAI64N", r"(@[0-9a-f]{24})(?=\b|\W|$)"));
    }

    #[test]
    fn stars_and_explicit_groups() {
        let s = template(r"^I\(()**", Y).unwrap();
        assert_eq!(s.regex, r"^I\(()");
        assert_eq!(s.flags, LINE_BEGIN);
        let s = template(r"**%H:%M**", Y).unwrap();
        assert_eq!(s.regex, r"((?P<H>[0-1]?\d|2[0-3]):(?P<M>[0-5]?\d))");
        let s = template(r"{UNB}%Y$", Y).unwrap();
        assert_eq!((s.regex.as_str(), s.flags), (r"((?P<Y>\d{4}))$", LINE_END));
    }

    #[test]
    fn bad_percent_is_an_error() {
        let e = template("%Y-%q", Y).unwrap_err();
        assert!(e.to_string().contains("%q"), "{e}");
        assert!(template("100%", Y).is_err());
        assert!(template("100%%", Y).is_ok());
    }

    #[test]
    fn unbound_strips_markers() {
        assert_eq!(unbound("{^LN-BEG}%H:%M:%S"), "%H:%M:%S");
        assert_eq!(unbound(r"(?:^|\b|\W)x(?=\b|\W|$)"), "x");
        assert_eq!(replace_date_keyword(r"^<\d+>{date} {DATE}", "D"), r"^<\d+>D D");
    }
}
