//! fail2ban's host and field tags (`<HOST>`, `<ADDR>`, `<F-USER>`...) → PCRE2 groups (notes §2).
//!
//! This is fail2ban's `Regex._resolveHostTag` plus its global-flag rewrite, applied to one regex
//! line of a [`crate::config::FilterDef`]. The replacement texts are fail2ban's own constants.
//! Group names then mean fail fields; [`field_of_group`] says how.

use crate::config::{ConfigError, ErrorKind};

const IP4: &str = r"(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})";
const IP6: &str = r"(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):))";
const DNS: &str = r"(?P<dns>[\w\-.^_]*\w)";
const CIDR: &str = r"(?P<cidr>\d+)";
const FID: &str = r"(?P<fid>\S+)";
const FPORT: &str = r"(?P<fport>\w+)";

fn addr() -> String {
    format!(r"\[?(?:{IP4}|{IP6})\]?")
}

fn host() -> String {
    format!(r"(?:{}|{DNS})", addr())
}

fn subnet() -> String {
    format!(r"\[?(?:{IP4}|{IP6})(?:/{CIDR})?\]?")
}

/// fail2ban's static tag table (`RH4TAG`).
fn static_tag(name: &str) -> Option<String> {
    Some(match name {
        "IP4" | "F-IP4/" => IP4.to_string(),
        "IP6" | "F-IP6/" => IP6.to_string(),
        "ADDR" | "F-ADDR/" => addr(),
        "CIDR" | "F-CIDR/" => CIDR.to_string(),
        "SUBNET" | "F-SUBNET/" => subnet(),
        "DNS" | "F-DNS/" => DNS.to_string(),
        "F-ID/" => FID.to_string(),
        "F-PORT/" => FPORT.to_string(),
        _ => return None,
    })
}

/// Expands every fail2ban regex tag in `regex` exactly as fail2ban 1.0.2 does, and moves
/// global-flag groups inward. `usedns_no` selects `<HOST>` = `<ADDR>` (usedns = no).
///
/// - `<HOST>`: IPv4, IPv6 or DNS name (groups `ip4`, `ip6`, `dns`); only the addresses with
///   `usedns_no`.
/// - `<SKIPLINES>`: the n-th becomes `\n(?P<skiplinesN>(?:(?:.*\n)*?))`.
/// - `<F-XXX>`...`</F-XXX>`: group `xxx` (lower-cased; `ID` → `fid`, `PORT` → `fport`). A
///   closing tag that was never opened, and any other `<...>`, stay as written.
/// - `((?i)A|B)` / `(?:(?i)A|B)` become `(?i:A|B)`.
///
/// Errors when the result is empty or blank (fail2ban: "Cannot add empty regex").
pub fn expand(regex: &str, usedns_no: bool) -> Result<String, ConfigError> {
    let resolved = resolve_host_tags(regex, usedns_no);
    if crate::config::py::lstrip(&resolved).is_empty() {
        return Err(ConfigError::new(
            ErrorKind::Regex,
            format!(
                "regex `{regex}` is empty after tag expansion; remove the line or give a pattern"
            ),
        ));
    }
    Ok(glob_flags_to_local(&resolved))
}

