//! Small pieces of Python semantics that fail2ban's config reading depends on: what
//! `str.isspace`/`str.strip` and `re`'s `\w` accept, `posixpath` string operations (fail2ban
//! compares include paths as strings, so they must be built the same way), `int()` and
//! `repr()` as fail2ban-regex prints option dicts.

/// Python `str.isspace()` (and `re`'s `\s` for str patterns).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// Python `re`'s `\w` for str patterns (Unicode letters, digits, `_`). Rust's notion of
/// alphanumeric is close enough: the two differ only on rare combining marks.
pub(crate) fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Python `str.strip()`.
pub(crate) fn strip(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Python `str.lstrip()`.
pub(crate) fn lstrip(s: &str) -> &str {
    s.trim_start_matches(is_space)
}

/// `posixpath.join(a, b)`.
pub(crate) fn join(a: &str, b: &str) -> String {
    if b.starts_with('/') {
        return b.to_string();
    }
    if a.is_empty() || a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

/// `posixpath.dirname(p)`.
pub(crate) fn dirname(p: &str) -> String {
    let i = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let head = &p[..i];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// `posixpath.basename(p)`.
pub(crate) fn basename(p: &str) -> &str {
    match p.rfind('/') {
        Some(i) => &p[i + 1..],
        None => p,
    }
}

/// `posixpath.splitext(p)[0]`: strips the last extension, ignoring leading dots of the name.
pub(crate) fn strip_ext(p: &str) -> &str {
    let name_start = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let name = &p[name_start..];
    let Some(dot) = name.rfind('.') else { return p };
    if name[..dot].chars().all(|c| c == '.') {
        return p;
    }
    &p[..name_start + dot]
}

/// `posixpath.normpath(p)`.
pub(crate) fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else if p.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        if comp.is_empty() || comp == "." {
            continue;
        }
        if comp != ".." || (initial == 0 && parts.is_empty()) || parts.last() == Some(&"..") {
            parts.push(comp);
        } else if !parts.is_empty() {
            parts.pop();
        }
    }
    let out = format!("{}{}", "/".repeat(initial), parts.join("/"));
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

/// `os.path.abspath(p)`.
pub(crate) fn abspath(p: &str) -> String {
    if p.starts_with('/') {
        return normpath(p);
    }
    let cwd = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    normpath(&join(&cwd, p))
}

/// The last `n` characters of `s` (Python `s[-n:]`).
pub(crate) fn last_chars(s: &str, n: usize) -> &str {
    match s.char_indices().rev().nth(n.saturating_sub(1)) {
        Some((i, _)) if n > 0 => &s[i..],
        _ if n == 0 => "",
        _ => s,
    }
}

/// Python `int(s)` for a config value: surrounding whitespace, a sign, digits with single
/// `_` between them. `None` where Python raises `ValueError` (or the value does not fit).
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let t = strip(s);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
    {
        return None;
    }
    let mut v: i64 = 0;
    for c in digits.chars() {
        if c == '_' {
            continue;
        }
        let d = c.to_digit(10)? as i64;
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -v } else { v })
}

/// Python `repr(str)`.
pub(crate) fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if !is_printable(c) => {
                let v = c as u32;
                if v <= 0xff {
                    out.push_str(&format!("\\x{v:02x}"));
                } else if v <= 0xffff {
                    out.push_str(&format!("\\u{v:04x}"));
                } else {
                    out.push_str(&format!("\\U{v:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Approximates Python's `str.isprintable` for non-ASCII: control, format, separator
/// (other than the plain space) and private-use characters are escaped by `repr`.
fn is_printable(c: char) -> bool {
    let v = c as u32;
    !(c.is_control()
        || (c.is_whitespace() && c != ' ')
        || (0x80..=0xa0).contains(&v)
        || v == 0xad
        || (0x200b..=0x200f).contains(&v)
        || (0x2028..=0x202e).contains(&v)
        || (0x2060..=0x206f).contains(&v)
        || v == 0xfeff
        || (0xe000..=0xf8ff).contains(&v)
        || (0xfff9..=0xfffb).contains(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posixpath_like_python() {
        assert_eq!(join("/a/b", "c.conf"), "/a/b/c.conf");
        assert_eq!(join("/a/b/", "c"), "/a/b/c");
        assert_eq!(join("", "c"), "c");
        assert_eq!(join("/a", "/abs"), "/abs");
        assert_eq!(join("/a", ""), "/a/");
        assert_eq!(dirname("/a/b/c.conf"), "/a/b");
        assert_eq!(dirname("c.conf"), "");
        assert_eq!(dirname("/c.conf"), "/");
        assert_eq!(dirname("//c"), "//");
        assert_eq!(dirname("a//b"), "a");
        assert_eq!(basename("/a/b.conf"), "b.conf");
        assert_eq!(strip_ext("/a/b.conf"), "/a/b");
        assert_eq!(strip_ext("/a.d/b"), "/a.d/b");
        assert_eq!(strip_ext("/a/.hidden"), "/a/.hidden");
        assert_eq!(strip_ext("x.tar.gz"), "x.tar");
        assert_eq!(normpath("/a/./b/../c//d/"), "/a/c/d");
        assert_eq!(normpath("../a/.."), "..");
        assert_eq!(normpath("/.."), "/");
        assert_eq!(normpath("a/.."), ".");
        assert_eq!(last_chars("abcdefgh", 6), "cdefgh");
        assert_eq!(last_chars("abc", 6), "abc");
    }

    #[test]
    fn int_like_python() {
        assert_eq!(parse_int(" 5 "), Some(5));
        assert_eq!(parse_int("+1_0"), Some(10));
        assert_eq!(parse_int("-3"), Some(-3));
        assert_eq!(parse_int("1__0"), None);
        assert_eq!(parse_int("_1"), None);
        assert_eq!(parse_int("abc"), None);
        assert_eq!(parse_int(""), None);
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(repr_str("a"), "'a'");
        assert_eq!(repr_str(r"\d"), r"'\\d'");
        assert_eq!(repr_str("it's"), "\"it's\"");
        assert_eq!(repr_str("a'\""), r#"'a\'"'"#);
        assert_eq!(repr_str("a\nb"), r"'a\nb'");
        assert_eq!(repr_str("é"), "'é'");
    }
}
