//! The tail check, for a regex whose every match ends at the text end (`...$`): read the
//! text's last bytes backwards through a DFA of the regex reversed, and reject the text if
//! the DFA dies there, i.e. no match of the relaxed pattern can end where the text does.
//!
//! Why: the literal checks look at the start and the middle of a text, never at its end.
//! A text can hold every literal a regex needs and still fail at its end: sshd's second
//! `Connection closed ... <HOST>(?: port \d+ ...)$` regex is proposed for every
//! `Connection closed by 192.0.2.1 port 22 [preauth]` line, and PCRE2 backtracks through
//! every way of reading the address before it gives up (~1000 cycles). The DFA dies on the
//! `[preauth]` in ~12 bytes.
//!
//! The check stays a superset test:
//! - the DFA is built from the relaxed pattern (a superset of PCRE2's matches) followed by
//!   an optional `\n` (PCRE2's `$` also holds just before a final newline);
//! - it is a byte automaton where every non-ASCII byte stands for any non-ASCII byte: a
//!   class with non-ASCII members also accepts any run of 2-4 such bytes, a non-ASCII
//!   literal byte is any such byte. ASCII is exact; the rest can only widen the language.
//!   (The Unicode classes as UTF-8 automata would cost milliseconds to build, reversed.)
//! - only [`TAIL_BYTES`] bytes are read: if the DFA is still alive, or has seen a match,
//!   the text is a candidate. That bounds the cost on the texts the regex does match.
//!
//! Each step is a load that depends on the one before (~4 ns): 16 of them cost as much as
//! a cheap PCRE2 search. So a thread stops checking a rule whose checks rarely reject
//! (fewer than 1 in [`KEEP_IF_ONE_IN`] over [`WINDOW`] checks) for a while, then tries
//! again: in a log where the texts that reach a rule match it, the check is nearly free,
//! and where they do not, it stays on. Which texts are checked only changes the speed: a
//! text not checked is a candidate, as it would be without the check.

use std::sync::OnceLock;

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, HirKind, Repetition};

/// Bytes read from the text's end at most: enough for a `[preauth]`-like tail that the
/// regex does not allow (the commonest reason a proposed end-anchored regex fails), few
/// enough that a text the regex matches pays little for the check.
pub const TAIL_BYTES: usize = 16;

/// Checks per verdict on whether a rule's check pays.
const WINDOW: u32 = 256;
/// A check that rejects fewer than one text in this many (over a window) is rested.
const KEEP_IF_ONE_IN: u32 = 8;
/// Windows a rested check sits out.
const REST_WINDOWS: u32 = 32;

/// An NFA bigger than this gets no tail check.
const NFA_LIMIT: usize = 1 << 20;
/// What one [`Cache`] may grow to (it holds the states met, a few dozen in a homogeneous
/// log); past it the lazy DFA clears it and starts again.
const CACHE_CAPACITY: usize = 256 << 10;

/// One thread's side of a [`Tail`]: the lazy DFA's cache (once the DFA is built), and
/// whether the check pays.
#[derive(Debug)]
pub(super) struct TailState {
    cache: Option<Cache>,
    checked: u32,
    rejected: u32,
    /// Texts left before the check is tried again.
    resting: u32,
}

/// The reversed lazy DFA of one end-anchored relaxed pattern. A lazy DFA, because a full
/// one of sshd's address pattern reversed takes 20-70 ms to build; this one only builds
/// the states that the last bytes of real texts lead to. It is itself built (~0.1 ms) by
/// the first thread that checks a text, since most rules of a many-filter run never get
/// that far.
#[derive(Debug)]
pub(super) struct Tail {
    hir: Hir,
    /// `None` inside: the DFA could not be built within the size limit (no check).
    dfa: OnceLock<Option<DFA>>,
}

impl Tail {
    /// The check for `hir`, a relaxed, end-anchored pattern.
    pub(super) fn new(hir: Hir) -> Tail {
        Tail { hir, dfa: OnceLock::new() }
    }

    fn dfa(&self) -> Option<&DFA> {
        self.dfa.get_or_init(|| build(&self.hir)).as_ref()
    }

    /// A thread's state for [`Tail::may_match`].
    pub(super) fn state(&self) -> TailState {
        TailState { cache: None, checked: 0, rejected: 0, resting: 0 }
    }

    /// Whether a match may end at the end of `text` (see the module docs); `true` when the
    /// check is resting.
    #[inline]
    pub(super) fn may_match(&self, st: &mut TailState, text: &[u8]) -> bool {
        if st.resting > 0 {
            st.resting -= 1;
            return true;
        }
        let Some(dfa) = self.dfa() else { return true };
        let cache = st.cache.get_or_insert_with(|| dfa.create_cache());
        let dead = dead_within_tail(dfa, cache, text) == Some(true);
        st.checked += 1;
        st.rejected += u32::from(dead);
        if st.checked == WINDOW {
            if st.rejected * KEEP_IF_ONE_IN < WINDOW {
                st.resting = WINDOW * REST_WINDOWS;
            }
            st.checked = 0;
            st.rejected = 0;
        }
        !dead
    }
}

/// The DFA of `hir` (see the module docs); `None` past the size limit.
fn build(hir: &Hir) -> Option<DFA> {
    let newline = Hir::repetition(Repetition {
        min: 0,
        max: Some(1),
        greedy: true,
        sub: Box::new(Hir::literal(*b"\n")),
    });
    let hir = Hir::concat(vec![bytes_with_opaque_non_ascii(hir), newline]);
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .reverse(true)
                .utf8(false)
                .which_captures(WhichCaptures::None)
                .nfa_size_limit(Some(NFA_LIMIT)),
        )
        .build_from_hir(&hir)
        .ok()?;
    DFA::builder()
        .configure(
            DFA::config()
                .match_kind(MatchKind::All)
                .cache_capacity(CACHE_CAPACITY)
                .skip_cache_capacity_check(true),
        )
        .build_from_nfa(nfa)
        .ok()
}

