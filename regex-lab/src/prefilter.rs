//! The prefilter: from each regex's literals, a cheap test that proposes which regexes may
//! match a text. It never decides: PCRE2 confirms every candidate, and a regex the
//! prefilter cannot reason about is always a candidate.
//!
//! # How a rule is built
//!
//! 1. The regex is *relaxed* ([`relax`]) into a `regex-syntax` pattern matching a superset
//!    of what PCRE2 matches (look-arounds and anchors dropped, conditionals turned into
//!    alternations, back-references into `.*`...).
//! 2. `regex-syntax`'s literal extractor gives the set of *prefix* literals every match
//!    starts with. For a regex anchored at the text start (`^...` without MULTILINE, as
//!    nearly every fail2ban failregex is on its `content`), the text must start with one of
//!    them; a first-byte table finds these rules without looking at the others.
//! 3. *Required* literals: for every suffix of every concatenation in the pattern (inside
//!    groups too), the prefix literals of that suffix must occur somewhere in any match. The
//!    two most selective sets (longest shortest literal) become "contains one of" checks
//!    (memchr's `memmem`, or Aho-Corasick for several literals). This separates the seven
//!    sshd `^User ... from <HOST> not allowed because ...` regexes without running PCRE2.
//!
//! The superset property is tested on every stock filter against every fail2ban sample
//! line (`tests/prefilter.rs`): whenever PCRE2 matches, the regex was a candidate.

mod relax;

use aho_corasick::AhoCorasick;
use memchr::memmem;
use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};
use regex_syntax::hir::{Hir, HirKind};

pub use relax::{relax, Relaxed, Unsupported};

/// One regex to build a rule for, as the engine compiles it.
#[derive(Clone, Copy, Debug)]
pub struct Pattern<'a> {
    /// The regex text as given to [`crate::engine::Regex::new`] (Python/PCRE2 syntax).
    pub text: &'a str,
    /// Compiled with MULTILINE.
    pub multiline: bool,
    /// Compiled with IGNORECASE.
    pub caseless: bool,
}

/// Candidate regexes for many texts: build once per regex list, share between threads.
#[derive(Debug)]
pub struct Prefilter {
    rules: Vec<Rule>,
    /// Rules with anchored prefixes, by the first byte of each prefix (ascending indices).
    by_first_byte: Vec<Vec<u32>>,
    /// Rules without anchored prefixes (ascending indices).
    unanchored: Vec<u32>,
    /// The "contains" checks of all unanchored rules in one Aho-Corasick pass.
    shared: Option<Shared>,
}

/// One automaton over the required literals of every unanchored rule: a single pass over
/// the text tells which literal sets occur, however many rules there are (stock filters
/// built on `__prefix_line` have no anchored literal prefix, and a replay may run dozens).
#[derive(Debug)]
struct Shared {
    ac: AhoCorasick,
    /// Literal set (index into the bitset) of each automaton pattern.
    set_of: Vec<u16>,
    /// Per unanchored rule (same order as `unanchored`), its literal sets.
    sets: Vec<Vec<u16>>,
}

/// Literal sets one shared automaton handles at most (the bitset's size).
const SHARED_SETS: usize = 256;

#[derive(Debug)]
struct Rule {
    /// The text must start with one of these.
    prefixes: Option<Vec<Box<[u8]>>>,
    /// The text must contain one literal of each.
    required: Vec<Required>,
    /// Why the regex is always a candidate, if it is.
    unfiltered: Option<String>,
    /// The literals of `required`, for a shared automaton.
    required_lits: Vec<Vec<Vec<u8>>>,
}

#[derive(Debug)]
enum Required {
    One(Box<memmem::Finder<'static>>),
    Any(AhoCorasick),
}

impl Required {
    fn new(seq: &Seq) -> Option<Required> {
        let lits = seq.literals()?;
        match lits {
            [one] => {
                Some(Required::One(Box::new(memmem::Finder::new(one.as_bytes()).into_owned())))
            }
            many => AhoCorasick::new(many.iter().map(|l| l.as_bytes())).ok().map(Required::Any),
        }
    }

