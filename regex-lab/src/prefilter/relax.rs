//! A fail2ban regex (Python `re` syntax as PCRE2 reads it) rewritten into a *relaxed* pattern
//! that `regex-syntax` parses and that matches a superset of what PCRE2 matches.
//!
//! The relaxed pattern is only mined for literals; it never decides a match. Each rewrite
//! below can only widen the language:
//! - look-arounds, `\b`, `\B`, `\G`, `\K` and the anchors `^ $ \A \z \Z` become empty
//!   (whether the pattern is anchored at the text start, or at its end, is reported
//!   separately);
//! - `(?(c)yes|no)` becomes `(?:yes|no)`, and `(?(c)yes)` becomes `(?:yes|)`;
//! - back-references become `(?s:.*)`; atomic groups and possessive quantifiers lose their
//!   atomicity;
//! - class shorthands follow PCRE2's UCP sets, which are not `regex-syntax`'s: `\w` gains
//!   `\p{N}` (PCRE2 counts `²` as a word char), `\s` gains U+180E, and `\W`, `\h`, `\p{..}`,
//!   POSIX classes or shorthands in a negated class become "any char";
//! - every other literal is written as `\x{..}`, so Python-literal characters that are
//!   meta in `regex-syntax` (`&&`, `--`, `~~`, `[` inside classes, `\<`) stay literal.
//!
//! Anything not understood is an [`Unsupported`] error: the regex is then always a candidate.

use std::fmt::Write;

/// The relaxed form of one regex.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relaxed {
    /// `regex-syntax` pattern text.
    pub pattern: String,
    /// Every match starts at the text start (`^` without MULTILINE, or `\A`, in front of
    /// every top-level branch).
    pub anchored: bool,
    /// Every match ends at the text end or just before a final `\n` (every top-level branch
    /// ends with `$` without MULTILINE, `\Z` or `\z`).
    pub end_anchored: bool,
}

/// A construct the relaxer does not handle (the regex is then never filtered).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("prefilter cannot relax {what} at offset {offset}")]
pub struct Unsupported {
    pub what: &'static str,
    pub offset: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Plain,
    /// A conditional; `true` once its top-level `|` was seen.
    Cond(bool),
}

struct Relaxer<'a> {
    p: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    out: String,
    stack: Vec<Group>,
    multiline: bool,
    /// Anchoring of the top level: `Some(true)` while every top-level branch so far began
    /// with an anchor.
    anchored: bool,
    /// At the start of a top-level branch (only flag groups seen so far).
    branch_start: bool,
    /// The last item was the anchor that anchored the current top-level branch.
    after_start_anchor: bool,
    /// Every top-level branch so far ended with an end anchor.
    end_anchored: bool,
    /// The last top-level item is an end anchor (`$` without MULTILINE, `\Z`, `\z`).
    at_end_anchor: bool,
}

/// Relaxes `pattern`; `multiline` is the MULTILINE option it is compiled with.
pub fn relax(pattern: &str, multiline: bool) -> Result<Relaxed, Unsupported> {
    let mut r = Relaxer {
        p: pattern,
        chars: pattern.char_indices().collect(),
        i: 0,
        out: String::with_capacity(pattern.len() * 2),
        stack: Vec::new(),
        multiline,
        anchored: true,
        branch_start: true,
        after_start_anchor: false,
        end_anchored: true,
        at_end_anchor: false,
    };
    r.run()?;
    Ok(Relaxed { pattern: r.out, anchored: r.anchored, end_anchored: r.end_anchored })
}

