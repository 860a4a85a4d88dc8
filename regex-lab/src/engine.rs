//! The engine of record: every fail2ban regex is matched here, through PCRE2 with JIT.
//!
//! Why PCRE2: it is the only engine measured to agree with Python `re` on every search
//! fail2ban's stock sample tests make (look-behind, conditionals on bare group names,
//! `$` before a final `\n`, named back-references). See `notes/regex-engines.md`.
//!
//! This is the only module that talks to `pcre2`. Everything else compiles a [`Regex`]
//! and searches with a reusable [`Captures`] buffer.

use pcre2::bytes::{CaptureLocations, Regex as PcreRegex, RegexBuilder};

/// Options that change how a pattern is compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegexOptions {
    /// Python `re.MULTILINE`: `^`/`$` match at every line. fail2ban sets it on failregexes
    /// only when `maxlines > 1` at the time the regex is added.
    pub multiline: bool,
    /// Python `re.IGNORECASE` for the whole pattern.
    pub caseless: bool,
}

/// A pattern that did not compile, with the PCRE2 message and the offset in the
/// translated pattern (which is the pattern as given, apart from `(?iu)` → `(?i)`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("regex does not compile: {message} at offset {offset}\n  {pattern}\n  {caret:>width$}", caret = "^", width = offset + 1)]
pub struct CompileError {
    pub pattern: String,
    pub message: String,
    pub offset: usize,
}

/// A search that PCRE2 gave up on (match limit, depth limit, JIT stack): a catastrophic
/// pattern on one line. Callers count it as "no match" for that line and report it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("regex search aborted by PCRE2 ({message}); the line is treated as not matching")]
pub struct SearchError {
    pub message: String,
}

/// A compiled regex with the group names fail2ban needs resolved to indices once.
#[derive(Debug)]
pub struct Regex {
    pattern: String,
    re: PcreRegex,
    names: Vec<Option<String>>,
}

/// Reusable capture buffer for one [`Regex`]; allocate once, search many lines.
pub struct Captures {
    locs: CaptureLocations,
}

impl Regex {
    /// Compiles `pattern` with Python-`re` semantics: UTF, Unicode properties (`\d`, `\w`,
    /// `\s`, `\b` are Unicode-aware as in Python 3 str patterns) and JIT.
    pub fn new(pattern: &str, opts: RegexOptions) -> Result<Regex, CompileError> {
        let translated = translate(pattern);
        let mut b = RegexBuilder::new();
        b.utf(true)
            .ucp(true)
            .jit_if_available(true)
            .multi_line(opts.multiline)
            .caseless(opts.caseless)
            // Large alternations (sshd aggressive) overflow the 32 KiB default JIT stack.
            .max_jit_stack_size(Some(1 << 20));
        let re = b.build(&translated).map_err(|e| CompileError {
            pattern: pattern.to_string(),
            message: e.to_string(),
            offset: e.offset().unwrap_or(0),
        })?;
        let names = re.capture_names().to_vec();
        Ok(Regex { pattern: pattern.to_string(), re, names })
    }

    /// The pattern as given to [`Regex::new`].
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Group names by index (index 0 is the whole match and has no name).
    pub fn group_names(&self) -> &[Option<String>] {
        &self.names
    }

    /// Index of the named group, if the pattern has it.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.as_deref() == Some(name))
    }

    /// A fresh capture buffer sized for this regex.
    pub fn captures(&self) -> Captures {
        Captures { locs: self.re.capture_locations() }
    }

    /// `re.search(pattern, haystack)`: the leftmost match anywhere. Fills `caps`.
    pub fn search(&self, haystack: &str, caps: &mut Captures) -> Result<bool, SearchError> {
        match self.re.captures_read(&mut caps.locs, haystack.as_bytes()) {
            Ok(m) => Ok(m.is_some()),
            Err(e) => Err(SearchError { message: e.to_string() }),
        }
    }

    /// `re.search(pattern, haystack, pos)`: the leftmost match starting at or after byte
    /// `start`. Look-behind and `\b` still see the text before `start`, and `^` does not
    /// match at `start` (unless it is 0), as in Python. For Python's `endpos`, pass
    /// `&haystack[..endpos]`.
    pub fn search_at(
        &self,
        haystack: &str,
        start: usize,
        caps: &mut Captures,
    ) -> Result<bool, SearchError> {
        match self.re.captures_read_at(&mut caps.locs, haystack.as_bytes(), start) {
            Ok(m) => Ok(m.is_some()),
            Err(e) => Err(SearchError { message: e.to_string() }),
        }
    }

    /// Like [`Regex::search`] without captures; cheaper when only yes/no matters.
    pub fn is_match(&self, haystack: &str) -> Result<bool, SearchError> {
        self.re.is_match(haystack.as_bytes()).map_err(|e| SearchError { message: e.to_string() })
    }
}