    fn is_match(&self, text: &[u8]) -> bool {
        match self {
            Required::One(f) => f.find(text).is_some(),
            Required::Any(ac) => ac.is_match(text),
        }
    }

    fn describe(&self) -> String {
        match self {
            Required::One(f) => format!("{:?}", String::from_utf8_lossy(f.needle())),
            Required::Any(ac) => format!("one of {} literals", ac.patterns_len()),
        }
    }
}

/// Literal sets shorter than this (in their shortest literal) are too common to be worth a
/// search.
const MIN_REQUIRED_LEN: usize = 3;
/// At most this many "contains" checks per rule.
const MAX_REQUIRED: usize = 2;
/// At most this many literals in one "contains" set.
const MAX_REQUIRED_LITERALS: usize = 32;

impl Rule {
    fn always(why: String) -> Rule {
        Rule {
            prefixes: None,
            required: Vec::new(),
            unfiltered: Some(why),
            required_lits: Vec::new(),
        }
    }

    fn build(p: &Pattern) -> Rule {
        let relaxed = match relax(p.text, p.multiline) {
            Ok(r) => r,
            Err(e) => return Rule::always(e.to_string()),
        };
        let hir = match regex_syntax::ParserBuilder::new()
            .unicode(true)
            .utf8(true)
            .case_insensitive(p.caseless)
            .multi_line(p.multiline)
            .build()
            .parse(&relaxed.pattern)
        {
            Ok(h) => h,
            Err(e) => {
                return Rule::always(format!("regex-syntax cannot parse the relaxed form: {e}"))
            }
        };
        let prefix_seq = prefix_literals(&hir);
        let prefixes = prefix_seq.as_ref().filter(|_| relaxed.anchored).map(|s| {
            s.literals().unwrap().iter().map(|l| l.as_bytes().to_vec().into_boxed_slice()).collect()
        });
        let mut sets = Vec::new();
        if !relaxed.anchored {
            if let Some(s) = prefix_seq {
                sets.push(s);
            }
        }
        required_sets(&hir, &mut sets);
        let prefixes: Option<Vec<Box<[u8]>>> = prefixes;
        // Most selective first; drop sets that the prefix check already implies.
        sets.retain(|s| {
            let lits = s.literals().unwrap();
            lits.len() <= MAX_REQUIRED_LITERALS
                && s.min_literal_len().unwrap_or(0) >= MIN_REQUIRED_LEN
                && !prefixes.as_ref().is_some_and(|ps| {
                    ps.iter().all(|p| lits.iter().any(|l| contains(p, l.as_bytes())))
                })
        });
        sets.sort_by_key(|s| (std::cmp::Reverse(s.min_literal_len()), s.len()));
        sets.dedup_by(|a, b| a.literals() == b.literals());
        let sets: Vec<&Seq> =
            sets.iter().take(MAX_REQUIRED).filter(|s| Required::new(s).is_some()).collect();
        let required: Vec<Required> = sets.iter().filter_map(|s| Required::new(s)).collect();
        let required_lits = sets
            .iter()
            .map(|s| s.literals().unwrap().iter().map(|l| l.as_bytes().to_vec()).collect())
            .collect();
        let unfiltered = (prefixes.is_none() && required.is_empty())
            .then(|| "no literal every match must contain".to_string());
        Rule { prefixes, required, unfiltered, required_lits }
    }