impl<'a> Relaxer<'a> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).map(|&(_, c)| c)
    }

    fn offset(&self) -> usize {
        self.chars.get(self.i).map_or(self.p.len(), |&(o, _)| o)
    }

    fn unsupported(&self, what: &'static str) -> Unsupported {
        Unsupported { what, offset: self.offset() }
    }

    fn rest(&self) -> &'a str {
        &self.p[self.offset()..]
    }

    /// An atom that is not an anchor: the current top-level branch is no longer at its start.
    fn atom(&mut self) {
        self.after_start_anchor = false;
        self.at_end_anchor = false;
        if self.stack.is_empty() && self.branch_start {
            self.anchored = false;
        }
        self.branch_start = false;
    }

    fn run(&mut self) -> Result<(), Unsupported> {
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => self.escape()?,
                '[' => {
                    self.atom();
                    self.class()?;
                }
                '(' => self.open()?,
                ')' => {
                    let g = self.stack.pop().ok_or_else(|| self.unsupported("unbalanced `)`"))?;
                    self.out.push_str(if g == Group::Cond(false) { "|)" } else { ")" });
                    self.i += 1;
                }
                '|' => {
                    match self.stack.last_mut() {
                        Some(Group::Cond(seen)) => {
                            if *seen {
                                return Err(self.unsupported("conditional with two `|`"));
                            }
                            *seen = true;
                        }
                        Some(Group::Plain) => {}
                        None => {
                            // A top-level branch that never got its anchor.
                            if self.branch_start {
                                self.anchored = false;
                            }
                            self.branch_end();
                            self.branch_start = true;
                        }
                    }
                    self.out.push('|');
                    self.i += 1;
                }
                '^' => {
                    self.anchor(!self.multiline);
                    self.i += 1;
                }
                '$' => {
                    self.anchor(false);
                    self.end_anchor(!self.multiline);
                    self.i += 1;
                }
                '*' | '+' | '?' => {
                    self.out.push(c);
                    self.i += 1;
                    self.quantifier_suffix();
                }
                '{' => self.brace(),
                '.' => {
                    self.atom();
                    self.out.push('.');
                    self.i += 1;
                }
                c => {
                    self.atom();
                    push_literal(&mut self.out, c);
                    self.i += 1;
                }
            }
        }
        if !self.stack.is_empty() {
            return Err(self.unsupported("unclosed group"));
        }
        if self.branch_start {
            // Empty last branch (or empty pattern): matches anywhere.
            self.anchored = false;
        }
        self.branch_end();
        Ok(())
    }

    /// A top-level branch ends: it is end-anchored if its last item is an end anchor.
    fn branch_end(&mut self) {
        if !self.at_end_anchor {
            self.end_anchored = false;
        }
        self.at_end_anchor = false;
    }

    /// After [`Relaxer::anchor`]: whether the anchor just emitted holds only at the text end
    /// (or before a final `\n`). Only a top-level one ends its branch.
    fn end_anchor(&mut self, at_end: bool) {
        self.at_end_anchor = at_end && self.stack.is_empty();
    }

    /// A zero-width assertion: emitted as an empty group (a quantifier may follow it).
    /// `start` tells whether it anchors at the text start.
    fn anchor(&mut self, start: bool) {
        self.at_end_anchor = false;
        if self.stack.is_empty() && self.branch_start {
            if start {
                self.branch_start = false;
                self.after_start_anchor = true;
                self.out.push_str("(?:)");
                return;
            }
            self.atom();
        }
        self.after_start_anchor = false;
        self.out.push_str("(?:)");
    }

    /// Lazy `?` is kept; possessive `+` is dropped. A quantified start anchor (`^?`) may
    /// not anchor at all.
    fn quantifier_suffix(&mut self) {
        if self.after_start_anchor {
            self.anchored = false;
        }
        // A quantified end anchor (`$?`) may not hold.
        self.at_end_anchor = false;
        match self.peek(0) {
            Some('?') => {
                self.out.push('?');
                self.i += 1;
            }
            Some('+') => self.i += 1,
            _ => {}
        }
    }

    /// `{m}`, `{m,}`, `{,n}`, `{m,n}` are quantifiers (as in Python and PCRE2 10.43+);
    /// any other `{` is a literal.
    fn brace(&mut self) {
        let rest = self.rest();
        let end = rest.find('}');
        let body = end.map(|e| &rest[1..e]);
        let parsed = body.and_then(|b| {
            let (lo, hi) = match b.split_once(',') {
                Some((lo, hi)) => (lo.trim(), Some(hi.trim())),
                None => (b.trim(), None),
            };
            let num = |s: &str| -> Option<Option<u32>> {
                if s.is_empty() {
                    Some(None)
                } else if s.bytes().all(|c| c.is_ascii_digit()) {
                    s.parse().ok().map(Some)
                } else {
                    None
                }
            };
            let lo = num(lo)?;
            let hi = match hi {
                Some(h) => Some(num(h)?),
                None => None,
            };
            if lo.is_none() && hi.is_none_or(|h| h.is_none()) {
                return None; // `{}` or `{,}`
            }
            if b.contains(' ') {
                return None; // Python does not allow spaces here
            }
            Some((lo.unwrap_or(0), hi))
        });
        match (parsed, end) {
            (Some((lo, hi)), Some(e)) => {
                match hi {
                    None => write!(self.out, "{{{lo}}}"),
                    Some(None) => write!(self.out, "{{{lo},}}"),
                    Some(Some(h)) => write!(self.out, "{{{lo},{h}}}"),
                }
                .ok();
                self.i += self.rest()[..=e].chars().count();
                self.quantifier_suffix();
            }
            _ => {
                self.atom();
                push_literal(&mut self.out, '{');
                self.i += 1;
            }
        }
    }

    fn escape(&mut self) -> Result<(), Unsupported> {
        let Some(c) = self.peek(1) else {
            return Err(self.unsupported("trailing backslash"));
        };
        self.i += 2;
        match c {
            'A' => self.anchor(true),
            'z' | 'Z' => {
                self.anchor(false);
                self.end_anchor(true);
            }
            'b' | 'B' | 'G' | 'K' => self.anchor(false),
            'd' | 'D' | 'S' => {
                self.atom();
                self.out.push('\\');
                self.out.push(c);
            }
            's' => {
                self.atom();
                self.out.push_str(r"[\s\x{180E}]");
            }
            'w' => {
                self.atom();
                self.out.push_str(r"[\w\p{N}]");
            }
            'W' | 'h' | 'H' | 'V' | 'N' => {
                self.atom();
                self.out.push_str("(?s:.)");
            }
            'v' => {
                self.atom();
                self.out.push_str(r"[\n\x0B\x0C\r\x{85}\x{2028}\x{2029}]");
            }
            'R' => {
                self.atom();
                self.out.push_str("(?s:.{1,2})");
            }
            'X' => {
                self.atom();
                self.out.push_str("(?s:.+)");
            }
            'p' | 'P' => {
                self.atom();
                self.skip_property()?;
                self.out.push_str("(?s:.)");
            }
            '1'..='9' => {
                // A back-reference (`\1`..`\99`).
                self.atom();
                if self.peek(0).is_some_and(|d| d.is_ascii_digit()) {
                    self.i += 1;
                    if self.peek(0).is_some_and(|d| d.is_ascii_digit()) {
                        return Err(self.unsupported("three-digit escape"));
                    }
                }
                self.out.push_str("(?s:.*)");
            }
            _ => {
                self.atom();
                let ch = self.simple_escape(c)?;
                push_literal(&mut self.out, ch);
            }
        }
        Ok(())
    }

    /// Escapes that stand for one char (outside or inside a class); `c` is already consumed.
    fn simple_escape(&mut self, c: char) -> Result<char, Unsupported> {
        Ok(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'f' => '\x0c',
            'a' => '\x07',
            'e' => '\x1b',
            '0' => {
                let mut v = 0u32;
                let mut k = 0;
                while k < 2 && self.peek(0).is_some_and(|d| ('0'..='7').contains(&d)) {
                    v = v * 8 + self.peek(0).unwrap().to_digit(8).unwrap();
                    self.i += 1;
                    k += 1;
                }
                char::from_u32(v).ok_or_else(|| self.unsupported("octal escape"))?
            }
            'x' => {
                let v = if self.peek(0) == Some('{') {
                    let rest = self.rest();
                    let end = rest.find('}').ok_or_else(|| self.unsupported("`\\x{` escape"))?;
                    let v = u32::from_str_radix(&rest[1..end], 16)
                        .map_err(|_| self.unsupported("`\\x{` escape"))?;
                    self.i += rest[..=end].chars().count();
                    v
                } else {
                    let h: String = (0..2).filter_map(|k| self.peek(k)).collect();
                    if h.len() != 2 || !h.chars().all(|d| d.is_ascii_hexdigit()) {
                        return Err(self.unsupported("`\\x` escape"));
                    }
                    self.i += 2;
                    u32::from_str_radix(&h, 16).unwrap()
                };
                char::from_u32(v).ok_or_else(|| self.unsupported("`\\x` escape"))?
            }
            c if c.is_ascii_alphanumeric() => return Err(self.unsupported("escape")),
            c => c,
        })
    }

    /// `\p` / `\P` were consumed: skips `{...}` or one letter.
    fn skip_property(&mut self) -> Result<(), Unsupported> {
        if self.peek(0) == Some('{') {
            let rest = self.rest();
            let end = rest.find('}').ok_or_else(|| self.unsupported("`\\p{`"))?;
            self.i += rest[..=end].chars().count();
        } else if self.peek(0).is_some() {
            self.i += 1;
        } else {
            return Err(self.unsupported("`\\p`"));
        }
        Ok(())
    }

    fn open(&mut self) -> Result<(), Unsupported> {
        let rest = self.rest();
        if rest.starts_with("(*") {
            return Err(self.unsupported("PCRE2 verb"));
        }
        if !rest.starts_with("(?") {
            self.atom();
            self.stack.push(Group::Plain);
            self.out.push_str("(?:");
            self.i += 1;
            return Ok(());
        }
        let after = &rest[2..];
        let named = ["P<", "<", "'"].iter().find(|p| {
            after.starts_with(**p) && !after.starts_with("<=") && !after.starts_with("<!")
        });
        if let Some(prefix) = named {
            let close = if *prefix == "'" { '\'' } else { '>' };
            let body = &after[prefix.len()..];
            let end = body.find(close).ok_or_else(|| self.unsupported("group name"))?;
            self.atom();
            self.stack.push(Group::Plain);
            self.out.push_str("(?:");
            self.i += rest[..2 + prefix.len() + end + 1].chars().count();
            return Ok(());
        }
        if after.starts_with("P=") {
            let end = after.find(')').ok_or_else(|| self.unsupported("`(?P=`"))?;
            self.atom();
            self.out.push_str("(?s:.*)");
            self.i += rest[..2 + end + 1].chars().count();
            return Ok(());
        }
        if after.starts_with(':') || after.starts_with('>') {
            self.atom();
            self.stack.push(Group::Plain);
            self.out.push_str("(?:");
            self.i += 3;
            return Ok(());
        }
        if after.starts_with('#') {
            let end = after.find(')').ok_or_else(|| self.unsupported("comment"))?;
            self.i += rest[..2 + end + 1].chars().count();
            return Ok(());
        }
        if ["=", "!", "<=", "<!"].iter().any(|p| after.starts_with(p)) {
            self.skip_group()?;
            self.anchor(false);
            return Ok(());
        }
        if after.starts_with('(') {
            // Conditional: `(?(name)`, `(?(1)`, `(?(<name>)`, `(?('name')`.
            let end = after.find(')').ok_or_else(|| self.unsupported("conditional"))?;
            let cond = &after[1..end];
            if cond.starts_with('?') || cond.starts_with('*') || cond == "DEFINE" {
                return Err(self.unsupported("conditional on an assertion or DEFINE"));
            }
            self.atom();
            self.stack.push(Group::Cond(false));
            self.out.push_str("(?:");
            self.i += rest[..2 + end + 1].chars().count();
            return Ok(());
        }
        // Flags: `(?ims)`, `(?i:`, `(?-i)`, `(?iu)`...
        let flag_len = after.find([')', ':']).ok_or_else(|| self.unsupported("group"))?;
        let flags = &after[..flag_len];
        let mut kept = String::new();
        for f in flags.chars() {
            match f {
                'i' | 'm' | 's' | '-' => kept.push(f),
                'u' | 'L' => {}
                _ => return Err(self.unsupported("inline flag")),
            }
        }
        if kept.split('-').next().unwrap_or("").contains('m') {
            // `(?m)` turns later `^` into line starts (kept for the rest, conservatively).
            self.multiline = true;
        }
        let kept = kept.trim_end_matches('-').to_string();
        let group = after.as_bytes()[flag_len] == b':';
        if group {
            self.atom();
            self.stack.push(Group::Plain);
            self.out.push_str(&format!("(?{kept}:"));
        } else if !kept.is_empty() {
            self.out.push_str(&format!("(?{kept})"));
        }
        self.i += rest[..2 + flag_len + 1].chars().count();
        Ok(())
    }

    /// Skips a balanced group starting at `(` (escapes and classes respected).
    fn skip_group(&mut self) -> Result<(), Unsupported> {
        let mut depth = 0usize;
        let mut in_class = false;
        let start = self.i;
        while let Some(c) = self.peek(0) {
            self.i += 1;
            match c {
                '\\' => self.i += 1,
                '[' if !in_class => {
                    in_class = true;
                    if self.peek(0) == Some('^') {
                        self.i += 1;
                    }
                    if self.peek(0) == Some(']') {
                        self.i += 1;
                    }
                }
                ']' if in_class => in_class = false,
                '(' if !in_class => depth += 1,
                ')' if !in_class => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        self.i = start;
        Err(self.unsupported("unclosed look-around"))
    }

    /// A `[...]` class, at `[`.
    fn class(&mut self) -> Result<(), Unsupported> {
        self.i += 1;
        let negated = self.peek(0) == Some('^');
        if negated {
            self.i += 1;
        }
        // Items as regex-syntax class text; `fuzzy` when one has no exact equivalent.
        let mut items = String::new();
        let mut fuzzy = false;
        let mut shorthand = false;
        let mut first = true;
        loop {
            let Some(c) = self.peek(0) else {
                return Err(self.unsupported("unclosed class"));
            };
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            if c == '[' && self.peek(1) == Some(':') {
                let rest = self.rest();
                if let Some(end) = rest.find(":]") {
                    fuzzy = true;
                    self.i += rest[..end + 2].chars().count();
                    continue;
                }
            }
            let lo = match self.class_char()? {
                ClassItem::Char(ch) => ch,
                ClassItem::Set(text) => {
                    shorthand = true;
                    match text {
                        Some(t) => items.push_str(t),
                        None => fuzzy = true,
                    }
                    continue;
                }
            };
            // A range `lo-hi` (a `-` before `]` is literal).
            if self.peek(0) == Some('-') && self.peek(1).is_some_and(|n| n != ']') {
                self.i += 1;
                match self.class_char()? {
                    ClassItem::Char(hi) => {
                        if hi < lo {
                            return Err(self.unsupported("bad class range"));
                        }
                        write!(items, "\\x{{{:X}}}-\\x{{{:X}}}", lo as u32, hi as u32).ok();
                    }
                    ClassItem::Set(_) => {
                        // `[a-\d]`: PCRE2 reads the `-` as a literal.
                        fuzzy = true;
                    }
                }
                continue;
            }
            write!(items, "\\x{{{:X}}}", lo as u32).ok();
        }
        if fuzzy || (negated && shorthand) {
            self.out.push_str("(?s:.)");
        } else if negated {
            write!(self.out, "[^{items}]").ok();
        } else if items.is_empty() {
            return Err(self.unsupported("empty class"));
        } else {
            write!(self.out, "[{items}]").ok();
        }
        Ok(())
    }

    fn class_char(&mut self) -> Result<ClassItem, Unsupported> {
        let c = self.peek(0).ok_or_else(|| self.unsupported("unclosed class"))?;
        self.i += 1;
        if c != '\\' {
            return Ok(ClassItem::Char(c));
        }
        let e = self.peek(0).ok_or_else(|| self.unsupported("unclosed class"))?;
        self.i += 1;
        Ok(match e {
            'd' => ClassItem::Set(Some(r"\d")),
            'D' => ClassItem::Set(Some(r"\D")),
            's' => ClassItem::Set(Some(r"\s\x{180E}")),
            'S' => ClassItem::Set(Some(r"\S")),
            'w' => ClassItem::Set(Some(r"\w\p{N}")),
            'v' => ClassItem::Set(Some(r"\n\x0B\x0C\r\x{85}\x{2028}\x{2029}")),
            'W' | 'h' | 'H' | 'V' | 'N' | 'R' | 'X' => ClassItem::Set(None),
            'p' | 'P' => {
                self.skip_property()?;
                ClassItem::Set(None)
            }
            'b' => ClassItem::Char('\x08'),
            e => ClassItem::Char(self.simple_escape(e)?),
        })
    }
}

enum ClassItem {
    Char(char),
    /// A shorthand class as regex-syntax class items, or `None` when there is no exact
    /// equivalent.
    Set(Option<&'static str>),
}

/// A literal char, escaped for regex-syntax when it is ASCII punctuation or a control char.
fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || !c.is_ascii() || c == ' ' {
        out.push(c);
    } else {
        write!(out, "\\x{{{:X}}}", c as u32).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites() {
        let cases: &[(&str, &str, bool)] = &[
            ("^abc$", "(?:)abc(?:)", true),
            ("abc", "abc", false),
            (r"^a|^b", "(?:)a|(?:)b", true),
            (r"^a|b", "(?:)a|b", false),
            (r"(?i)^a", "(?i)(?:)a", true),
            (r"(?:^a)", "(?:(?:)a)", false),
            (r"\Aa", "(?:)a", true),
            (r"^(?P<x>a)(?P=x)", "(?:)(?:a)(?s:.*)", true),
            (r"(?P<c>x)?(?(c)y|z)", "(?:x)?(?:y|z)", false),
            (r"(?(c)y)", "(?:y|)", false),
            (r"a(?=b)(?!c)(?<=d)(?<!e)f", "a(?:)(?:)(?:)(?:)f", false),
            (r"a(?=(b))c", "a(?:)c", false),
            (r"\d\s\w\W\S\b", r"\d[\s\x{180E}][\w\p{N}](?s:.)\S(?:)", false),
            (r"[aA]x", r"[\x{61}\x{41}]x", false),
            (r"[^:]+", r"[^\x{3A}]+", false),
            (r"[^\s]", "(?s:.)", false),
            (r"[\w\-.^_]", r"[\w\p{N}\x{2D}\x{2E}\x{5E}\x{5F}]", false),
            (r"[]a]", r"[\x{5D}\x{61}]", false),
            (r"[a-z]", r"[\x{61}-\x{7A}]", false),
            (r"[[:alpha:]]", "(?s:.)", false),
            (r"a{,3}b{2}c{1,}d{x", r"a{0,3}b{2}c{1,}d\x{7B}x", false),
            (r"a*+b++c?+", "a*b+c?", false),
            (r"a*?b+?", "a*?b+?", false),
            (r"(?>ab)", "(?:ab)", false),
            (r"\<a\>", r"\x{3C}a\x{3E}", false),
            (r"a&&b--c", r"a\x{26}\x{26}b\x{2D}\x{2D}c", false),
            (r"(?iu)x", "(?i)x", false),
            (r"\x41\x{263a}\0", r"A☺\x{0}", false),
            (r"a(?#note)b", "ab", false),
            ("^", "(?:)", true),
            ("", "", false),
        ];
        for (p, want, anchored) in cases {
            let r = relax(p, false).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!((r.pattern.as_str(), r.anchored), (*want, *anchored), "{p}");
            regex_syntax::Parser::new().parse(&r.pattern).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
    }

    #[test]
    fn end_anchors() {
        let cases: &[(&str, bool)] = &[
            ("^abc$", true),
            (r"abc\Z", true),
            (r"abc\z", true),
            ("a$|b$", true),
            ("a$|b", false),
            ("a|b$", false),
            ("(?:a|b)$", true),
            ("(?:a$|b$)", false),
            ("a$(?#note)", true),
            ("a$(?i)", true),
            ("a$?", false),
            ("a${0,1}", false),
            ("a$b", false),
            (r"a$\n", false),
            ("a$(?=x)", false),
            (r"a$\b", false),
            ("(?m)a$", false),
            ("$", true),
            ("", false),
        ];
        for (p, want) in cases {
            assert_eq!(relax(p, false).unwrap().end_anchored, *want, "{p}");
        }
        assert!(!relax("a$", true).unwrap().end_anchored, "MULTILINE");
        assert!(relax(r"a\z", true).unwrap().end_anchored, "MULTILINE");
    }

    #[test]
    fn multiline_caret_does_not_anchor() {
        assert!(!relax("^a", true).unwrap().anchored);
        assert!(!relax("(?m)^a", false).unwrap().anchored);
        assert!(relax(r"\Aa", true).unwrap().anchored);
    }

    #[test]
    fn unsupported() {
        for p in [r"(?x) a", r"\101", r"\q", r"(*UTF)a", r"(?(?=a)b|c)", "(a", "a)", r"(?(c)a|b|c)"]
        {
            assert!(relax(p, false).is_err(), "{p}");
        }
    }
}
