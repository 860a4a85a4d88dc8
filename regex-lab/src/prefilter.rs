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
//!    them. Only their first [`PREFIX_BYTES`] bytes are compared (a weaker test, so still a
//!    superset), which makes each comparison four masked 64-bit compares of the text's head.
//! 3. *Required* literals: for every suffix of every concatenation in the pattern (inside
//!    groups too), the prefix literals of that suffix must occur somewhere in any match; for
//!    an alternation whose every branch requires a set, the union of those sets. The two most
//!    selective sets (longest shortest literal) that do not imply each other become
//!    "contains one of" checks (memchr's `memmem` for one literal, a Teddy SIMD searcher for
//!    several). This separates the seven sshd `^User ... from <HOST> not allowed because ...`
//!    regexes without running PCRE2.
//! 4. A *tail check* (`prefilter/tail.rs`) for a regex whose every match ends at the text
//!    end (`...$`, nearly every sshd failregex): a lazy DFA of the relaxed pattern, reversed,
//!    reads the text's last bytes and rejects the text if no match can end there.
//!
//! # How a text is tested
//!
//! The text's first byte selects the distinct prefixes that may apply (shared between
//! rules: seven sshd rules start with `User `); each prefix that matches marks its rules.
//! Rules without a prefix are always marked. When at least three marked rules have
//! "contains" checks, a *gate* (one Teddy search for the literals of every rule's first
//! set) first rejects them all at once if none of those literals occurs: the common case
//! for a filter that does not fit the log at all (exim's rules all start with `" "`, so
//! every rule is marked on every syslog line). Then each marked rule runs its checks, the
//! tail check last. The tail checks keep per-thread state (their DFA caches), which is why
//! a thread asks through its own [`Scratch`].
//! There is no pass of an overlapping Aho-Corasick automaton: it cost ~150 ns per line.
//!
//! The superset property is tested on every stock filter against every fail2ban sample
//! line (`tests/prefilter.rs`): whenever PCRE2 matches, the regex was a candidate.

mod prune;
mod relax;
mod screen;
mod tail;

use aho_corasick::{packed, AhoCorasick, MatchKind};
use memchr::memmem;
use regex_syntax::hir::literal::{ExtractKind, Extractor, Seq};
use regex_syntax::hir::{Hir, HirKind};

pub use prune::Pruning;
pub use relax::{relax, Relaxed, Unsupported};
pub use screen::{has as screen_has, Screen};
use tail::{Tail, TailState};

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
    /// Distinct (truncated) anchored prefixes of all rules, grouped by first byte, each with
    /// the rules that have it (one entry per 64-rule word of the bitset).
    checks: Vec<PrefixCheck>,
    /// The range of `checks` for each first byte.
    by_first_byte: Vec<(u32, u32)>,
    /// Rules without anchored prefixes, as a bitset over rules.
    unanchored: Vec<u64>,
    /// Rules with "contains" checks, as a bitset over rules.
    checked: Vec<u64>,
    /// Some literal of every checked rule's first set occurs (see the module docs).
    gate: Option<Any>,
}

/// Bytes of an anchored prefix that are compared.
pub const PREFIX_BYTES: usize = 32;

/// A prefix literal of at most [`PREFIX_BYTES`] bytes, as words to compare with a text's
/// head (`(head & mask) == words` plus a length check).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Prefix {
    words: [u64; 4],
    mask: [u64; 4],
    len: usize,
    lit: Box<[u8]>,
}

/// A prefix test and the rules (bits of word `word` of the rule bitset) it marks.
#[derive(Clone, Debug)]
struct PrefixCheck {
    words: [u64; 4],
    mask: [u64; 4],
    len: usize,
    word: usize,
    bits: u64,
}

/// The first [`PREFIX_BYTES`] bytes of a text, zero-padded.
struct Head([u64; 4]);

impl Head {
    #[inline]
    fn of(text: &[u8]) -> Head {
        match text.first_chunk::<PREFIX_BYTES>() {
            Some(head) => Head(words(head)),
            None => {
                let mut buf = [0u8; PREFIX_BYTES];
                buf[..text.len()].copy_from_slice(text);
                Head(words(&buf))
            }
        }
    }
}

#[inline]
fn words(buf: &[u8; PREFIX_BYTES]) -> [u64; 4] {
    std::array::from_fn(|i| u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().unwrap()))
}