    fn accepts(&self, text: &[u8]) -> bool {
        if let Some(ps) = &self.prefixes {
            if !ps.iter().any(|p| text.starts_with(p)) {
                return false;
            }
        }
        self.required.iter().all(|r| r.is_match(text))
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memmem::find(hay, needle).is_some()
}

/// The literals every match starts with, if that is a usable finite set (no empty literal).
fn prefix_literals(hir: &Hir) -> Option<Seq> {
    let mut seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    seq.dedup();
    let lits = seq.literals()?;
    (!lits.is_empty() && lits.iter().all(|l| !l.is_empty())).then_some(seq)
}

/// Literal sets one of which every match contains: the prefix literals of each suffix of
/// each concatenation, recursively through groups and `+` repetitions.
fn required_sets(hir: &Hir, out: &mut Vec<Seq>) {
    match hir.kind() {
        HirKind::Capture(c) => required_sets(&c.sub, out),
        HirKind::Repetition(r) if r.min >= 1 => required_sets(&r.sub, out),
        HirKind::Concat(children) => {
            for k in 0..children.len() {
                let suffix = Hir::concat(children[k..].to_vec());
                out.extend(prefix_literals(&suffix));
                required_sets(&children[k], out);
            }
        }
        _ => out.extend(prefix_literals(hir)),
    }
}

impl Prefilter {
    /// Builds one rule per pattern (index = position in `patterns`).
    pub fn new(patterns: &[Pattern]) -> Prefilter {
        let rules: Vec<Rule> = patterns.iter().map(Rule::build).collect();
        let mut by_first_byte = vec![Vec::new(); 256];
        let mut unanchored = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match &r.prefixes {
                Some(ps) => {
                    let mut firsts: Vec<u8> = ps.iter().map(|p| p[0]).collect();
                    firsts.sort_unstable();
                    firsts.dedup();
                    for b in firsts {
                        by_first_byte[b as usize].push(i as u32);
                    }
                }
                None => unanchored.push(i as u32),
            }
        }
        let shared = Shared::build(&rules, &unanchored);
        Prefilter { rules, by_first_byte, unanchored, shared }
    }

    /// Number of rules (patterns).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Indices of the patterns that may match `text`, ascending, into `out` (cleared first).
    /// Every pattern that matches is among them.
    pub fn candidates(&self, text: &str, out: &mut Vec<u32>) {
        out.clear();
        let text = text.as_bytes();
        let anchored: &[u32] = match text.first() {
            Some(&b) => &self.by_first_byte[b as usize],
            None => &[],
        };
        let mut present = [0u64; SHARED_SETS / 64];
        if let Some(sh) = &self.shared {
            for m in sh.ac.find_overlapping_iter(text) {
                let set = sh.set_of[m.pattern().as_usize()] as usize;
                present[set / 64] |= 1 << (set % 64);
            }
        }
        let (mut a, mut u) =
            (anchored.iter().peekable(), self.unanchored.iter().enumerate().peekable());
        loop {
            let accepted = match (a.peek(), u.peek()) {
                (Some(&&x), Some(&(_, &y))) if x < y => a.next().map(|&i| (i, None)),
                (Some(_), Some(_)) | (None, Some(_)) => u.next().map(|(k, &i)| (i, Some(k))),
                (Some(_), None) => a.next().map(|&i| (i, None)),
                (None, None) => break,
            };
            let Some((i, k)) = accepted else { break };
            let ok = match (k, &self.shared) {
                (Some(k), Some(sh)) => {
                    sh.sets[k].iter().all(|&s| present[s as usize / 64] & (1 << (s % 64)) != 0)
                }
                _ => self.rules[i as usize].accepts(text),
            };
            if ok {
                out.push(i);
            }
        }
    }

    /// Whether pattern `i` may match `text`.
    pub fn may_match(&self, i: usize, text: &str) -> bool {
        self.rules[i].accepts(text.as_bytes())
    }

    /// How pattern `i` is filtered, in words (for `explain` and debugging).
    pub fn describe(&self, i: usize) -> String {
        let r = &self.rules[i];
        if let Some(why) = &r.unfiltered {
            return format!("always a candidate ({why})");
        }
        let mut parts = Vec::new();
        if let Some(ps) = &r.prefixes {
            let shown: Vec<String> =
                ps.iter().take(4).map(|p| format!("{:?}", String::from_utf8_lossy(p))).collect();
            let more =
                if ps.len() > 4 { format!(" (+{} more)", ps.len() - 4) } else { String::new() };
            parts.push(format!("starts with {}{more}", shown.join(" | ")));
        }
        for req in &r.required {
            parts.push(format!("contains {}", req.describe()));
        }
        parts.join(", ")
    }

