//! State that spans lines: the `maxlines` buffer and the MLFID cache (spec: notes §5).
//!
//! fail2ban keeps two kinds of memory between lines. With `maxlines > 1` the last lines are
//! buffered and searched together; a failregex match consumes the lines it covered (minus
//! those captured by `<SKIPLINES>`). Independently, a filter with an `mlfid` group (sshd's
//! prefregex puts the connection prefix there) merges every match of one connection into a
//! cached fail dict, so that "Connection closed" becomes a failure only after real failures,
//! and "Accepted" forgives. Both are reproduced here, quirks included, because they decide
//! fail2ban-regex's line counts.

use std::collections::VecDeque;

use hashbrown::HashTable;
use std::ops::Add;
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
///
/// `V` is what is kept per connection: the whole fail dict ([`merge`]), or for a count-only
/// replay just the few facts that decide later counts ([`Conn`], [`merge_counted`]). `T` is
/// the clock's time type ([`Instant`], or the coarse clock of the count-only path).
pub struct MlfidCache<V = FailData, T = Instant> {
    /// Slab indices of the live entries, by key hash ([`key_hash`]).
    table: HashTable<u32>,
    /// The entries; a free slot keeps its key's allocation (and for a [`Conn`] its user's)
    /// for the next connection, so a warm cache allocates nothing. At most
    /// `MLFID_MAX_COUNT + 1` slots: eviction runs before an insert.
    slab: Vec<Entry<V, T>>,
    free: Vec<u32>,
    /// Insertion order as (seq, slot); items whose seq is no longer the slot's are stale.
    order: VecDeque<(u64, u32)>,
    seq: u64,
    /// The slot [`merge_counted`] used last, as (slot, seq): consecutive lines are often of
    /// one connection, and the seq check finds them without hashing the key or probing.
    last: (u32, u64),
}

impl<V, T> Default for MlfidCache<V, T> {
    fn default() -> Self {
        MlfidCache {
            table: HashTable::new(),
            slab: Vec::new(),
            free: Vec::new(),
            order: VecDeque::new(),
            seq: 0,
            last: (0, 0),
        }
    }
}

impl<V, T> std::fmt::Debug for MlfidCache<V, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlfidCache").field("len", &self.table.len()).finish()
    }
}

struct Entry<V, T> {
    hash: u64,
    key: String,
    data: V,
    expires: T,
    /// 0 while the slot is free.
    seq: u64,
}

const WORD_MUL: u64 = 0xf135_7aea_2e62_a9c5;

/// A word-at-a-time multiplicative hash (FxHash's step, with a final mix so the low bits the
/// table indexes by depend on every byte): the keys are short connection prefixes from the
/// log, hashed once per match; SipHash's flooding resistance buys nothing against a
/// 100-entry cache, and byte-serial hashes (FNV) cost most of a lookup.
fn key_hash(k: &str) -> u64 {
    let b = k.as_bytes();
    let word = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let step = |h: u64, w: u64| (h.rotate_left(26) ^ w).wrapping_mul(WORD_MUL);
    let mut h = b.len() as u64;
    let mut i = 0;
    while i + 8 <= b.len() {
        h = step(h, word(i));
        i += 8;
    }
    if i < b.len() {
        // The last 8 bytes (overlapping the previous word), or the short key zero-extended.
        let tail = if b.len() >= 8 {
            word(b.len() - 8)
        } else {
            b.iter().rev().fold(0u64, |w, &x| (w << 8) | u64::from(x))
        };
        h = step(h, tail);
    }
    (h ^ (h >> 32)).wrapping_mul(WORD_MUL) ^ (h >> 29)
}

impl<V: Default, T: Copy + Ord + Add<Duration, Output = T>> MlfidCache<V, T> {
    pub fn new() -> MlfidCache<V, T> {
        MlfidCache::default()
    }