impl Captures {
    /// Span of group `i` in the last successful search, if it participated.
    pub fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.locs.get(i)
    }

    /// Text of group `i` in `haystack` (the same haystack given to the search).
    pub fn text<'h>(&self, haystack: &'h str, i: usize) -> Option<&'h str> {
        self.locs.get(i).map(|(s, e)| &haystack[s..e])
    }

    /// Number of groups including group 0.
    pub fn len(&self) -> usize {
        self.locs.len()
    }

    /// True when the regex has no groups at all (never: group 0 always exists).
    pub fn is_empty(&self) -> bool {
        self.locs.len() == 0
    }
}

/// The only syntax change Python → PCRE2 that the stock filters and date templates need:
/// PCRE2 has no `u` flag (UTF/UCP are always on here), so `(?iu)` / `(?u)` lose the `u`.
/// `\Z` is Python's absolute end; PCRE2's `\z` is that.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let bytes = pattern.as_bytes();
    let mut i = 0;
    let mut in_class = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && i + 1 < bytes.len() {
            if !in_class && bytes[i + 1] == b'Z' {
                out.push_str("\\z");
            } else {
                // Copy the escape and the (possibly multi-byte) char after it.
                let ch_len = utf8_len(bytes[i + 1]);
                out.push_str(&pattern[i..i + 1 + ch_len]);
                i += 1 + ch_len;
                continue;
            }
            i += 2;
            continue;
        }
        if in_class {
            if c == b']' {
                in_class = false;
            }
        } else if c == b'[' {
            in_class = true;
            // `[]...]` and `[^]...]`: a leading `]` is literal in Python and PCRE2 alike.
            let mut j = i + 1;
            if j < bytes.len() && bytes[j] == b'^' {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b']' {
                out.push_str(&pattern[i..=j]);
                i = j + 1;
                continue;
            }
        } else if c == b'(' && bytes.get(i + 1) == Some(&b'?') {
            // Inline global flags: `(?iu)`, `(?u)`, `(?iu:` ... drop `u`.
            let mut j = i + 2;
            while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
                j += 1;
            }
            if j > i + 2 && j < bytes.len() && (bytes[j] == b')' || bytes[j] == b':') {
                let flags: String =
                    pattern[i + 2..j].chars().filter(|&f| f != 'u' && f != 'L').collect();
                if flags.is_empty() && bytes[j] == b')' {
                    // `(?u)` alone: nothing left to say.
                } else {
                    out.push_str("(?");
                    out.push_str(&flags);
                    out.push(bytes[j] as char);
                }
                i = j + 1;
                continue;
            }
        }
        let ch_len = utf8_len(c);
        out.push_str(&pattern[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translate_drops_u_flag_only() {
        assert_eq!(translate("(?iu)^abc"), "(?i)^abc");
        assert_eq!(translate("(?u)x"), "x");
        assert_eq!(translate(r"a\Z"), r"a\z");
        assert_eq!(translate(r"[\Z]"), r"[\Z]");
        assert_eq!(translate("(?P<u>x)"), "(?P<u>x)");
        assert_eq!(translate("(?:u)"), "(?:u)");
    }

    #[test]
    fn dollar_matches_before_final_newline_like_python() {
        let re = Regex::new("abc$", RegexOptions::default()).unwrap();
        assert!(re.is_match("xabc\n").unwrap());
        assert!(!re.is_match("abc\nd").unwrap());
    }

    #[test]
    fn bare_name_conditional_and_lookbehind() {
        let re = Regex::new(
            r"^(?P<cond_inv>invalid user )?(?P<user>\S+)(?(cond_inv) x| y)(?<=[xy])$",
            RegexOptions::default(),
        )
        .unwrap();
        assert!(re.is_match("invalid user bob x\n").unwrap());
        assert!(re.is_match("bob y\n").unwrap());
        assert!(!re.is_match("bob x\n").unwrap());
    }

    #[test]
    fn unicode_classes() {
        let re = Regex::new(r"^\w+$", RegexOptions::default()).unwrap();
        assert!(re.is_match("üñí").unwrap());
    }

    #[test]
    fn catastrophic_pattern_is_an_error_not_a_hang() {
        let re = Regex::new(r"^(a+)+$", RegexOptions::default()).unwrap();
        let subject = format!("{}b", "a".repeat(40));
        assert!(re.is_match(&subject).is_err());
    }

    #[test]
    fn compile_error_names_offset() {
        let err = Regex::new("(abc", RegexOptions::default()).unwrap_err();
        assert!(err.to_string().contains("offset"));
    }
}
