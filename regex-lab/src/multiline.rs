//! State that spans lines: the `maxlines` buffer and the MLFID cache (spec: notes §5).
//!
//! fail2ban keeps two kinds of memory between lines. With `maxlines > 1` the last lines are
//! buffered and searched together; a failregex match consumes the lines it covered (minus
//! those captured by `<SKIPLINES>`). Independently, a filter with an `mlfid` group (sshd's
//! prefregex puts the connection prefix there) merges every match of one connection into a
//! cached fail dict, so that "Connection closed" becomes a failure only after real failures,
//! and "Accepted" forgives. Both are reproduced here, quirks included, because they decide
//! fail2ban-regex's line counts.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::filter::key;
use crate::line::{FailData, TupleLine, Value};

/// fail2ban's `Utils.Cache(maxCount=100, maxTime=5*60)` for MLFID entries.
pub const MLFID_MAX_COUNT: usize = 100;
/// Entries expire this long after they were first stored (wall clock, not log time).
pub const MLFID_MAX_TIME: Duration = Duration::from_secs(300);

/// The MLFID cache: FIFO with a size cap and a time-to-live, as fail2ban's `Utils.Cache`.
///
/// When full, storing a new key drops the oldest entries: every expired one at the front and
/// then one live one. Re-storing a key keeps its position and its expiry.
#[derive(Debug, Default)]
pub struct MlfidCache {
    map: HashMap<Box<str>, Slot, BuildHasherDefault<Fnv1a>>,
    /// Insertion order; entries whose `seq` no longer matches the map are stale.
    order: VecDeque<(u64, Box<str>)>,
    seq: u64,
}

#[derive(Debug)]
struct Slot {
    data: FailData,
    expires: Instant,
    seq: u64,
}

/// FNV-1a: the keys are short connection prefixes from the log, looked up once per match;
/// SipHash's flooding resistance buys nothing against a 100-entry cache.
#[derive(Default)]
struct Fnv1a(u64);

impl Hasher for Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl MlfidCache {
    pub fn new() -> MlfidCache {
        MlfidCache::default()
    }

    /// Number of live (not yet evicted) entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Takes the cached dict out for merging, leaving its slot (position, expiry) in place.
    /// An expired entry is removed and `None` returned.
    pub fn take(&mut self, k: &str, now: Instant) -> Option<FailData> {
        let slot = self.map.get_mut(k)?;
        if slot.expires > now {
            return Some(std::mem::take(&mut slot.data));
        }
        self.unset(k);
        None
    }

    /// Stores `data` under `k`: in place if the slot exists, else as a new newest entry.
    pub fn set(&mut self, k: &str, data: FailData, now: Instant) {
        if let Some(slot) = self.map.get_mut(k) {
            slot.data = data;
            return;
        }
        if self.map.len() >= MLFID_MAX_COUNT {
            self.evict(now);
        }
        self.seq += 1;
        self.map.insert(k.into(), Slot { data, expires: now + MLFID_MAX_TIME, seq: self.seq });
        self.order.push_back((self.seq, k.into()));
        if self.order.len() > 4 * self.map.len() + 64 {
            let map = &self.map;
            self.order.retain(|(seq, k)| map.get(k).is_some_and(|s| s.seq == *seq));
        }
    }

    /// Removes `k` (a forgotten connection).
    pub fn unset(&mut self, k: &str) {
        self.map.remove(k);
    }

    fn evict(&mut self, now: Instant) {
        while let Some((seq, k)) = self.order.pop_front() {
            let Some(slot) = self.map.get(&k) else { continue };
            if slot.seq != seq {
                continue;
            }
            let alive = slot.expires > now;
            self.map.remove(&k);
            if alive && self.map.len() < MLFID_MAX_COUNT {
                break;
            }
        }
    }
}

/// How `_mergeFailure` left the fail dict: whether it is (still) the cached entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cached {
    /// The merged dict is the cache's entry: write it back after the caller's last change.
    Yes,
    /// Not cached (forgotten, or a forget with nothing cached).
    No,
}