impl Prefix {
    fn new(lit: &[u8]) -> Prefix {
        let len = lit.len().min(PREFIX_BYTES);
        let (mut buf, mut m) = ([0u8; PREFIX_BYTES], [0u8; PREFIX_BYTES]);
        buf[..len].copy_from_slice(&lit[..len]);
        m[..len].fill(0xff);
        Prefix { words: words(&buf), mask: words(&m), len, lit: lit[..len].into() }
    }

    #[inline]
    fn matches(&self, head: &Head, text_len: usize) -> bool {
        head_matches(head, &self.words, &self.mask, self.len, text_len)
    }
}

#[inline]
fn head_matches(
    head: &Head,
    words: &[u64; 4],
    mask: &[u64; 4],
    len: usize,
    text_len: usize,
) -> bool {
    // One OR of four masked XORs: no branch per word.
    text_len >= len
        && ((head.0[0] & mask[0]) ^ words[0]
            | (head.0[1] & mask[1]) ^ words[1]
            | (head.0[2] & mask[2]) ^ words[2]
            | (head.0[3] & mask[3]) ^ words[3])
            == 0
}

#[derive(Debug)]
struct Rule {
    /// The text must start with one of these.
    prefixes: Option<Vec<Prefix>>,
    /// The text must contain one literal of each.
    required: Vec<Required>,
    /// For an end-anchored regex, a match must be able to end where the text does.
    tail: Option<Tail>,
    /// Why the regex is always a candidate, if it is.
    unfiltered: Option<String>,
}

/// "The text contains one of these literals".
#[derive(Debug)]
struct Required {
    lits: Vec<Vec<u8>>,
    search: Search,
}

#[derive(Debug)]
enum Search {
    One(memmem::Finder<'static>),
    Any(Any),
}

/// Whether any of several literals occurs: Teddy (SIMD) when it can be built, else
/// Aho-Corasick. Both find leftmost-first matches, which exist exactly when some literal
/// occurs; Aho-Corasick's `Standard` kind would lose the Teddy prefilter (~10x slower).
#[derive(Debug)]
enum Any {
    Teddy(packed::Searcher),
    Ac(AhoCorasick),
}

impl Any {
    fn new(lits: &[Vec<u8>]) -> Option<Any> {
        if let Some(s) = packed::Config::new().builder().extend(lits).build() {
            return Some(Any::Teddy(s));
        }
        AhoCorasick::builder().match_kind(MatchKind::LeftmostFirst).build(lits).ok().map(Any::Ac)
    }

    #[inline]
    fn is_match(&self, text: &[u8]) -> bool {
        match self {
            Any::Teddy(s) => s.find(text).is_some(),
            Any::Ac(ac) => ac.is_match(text),
        }
    }
}

impl Required {
    fn new(lits: Vec<Vec<u8>>) -> Option<Required> {
        let search = match lits.as_slice() {
            [] => return None,
            [one] => Search::One(memmem::Finder::new(one).into_owned()),
            many => Search::Any(Any::new(many)?),
        };
        Some(Required { lits, search })
    }

    #[inline]
    fn is_match(&self, text: &[u8]) -> bool {
        match &self.search {
            Search::One(f) => f.find(text).is_some(),
            Search::Any(a) => a.is_match(text),
        }
    }

    fn describe(&self) -> String {
        let shown: Vec<String> =
            self.lits.iter().take(4).map(|l| format!("{:?}", String::from_utf8_lossy(l))).collect();
        let more = match self.lits.len() {
            n if n > 4 => format!(" (+{} more)", n - 4),
            _ => String::new(),
        };
        format!("{}{more}", shown.join(" | "))
    }
}

/// Literal sets shorter than this (in their shortest literal) are too common to be worth a
/// search.
const MIN_REQUIRED_LEN: usize = 3;
/// At most this many "contains" checks per rule.
const MAX_REQUIRED: usize = 2;
/// At most this many literals in one "contains" set.
const MAX_REQUIRED_LITERALS: usize = 32;
/// The gate runs when at least this many marked rules have "contains" checks.
const GATE_MIN: u32 = 3;

/// A literal set every match contains one of (sorted, deduplicated).
type LitSet = Vec<Vec<u8>>;

/// The literals of `seq`, sorted and deduplicated, if it is finite without an empty one.
fn lits_of(seq: &Seq) -> Option<LitSet> {
    let mut v: LitSet = seq.literals()?.iter().map(|l| l.as_bytes().to_vec()).collect();
    if v.is_empty() || v.iter().any(|l| l.is_empty()) {
        return None;
    }
    v.sort();
    v.dedup();
    Some(v)
}

/// `seq` as a "contains one of" set: a literal containing another of the set is redundant.
fn lit_set(seq: &Seq) -> Option<LitSet> {
    lits_of(seq).map(without_containing)
}

fn without_containing(mut v: LitSet) -> LitSet {
    let all = v.clone();
    v.retain(|l| !all.iter().any(|o| o.len() < l.len() && contains(l, o)));
    v
}

/// Sorting key: the most selective set first (longest shortest literal, then fewest).
fn selectivity(s: &LitSet) -> (std::cmp::Reverse<usize>, usize) {
    (std::cmp::Reverse(s.iter().map(Vec::len).min().unwrap_or(0)), s.len())
}

/// `a` present implies `b` present: every literal of `a` contains one of `b`.
fn implies(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    a.iter().all(|l| b.iter().any(|o| contains(l, o)))
}

impl Rule {
    fn always(why: String) -> Rule {
        Rule { prefixes: None, required: Vec::new(), tail: None, unfiltered: Some(why) }
    }

