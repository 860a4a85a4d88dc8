//! Which template finds the date in a line (fail2ban's `matchTime`), and how the winners
//! bubble up the list (`_reorderTemplate`).
//!
//! 1. The last winner is tried first: an anchored one over the whole line, an unanchored one
//!    only between the previous match's start and end if the characters around them still
//!    look the same. A hit at the same place wins at once.
//! 2. Otherwise every template is tried in the current order. A hit stops the scan if the
//!    template is anchored, is the last one, or sits at distance 0 with earlier wins while the
//!    next template never matched. A hit further into the line than this template's last win
//!    (or than the last match) is kept as a candidate and the scan goes on; the closest
//!    candidate wins if nothing stops the scan.
//! 3. The winner counts a hit, remembers its distance, and may move up: to the first slot
//!    that never won, or half-way up, if its weight (`hits * weight / distance`) beats that
//!    slot's or that slot was unused for 5 minutes; else one step, under the same test.
//!
//! Positions are counted in characters, as Python does, and converted to byte offsets only
//! for searching.

use super::pattern::{LINE_BEGIN, LINE_END};
use super::shape::{Fields, Outcome};
use super::tz::LocalEffect;
use super::Compiled;
use crate::engine::Captures;

/// fail2ban's "never" distance and index.
const FAR: usize = 0x7fff_ffff;
/// A template unused this long (wall clock) may be displaced by any winner.
const UNUSED_SECS: f64 = 300.0;

/// One entry of the detector's (reorderable) list.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    /// Index into the compiled templates (their original order).
    pub tid: usize,
    pub hits: u64,
    /// Wall-clock time of the last win (0: never).
    pub last_used: f64,
    /// Distance (chars from the line start) of the last win.
    pub distance: usize,
}

impl Slot {
    pub(crate) fn weight(&self, base: f64) -> f64 {
        self.hits as f64 * base / self.distance.max(1) as f64
    }
}

/// A line with char ↔ byte conversions: the identity up to where the line is ASCII, which
/// is checked only as far as a conversion needs (dates sit near the start of long lines).
struct Text<'a> {
    s: &'a str,
    /// Length of a prefix known to be ASCII.
    known: std::cell::Cell<usize>,
}

impl<'a> Text<'a> {
    /// How much of the line [`Text::new`] checks at once: where dates usually are.
    const HEAD: usize = 64;

    fn new(s: &'a str) -> Self {
        let head = &s.as_bytes()[..s.len().min(Self::HEAD)];
        let known = if head.is_ascii() {
            head.len()
        } else {
            head.iter().position(|b| !b.is_ascii()).unwrap_or(0)
        };
        Text { s, known: std::cell::Cell::new(known) }
    }
    /// The first `n` bytes (or the whole line) are ASCII, so chars and bytes agree there.
    #[inline]
    fn ascii_upto(&self, n: usize) -> bool {
        let n = n.min(self.s.len());
        let known = self.known.get();
        if n <= known {
            return true;
        }
        let ok = self.s.as_bytes()[known..n].is_ascii();
        if ok {
            self.known.set(n);
        }
        ok
    }
    fn byte_of(&self, ci: usize) -> usize {
        if self.ascii_upto(ci) {
            ci.min(self.s.len())
        } else {
            self.s.char_indices().nth(ci).map_or(self.s.len(), |(b, _)| b)
        }
    }
    fn char_of(&self, bi: usize) -> usize {
        if self.ascii_upto(bi) {
            bi
        } else {
            self.s[..bi].chars().count()
        }
    }
    /// `line[ci]` as a one-char slice: `None` past the end.
    #[inline]
    fn char_at(&self, ci: usize) -> Option<char> {
        if self.ascii_upto(ci.saturating_add(1)) {
            self.s.as_bytes().get(ci).map(|&b| b as char)
        } else {
            self.s.chars().nth(ci)
        }
    }
    /// `line[ci-1:ci]`: `None` for 0.
    fn char_before(&self, ci: usize) -> Option<char> {
        ci.checked_sub(1).and_then(|c| self.char_at(c))
    }
}

/// Where a winner matched, as the next re-check looks at it: (chars from the line start, the
/// char before, the char at).
type Anchor = (usize, Option<char>, Option<char>);

/// The anchors of a win at chars `dist..end` of `text`: (start, end).
fn anchors(text: &Text, dist: usize, end: usize) -> (Anchor, Anchor) {
    let pos = (dist, text.char_before(dist), text.char_at(dist));
    // Python's `line[end-1]` wraps to the last char when `end` is 0.
    let end_before = if end == 0 { text.s.chars().last() } else { text.char_before(end) };
    (pos, (end, end_before, text.char_at(end)))
}