const NOFAIL: u8 = 1;
const FORGET: u8 = 2;
const WAS_NOFAIL: u8 = 4;
const GAINED: u8 = 8;

/// fail2ban's MLFID merge of one failregex match into the connection's cached fail dict.
///
/// `fail` is the match's dict (prefregex groups under failregex groups); `matched` the lines
/// the match covered. Returns the merged dict and whether it must be written back to the
/// cache under `mlfid` (the caller may still mark it pending first).
pub fn merge(
    cache: &mut MlfidCache,
    mlfid: &str,
    mut fail: FailData,
    matched: &[Arc<TupleLine>],
    now: Instant,
) -> (FailData, Cached) {
    let mut flags = 0u8;
    if fail.truthy(key::MLFGAINED) {
        flags |= GAINED | NOFAIL;
        if !fail.truthy(key::NOFAIL) {
            let gained = fail.get(key::MLFGAINED).cloned().unwrap_or(Value::None);
            fail.set(key::NOFAIL, gained);
        }
    } else if fail.truthy(key::NOFAIL) {
        flags |= NOFAIL;
    }
    if fail.pop(key::MLFFORGET).is_some_and(|v| v.truthy()) {
        flags |= FORGET;
    }
    let cached = if cache.is_empty() { None } else { cache.take(mlfid, now) };
    let (mut fail, state) = match cached {
        Some(mut entry) => {
            update_users(&mut entry, fail.get(key::USER));
            if entry.pop(key::NOFAIL).is_some_and(|v| v.truthy()) {
                flags |= WAS_NOFAIL;
            }
            if entry.pop(key::MLFGAINED).is_some_and(|v| v.truthy()) {
                flags |= WAS_NOFAIL;
            }
            if flags & GAINED != 0 {
                entry.pop(key::MLFPENDING);
            }
            // No pending failure: the earlier matches were already reported.
            if flags & WAS_NOFAIL == 0 && !entry.truthy(key::MLFPENDING) {
                entry.pop(key::MATCHES);
            }
            entry.update_not_none(fail);
            if flags & FORGET != 0 {
                cache.unset(mlfid);
                (entry, Cached::No)
            } else {
                (entry, Cached::Yes)
            }
        }
        None if flags & FORGET == 0 => {
            let user = fail.get(key::USER).cloned();
            update_users(&mut fail, user.as_ref());
            (fail, Cached::Yes)
        }
        None => (fail, Cached::No),
    };
    let many_users = matches!(fail.get(key::USERS), Some(Value::Set(s)) if s.len() > 1);
    if fail.pop(key::MLFPENDING).is_some_and(|v| v.truthy()) || many_users {
        // Pending failures or several users: "closed"/"accepted" no longer forgive.
        fail.pop(key::NOFAIL);
        fail.pop(key::MLFGAINED);
        flags &= !(GAINED | NOFAIL);
    }
    if flags & NOFAIL == 0 {
        let mut m = match fail.pop(key::NOFAIL_MATCHES) {
            Some(Value::Lines(l)) => l,
            _ => Vec::new(),
        };
        if let Some(Value::Lines(l)) = fail.get(key::MATCHES) {
            m.extend(l.iter().cloned());
        }
        if flags & GAINED == 0 {
            m.extend(matched.iter().cloned());
        }
        fail.set(key::MATCHES, Value::Lines(m));
    } else if flags & (NOFAIL | FORGET) == NOFAIL {
        let mut m = match fail.get(key::NOFAIL_MATCHES) {
            Some(Value::Lines(l)) => l.clone(),
            _ => Vec::new(),
        };
        m.extend(matched.iter().cloned());
        fail.set(key::NOFAIL_MATCHES, Value::Lines(m));
    }
    (fail, state)
}

/// Adds a non-empty `user` to the dict's `users` set (created on first use).
fn update_users(fail: &mut FailData, user: Option<&Value>) {
    let Some(Value::Str(u)) = user else { return };
    if u.is_empty() {
        return;
    }
    match fail.get_mut(key::USERS) {
        Some(Value::Set(s)) => {
            s.insert(u.clone());
        }
        _ => fail.set(key::USERS, Value::Set([u.clone()].into_iter().collect())),
    }
}