    fn build(p: &Pattern) -> Rule {
        let (relaxed, hir) = match parse_relaxed(p) {
            Ok(r) => r,
            Err(why) => return Rule::always(why),
        };
        let prefix_set = prefix_literals(&hir).and_then(|s| lits_of(&s));
        let prefixes: Option<Vec<Prefix>> =
            prefix_set.as_ref().filter(|_| relaxed.anchored).map(|s| {
                // Truncated, then without a literal that starts with another: same test.
                let mut t: LitSet =
                    s.iter().map(|l| l[..l.len().min(PREFIX_BYTES)].to_vec()).collect();
                t.sort();
                t.dedup();
                let all = t.clone();
                t.retain(|l| !all.iter().any(|o| o.len() < l.len() && l.starts_with(o)));
                t.iter().map(|l| Prefix::new(l)).collect()
            });
        let mut sets = Vec::new();
        if !relaxed.anchored {
            sets.extend(prefix_set.clone().map(without_containing));
        }
        required_sets(&hir, &mut sets);
        // Sets implied by the full prefixes add little to the truncated ones: dropped too.
        let full = prefix_set.filter(|_| relaxed.anchored);
        // With a prefix, one "contains" check separates rules well enough; a second mostly
        // costs a search that passes.
        let max = if prefixes.is_some() { 1 } else { MAX_REQUIRED };
        let sets = choose_sets(sets, full.as_deref(), max);
        let required: Vec<Required> = sets.into_iter().filter_map(Required::new).collect();
        let unfiltered = (prefixes.is_none() && required.is_empty())
            .then(|| "no literal every match must contain".to_string());
        // Only for a rule that is filtered already: `always` rules are never asked.
        let tail = (relaxed.end_anchored && unfiltered.is_none()).then(|| Tail::new(hir));
        Rule { prefixes, required, tail, unfiltered }
    }

    fn accepts(&self, text: &[u8], tail: Option<&mut TailState>) -> bool {
        if let Some(ps) = &self.prefixes {
            let head = Head::of(text);
            if !ps.iter().any(|p| p.matches(&head, text.len())) {
                return false;
            }
        }
        self.passes_checks(text, tail)
    }