/// Python's `str.isalnum()` for one char (`""` is not alphanumeric).
fn is_alnum(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

/// The selection state of one detector.
#[derive(Debug)]
pub(crate) struct Selector {
    pub slots: Vec<Slot>,
    /// Successful searches per template, winning or not (fail2ban's `template.hits`).
    raw_hits: Vec<u64>,
    last_idx: usize,
    /// Last winner's start.
    last_pos: Anchor,
    /// Last winner's end.
    last_end: Anchor,
    first_unused: usize,
    /// How the last `select` was decided, if another selector can replay it.
    pub fast: Option<FastWin>,
    /// The wall clock for `last_used`, read every [`CLOCK_EVERY`] wins: it only matters at
    /// the 5-minute scale, and reading it for every line costs more than the rest of a win.
    clock: (f64, u32),
    /// Tests: lines [`Selector::recheck_shaped`] decided.
    #[cfg(test)]
    pub one_piece: usize,
}

/// See [`Selector::clock`].
const CLOCK_EVERY: u32 = 64;

/// A decision that depended on little of the selector's state, and that state: another
/// selector over the same templates in that state decides the same way on the same line
/// (`DateDetector::confirm_fast`). Parallel replay detects dates speculatively on worker
/// threads and confirms them in line order.
///
/// Three kinds of decision qualify: the quick re-check of the last winner (step 1 of the module
/// docs); a scan that stopped at an anchored (or the last) template after every search before
/// it failed; and a full scan after a failed re-check in which one template alone matched, once
/// (it wins whatever the counters say: at once, or as the only candidate). Whether a search
/// matches depends only on the template, the line and, for the re-check, the last winner's
/// position; so the state is the last winner, its position and the templates in the slots
/// scanned. The bookkeeping after the decision (counters, bubble-up) reads more state, but
/// the confirming selector does it on its own state; the anchors it records for the next
/// line depend only on the line and where the date is, so they travel in the record.
///
/// `Copy` and compact (112 bytes: positions as `u32`, template ids as `u16`/`u32`): a
/// parallel replay records one per line per date group, and the sequencing reads it back,
/// so it is a share of the memory a batch occupies. A decision with a position beyond
/// `u32::MAX` chars is not recorded (the sequencing then detects that line itself).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FastWin {
    tid: u16,
    /// For a sole-match decision: the last winner's template (`FAR`: none).
    sole: Option<u32>,
    /// For a scan decision: the last winner's slot and template, and the templates of the
    /// slots up to the winner.
    scan: Option<Scan>,
    /// The state decided on: the last winner's anchors before this line.
    last_pos: Mark,
    last_end: Mark,
    /// The winner's anchors in this line (its distance is `pos.0`).
    pos: Mark,
    end: Mark,
    /// What converting the date did to the mktime memory (set by `DateDetector::detect`).
    pub(crate) local: LocalEffect,
}

/// An [`Anchor`] as a [`FastWin`] records it.
type Mark = (u32, Option<char>, Option<char>);

fn mark(a: Anchor) -> Option<Mark> {
    Some((u32::try_from(a.0).ok()?, a.1, a.2))
}

fn anchor(m: Mark) -> Anchor {
    (m.0 as usize, m.1, m.2)
}

/// The longest scan a [`FastWin`] records.
const SCAN_MAX: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Scan {
    last_idx: u32,
    last_tid: u32,
    slots: [u16; SCAN_MAX],
    len: u8,
}

/// One template's search results: the regex captures, or the fields its shape matcher
/// read (then the captures are stale).
pub(crate) struct Scratch {
    pub caps: Captures,
    pub fields: Option<Fields>,
}

/// A candidate kept while the scan goes on.
struct Candidate {
    idx: usize,
    dist: usize,
    end: usize,
    spans: Vec<Option<(usize, usize)>>,
}

fn copy_spans(caps: &Captures, out: &mut Vec<Option<(usize, usize)>>) {
    out.clear();
    out.extend((0..caps.len()).map(|i| caps.get(i)));
}

/// The group spans of a template that just matched `line` (searched whole), for keeping it
/// as a candidate. Shape matchers only serve `^`-anchored templates, which never become
/// candidates; should one, its regex finds the same match again.
fn candidate_spans(
    tpl: &Compiled,
    scratch: &mut Scratch,
    line: &str,
    out: &mut Vec<Option<(usize, usize)>>,
) {
    if scratch.fields.take().is_some() {
        let found = tpl.regex.search_at(line, 0, &mut scratch.caps).unwrap_or(false);
        debug_assert!(found, "shape matcher and regex disagree");
    }
    copy_spans(&scratch.caps, out);
}