    /// Number of live (not yet evicted) entries.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    fn find(&self, k: &str, hash: u64) -> Option<u32> {
        let slab = &self.slab;
        self.table.find(hash, |&s| slab[s as usize].key == k).copied()
    }

    /// Takes the cached dict out for merging, leaving its slot (position, expiry) in place.
    /// An expired entry is removed and `None` returned.
    pub fn take(&mut self, k: &str, now: T) -> Option<V> {
        let s = self.find(k, key_hash(k))?;
        let e = &mut self.slab[s as usize];
        if e.expires > now {
            return Some(std::mem::take(&mut e.data));
        }
        self.remove_slot(s);
        None
    }

    /// Stores `data` under `k`: in place if the slot exists, else as a new newest entry.
    pub fn set(&mut self, k: &str, data: V, now: T) {
        let hash = key_hash(k);
        match self.find(k, hash) {
            Some(s) => self.slab[s as usize].data = data,
            None => self.insert_new(k, hash, now, |v| *v = data),
        }
    }

    /// [`MlfidCache::set`] for a key known not to be stored; `init` sets the data in place
    /// (over a free slot's old value, whose allocations it may reuse).
    fn insert_new(&mut self, k: &str, hash: u64, now: T, init: impl FnOnce(&mut V)) {
        if self.table.len() >= MLFID_MAX_COUNT {
            self.evict(now);
        }
        self.seq += 1;
        let s = match self.free.pop() {
            Some(s) => s,
            None => {
                self.slab.push(Entry {
                    hash: 0,
                    key: String::new(),
                    data: V::default(),
                    expires: now,
                    seq: 0,
                });
                (self.slab.len() - 1) as u32
            }
        };
        let e = &mut self.slab[s as usize];
        e.hash = hash;
        e.key.clear();
        e.key.push_str(k);
        init(&mut e.data);
        e.expires = now + MLFID_MAX_TIME;
        e.seq = self.seq;
        self.last = (s, self.seq);
        let slab = &self.slab;
        self.table.insert_unique(hash, s, |&x| slab[x as usize].hash);
        self.order.push_back((self.seq, s));
        if self.order.len() > 4 * self.table.len() + 64 {
            let slab = &self.slab;
            self.order.retain(|&(seq, s)| slab[s as usize].seq == seq);
        }
    }

    /// Removes `k` (a forgotten connection).
    pub fn unset(&mut self, k: &str) {
        if let Some(s) = self.find(k, key_hash(k)) {
            self.remove_slot(s);
        }
    }

    #[inline]
    fn remove_slot(&mut self, s: u32) {
        let e = &mut self.slab[s as usize];
        if let Ok(t) = self.table.find_entry(e.hash, |&x| x == s) {
            t.remove();
        }
        e.seq = 0;
        self.free.push(s);
    }

    fn evict(&mut self, now: T) {
        while let Some((seq, s)) = self.order.pop_front() {
            let e = &self.slab[s as usize];
            if e.seq != seq {
                continue;
            }
            let alive = e.expires > now;
            self.remove_slot(s);
            if alive && self.table.len() < MLFID_MAX_COUNT {
                break;
            }
        }
    }
}

/// A reading of `CLOCK_MONOTONIC_COARSE`, the count-only path's clock for MLFID expiry.
///
/// The TTL is wall-clock time since an entry was stored, so which entries expire depends on
/// how fast the log is processed, never on the log: no two runs are guaranteed to agree on an
/// expiry within a few milliseconds of 300 s. The coarse clock is such a run: it lags the
/// precise one by at most one kernel tick (1-10 ms), whatever the input does (a stalled pipe
/// included), and costs a few nanoseconds instead of the ~40 of [`Instant::now`] here, which
/// would be most of the count-only path's budget per line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct CoarseTime(Duration);