/// Which buffered lines a multi-line match covered, as fail2ban's `Regex.search` computes it.
#[derive(Debug, Default, Clone)]
pub struct LineSplit {
    pub matched: Vec<Arc<TupleLine>>,
    pub unmatched: Vec<Arc<TupleLine>>,
}

/// Maps a match `start..end` in `buf` (the buffer text searched) onto `org` (the buffer's
/// original lines): lines from the one holding `start` to the one holding `end - 1` are
/// matched, except lines equal to one of `skipped` (text captured by `<SKIPLINES>`), which
/// go back to the unmatched lines. `buf` need not be built from `org` (after a content
/// substitution or an earlier match it is not); the line numbers are applied anyway.
pub fn split_lines(
    buf: &str,
    start: usize,
    end: usize,
    org: &[Arc<TupleLine>],
    skipped: &str,
) -> LineSplit {
    if org.len() <= 1 {
        return LineSplit { matched: org.to_vec(), unmatched: Vec::new() };
    }
    let b = buf.as_bytes();
    let line_start = memchr::memrchr(b'\n', &b[..(start + 1).min(b.len())]).map_or(0, |i| i + 1);
    // Python's `index("\n", end - 1)`, where -1 means "from the last character".
    let from = if end == 0 { b.len().saturating_sub(1) } else { end - 1 };
    let line_end = memchr::memchr(b'\n', &b[from.min(b.len())..]).map_or(b.len(), |i| from + i + 1);
    let count = |upto: usize| memchr::memchr_iter(b'\n', &b[..upto]).count();
    let (lc1, lc2) = (count(line_start), count(line_end));
    let mut matched = py_slice(org, lc1, lc2);
    let mut unmatched = py_slice(org, 0, lc1);
    let mut n = 0;
    for skipped_line in py_splitlines(skipped) {
        if let Some(m) = matched.iter().skip(n).position(|l| l.text_eq(skipped_line)) {
            unmatched.push(matched.remove(n + m));
            n += m;
        }
    }
    unmatched.extend_from_slice(&org[lc2.min(org.len())..]);
    LineSplit { matched, unmatched }
}

/// Python's `list[a:b]` for non-negative bounds: clamped, empty when `a >= b`.
fn py_slice<T: Clone>(v: &[T], a: usize, b: usize) -> Vec<T> {
    let (a, b) = (a.min(v.len()), b.min(v.len()));
    if a >= b {
        Vec::new()
    } else {
        v[a..b].to_vec()
    }
}

