//! A first-byte test for templates anchored at the line start, run before PCRE2.
//!
//! Nearly every `{^LN-BEG}` template reads `[(?iu)]^(?:\W{0,2})?X`: a match starts at the
//! line start, skips at most two non-word chars, then `X` begins. So `X`'s first byte is one
//! of the line's first three bytes (when those are ASCII, so that chars and bytes agree).
//! The two bytes `X` can begin with are the prefix literals of its relaxed form
//! ([`crate::prefilter::relax`], a superset of what PCRE2 matches; `regex-syntax`'s
//! extractor, literals cut to two bytes so the set stays finite). If no start `k` in `0..=2`
//! (after `k` non-word bytes) has such a pair, the regex cannot match: the search's answer
//! without the search.
//!
//! `relax` reports whether every top-level branch of the whole regex starts with an anchor;
//! only then is the test built, so a later branch (`^a|^b`) also starts at the line start,
//! and its text is in `X`'s relaxed language too (the set covers it).
//!
//! Datepatterns such as apache-badbots' `^[^\[]*\[({DATE})` give templates reading
//! `^[^\[]*\[X`: `[^\[]*` cannot pass a `[`, so `\[` is the line's first `[` and `X` starts
//! right after it (no `[`: no match). The same pair test then runs there, without skipping.
//! `[` has no case variants and is one byte in UTF-8, so `(?iu)` and non-ASCII text before
//! it change nothing. Only a regex without a top-level `|` gets this test (a later branch
//! would start elsewhere).
//!
//! The generic [`crate::prefilter::Prefilter`] does not fit these templates: `\W{0,2}`
//! leaves it no anchored prefix, its "contains" literals (`200`, ` 201`...) are in most
//! lines, and building it for 31 templates took ~11 ms per detector, more than it saved.

use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::prefilter::{parse_relaxed, relax, Pattern};

/// The two-byte starts a match may have (`pairs[first]` bit `second`; ASCII only), after
/// at most `skip` leading non-word chars, or right after the line's first `after` byte.
#[derive(Clone, Debug)]
pub(crate) struct FirstBytes {
    pairs: Box<[u128; 128]>,
    skip: usize,
    after: Option<u8>,
}

/// `[^\c]*\c` at the start of `rest`, for an ASCII punctuation `c`: that byte and the rest.
/// Refused when a quantifier follows (it would apply to `\c`).
fn through_first(rest: &str) -> Option<(u8, &str)> {
    let b = rest.as_bytes();
    let c = *b.get(3)?;
    let lead = b.len() >= 8
        && b[..3] == *b"[^\\"
        && c.is_ascii_punctuation()
        && b[4..7] == *b"]*\\"
        && b[7] == c;
    let x = rest.get(8..).filter(|_| lead)?;
    (!x.starts_with(['*', '+', '?', '{'])).then_some((c, x))
}

