//! Pruning a doomed first alternative: when a text lacks every literal that a match through
//! the first branch of a group must contain, a twin of the regex whose first branch can
//! never match finds exactly what the regex finds, without trying that branch first.
//!
//! Why: sshd's `^Failed <cmnfailed> for ...` regex reads the user as
//! `(?P<cond_user>\S+)|...`, and ends with `(?(cond_user): |...$)`. On the common
//! `Failed password for root from 192.0.2.1 port 22 ssh2` the first branch fails only at the
//! very end, after PCRE2 has backtracked through every way to read the address and port
//! (~1000 cycles, three quarters of the search). Every match through that branch contains
//! `": "`, which the line does not: the twin `(?P<user>(?!)(?P<cond_user>\S+)|...)` goes
//! straight to the second branch.
//!
//! # Why the twin finds the same match
//!
//! PCRE2 tries the ways to match in priority order and reports the first that succeeds.
//! The twin's ways are the regex's ways minus those through the first branch, in the same
//! order; if none of those can succeed, the first success is the same way, with the same
//! groups (the pruned branch's groups stay unset, as on any way through another branch).
//! This holds when the group is not inside a repetition, a look-around or an atomic group,
//! and when nothing else can cut backtracking: patterns with atomic groups, possessive
//! quantifiers, verbs, recursion, `\Q`, branch resets, duplicate names, `(?x)` or POSIX
//! classes are not analysed.
//!
//! # Which literals
//!
//! The regex with the group reduced to its first branch, and with every later conditional
//! on a group that branch certainly sets reduced to its "yes" part, is relaxed
//! ([`super::relax`]) and its required literal sets computed as for a prefilter rule. A set
//! the whole regex does not already require is the test. Only groups whose first branch
//! sets a group a later conditional asks about are tried: that is where a first branch
//! fails late and expensively, and it keeps the analysis off most regexes.

use super::{
    implies, parse_relaxed, required_sets, LitSet, Pattern, Required, MAX_REQUIRED_LITERALS,
};

/// A regex's pruning: the test, and the twin to search when it fails.
#[derive(Debug)]
pub struct Pruning {
    /// Every match through the first branch contains one of these.
    needs: Required,
    /// The pattern with that branch made unmatchable (`(?!)` in front of it).
    pub twin: String,
}

impl Pruning {
    /// The pruning of `pattern` (Python syntax, as given to the engine), if it has one.
    pub fn of(pattern: &str, multiline: bool, caseless: bool) -> Option<Pruning> {
        let top = Scan::pattern(pattern)?;
        // The whole regex's sets, once a group is worth it.
        let mut whole: Option<Vec<LitSet>> = None;
        for (k, item) in top.iter().enumerate() {
            let Item::Group(g) = item else { continue };
            if g.quantified
                || g.alts.len() < 2
                || !matches!(g.kind, GroupKind::Capturing | GroupKind::Plain)
            {
                continue;
            }
            let first = g.alts[0];
            // Groups the first branch certainly sets: its own unquantified top-level
            // capturing groups.
            let set: Vec<&str> = Scan::items(pattern, first.0, first.1)?
                .iter()
                .filter_map(|i| match i {
                    Item::Group(c) if !c.quantified && c.kind == GroupKind::Capturing => c.name,
                    _ => None,
                })
                .collect();
            let conds = conditionals(pattern, &top[k + 1..], &set);
            if conds.is_empty() {
                continue;
            }
            // The regex through the first branch only, those conditionals resolved.
            let mut through = String::with_capacity(pattern.len());
            through.push_str(&pattern[..g.body]);
            through.push_str(&pattern[first.0..first.1]);
            // From the group's `)` on.
            let mut at = g.alts[g.alts.len() - 1].1;
            for c in &conds {
                through.push_str(&pattern[at..c.start]);
                through.push_str("(?:");
                through.push_str(&pattern[c.yes.0..c.yes.1]);
                through.push(')');
                at = c.end;
            }
            through.push_str(&pattern[at..]);
            let mine = sets(&through, multiline, caseless)?;
            let whole = match &whole {
                Some(w) => w,
                None => whole.insert(sets(pattern, multiline, caseless)?),
            };
            let needs = mine
                .into_iter()
                .filter(|s| {
                    s.len() <= MAX_REQUIRED_LITERALS
                        && s.iter().all(|l| l.len() >= 2)
                        && !whole.iter().any(|w| implies(w, s))
                })
                .min_by_key(super::selectivity)?;
            let twin = format!("{}(?!){}", &pattern[..first.0], &pattern[first.0..]);
            return Some(Pruning { needs: Required::new(needs)?, twin });
        }
        None
    }