    /// How many patterns are always candidates.
    pub fn unfiltered(&self) -> usize {
        self.rules.iter().filter(|r| r.unfiltered.is_some()).count()
    }
}

impl Shared {
    /// `None` when there is nothing to share (fewer than two unanchored rules with literal
    /// checks) or too much for the bitset.
    fn build(rules: &[Rule], unanchored: &[u32]) -> Option<Shared> {
        let with_checks =
            unanchored.iter().filter(|&&i| !rules[i as usize].required_lits.is_empty());
        if with_checks.count() < 2 {
            return None;
        }
        let (mut lits, mut set_of, mut sets) = (Vec::new(), Vec::new(), Vec::new());
        let mut next = 0usize;
        for &i in unanchored {
            let mut mine = Vec::new();
            for set in &rules[i as usize].required_lits {
                for l in set {
                    lits.push(l.clone());
                    set_of.push(next as u16);
                }
                mine.push(next as u16);
                next += 1;
            }
            sets.push(mine);
        }
        if next > SHARED_SETS {
            return None;
        }
        let ac = AhoCorasick::new(&lits).ok()?;
        Some(Shared { ac, set_of, sets })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(patterns: &[&str]) -> Prefilter {
        let ps: Vec<Pattern> = patterns
            .iter()
            .map(|t| Pattern { text: t, multiline: false, caseless: false })
            .collect();
        Prefilter::new(&ps)
    }

    fn cands(p: &Prefilter, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        p.candidates(text, &mut out);
        out
    }

    #[test]
    fn anchored_prefixes_and_required_literals() {
        let p = pf(&[
            r"^User (?P<user>\S+|.*?) from (?P<ip4>\S+) not allowed because not listed in AllowUsers\s*$",
            r"^User (?P<user>\S+|.*?) from (?P<ip4>\S+) not allowed because listed in DenyUsers\s*$",
            r"^[aA]uthentication (?:failure|error) for (?P<user>.*) from (?P<ip4>\S+)",
            r"(?P<ip4>\d+\.\d+\.\d+\.\d+) refused",
            r"^(?P<x>\w+)$",
        ]);
        let t = "User root from 1.2.3.4 not allowed because listed in DenyUsers\n";
        assert_eq!(cands(&p, t), vec![1, 4]);
        assert_eq!(cands(&p, "authentication error for x from 1.2.3.4\n"), vec![2, 4]);
        assert_eq!(cands(&p, "Authentication succeeded\n"), vec![4]);
        assert_eq!(cands(&p, "from 1.2.3.4 refused\n"), vec![3, 4]);
        assert_eq!(cands(&p, ""), vec![4]);
        assert!(p.describe(4).starts_with("always"));
        assert!(p.describe(0).contains("starts with \"User \""), "{}", p.describe(0));
        assert!(p.describe(3).contains("refused"), "{}", p.describe(3));
    }

    #[test]
    fn relaxed_constructs_still_give_literals() {
        let p = pf(&[
            r"^Failed (?:(?P<nofail>publickey)|\S+) for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from (?P<ip4>\S+)(?(cond_user): |(?:(?:(?! from ).)*)$)",
            r"^(?i)kex_exchange",
        ]);
        assert_eq!(cands(&p, "Failed password for root from 1.2.3.4 port 2 ssh2\n"), vec![0]);
        assert_eq!(cands(&p, "Failed\n"), Vec::<u32>::new());
        assert_eq!(cands(&p, "KEX_Exchange\n"), vec![1]);
    }

    #[test]
    fn caseless_and_multiline_options() {
        let ps = [
            Pattern { text: "^abc", multiline: false, caseless: true },
            Pattern { text: "^abc", multiline: true, caseless: false },
        ];
        let p = Prefilter::new(&ps);
        assert_eq!(cands(&p, "ABC\n"), vec![0]);
        assert_eq!(cands(&p, "x\nabc\n"), vec![1]);
    }
}