#[cold]
fn wall_clock() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Selector {
    pub(crate) fn new(count: usize) -> Selector {
        Selector {
            slots: (0..count)
                .map(|tid| Slot { tid, hits: 0, last_used: 0.0, distance: FAR })
                .collect(),
            raw_hits: vec![0; count],
            last_idx: FAR,
            last_pos: (1, None, None),
            last_end: (FAR, None, None),
            first_unused: 0,
            fast: None,
            clock: (0.0, 0),
            #[cfg(test)]
            one_piece: 0,
        }
    }

    /// Searches `line` (or its char range `[from, to)`); returns group 0 in bytes.
    ///
    /// A whole-line search first asks the template's first-byte test ([`super::first`]): it
    /// rejects only a line the regex cannot match searched from its start, which is exactly
    /// this search, so a rejection is the search's own answer.
    fn search(
        &mut self,
        tpl: &Compiled,
        scratch: &mut Scratch,
        text: &Text,
        range: Option<(usize, usize)>,
    ) -> Option<(usize, usize)> {
        scratch.fields = None;
        if range.is_none() {
            if let Some(shape) = &tpl.shape {
                match shape.matches(text.s) {
                    Outcome::Match(f) => {
                        scratch.fields = Some(f);
                        self.raw_hits[tpl.id] += 1;
                        return Some((0, usize::from(f.end)));
                    }
                    Outcome::NoMatch => return None,
                    Outcome::Unsure => {}
                }
            }
            if tpl.first.as_ref().is_some_and(|f| !f.may_match(text.s)) {
                return None;
            }
        }
        let caps = &mut scratch.caps;
        let (hay, start) = match range {
            None => (text.s, 0),
            Some((from, to)) => (&text.s[..text.byte_of(to)], text.byte_of(from)),
        };
        if start > hay.len() {
            return None;
        }
        // A search PCRE2 gives up on (match limit) counts as no match for this template.
        if !tpl.regex.search_at(hay, start, caps).unwrap_or(false) {
            return None;
        }
        self.raw_hits[tpl.id] += 1;
        caps.get(0)
    }

    /// Finds the winning template for `line` and returns its index, and whether its shape
    /// matcher decided (then its fields are in its scratch); else `spans` gets its group
    /// spans (bytes).
    pub(crate) fn select(
        &mut self,
        templates: &[Compiled],
        scratch: &mut [Scratch],
        line: &str,
        spans: &mut Vec<Option<(usize, usize)>>,
    ) -> Option<(usize, bool)> {
        let text = Text::new(line);
        let n = self.slots.len();
        self.fast = None;
        // A quick decision, recorded once the winner's anchors are known: (scan, sole).
        let mut quick: Option<(Option<Scan>, Option<u32>)> = None;
        let mut candidate: Option<Candidate> = None;
        let mut skip = FAR;
        // (slot index, distance, end) of the winner; its spans are in `caps` unless it is the
        // candidate.
        let mut winner: Option<(usize, usize, usize)> = None;

        if self.last_idx < n {
            let i = self.last_idx;
            let tid = self.slots[i].tid;
            let tpl = &templates[tid];
            let anchored = tpl.flags() & (LINE_BEGIN | LINE_END) != 0;
            let found = if anchored {
                skip = i;
                self.search(tpl, &mut scratch[tid], &text, None)
            } else {
                let (d, before, at) = self.last_pos;
                let (e, end_before, end_at) = self.last_end;
                let same_start =
                    text.char_before(d) == before || (text.char_at(d) == at && !is_alnum(at));
                let same_end = text.char_at(e) == end_at
                    || (text.char_before(e) == end_before && !is_alnum(end_before));
                if same_start && same_end {
                    self.search(tpl, &mut scratch[tid], &text, Some((d, e)))
                } else {
                    skip = i;
                    self.search(tpl, &mut scratch[tid], &text, None)
                }
            };
            if let Some((s, e)) = found {
                let (dist, end) = (text.char_of(s), text.char_of(e));
                if n == 1 || anchored || (dist == self.last_pos.0 && end == self.last_end.0) {
                    winner = Some((i, dist, end));
                    quick = Some((None, None));
                } else {
                    let mut v = Vec::new();
                    candidate_spans(tpl, &mut scratch[tid], line, &mut v);
                    candidate = Some(Candidate { idx: i, dist, end, spans: v });
                }
            }
        }

        // Matches in the scan, when the re-check matched nothing.
        let mut matches = if candidate.is_none() { 0 } else { FAR };
        if winner.is_none() {
            // No search has matched yet, so a stop at an anchored template can be replayed.
            let mut clean = candidate.is_none();
            for i in 0..n {
                if i == skip {
                    continue;
                }
                let tid = self.slots[i].tid;
                let tpl = &templates[tid];
                let Some((s, e)) = self.search(tpl, &mut scratch[tid], &text, None) else {
                    continue;
                };
                let (dist, end) = (text.char_of(s), text.char_of(e));
                if i + 1 >= n || tpl.flags() & (LINE_BEGIN | LINE_END) != 0 {
                    winner = Some((i, dist, end));
                    if clean && i < SCAN_MAX && n <= usize::from(u16::MAX) {
                        let mut slots = [0u16; SCAN_MAX];
                        for (k, s) in self.slots[..=i].iter().enumerate() {
                            slots[k] = s.tid as u16;
                        }
                        let last_tid = self.slots.get(self.last_idx).map_or(FAR, |s| s.tid);
                        // Both at most `FAR`.
                        let scan = Scan {
                            last_idx: self.last_idx as u32,
                            last_tid: last_tid as u32,
                            slots,
                            len: i as u8 + 1,
                        };
                        quick = Some((Some(scan), None));
                    }
                    break;
                }
                clean = false;
                matches += 1;
                if dist == 0 && self.slots[i].hits > 0 && self.raw_hits[self.slots[i + 1].tid] == 0
                {
                    winner = Some((i, dist, end));
                    break;
                }
                if dist > self.slots[i].distance || dist > self.last_pos.0 {
                    // Maybe a date-like text inside the message: keep the closest, go on.
                    if candidate.as_ref().map_or(FAR, |c| c.dist) > dist {
                        let mut v = Vec::new();
                        candidate_spans(tpl, &mut scratch[tid], line, &mut v);
                        candidate = Some(Candidate { idx: i, dist, end, spans: v });
                    }
                    continue;
                }
                winner = Some((i, dist, end));
                break;
            }
        }

        let mut shaped = false;
        let (i, dist, end) = match winner {
            Some(w) => {
                let s = &scratch[self.slots[w.0].tid];
                shaped = s.fields.is_some();
                if !shaped {
                    copy_spans(&s.caps, spans);
                }
                w
            }
            None => {
                let c = candidate?;
                *spans = c.spans;
                if matches == 1 {
                    let sole = self.slots.get(self.last_idx).map_or(FAR, |s| s.tid);
                    quick = Some((None, Some(sole as u32)));
                }
                (c.idx, c.dist, c.end)
            }
        };
        let tid = self.slots[i].tid;
        let (pos, end) = anchors(&text, dist, end);
        if let Some((scan, sole)) = quick {
            self.fast = self.fast_win(tid, pos, end, scan, sole);
        }
        self.won(i, pos, end, templates);
        Some((tid, shaped))
    }

    /// Step 1 for the commonest case, in one piece: the last winner is anchored and has a
    /// shape matcher, and the matcher finds its date in `line`. Returns its template and
    /// fields; `None`: nothing changed, call [`Selector::select`].
    ///
    /// Exact because it is what `select` does in that case: it searches the last winner first,
    /// over the whole line (anchored); the shape decides that search, counting a raw hit; an
    /// anchored hit wins at once, a quick decision of the re-check kind; the winner is the
    /// last winner, so `won` moves nothing. Chars and bytes agree up to the date's end
    /// (checked: the prefix is ASCII), so the distance is 0 and the end `f.end`.
    #[inline]
    pub(crate) fn recheck_shaped(
        &mut self,
        templates: &[Compiled],
        line: &str,
    ) -> Option<(usize, Fields)> {
        let i = self.last_idx;
        let tid = self.slots.get(i)?.tid;
        let tpl = &templates[tid];
        if tpl.flags() & (LINE_BEGIN | LINE_END) == 0 {
            return None;
        }
        let shape = tpl.shape.as_ref()?;
        let f = match shape.quick(line) {
            Some(f) => f,
            None => match shape.matches(line) {
                Outcome::Match(f) => f,
                _ => return None,
            },
        };
        let b = line.as_bytes();
        let end = usize::from(f.end);
        if end == 0 || !b[..b.len().min(end + 1)].is_ascii() {
            return None;
        }
        let ch = |i: usize| b.get(i).map(|&c| char::from(c));
        let (pos, end) = ((0, None, ch(0)), (end, ch(end - 1), ch(end)));
        self.raw_hits[tid] += 1;
        self.fast = self.fast_win(tid, pos, end, None, None);
        self.won(i, pos, end, templates);
        #[cfg(test)]
        {
            self.one_piece += 1;
        }
        Some((tid, f))
    }

    /// The record of a quick decision for `tid` at `pos..end`, made in this selector's
    /// current state (its last position and end); `None` if it does not fit one.
    fn fast_win(
        &self,
        tid: usize,
        pos: Anchor,
        end: Anchor,
        scan: Option<Scan>,
        sole: Option<u32>,
    ) -> Option<FastWin> {
        Some(FastWin {
            tid: u16::try_from(tid).ok()?,
            scan,
            sole,
            last_pos: mark(self.last_pos)?,
            last_end: mark(self.last_end)?,
            pos: mark(pos)?,
            end: mark(end)?,
            local: LocalEffect::Untouched,
        })
    }

    /// Replays `fw`, a quick decision another selector over the same templates made on
    /// `line`: if this selector is in the state it depended on, it wins here too, and the
    /// bookkeeping is done as [`Selector::select`] would have; else nothing changes and the
    /// caller must select.
    pub(crate) fn confirm_fast(
        &mut self,
        templates: &[Compiled],
        line: &str,
        fw: &FastWin,
    ) -> bool {
        if self.last_pos != anchor(fw.last_pos) || self.last_end != anchor(fw.last_end) {
            return false;
        }
        let tid = usize::from(fw.tid);
        let last_tid = self.slots.get(self.last_idx).map_or(FAR, |s| s.tid);
        let i = match &fw.scan {
            None if fw.sole.is_some() => {
                if fw.sole.map(|t| t as usize) != Some(last_tid) {
                    return false;
                }
                match self.slots.iter().position(|s| s.tid == tid) {
                    Some(i) => i,
                    None => return false,
                }
            }
            None => self.last_idx,
            Some(scan) => {
                let len = usize::from(scan.len);
                let same_last =
                    self.last_idx == scan.last_idx as usize && last_tid == scan.last_tid as usize;
                let same_slots = self.slots.len() >= len
                    && self.slots[..len]
                        .iter()
                        .zip(&scan.slots)
                        .all(|(s, &t)| s.tid == usize::from(t));
                if !(same_last && same_slots) {
                    return false;
                }
                len - 1
            }
        };
        if i >= self.slots.len() || self.slots[i].tid != tid {
            return false;
        }
        let (pos, end) = (anchor(fw.pos), anchor(fw.end));
        // The anchors are the line's, where the date is: the same whoever computes them.
        if cfg!(test) {
            assert_eq!(anchors(&Text::new(line), pos.0, end.0), (pos, end));
        }
        self.raw_hits[tid] += 1;
        self.won(i, pos, end, templates);
        // `fast` describes `select`'s decisions; this one is recorded already (`fw`).
        self.fast = None;
        true
    }

    /// Step 3 of the module docs for the winner in slot `i`, matched from `pos` to `end`.
    #[inline]
    fn won(&mut self, i: usize, pos: Anchor, end: Anchor, templates: &[Compiled]) {
        if self.clock.1 == 0 {
            self.clock.0 = wall_clock();
        }
        self.clock.1 = (self.clock.1 + 1) % CLOCK_EVERY;
        let slot = &mut self.slots[i];
        slot.hits += 1;
        slot.last_used = self.clock.0;
        slot.distance = pos.0;
        if self.first_unused == i {
            self.first_unused += 1;
        }
        self.last_pos = pos;
        self.last_end = end;
        let mut i = i;
        if i != 0 && i != self.last_idx {
            i = self.reorder(i, templates);
        }
        self.last_idx = i;
    }

    #[inline(never)]
    fn reorder(&mut self, num: usize, templates: &[Compiled]) -> usize {
        let base = |s: &Slot| templates[s.tid].spec.weight;
        let me = &self.slots[num];
        let weight = me.weight(base(me));
        let unused_since = me.last_used - UNUSED_SECS;
        let movable = |pos: usize| {
            let other = &self.slots[pos];
            weight > other.weight(base(other)) || unused_since > other.last_used
        };
        let mut pos = if self.first_unused < num { self.first_unused } else { num / 2 };
        if !movable(pos) {
            if pos == num - 1 {
                return num;
            }
            pos = num - 1;
            if !movable(pos) {
                return num;
            }
        }
        let slot = self.slots.remove(num);
        self.slots.insert(pos, slot);
        while self.first_unused < self.slots.len() && self.slots[self.first_unused].hits > 0 {
            self.first_unused += 1;
        }
        pos
    }
}