    /// Whether `text` may hold a match through the pruned branch (else search the twin).
    #[inline]
    pub fn branch_may_match(&self, text: &str) -> bool {
        self.needs.is_match(text.as_bytes())
    }

    /// The test, in words (for tests and debugging).
    pub fn describe(&self) -> String {
        self.needs.describe()
    }
}

/// The required literal sets of `pattern` relaxed (see [`super::required_sets`]).
fn sets(pattern: &str, multiline: bool, caseless: bool) -> Option<Vec<LitSet>> {
    let (_, hir) = parse_relaxed(&Pattern { text: pattern, multiline, caseless }).ok()?;
    let mut out = Vec::new();
    required_sets(&hir, &mut out);
    Some(out)
}

/// A conditional `(?(name)yes|no)` or `(?(name)yes)` on one of `set`.
struct Conditional {
    start: usize,
    end: usize,
    yes: (usize, usize),
}

/// The conditionals on a group of `set` among `items` and inside them, in text order,
/// outermost only.
fn conditionals(p: &str, items: &[Item<'_>], set: &[&str]) -> Vec<Conditional> {
    let mut out = Vec::new();
    for item in items {
        let Item::Group(g) = item else { continue };
        match g.kind {
            GroupKind::Conditional(name) if set.contains(&name) => {
                out.push(Conditional { start: g.start, end: g.end, yes: g.alts[0] })
            }
            _ => {
                for &(s, e) in &g.alts {
                    if let Some(inner) = Scan::items(p, s, e) {
                        out.extend(conditionals(p, &inner, set));
                    }
                }
            }
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GroupKind<'a> {
    /// `(...)`, `(?P<n>...)`, `(?<n>...)`, `(?'n'...)`.
    Capturing,
    /// `(?:...)`, `(?i:...)`.
    Plain,
    /// `(?=`, `(?!`, `(?<=`, `(?<!`.
    LookAround,
    /// `(?(name)...)`.
    Conditional(&'a str),
}

#[derive(Debug)]
struct Group<'a> {
    start: usize,
    /// Where the body starts (after `(?P<name>` and the like).
    body: usize,
    /// After the closing `)`.
    end: usize,
    kind: GroupKind<'a>,
    name: Option<&'a str>,
    /// The body's alternatives at its own level.
    alts: Vec<(usize, usize)>,
    quantified: bool,
}

impl Group<'_> {
    /// A comment or a flag group (`(?#...)`, `(?i)`): no body, no alternatives.
    fn bodyless(start: usize, end: usize) -> Group<'static> {
        Group {
            start,
            body: end,
            end,
            kind: GroupKind::Plain,
            name: None,
            alts: Vec::new(),
            quantified: false,
        }
    }
}

#[derive(Debug)]
enum Item<'a> {
    Group(Group<'a>),
    /// Anything else: a char, an escape, a class, an anchor, a flag group.
    Other,
}

/// A scanner of Python/PCRE2 pattern text into items; `None` for anything it does not
/// follow (see the module docs).
struct Scan<'a> {
    p: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    /// The top-level items of a pattern without a top-level `|`.
    fn pattern(p: &'a str) -> Option<Vec<Item<'a>>> {
        for bad in ["(?>", "(*", "(?R", "(?&", "(?P>", "(?|", "\\Q", "[:", "++", "*+", "?+", "}+"] {
            if p.contains(bad) {
                return None;
            }
        }
        if p.contains("(?")
            && p.split("(?").skip(1).any(|s| flags_of(s).is_some_and(|f| f.contains(['x', 'J'])))
        {
            return None;
        }
        Scan::items(p, 0, p.len())
    }

    /// The items of `p[from..to]`, which must be one alternative.
    fn items(p: &'a str, from: usize, to: usize) -> Option<Vec<Item<'a>>> {
        let mut s = Scan { p, b: p.as_bytes(), i: from };
        let mut out = Vec::new();
        while s.i < to {
            match s.b[s.i] {
                b'|' => return None,
                b')' => return None,
                b'(' => {
                    let g = s.group()?;
                    if g.kind == GroupKind::Plain && g.alts.is_empty() {
                        out.push(Item::Other); // a flag group `(?i)` or a comment
                    } else {
                        out.push(Item::Group(g));
                    }
                }
                b'\\' => {
                    s.i += 2;
                    s.quantifier(&mut out);
                }
                b'[' => {
                    s.class()?;
                    s.quantifier(&mut out);
                }
                _ => {
                    s.i += s.p[s.i..].chars().next()?.len_utf8();
                    s.quantifier(&mut out);
                }
            }
        }
        (s.i == to).then_some(out)
    }

    /// After an atom: skips a quantifier (marking the last group quantified).
    fn quantifier(&mut self, out: &mut [Item<'a>]) -> bool {
        let q = match self.b.get(self.i) {
            Some(b'?' | b'*' | b'+') => 1,
            Some(b'{') => {
                let rest = &self.p[self.i + 1..];
                match rest.find('}') {
                    Some(e)
                        if e > 0
                            && rest[..e].bytes().all(|c| c.is_ascii_digit() || c == b',')
                            && rest[..e].bytes().any(|c| c.is_ascii_digit()) =>
                    {
                        e + 2
                    }
                    _ => 0,
                }
            }
            _ => 0,
        };
        if q == 0 {
            return false;
        }
        self.i += q;
        if self.b.get(self.i) == Some(&b'?') {
            self.i += 1;
        }
        if let Some(Item::Group(g)) = out.last_mut() {
            g.quantified = true;
        }
        true
    }

    fn class(&mut self) -> Option<()> {
        self.i += 1;
        if self.b.get(self.i) == Some(&b'^') {
            self.i += 1;
        }
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
        }
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'\\' => self.i += 2,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => self.i += 1,
            }
        }
        None
    }

    /// A group at `(`, with its alternatives; leaves `self.i` after it and its quantifier.
    fn group(&mut self) -> Option<Group<'a>> {
        let start = self.i;
        let rest = &self.p[start..];
        let (kind, name, open) = if !rest.starts_with("(?") {
            (GroupKind::Capturing, None, 1)
        } else if let Some(r) = rest.strip_prefix("(?P<").or_else(|| {
            rest.strip_prefix("(?<").filter(|r| !r.starts_with('=') && !r.starts_with('!'))
        }) {
            let e = r.find('>')?;
            (GroupKind::Capturing, Some(&r[..e]), rest.len() - r.len() + e + 1)
        } else if let Some(r) = rest.strip_prefix("(?'") {
            let e = r.find('\'')?;
            (GroupKind::Capturing, Some(&r[..e]), rest.len() - r.len() + e + 1)
        } else if rest.starts_with("(?#") {
            self.i += rest.find(')')? + 1;
            return Some(Group::bodyless(start, self.i));
        } else if let Some(r) = rest.strip_prefix("(?(") {
            let e = r.find(')')?;
            let cond = r[..e].trim_start_matches('<').trim_end_matches('>');
            let cond = cond.trim_matches('\'');
            if cond.is_empty() || !cond.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
                return None;
            }
            (GroupKind::Conditional(cond), None, 3 + e + 1)
        } else if rest.starts_with("(?:") {
            (GroupKind::Plain, None, 3)
        } else if ["(?=", "(?!", "(?<=", "(?<!"].iter().any(|l| rest.starts_with(l)) {
            (GroupKind::LookAround, None, if rest.starts_with("(?<") { 4 } else { 3 })
        } else {
            // Flags: `(?i)` (no body) or `(?i:...)`.
            let f = flags_of(&rest[2..])?;
            let after = 2 + f.len();
            match rest.as_bytes().get(after) {
                Some(b')') => {
                    self.i += after + 1;
                    return Some(Group::bodyless(start, self.i));
                }
                Some(b':') => (GroupKind::Plain, None, after + 1),
                _ => return None,
            }
        };
        let body = start + open;
        // The alternatives: split the body at its own `|`.
        self.i = body;
        let mut alts = Vec::new();
        let mut alt_start = body;
        loop {
            match self.b.get(self.i)? {
                b'|' => {
                    alts.push((alt_start, self.i));
                    self.i += 1;
                    alt_start = self.i;
                }
                b')' => {
                    alts.push((alt_start, self.i));
                    self.i += 1;
                    break;
                }
                b'(' => {
                    self.group()?;
                }
                b'\\' => self.i += 2,
                b'[' => self.class()?,
                _ => self.i += 1,
            }
        }
        let end = self.i;
        let mut g = Group { start, body, end, kind, name, alts, quantified: false };
        let mut one = [Item::Other];
        if self.quantifier(&mut one) {
            g.quantified = true;
        }
        Some(g)
    }
}