    /// The "contains" checks, then the tail check (the prefix test is done); `tail` is this
    /// rule's cache in a [`Scratch`].
    #[inline]
    fn passes_checks(&self, text: &[u8], tail: Option<&mut TailState>) -> bool {
        self.required.iter().all(|r| r.is_match(text))
            && match (&self.tail, tail) {
                (Some(t), Some(st)) => t.may_match(st, text),
                _ => true,
            }
    }
}

/// `p` relaxed ([`relax`]) and parsed by `regex-syntax` with `p`'s options; the reason when
/// it cannot be (the pattern is then never filtered).
pub fn parse_relaxed(p: &Pattern) -> Result<(Relaxed, Hir), String> {
    let relaxed = relax(p.text, p.multiline).map_err(|e| e.to_string())?;
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(true)
        .utf8(true)
        .case_insensitive(p.caseless)
        .multi_line(p.multiline)
        .build()
        .parse(&relaxed.pattern)
        .map_err(|e| format!("regex-syntax cannot parse the relaxed form: {e}"))?;
    Ok((relaxed, hir))
}

/// The "contains" sets a rule checks: selective enough, not implied by its prefixes, the
/// most selective first, none implying another (a second check that adds nothing).
fn choose_sets(mut sets: Vec<LitSet>, prefixes: Option<&[Vec<u8>]>, max: usize) -> Vec<LitSet> {
    sets.retain(|s| {
        s.len() <= MAX_REQUIRED_LITERALS
            && s.iter().all(|l| l.len() >= MIN_REQUIRED_LEN)
            && !prefixes.is_some_and(|ps| implies(ps, s))
    });
    sets.sort_by_key(selectivity);
    let mut chosen: Vec<LitSet> = Vec::new();
    for s in sets {
        if chosen.len() == max {
            break;
        }
        if chosen.iter().all(|c| !implies(c, &s) && !implies(&s, c)) {
            chosen.push(s);
        }
    }
    chosen
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
/// each concatenation, recursively through groups and `+` repetitions; for an alternation
/// whose every branch has such a set, the union of each branch's most selective one.
fn required_sets(hir: &Hir, out: &mut Vec<LitSet>) {
    match hir.kind() {
        HirKind::Capture(c) => required_sets(&c.sub, out),
        HirKind::Repetition(r) if r.min >= 1 => required_sets(&r.sub, out),
        HirKind::Concat(children) => {
            // The suffixes built from the end, each child cloned once (rebuilding every
            // suffix from a slice cloned the pattern quadratically: most of a rule's build).
            let mut sets: Vec<Option<LitSet>> = vec![None; children.len()];
            let mut suffix = Hir::empty();
            for k in (0..children.len()).rev() {
                suffix = Hir::concat(vec![children[k].clone(), suffix]);
                sets[k] = prefix_literals(&suffix).and_then(|s| lit_set(&s));
            }
            for (child, set) in children.iter().zip(sets) {
                out.extend(set);
                required_sets(child, out);
            }
        }
        HirKind::Alternation(branches) => {
            out.extend(prefix_literals(hir).and_then(|s| lit_set(&s)));
            let mut union = Vec::new();
            for b in branches {
                let mut mine = Vec::new();
                required_sets(b, &mut mine);
                mine.retain(|s| s.iter().all(|l| l.len() >= MIN_REQUIRED_LEN));
                let Some(best) = mine.into_iter().min_by_key(selectivity) else { return };
                union.extend(best);
                if union.len() > MAX_REQUIRED_LITERALS {
                    return;
                }
            }
            union.sort();
            union.dedup();
            out.push(without_containing(union));
        }
        _ => out.extend(prefix_literals(hir).and_then(|s| lit_set(&s))),
    }
}

/// One thread's means to ask a [`Prefilter`] ([`Prefilter::scratch`]): the candidates of
/// the last text, and its side of the rules' tail checks.
#[derive(Debug)]
pub struct Scratch {
    found: Vec<u32>,
    tails: Vec<Option<TailState>>,
}

impl Scratch {
    /// The candidates [`Prefilter::candidates`] found last.
    pub fn found(&self) -> &[u32] {
        &self.found
    }
}

fn bit(set: &mut [u64], i: usize) {
    set[i / 64] |= 1 << (i % 64);
}

impl Prefilter {
    /// Builds one rule per pattern (index = position in `patterns`).
    pub fn new(patterns: &[Pattern]) -> Prefilter {
        // Rules are independent and each takes a fraction of a millisecond (literal
        // extraction): with many, half of them are built on a second thread, as this is on
        // the path of a replay's start-up.
        let rules: Vec<Rule> = if patterns.len() >= 8 {
            let (first, second) = patterns.split_at(patterns.len() / 2);
            std::thread::scope(|scope| {
                let second = scope.spawn(|| second.iter().map(Rule::build).collect::<Vec<_>>());
                let mut rules: Vec<Rule> = first.iter().map(Rule::build).collect();
                rules.extend(second.join().expect("building prefilter rules panicked"));
                rules
            })
        } else {
            patterns.iter().map(Rule::build).collect()
        };
        let words = rules.len().div_ceil(64);
        // (prefix, word) → bits
        let mut prefixes: Vec<(Prefix, usize, u64)> = Vec::new();
        let mut unanchored = vec![0u64; words];
        let mut checked = vec![0u64; words];
        let mut gate_lits = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            match &r.prefixes {
                Some(ps) => {
                    let (w, b) = (i / 64, 1u64 << (i % 64));
                    for p in ps {
                        match prefixes.iter_mut().find(|(q, qw, _)| q == p && *qw == w) {
                            Some((_, _, bits)) => *bits |= b,
                            None => prefixes.push((p.clone(), w, b)),
                        }
                    }
                }
                None => bit(&mut unanchored, i),
            }
            if let Some(first) = r.required.first() {
                bit(&mut checked, i);
                gate_lits.extend(first.lits.iter().cloned());
            }
        }
        prefixes.sort_by_key(|(p, w, _)| (p.lit[0], *w));
        let mut by_first_byte = vec![(0u32, 0u32); 256];
        let mut checks = Vec::with_capacity(prefixes.len());
        for (p, word, bits) in prefixes {
            let range = &mut by_first_byte[p.lit[0] as usize];
            if range.0 == range.1 {
                *range = (checks.len() as u32, checks.len() as u32);
            }
            range.1 += 1;
            checks.push(PrefixCheck { words: p.words, mask: p.mask, len: p.len, word, bits });
        }
        gate_lits.sort();
        gate_lits.dedup();
        let checked_rules: u32 = checked.iter().map(|w| w.count_ones()).sum();
        let gate = (checked_rules >= GATE_MIN).then(|| Any::new(&gate_lits)).flatten();
        Prefilter { rules, checks, by_first_byte, unanchored, checked, gate }
    }

    /// Number of rules (patterns).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// What a thread needs to ask this prefilter (and no other).
    pub fn scratch(&self) -> Scratch {
        Scratch {
            found: Vec::new(),
            tails: self.rules.iter().map(|r| r.tail.as_ref().map(Tail::state)).collect(),
        }
    }

    /// Indices of the patterns that may match `text`, ascending (also kept in `scratch`,
    /// see [`Scratch::found`]). Every pattern that matches is among them.
    pub fn candidates<'s>(&self, text: &str, scratch: &'s mut Scratch) -> &'s [u32] {
        debug_assert_eq!(scratch.tails.len(), self.rules.len(), "a scratch of another prefilter");
        let out = &mut scratch.found;
        out.clear();
        let text = text.as_bytes();
        // Rules past the prefix test, as a bitset (on the stack for up to 64 rules).
        let n = self.unanchored.len();
        let mut one = [0u64; 1];
        let mut many;
        let marked: &mut [u64] = if n <= 1 {
            one[..n].copy_from_slice(&self.unanchored);
            &mut one[..n]
        } else {
            many = self.unanchored.clone();
            &mut many
        };
        if let Some(&b) = text.first() {
            let (from, to) = self.by_first_byte[b as usize];
            if from < to {
                let head = Head::of(text);
                for c in &self.checks[from as usize..to as usize] {
                    if head_matches(&head, &c.words, &c.mask, c.len, text.len()) {
                        marked[c.word] |= c.bits;
                    }
                }
            }
        }
        if let Some(gate) = &self.gate {
            let with_checks: u32 =
                marked.iter().zip(&self.checked).map(|(m, c)| (m & c).count_ones()).sum();
            if with_checks >= GATE_MIN && !gate.is_match(text) {
                // No rule's first "contains" check can pass.
                for (m, c) in marked.iter_mut().zip(&self.checked) {
                    *m &= !c;
                }
            }
        }
        for (w, &word) in marked.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if self.rules[i].passes_checks(text, scratch.tails[i].as_mut()) {
                    out.push(i as u32);
                }
            }
        }
        out
    }

    /// Whether pattern `i` may match `text`.
    pub fn may_match(&self, i: usize, text: &str, scratch: &mut Scratch) -> bool {
        self.rules[i].accepts(text.as_bytes(), scratch.tails[i].as_mut())
    }

    /// A literal set one of which every text pattern `i` matches contains (`None` when
    /// there is none): its most selective "contains" check, or else its anchored prefixes
    /// (a text that starts with one contains it). For screening many filters at once
    /// ([`Screen`]).
    pub fn needs(&self, i: usize) -> Option<Vec<Vec<u8>>> {
        let r = &self.rules[i];
        if let Some(first) = r.required.first() {
            return Some(first.lits.clone());
        }
        r.prefixes.as_ref().map(|ps| ps.iter().map(|p| p.lit.to_vec()).collect())
    }

    /// Whether pattern `i` is a candidate for every text (then [`Prefilter::may_match`] is
    /// always true, and need not be asked).
    pub fn always(&self, i: usize) -> bool {
        self.rules[i].unfiltered.is_some()
    }

    /// How pattern `i` is filtered, in words (for `explain` and debugging).
    pub fn describe(&self, i: usize) -> String {
        let r = &self.rules[i];
        if let Some(why) = &r.unfiltered {
            return format!("always a candidate ({why})");
        }
        let mut parts = Vec::new();
        if let Some(ps) = &r.prefixes {
            let shown: Vec<String> = ps
                .iter()
                .take(4)
                .map(|p| format!("{:?}", String::from_utf8_lossy(&p.lit)))
                .collect();
            let more =
                if ps.len() > 4 { format!(" (+{} more)", ps.len() - 4) } else { String::new() };
            parts.push(format!("starts with {}{more}", shown.join(" | ")));
        }
        for req in &r.required {
            parts.push(format!("contains {}", req.describe()));
        }
        if r.tail.is_some() {
            parts.push(format!("a match can end in its last {} bytes", tail::TAIL_BYTES));
        }
        parts.join(", ")
    }

    /// How many patterns are always candidates.
    pub fn unfiltered(&self) -> usize {
        self.rules.iter().filter(|r| r.unfiltered.is_some()).count()
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
        p.candidates(text, &mut p.scratch()).to_vec()
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
    fn long_prefixes_are_compared_on_their_head_only() {
        let long = "a".repeat(40);
        let p = pf(&[&format!("^{long}x"), &format!("^{long}y|^ab"), "^b(?:cd|c)"]);
        // Same first 32 bytes: both long rules are candidates, PCRE2 decides.
        let t = format!("{long}x\n");
        assert_eq!(cands(&p, &t), vec![0, 1]);
        assert_eq!(cands(&p, "abz\n"), vec![1]);
        // `bc` covers `bcd`: one comparison, same answer.
        assert_eq!(cands(&p, "bcd\n"), vec![2]);
        assert_eq!(cands(&p, "bx\n"), Vec::<u32>::new());
        assert!(p.describe(2).contains("starts with \"bc\""), "{}", p.describe(2));
        // Texts shorter than a prefix never match it (padding is not text).
        assert_eq!(cands(&p, "a"), Vec::<u32>::new());
    }

    #[test]
    fn alternation_requires_union_of_branch_literals() {
        // No literal prefix; each branch needs its own daemon name.
        let p = pf(&[r"^\S*\s*(?:postfix/\w+|sendmail)\[\d+\]: (?P<ip4>\S+)"]);
        assert!(p.describe(0).contains("\"postfix/\" | \"sendmail[\""), "{}", p.describe(0));
        assert_eq!(cands(&p, "host postfix/smtpd[1]: x\n"), vec![0]);
        assert_eq!(cands(&p, "host sshd[1]: x\n"), Vec::<u32>::new());
    }

    #[test]
    fn gate_rejects_all_checked_rules_at_once_and_agrees_with_each_rule() {
        // Many unanchored rules with "contains" checks (exim-like), more than 64 of them so
        // the rule bitset spans several words.
        let texts: Vec<String> =
            (0..70).map(|i| format!(r"(?P<ip4>\S+) word{i:02} here")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let p = pf(&refs);
        assert!(p.gate.is_some());
        for text in ["nothing to see\n", "1.2.3.4 word07 here\n", "x word69 here word00 here\n"] {
            let got = cands(&p, text);
            let mut scratch = p.scratch();
            let want: Vec<u32> = (0..refs.len())
                .filter(|&i| p.may_match(i, text, &mut scratch))
                .map(|i| i as u32)
                .collect();
            assert_eq!(got, want, "{text}");
        }
        assert_eq!(cands(&p, "nothing to see\n"), Vec::<u32>::new());
        assert_eq!(cands(&p, "x word69 here word00 here\n"), vec![0, 69]);
    }

    #[test]
    fn redundant_contains_checks_are_dropped() {
        let p = pf(&[
            r"^User (?P<user>\S+) from (?P<ip4>\S+) not allowed because listed in DenyUsers(?: port \d+| on \S+)?$",
        ]);
        // The set with ` port `/` on ` variants implies the bare literal: one check.
        assert_eq!(p.rules[0].required.len(), 1, "{}", p.describe(0));
        assert!(p.describe(0).contains("DenyUsers\""), "{}", p.describe(0));
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