/// `Some(true)` when no match can end at the end of `text`; `None` when the lazy DFA gave
/// up (its cache was cleared too often).
fn dead_within_tail(dfa: &DFA, cache: &mut Cache, text: &[u8]) -> Option<bool> {
    let anchored = start::Config::new().anchored(Anchored::Yes);
    let mut sid: LazyStateID = dfa.start_state(cache, &anchored).ok()?;
    let stop = text.len().saturating_sub(TAIL_BYTES);
    for &b in text[stop..].iter().rev() {
        sid = dfa.next_state(cache, sid, b).ok()?;
        if sid.is_dead() {
            return Some(true);
        }
        if sid.is_match() || sid.is_quit() {
            // A match of the bytes after `b`.
            return Some(false);
        }
    }
    if stop > 0 {
        return Some(false);
    }
    // The whole text was read: a match of all of it shows after the end-of-input step.
    let sid = dfa.next_eoi_state(cache, sid).ok()?;
    Some(!sid.is_match())
}

/// `hir` as a byte pattern: ASCII exactly, every non-ASCII byte standing for any non-ASCII
/// byte (so the language only widens), captures and look-arounds dropped.
fn bytes_with_opaque_non_ascii(hir: &Hir) -> Hir {
    let high = || Hir::class(Class::Bytes(ClassBytes::new([ClassBytesRange::new(0x80, 0xFF)])));
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Hir::empty(),
        HirKind::Literal(lit) => Hir::concat(
            lit.0.iter().map(|&b| if b < 0x80 { Hir::literal([b]) } else { high() }).collect(),
        ),
        HirKind::Class(Class::Bytes(c)) => {
            let mut c = c.clone();
            if c.ranges().iter().any(|r| r.end() >= 0x80) {
                c.push(ClassBytesRange::new(0x80, 0xFF));
            }
            Hir::class(Class::Bytes(c))
        }
        HirKind::Class(Class::Unicode(c)) => {
            let ascii = ClassBytes::new(
                c.ranges()
                    .iter()
                    .filter(|r| r.start() < '\u{80}')
                    .map(|r| ClassBytesRange::new(r.start() as u8, r.end().min('\u{7F}') as u8)),
            );
            let ascii = Hir::class(Class::Bytes(ascii));
            if c.ranges().iter().all(|r| r.end() < '\u{80}') {
                return ascii;
            }
            // One non-ASCII char: 2 to 4 bytes of 0x80..=0xFF.
            let char = Hir::repetition(Repetition {
                min: 2,
                max: Some(4),
                greedy: true,
                sub: Box::new(high()),
            });
            Hir::alternation(vec![ascii, char])
        }
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(bytes_with_opaque_non_ascii(&r.sub)),
        }),
        HirKind::Capture(c) => bytes_with_opaque_non_ascii(&c.sub),
        HirKind::Concat(hs) => Hir::concat(hs.iter().map(bytes_with_opaque_non_ascii).collect()),
        HirKind::Alternation(hs) => {
            Hir::alternation(hs.iter().map(bytes_with_opaque_non_ascii).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Checked(Tail, TailState);

    impl Checked {
        fn may_match(&mut self, text: &[u8]) -> bool {
            self.0.may_match(&mut self.1, text)
        }
    }

    fn tail(pattern: &str) -> Checked {
        let hir = regex_syntax::Parser::new().parse(pattern).unwrap();
        let t = Tail::new(hir);
        let st = t.state();
        Checked(t, st)
    }

    #[test]
    fn rejects_only_texts_no_match_can_end() {
        let mut t = tail(r"from \d+(?: port \d+)?");
        for text in ["x from 1\n", "x from 1", "from 1 port 22\n", "a long prefix ... from 7\n"] {
            assert!(t.may_match(text.as_bytes()), "{text:?}");
        }
        for text in ["from 1 [preauth]\n", "from 1\n\n", "from x\n", "", "\n"] {
            assert!(!t.may_match(text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn reads_at_most_tail_bytes() {
        let mut t = tail(r"abc \d{20}");
        let text = format!("abc {}\n", "1".repeat(20));
        assert!(t.may_match(text.as_bytes()));
        // Dies only past the last TAIL_BYTES bytes: still a candidate.
        let text = format!("abX {}\n", "1".repeat(20));
        assert!(t.may_match(text.as_bytes()));
        assert!(!tail(r"abc \d").may_match(b"abc x\n"));
    }

    #[test]
    fn non_ascii_stands_for_any_non_ascii() {
        let mut t = tail(r"é\w+");
        assert!(t.may_match("é日本\n".as_bytes()));
        assert!(t.may_match("ü日本\n".as_bytes()), "a superset: any non-ASCII byte");
        assert!(t.may_match("éab\n".as_bytes()));
        assert!(t.may_match("e日本\n".as_bytes()), "`é` may be the first bytes of `日`");
        assert!(!t.may_match("eab\n".as_bytes()));
        assert!(!tail(r"\w+").may_match("日本 \n".as_bytes()));
        assert!(tail(r"\S").may_match("日\n".as_bytes()));
        assert!(tail(r"(?s:.)").may_match("\u{10348}\n".as_bytes()));
    }
}