/// fail2ban's `_resolveHostTag`: every `</?[\w\-]+/?>` is looked at once, left to right.
fn resolve_host_tags(regex: &str, usedns_no: bool) -> String {
    let mut out = String::with_capacity(regex.len() * 2);
    let mut open: Vec<String> = Vec::new();
    let mut skiplines = 0usize;
    let mut i = 0;
    while let Some(p) = regex[i..].find('<') {
        let start = i + p;
        out.push_str(&regex[i..start]);
        let Some(end) = tag_end(regex, start) else {
            out.push('<');
            i = start + 1;
            continue;
        };
        let tag = &regex[start..end];
        let tn = &tag[1..tag.len() - 1];
        let repl = if tn == "HOST" {
            if usedns_no {
                addr()
            } else {
                host()
            }
        } else if tn == "SKIPLINES" {
            skiplines += 1;
            format!(r"\n(?P<skiplines{}>(?:(?:.*\n)*?))", skiplines - 1)
        } else if let Some(r) = static_tag(tn) {
            r
        } else if let Some((closing, name)) = custom_tag(tn) {
            if closing {
                if open.iter().any(|o| o == name) {
                    ")".to_string()
                } else {
                    tag.to_string()
                }
            } else {
                open.push(name.to_string());
                format!("(?P<{}>", map_tag_to_option(name))
            }
        } else {
            tag.to_string()
        };
        out.push_str(&repl);
        i = end;
    }
    out.push_str(&regex[i..]);
    out
}

/// End (exclusive) of a `</?[\w\-]+/?>` match starting at `start` (which holds `<`).
fn tag_end(s: &str, start: usize) -> Option<usize> {
    let mut j = start + 1;
    if s[j..].starts_with('/') {
        j += 1;
    }
    let name_len: usize = s[j..]
        .chars()
        .take_while(|&c| c == '_' || c == '-' || c.is_alphanumeric())
        .map(char::len_utf8)
        .sum();
    if name_len == 0 {
        return None;
    }
    j += name_len;
    if s[j..].starts_with('/') {
        j += 1;
    }
    s[j..].starts_with('>').then_some(j + 1)
}

/// fail2ban's `^(/?)F-([A-Z0-9_\-]+)$`: (is closing, name).
fn custom_tag(tn: &str) -> Option<(bool, &str)> {
    let (closing, rest) = match tn.strip_prefix('/') {
        Some(r) => (true, r),
        None => (false, tn),
    };
    let name = rest.strip_prefix("F-")?;
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
    ok.then_some((closing, name))
}

/// fail2ban's `mapTag2Opt`: lower-case, `id` → `fid`, `port` → `fport`.
pub fn map_tag_to_option(tag: &str) -> String {
    let t = tag.to_lowercase();
    match t.as_str() {
        "id" => "fid".into(),
        "port" => "fport".into(),
        _ => t,
    }
}