/// Python's `str.splitlines()` (no ends kept): every Unicode line boundary splits.
pub fn py_splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let is_break = matches!(
            c,
            '\n' | '\r'
                | '\u{0b}'
                | '\u{0c}'
                | '\u{1c}'
                | '\u{1d}'
                | '\u{1e}'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if !is_break {
            continue;
        }
        out.push(&s[start..i]);
        let mut next = i + c.len_utf8();
        if c == '\r' {
            if let Some((j, '\n')) = it.peek().copied() {
                it.next();
                next = j + 1;
            }
        }
        start = next;
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tl(s: &str) -> Arc<TupleLine> {
        Arc::new(TupleLine::new("", "", s))
    }

    fn texts(v: &[Arc<TupleLine>]) -> Vec<String> {
        v.iter().map(|l| l.text()).collect()
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(py_splitlines("a\nb\r\nc\rd\u{2028}e\n"), ["a", "b", "c", "d", "e"]);
        assert_eq!(py_splitlines(""), Vec::<&str>::new());
        assert_eq!(py_splitlines("\n\n"), ["", ""]);
        assert_eq!(py_splitlines("x"), ["x"]);
    }

    #[test]
    fn split_lines_maps_match_to_buffer_lines() {
        let org: Vec<_> = ["l0", "l1", "l2", "l3"].iter().map(|s| tl(s)).collect();
        let buf = "l0\nl1\nl2\nl3\n";
        // Match "1\nl2" → lines 1..3.
        let s = split_lines(buf, 4, 8, &org, "");
        assert_eq!(texts(&s.matched), ["l1", "l2"]);
        assert_eq!(texts(&s.unmatched), ["l0", "l3"]);
        // A skipped line goes back to the unmatched ones, after the leading ones.
        let s = split_lines(buf, 0, 11, &org, "l1\n");
        assert_eq!(texts(&s.matched), ["l0", "l2", "l3"]);
        assert_eq!(texts(&s.unmatched), ["l1"]);
        // A single buffered line is always the match.
        let s = split_lines("x\n", 0, 1, &org[..1], "");
        assert_eq!(texts(&s.matched), ["l0"]);
    }

    fn fd(pairs: &[(u16, &str)]) -> FailData {
        let mut f = FailData::default();
        for (k, v) in pairs {
            f.set(*k, Value::Str((*v).into()));
        }
        f
    }

    #[test]
    fn nofail_then_failure_then_closed() {
        let mut c = MlfidCache::new();
        let now = Instant::now();
        let l1 = [tl("conn from")];
        // "Connection from" (nofail) is cached, its line kept as a nofail match.
        let (f, st) =
            merge(&mut c, "m", fd(&[(key::NOFAIL, "x"), (key::IP4, "1.2.3.4")]), &l1, now);
        assert_eq!(st, Cached::Yes);
        assert!(f.truthy(key::NOFAIL));
        assert!(matches!(f.get(key::NOFAIL_MATCHES), Some(Value::Lines(l)) if l.len() == 1));
        c.set("m", f, now);
        // A real failure: nofail cleared, the nofail line joins the matches.
        let l2 = [tl("failed")];
        let (f, _) = merge(&mut c, "m", fd(&[(key::USER, "root")]), &l2, now);
        assert!(!f.truthy(key::NOFAIL));
        assert_eq!(f.get_str(key::IP4), Some("1.2.3.4"));
        assert!(matches!(f.get(key::MATCHES), Some(Value::Lines(l)) if l.len() == 2));
        c.set("m", f, now);
        // "Connection closed" with nofail + forget: stays nofail, entry removed.
        let l3 = [tl("closed")];
        let (f, st) =
            merge(&mut c, "m", fd(&[(key::NOFAIL, "c"), (key::MLFFORGET, "c")]), &l3, now);
        assert_eq!(st, Cached::No);
        assert!(f.truthy(key::NOFAIL));
        assert!(c.is_empty());
    }

    #[test]
    fn two_users_reset_nofail() {
        let mut c = MlfidCache::new();
        let now = Instant::now();
        let (f, _) = merge(&mut c, "m", fd(&[(key::USER, "a")]), &[], now);
        c.set("m", f, now);
        let (f, _) = merge(&mut c, "m", fd(&[(key::USER, "b"), (key::NOFAIL, "x")]), &[], now);
        assert!(!f.truthy(key::NOFAIL), "several users: not forgiven");
    }

    #[test]
    fn cache_fifo_and_expiry() {
        let mut c = MlfidCache::new();
        let t0 = Instant::now();
        for i in 0..MLFID_MAX_COUNT {
            c.set(&format!("k{i}"), FailData::default(), t0);
        }
        assert_eq!(c.len(), MLFID_MAX_COUNT);
        // Re-setting keeps position: k0 is still the oldest and goes first.
        c.set("k0", FailData::default(), t0);
        c.set("new", FailData::default(), t0);
        assert_eq!(c.len(), MLFID_MAX_COUNT);
        assert!(c.take("k0", t0).is_none());
        assert!(c.take("k1", t0).is_some());
        // Expired entries are gone on lookup.
        let later = t0 + MLFID_MAX_TIME + Duration::from_secs(1);
        assert!(c.take("k2", later).is_none());
        // When full, all expired entries at the front go, plus one live one.
        let mut c = MlfidCache::new();
        for i in 0..MLFID_MAX_COUNT {
            let t = if i < 3 { t0 } else { later };
            c.set(&format!("k{i}"), FailData::default(), t);
        }
        c.set("x", FailData::default(), later + Duration::from_secs(1));
        assert_eq!(c.len(), MLFID_MAX_COUNT - 3);
    }
}