/// The flag letters at the start of `s` (after `(?`), if it is a flag group.
fn flags_of(s: &str) -> Option<&str> {
    let n = s.bytes().take_while(|c| c.is_ascii_alphabetic() || *c == b'-').count();
    (n > 0 && matches!(s.as_bytes().get(n), Some(b')' | b':'))).then(|| &s[..n])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sshd_failed_prunes_the_user_branch_that_needs_a_colon() {
        let p = r"^Failed \S+ for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from (?P<ip4>[\d.]+)(?: port \d+)?(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)";
        let pr = Pruning::of(p, false, false).expect("a pruning");
        assert_eq!(pr.describe(), "\": \"");
        assert!(pr.twin.contains("(?P<user>(?!)(?P<cond_user>\\S+)|"), "{}", pr.twin);
        assert!(!pr.branch_may_match("Failed password for root from 1.2.3.4 port 22 ssh2\n"));
        assert!(pr.branch_may_match("Failed publickey for root from 1.2.3.4 port 22 ssh2: RSA\n"));
    }

    #[test]
    fn only_where_a_conditional_asks_about_the_first_branch() {
        for p in [
            r"^(?P<a>x)|y",                  // top-level `|`
            r"^((?P<a>x)|y)+ (?(a)zz|w)",    // a repeated group
            r"^((?P<a>x)|y) (?(b)zz|w)",     // no conditional on `a`
            r"^((?>(?P<a>x))|y) (?(a)zz|w)", // atomic group somewhere
            r"^((?P<a>x)|y) (?(a)zz|w)++",   // possessive
            r"^((?P<a>x)?|y) (?(a)zz|w)",    // `a` not certainly set
        ] {
            let got = Pruning::of(p, false, false);
            assert!(got.is_none(), "{p}: {got:?}");
        }
        let pr = Pruning::of(r"^((?P<a>x)|y) (?(a)zz|w)", false, false).expect("pruning");
        assert_eq!(pr.twin, r"^((?!)(?P<a>x)|y) (?(a)zz|w)");
        assert_eq!(pr.describe(), "\"x zz\"");
        let pr = Pruning::of(r"^(?:(?P<a>x)|y) (?(a)zz|w)", false, false).expect("pruning");
        assert_eq!(pr.twin, r"^(?:(?!)(?P<a>x)|y) (?(a)zz|w)");
    }
}