/// fail2ban's `R_GLOB2LOCFLAGS`: `(?<!\\)\((?:\?:)?(\(\?[a-z]+)\)` → `\1:`.
fn glob_flags_to_local(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    // `(?` + [a-z]+ + `)` at k: the index of the `)`.
    let flags_at = |k: usize| -> Option<usize> {
        if !s[k..].starts_with("(?") {
            return None;
        }
        let n = b[k + 2..].iter().take_while(|c| c.is_ascii_lowercase()).count();
        (n > 0 && b.get(k + 2 + n) == Some(&b')')).then_some(k + 2 + n)
    };
    while i < b.len() {
        if b[i] == b'(' && (i == 0 || b[i - 1] != b'\\') {
            let hit = if s[i + 1..].starts_with("?:") {
                flags_at(i + 3).map(|e| (i + 3, e)).or_else(|| flags_at(i + 1).map(|e| (i + 1, e)))
            } else {
                flags_at(i + 1).map(|e| (i + 1, e))
            };
            if let Some((flags_start, close)) = hit {
                out.push_str(&s[copied..i]);
                out.push_str(&s[flags_start..close]);
                out.push(':');
                i = close + 1;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[copied..]);
    out
}

/// How a regex group feeds the fail dict, by its name (fail2ban's `COMPLNAME_CRE`,
/// `^(alt_|tuple_)(.*?)(?:_\d+)?$`, for names longer than 4 characters, the field mapped by
/// [`map_tag_to_option`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupRole {
    /// The group is stored under its own name.
    Plain,
    /// `alt_X` / `alt_X_<n>`: after the match, if this group is non-empty and field `X` is
    /// missing or empty, `X` takes this group's value.
    Alt(String),
    /// `tuple_X` / `tuple_X_<n>`: `X` becomes a tuple: `(X, this)` the first time, then this
    /// value is appended (values may be None).
    Tuple(String),
}

/// The role of group `name`. Apply the alt groups, then the tuple groups, each sorted by
/// (group name, field) as fail2ban does; see [`GroupRole`]. Example: `alt_user1` fills
/// `user1` (not `user`); `alt_user_2` fills `user`; `tuple_id` extends `fid`.
pub fn field_of_group(name: &str) -> GroupRole {
    if name.chars().count() <= 4 {
        return GroupRole::Plain;
    }
    let (alt, rest) = if let Some(r) = name.strip_prefix("alt_") {
        (true, r)
    } else if let Some(r) = name.strip_prefix("tuple_") {
        (false, r)
    } else {
        return GroupRole::Plain;
    };
    // Lazy `(.*?)` then optional `_\d+` then end: strip the first `_<digits>` suffix that
    // reaches the end of the name.
    let mut field = rest;
    for (i, _) in rest.match_indices('_') {
        let tail = &rest[i + 1..];
        if !tail.is_empty() && tail.chars().all(|c| c.is_ascii_digit()) {
            field = &rest[..i];
            break;
        }
    }
    let field = map_tag_to_option(field);
    if alt {
        GroupRole::Alt(field)
    } else {
        GroupRole::Tuple(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_fields() {
        assert_eq!(expand("<F-ID/>", false).unwrap(), r"(?P<fid>\S+)");
        assert_eq!(expand("<F-USER>.*</F-USER>", false).unwrap(), "(?P<user>.*)");
        assert_eq!(expand("<F-ID>x</F-ID>", false).unwrap(), "(?P<fid>x)");
        assert_eq!(expand("</F-USER>x", false).unwrap(), "</F-USER>x");
        assert_eq!(expand("<F-USER/>", false).unwrap(), "<F-USER/>");
        assert_eq!(expand("<NOSRV>", false).unwrap(), "<NOSRV>");
        assert_eq!(expand("<HOST>", true).unwrap(), expand("<ADDR>", false).unwrap());
        assert_eq!(
            expand("a<SKIPLINES>b<SKIPLINES>", false).unwrap(),
            r"a\n(?P<skiplines0>(?:(?:.*\n)*?))b\n(?P<skiplines1>(?:(?:.*\n)*?))"
        );
    }

    #[test]
    fn global_flags_move_inward() {
        assert_eq!(glob_flags_to_local("((?i)a|b)"), "(?i:a|b)");
        assert_eq!(glob_flags_to_local("(?:(?i)a|b)"), "(?i:a|b)");
        assert_eq!(glob_flags_to_local(r"\((?i)a)"), r"\((?i)a)");
        assert_eq!(glob_flags_to_local("(?i)a"), "(?i)a");
        assert_eq!(glob_flags_to_local("x((?iu)a)"), "x(?iu:a)");
        assert_eq!(glob_flags_to_local("("), "(");
    }

    #[test]
    fn empty_regex_is_an_error() {
        assert!(expand("  ", false).is_err());
    }

    #[test]
    fn group_roles() {
        assert_eq!(field_of_group("user"), GroupRole::Plain);
        assert_eq!(field_of_group("alt_"), GroupRole::Plain);
        assert_eq!(field_of_group("alt_user"), GroupRole::Alt("user".into()));
        assert_eq!(field_of_group("alt_user_2"), GroupRole::Alt("user".into()));
        assert_eq!(field_of_group("alt_user1"), GroupRole::Alt("user1".into()));
        assert_eq!(field_of_group("alt_a_b_1"), GroupRole::Alt("a_b".into()));
        assert_eq!(field_of_group("tuple_id"), GroupRole::Tuple("fid".into()));
        assert_eq!(field_of_group("tuple_port_3"), GroupRole::Tuple("fport".into()));
    }
}