/// Whether `p` has a `|` outside every group and class (escapes and Python's class rules:
/// a `]` right after `[` or `[^` is literal).
fn has_top_level_bar(p: &str) -> bool {
    let b = p.as_bytes();
    let (mut depth, mut i) = (0usize, 0);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => {
                i += 1;
                if b.get(i) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i) == Some(&b']') {
                    i += 1;
                }
                while i < b.len() && b[i] != b']' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b'|' if depth == 0 => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

impl FirstBytes {
    /// The test for `regex` (Python syntax, compiled without options), if it can be built.
    pub(crate) fn new(regex: &str) -> Option<FirstBytes> {
        if !relax(regex, false).ok()?.anchored {
            return None;
        }
        let (flags, rest) = match regex.strip_prefix("(?iu)") {
            Some(r) => ("(?iu)", r),
            None => ("", regex),
        };
        let rest = rest.strip_prefix('^')?;
        let (skip, after, x) = match rest.strip_prefix(r"(?:\W{0,2})?") {
            Some(x) => (2, None, x),
            None => match through_first(rest) {
                Some((c, x)) if !has_top_level_bar(x) => (0, Some(c), x),
                Some(_) => return None,
                None => (0, None, rest),
            },
        };
        let text = format!("{flags}{x}");
        let (_, hir) =
            parse_relaxed(&Pattern { text: &text, multiline: false, caseless: false }).ok()?;
        // A caseless optional weekday before the month (`(?:(?P<a>mon|...) )?(?P<b>jan|...)`)
        // passes the default total of 250 literals on its way to its 79 two-byte prefixes;
        // a larger total costs nothing measurable at construction.
        let seq = Extractor::new()
            .kind(ExtractKind::Prefix)
            .limit_literal_len(2)
            .limit_total(10_000)
            .extract(&hir);
        let lits = seq.literals()?;
        if lits.is_empty() || lits.iter().any(|l| l.as_bytes().is_empty()) {
            return None;
        }
        let mut pairs = Box::new([0u128; 128]);
        for l in lits {
            let b = l.as_bytes();
            // Non-ASCII starts never reach the table (see `may_match`).
            let Some(&first) = b.first().filter(|f| f.is_ascii()) else { continue };
            pairs[usize::from(first)] |= match b.get(1) {
                // A one-byte literal (a match of one char): any second byte.
                None => u128::MAX,
                Some(&second) if second.is_ascii() => 1 << second,
                Some(_) => 0,
            };
        }
        Some(FirstBytes { pairs, skip, after })
    }

    /// False only if the regex cannot match `line` searched from its start. Lines whose
    /// first `skip + 2` bytes are not all ASCII are left to PCRE2 (there chars and bytes
    /// differ, and so may `\W` and case folding).
    #[inline]
    pub(crate) fn may_match(&self, line: &str) -> bool {
        let b = match self.after {
            None => line.as_bytes(),
            Some(c) => match memchr::memchr(c, line.as_bytes()) {
                Some(i) => &line.as_bytes()[i + 1..],
                None => return false,
            },
        };
        let head = &b[..b.len().min(self.skip + 2)];
        if !head.is_ascii() {
            return true;
        }
        if head.is_empty() {
            // No match is empty (no empty literal).
            return false;
        }
        for k in 0..=self.skip.min(head.len().saturating_sub(1)) {
            if k > 0 && is_word(head[k - 1]) {
                break;
            }
            let set = self.pairs[usize::from(head[k])];
            match head.get(k + 1) {
                Some(&second) if set & (1 << second) != 0 => return true,
                // The line ends here: only a one-char match fits, PCRE2 decides.
                None if set != 0 => return true,
                _ => {}
            }
        }
        false
    }
}

/// PCRE2's `\w` on an ASCII byte.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_only_for_anchored_templates() {
        let t = FirstBytes::new(r"^(?:\W{0,2})?((?P<Y>20[012]\d)-(?P<m>\d\d))(?=\b|\W|$)").unwrap();
        assert!(t.may_match("2005-08 x"));
        assert!(t.may_match("[ 2005-08 x"));
        assert!(!t.may_match("<38>1 2005-08 x"));
        assert!(!t.may_match("x2005-08 x"), "only non-word chars are skipped");
        assert!(!t.may_match("<21>1 2005-08 x"), "\"21\" is no year start");
        assert!(!t.may_match("x"));
        assert!(!t.may_match(""));
        // Non-ASCII heads are left to PCRE2.
        assert!(t.may_match("\u{ab}2005-08 x"));
        let t = FirstBytes::new(r"(?iu)^((?P<b>jan|feb)-(?P<d>\d\d))").unwrap();
        assert!(t.may_match("JAN-01") && t.may_match("feb-01"));
        assert!(!t.may_match(" jan-01") && !t.may_match("mar-01"));
        assert!(FirstBytes::new(r"(?=^|\b|\W)((?P<Y>\d{4}))").is_none());
        assert!(FirstBytes::new(r"^(?:\W{0,2})?(\d+)|x(\d+)").is_none());
        assert!(FirstBytes::new(r"^()").is_none());
        let t = FirstBytes::new(r"^(?:\W{0,2})?a|^b").unwrap();
        assert!(t.may_match("b") && t.may_match("--a") && !t.may_match("c"));
        assert!(t.may_match("--ax") && !t.may_match("-xa"));
    }

    #[test]
    fn after_the_first_bracket() {
        let t = FirstBytes::new(r"^[^\[]*\[((?P<Y>20[012]\d)-(?P<m>\d\d))(?=\b|\W|$)").unwrap();
        assert!(t.may_match("host sshd[2005-08] x"));
        assert!(t.may_match("\u{e9}t\u{e9} [2005-08"), "non-ASCII text before `[`");
        assert!(t.may_match("x [\u{e9}"), "non-ASCII after `[`: PCRE2 decides");
        assert!(t.may_match("x [2"), "a one-char rest: PCRE2 decides");
        assert!(!t.may_match("sshd[13] [2005-08"), "only the first `[` counts");
        assert!(!t.may_match("no bracket 2005-08"));
        assert!(!t.may_match("x ["));
        let t = FirstBytes::new(r"(?iu)^[^\[]*\[((?P<b>jan|feb)-(?P<d>\d\d))").unwrap();
        assert!(t.may_match("a [JAN-01") && !t.may_match("a [mar-01"));
        assert!(FirstBytes::new(r"^[^\[]*\[a|^b").is_none(), "top-level branches");
        assert!(FirstBytes::new(r"^[^\[]*\[(a|b)").is_some());
        assert!(FirstBytes::new(r"^[^\[]*\[[|]a").is_some(), "a bar in a class");
        assert!(FirstBytes::new(r"^[^\[]*\[\|a").is_some(), "an escaped bar");
        assert!(FirstBytes::new(r"^[^\[]*\[+a").is_none(), "a quantified bracket");
        assert!(FirstBytes::new(r"^[^\[]*\]a").is_none_or(|t| t.after.is_none()), "other bytes");
    }
}