impl CoarseTime {
    pub fn now() -> CoarseTime {
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `ts` is a valid, writable timespec; the call only writes it. The coarse
        // monotonic clock exists on every Linux since 2.6.32.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
        if rc != 0 {
            // Not reachable on Linux; fall back to the precise clock's view of the same epoch.
            let ts = Instant::now();
            return CoarseTime(ts.duration_since(*COARSE_FALLBACK_EPOCH.get_or_init(|| ts)));
        }
        CoarseTime(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }
}

static COARSE_FALLBACK_EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

impl Add<Duration> for CoarseTime {
    type Output = CoarseTime;
    fn add(self, d: Duration) -> CoarseTime {
        CoarseTime(self.0 + d)
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

/// What a count-only replay keeps per MLFID connection instead of its fail dict.
///
/// [`merge`] reads three things of a cached dict that change what fail2ban-regex counts:
/// whether `mlfpending` is true, the size of `users`, and (through the merged dict's id
/// groups) whether the connection has an id. The cached `nofail`/`mlfgained` are popped before
/// the match's values go in, so they only decide which lines go into `matches`, which no count
/// shows. And `mlfpending` is stored exactly when the merged dict had no id (the merge pops
/// it, id selection sets it again when the id is `None`), so "pending" is "no id yet".
#[derive(Debug, Default)]
pub struct Conn {
    /// One of `ip4`, `ip6`, `dns`, `fid` was not `None` in the merged dict; a value that is
    /// not `None` is never replaced by `None` (`update_not_none`), so this only turns on.
    has_id: bool,
    users: Users,
}

/// The `users` set as far as its size matters: it only grows while the entry lives. The
/// first user's text is kept in a buffer that outlives the entry (see [`MlfidCache::slab`]).
#[derive(Debug, Default)]
struct Users {
    /// 0, 1, or 2 for "more than one".
    n: u8,
    first: String,
}

impl Users {
    fn reset(&mut self, user: Option<&str>) {
        self.n = 0;
        self.add(user);
    }

    fn add(&mut self, user: Option<&str>) {
        let Some(u) = user else { return };
        match self.n {
            0 => {
                self.first.clear();
                self.first.push_str(u);
                self.n = 1;
            }
            1 if self.first != u => self.n = 2,
            _ => {}
        }
    }
}

/// One failregex match as [`merge_counted`] needs it: truthiness of the flag groups, the
/// `user` text and whether any id group is not `None`, read from the match's dict (prefregex
/// groups under failregex groups).
#[derive(Clone, Copy, Debug)]
pub struct MatchFacts<'a> {
    pub mlfid: &'a str,
    pub nofail: bool,
    pub gained: bool,
    pub forget: bool,
    /// `user`, when it is a string (empty ones are not added to `users`, as in [`merge`]).
    pub user: Option<&'a str>,
    pub has_id: bool,
}

/// [`merge`] followed by the id selection and write-back of `Core::record`, reduced to what
/// fail2ban-regex counts: whether the resulting failure has `nofail` (the failure is always
/// emitted: with an `mlfid` the id selection cannot fail).
///
/// Step by step against [`merge`] (`F` the match's dict, `E` the cached one, `M` the result):
/// - `M.nofail` is `F.nofail or F.mlfgained`: `F` gets `nofail = mlfgained` when gained, and a
///   cached `nofail` is popped before `E.update_not_none(F)`.
/// - It is cleared when `M.mlfpending` is true or `M.users` has two users. `M.mlfpending` is
///   `E.mlfpending` unless gained (popped); `F` has none (the fast path requires that no
///   regex has a `mlfpending` or `users` group), and `E.mlfpending` is `not E.has_id` (see
///   [`Conn`]). With nothing cached, `M` is `F` with at most one user: never cleared.
/// - `users` takes a non-empty `user` whether or not the entry is forgotten; a forget with
///   nothing cached stores nothing; otherwise the entry (new or updated in place, keeping its
///   position and expiry) gets `M`'s id state.
pub fn merge_counted<T: Copy + Ord + Add<Duration, Output = T>>(
    cache: &mut MlfidCache<Conn, T>,
    m: &MatchFacts<'_>,
    now: T,
) -> bool {
    let nofail = m.nofail || m.gained;
    let user = m.user.filter(|u| !u.is_empty());
    // The last slot used, if it is still this key's (a freed slot has seq 0, a reused one
    // a new seq); else a lookup by hash.
    let (last, last_seq) = cache.last;
    let memo = cache
        .slab
        .get(last as usize)
        .is_some_and(|e| last_seq != 0 && e.seq == last_seq && e.key == m.mlfid);
    let mut hash = None;
    let found = if memo {
        Some(last)
    } else {
        let h = key_hash(m.mlfid);
        hash = Some(h);
        cache.find(m.mlfid, h)
    };
    if let Some(s) = found {
        let e = &mut cache.slab[s as usize];
        let alive = e.expires > now;
        let mut clear = false;
        if alive {
            let c = &mut e.data;
            c.users.add(user);
            clear = (!c.has_id && !m.gained) || c.users.n > 1;
            c.has_id |= m.has_id;
        }
        if !alive || m.forget {
            cache.remove_slot(s);
        } else {
            cache.last = (s, e.seq);
        }
        if alive {
            return nofail && !clear;
        }
    }
    if !m.forget {
        let hash = hash.unwrap_or_else(|| key_hash(m.mlfid));
        cache.insert_new(m.mlfid, hash, now, |c| {
            c.has_id = m.has_id;
            c.users.reset(user);
        });
    }
    nofail
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
    fn counted_merge_pending_users_expiry_forget() {
        let mut c: MlfidCache<Conn, CoarseTime> = MlfidCache::new();
        let t0 = CoarseTime(Duration::from_secs(1000));
        let at = |s: u64| t0 + Duration::from_secs(s);
        let m = |user, nofail, gained, forget, has_id| MatchFacts {
            mlfid: "m",
            nofail,
            gained,
            forget,
            user,
            has_id,
        };
        // A failure before the host is known: pending.
        assert!(!merge_counted(&mut c, &m(Some("a"), false, false, false, false), t0));
        // "Connection from" while pending is no longer forgiven; the host is now known.
        assert!(!merge_counted(&mut c, &m(None, true, false, false, true), at(299)));
        // 300 s after it was stored the entry is gone: a fresh connection, forgiven.
        assert!(merge_counted(&mut c, &m(None, true, false, false, false), at(300)));
        // That fresh entry has no id: pending, not forgiven. A gained login drops the
        // pending state (forgiven); a second user forgives nothing.
        assert!(!merge_counted(&mut c, &m(Some("b"), true, false, false, false), at(301)));
        assert!(merge_counted(&mut c, &m(Some("b"), false, true, false, true), at(302)));
        assert!(!merge_counted(&mut c, &m(Some("c"), false, true, true, true), at(303)));
        assert!(c.is_empty(), "forgotten");
        // A forget with nothing cached stores nothing.
        assert!(merge_counted(&mut c, &m(Some("c"), true, false, true, true), at(304)));
        assert!(c.is_empty());
        // An empty user is no user.
        assert!(merge_counted(&mut c, &m(Some(""), true, false, false, true), at(305)));
        assert!(merge_counted(&mut c, &m(Some("x"), true, false, false, true), at(306)));
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
