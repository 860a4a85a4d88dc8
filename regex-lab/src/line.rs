//! One line through a filter: fail2ban's `processLine` + `findFailure`, and fail2ban-regex's
//! verdict for the line (spec: notes §2, the date cut of §4, §5).
//!
//! A [`LineProcessor`] is the per-run state of one [`Filter`]: the date detector, the
//! `maxlines` buffer, the MLFID cache and reusable capture buffers. Feed it lines in log order
//! with [`LineProcessor::process`]; each call returns a [`LineResult`] with every failure the
//! failregexes produced (fail2ban-regex checks all regexes, so one line can give several),
//! the ignoreregex hits and the line's class (ignored / matched / missed). In multi-line mode a
//! later match can consume earlier lines; [`LineResult::consumed`] names them, and fail2ban-regex
//! moves that many lines from missed to matched.
//!
//! A replay without `-v` only counts: [`LineProcessor::count_only`] switches to a path that
//! reads the few groups the counts depend on straight from the recorded spans and keeps a
//! compact state per MLFID connection, instead of fail dicts, ids and the full cache entries
//! (exact by construction, and compared with the general path by tests).

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Instant;

use crate::date::{DateDetector, DateHit};
use crate::engine::{Captures, Subject};
use crate::filter::{key, Filter, FilterRegex, NameId, Names, RegexKind};
use crate::multiline::{self, Cached, CoarseTime, Conn, LineSplit, MatchFacts, MlfidCache};
use crate::prefilter::Scratch;

mod searches;
use searches::Span;
pub use searches::{BatchLine, LineMatches, Searched, Searcher};

/// A line as fail2ban buffers it: `(text before the date, date text, text after the date)`.
/// Regexes see `pre + post`; [`TupleLine::serial`] is the line's number in the run (1-based).
#[derive(Clone, Debug)]
pub struct TupleLine {
    s: String,
    a: usize,
    b: usize,
    serial: u64,
}

impl PartialEq for TupleLine {
    /// Value equality, as Python compares buffered tuples (the serial is not part of it).
    fn eq(&self, o: &TupleLine) -> bool {
        self.a == o.a && self.b == o.b && self.s == o.s
    }
}

impl TupleLine {
    pub fn new(pre: &str, date: &str, post: &str) -> TupleLine {
        TupleLine::with_serial(pre, date, post, 0)
    }

    fn with_serial(pre: &str, date: &str, post: &str, serial: u64) -> TupleLine {
        let mut s = String::with_capacity(pre.len() + date.len() + post.len());
        s.push_str(pre);
        s.push_str(date);
        s.push_str(post);
        TupleLine { s, a: pre.len(), b: pre.len() + date.len(), serial }
    }

    pub fn pre(&self) -> &str {
        &self.s[..self.a]
    }

    pub fn date(&self) -> &str {
        &self.s[self.a..self.b]
    }

    pub fn post(&self) -> &str {
        &self.s[self.b..]
    }

    /// The line as read (`pre + date + post`).
    pub fn full(&self) -> &str {
        &self.s
    }

    /// What the regexes see: the line without its date (`pre + post`).
    pub fn text(&self) -> String {
        format!("{}{}", self.pre(), self.post())
    }

    /// `pre + post == other`, without building the string.
    pub fn text_eq(&self, other: &str) -> bool {
        other.len() == self.a + self.s.len() - self.b
            && other.starts_with(self.pre())
            && other.ends_with(self.post())
    }

    /// Number of the input line this came from (1-based; 0 for hand-made lines).
    pub fn serial(&self) -> u64 {
        self.serial
    }
}

/// A value in a fail dict, with Python's truthiness.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A group that did not participate (Python `None`).
    None,
    /// Shared text: fail dicts are copied between the MLFID cache and the results, and a copy
    /// should not copy every group's text.
    Str(Arc<str>),
    Int(i64),
    /// `tuple_` groups collected together.
    Tuple(Vec<Value>),
    /// `matches`, `nofail-matches`: the lines behind a failure.
    Lines(Vec<Arc<TupleLine>>),
    /// `users`: every user seen on one MLFID connection.
    Set(BTreeSet<Arc<str>>),
}

impl Value {
    /// Python truthiness: `None`, `""`, `0` and empty containers are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::None => false,
            Value::Str(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Tuple(v) => !v.is_empty(),
            Value::Lines(v) => !v.is_empty(),
            Value::Set(s) => !s.is_empty(),
        }
    }

    /// Python's `str()` of the value (a tuple prints as its repr).
    pub fn py_str(&self) -> String {
        match self {
            Value::Str(s) => s.to_string(),
            _ => self.py_repr(),
        }
    }

    /// Python's `repr()` of the value.
    pub fn py_repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Str(s) => crate::config::py::repr_str(s),
            Value::Int(i) => i.to_string(),
            Value::Tuple(v) => {
                let items: Vec<String> = v.iter().map(Value::py_repr).collect();
                if items.len() == 1 {
                    format!("({},)", items[0])
                } else {
                    format!("({})", items.join(", "))
                }
            }
            Value::Lines(v) => format!("<{} lines>", v.len()),
            Value::Set(s) => {
                let items: Vec<String> = s.iter().map(|u| crate::config::py::repr_str(u)).collect();
                format!("{{{}}}", items.join(", "))
            }
        }
    }
}

/// fail2ban's fail dict: named groups plus the keys the line logic adds (`matches`, `users`,
/// `mlfpending`, `ip`...), keyed by interned names (see [`Filter::names`]), in insertion order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FailData {
    items: Vec<(NameId, Value)>,
}

impl FailData {
    /// The value of `k`; a missing key and a `None` value both read as `None` here.
    pub fn get(&self, k: NameId) -> Option<&Value> {
        self.items.iter().find(|(n, _)| *n == k).map(|(_, v)| v).filter(|v| **v != Value::None)
    }

    pub fn get_mut(&mut self, k: NameId) -> Option<&mut Value> {
        self.items.iter_mut().find(|(n, _)| *n == k).map(|(_, v)| v)
    }

    /// The value of `k` if it is a string.
    pub fn get_str(&self, k: NameId) -> Option<&str> {
        match self.get(k) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Python truthiness of `fail.get(k)`.
    pub fn truthy(&self, k: NameId) -> bool {
        self.get(k).is_some_and(Value::truthy)
    }

    /// `fail[k] = v` (an existing key keeps its position).
    pub fn set(&mut self, k: NameId, v: Value) {
        match self.items.iter_mut().find(|(n, _)| *n == k) {
            Some(slot) => slot.1 = v,
            None => self.items.push((k, v)),
        }
    }

    /// `fail.pop(k, None)`.
    pub fn pop(&mut self, k: NameId) -> Option<Value> {
        let i = self.items.iter().position(|(n, _)| *n == k)?;
        Some(self.items.remove(i).1).filter(|v| *v != Value::None)
    }

    /// `dict.update(other)`: every key, `None` values included.
    pub fn update(&mut self, other: FailData) {
        for (k, v) in other.items {
            self.set(k, v);
        }
    }

    /// `dict.update((k, v) for k, v in other.items() if v is not None)`.
    pub fn update_not_none(&mut self, other: FailData) {
        for (k, v) in other.items {
            if v != Value::None {
                self.set(k, v);
            }
        }
    }

    /// Python's `repr()` of the dict, with key names from `names`.
    pub fn py_repr(&self, names: &Names) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .map(|(k, v)| {
                format!("{}: {}", Value::Str(names.name(*k).into()).py_repr(), v.py_repr())
            })
            .collect();
        format!("{{{}}}", items.join(", "))
    }

    /// Every key and value, in insertion order (`None` values included).
    pub fn iter(&self) -> impl Iterator<Item = (NameId, &Value)> {
        self.items.iter().map(|(k, v)| (*k, v))
    }
}

/// One entry fail2ban's `findFailure` returned for a line.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Index of the failregex in the filter.
    pub regex: usize,
    /// The failure id (address, or `fid`), as fail2ban prints it; `None` while an MLFID
    /// connection has no host yet (`mlfpending`).
    pub id: Option<String>,
    /// The line's time (Unix seconds), if it has one.
    pub time: Option<f64>,
    /// The fail dict: groups (prefregex groups under failregex groups), `matches`, `users`...
    pub data: FailData,
}

impl Failure {
    /// `<F-NOFAIL>` (or a gained MLFID login): not a failure, the line counts as ignored.
    pub fn is_nofail(&self) -> bool {
        self.data.truthy(key::NOFAIL)
    }

    /// An MLFID match still waiting for its host.
    pub fn is_pending(&self) -> bool {
        self.id.is_none()
    }

    /// A field of the fail dict by name (`user`, `ip4`, `users`...); `None` when absent.
    pub fn field(&self, names: &Names, name: &str) -> Option<&Value> {
        self.data.get(names.get(name)?)
    }

    /// The lines behind this failure (`fail['matches']`).
    pub fn matches(&self) -> &[Arc<TupleLine>] {
        match self.data.get(key::MATCHES) {
            Some(Value::Lines(l)) => l,
            _ => &[],
        }
    }
}

/// One entry `findFailure` returned, as fail2ban-regex counts it: which failregex, and whether
/// it had `nofail` (the line is then ignored). Filled in every mode, one per [`Failure`]
/// when those are built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegexHit {
    pub regex: usize,
    pub nofail: bool,
}

/// fail2ban-regex's verdict for one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineClass {
    /// An ignoreregex hit, or a nofail failure.
    Ignored,
    /// At least one failure without nofail (pending ones included).
    Matched,
    Missed,
}

/// A search PCRE2 gave up on (match limit): counted as "no match" for that line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aborted {
    pub kind: RegexKind,
    pub index: usize,
    pub message: String,
}

/// Everything one line produced.
#[derive(Clone, Debug)]
pub struct LineResult {
    /// The line's number in the run (1-based, counting processed lines only).
    pub serial: u64,
    /// Every entry with its id and fail dict; empty when the processor only counts
    /// ([`LineProcessor::count_only`]).
    pub failures: Vec<Failure>,
    /// Every entry as counted (always filled).
    pub regex_hits: Vec<RegexHit>,
    pub class: LineClass,
    /// fail2ban-regex's "Prefregex: N total" increment for this line.
    pub prefregex_matched: bool,
    /// The prefregex's groups behind that count, when asked for
    /// ([`LineProcessor::keep_prefregex_groups`]).
    pub prefregex_groups: Option<FailData>,
    /// Indices of the ignoreregexes that hit (one entry per hit).
    pub ignore_hits: Vec<usize>,
    /// Earlier lines this line's processing consumed from the `maxlines` buffer; fail2ban-regex
    /// moves each from missed to matched.
    pub consumed: Vec<Arc<TupleLine>>,
    /// The date found in the line, if any.
    pub date: Option<DateHit>,
    /// The time the failures carry.
    pub time: Option<f64>,
    /// Searches PCRE2 aborted on this line.
    pub aborted: Vec<Aborted>,
}

impl LineResult {
    /// A line that found nothing (missed).
    pub(crate) fn empty() -> LineResult {
        LineResult {
            serial: 0,
            failures: Vec::new(),
            regex_hits: Vec::new(),
            class: LineClass::Missed,
            prefregex_matched: false,
            prefregex_groups: None,
            ignore_hits: Vec::new(),
            consumed: Vec::new(),
            date: None,
            time: None,
            aborted: Vec::new(),
        }
    }

    fn reset(&mut self, serial: u64) {
        self.serial = serial;
        self.failures.clear();
        self.regex_hits.clear();
        self.class = LineClass::Missed;
        self.prefregex_matched = false;
        self.prefregex_groups = None;
        self.ignore_hits.clear();
        self.consumed.clear();
        self.date = None;
        self.time = None;
        self.aborted.clear();
    }

    /// [`LineResult::reset`] for the count-only `apply`, which never fills `failures` or
    /// `consumed`, and sets `time`, `class` and `prefregex_matched` on every line;
    /// `prefregex_groups` only when they are kept.
    fn reset_counted(&mut self, serial: u64, pref_groups: bool) {
        debug_assert!(self.failures.is_empty() && self.consumed.is_empty());
        self.serial = serial;
        self.date = None;
        self.regex_hits.clear();
        if pref_groups {
            self.prefregex_groups = None;
        }
        self.ignore_hits.clear();
        self.aborted.clear();
    }
}

/// What "now" is for the 60-second reuse of the last date.
#[derive(Clone, Copy, Debug)]
pub enum Now {
    /// The real clock (fail2ban-regex).
    System,
    /// A fixed instant in Unix seconds (fail2ban's sample tests).
    Fixed(f64),
}

impl Now {
    pub fn get(self) -> f64 {
        match self {
            Now::Fixed(t) => t,
            Now::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
        }
    }
}

/// The per-run state of one filter; see the module docs.
pub struct LineProcessor {
    dates: Option<DateDetector>,
    now: Now,
    last_date: Option<f64>,
    last_time_text: String,
    /// The line's searches, for `maxlines = 1` (multi-line filters search their buffer in
    /// [`Core::find_failure`]).
    searcher: Option<Searcher>,
    matches: LineMatches,
    /// Outside `Core`, so lines borrow it instead of cloning the `Arc` (whose counter other
    /// threads' searchers would then fight over).
    filter: Arc<Filter>,
    core: Core,
}

/// The part of the state `findFailure` works on (split off so the date text can be borrowed
/// while it runs).
struct Core {
    pref_caps: Option<Captures>,
    fail_caps: Vec<Captures>,
    ign_caps: Vec<Captures>,
    /// For the prefregex's and the failregexes' prefilters.
    pref_scratch: Scratch,
    fail_scratch: Scratch,
    /// The buffer text `findFailure` starts with (what the prefregex sees).
    text0: String,
    /// The buffer text after a content substitution or a consumed match.
    text1: String,
    /// Scratch for the ignoreregex check of a multi-line match.
    text2: String,
    /// The `maxlines` buffer (only used when maxlines > 1).
    buffer: Vec<Arc<TupleLine>>,
    cache: MlfidCache,
    /// fail2ban-regex reads the prefregex's *last* search result, which is stale when the
    /// ignore pre-check returned before searching.
    pref_matched: bool,
    /// Keep the prefregex's groups for the report (fail2ban-regex `-v`).
    keep_pref_groups: bool,
    /// Track `fail['matches']` (the lines behind each failure); counting needs none of it.
    keep_matches: bool,
    last_pref_groups: Option<FailData>,
    serial: u64,
    result: LineResult,
    /// The count-only path's state ([`LineProcessor::count_only`]), when on and exact for
    /// this filter.
    counting: Option<Box<Counting>>,
}

/// Keys of a match's dict that decide what fail2ban-regex counts.
const FACT_KEYS: [NameId; 9] = [
    key::MLFID,
    key::NOFAIL,
    key::MLFGAINED,
    key::MLFFORGET,
    key::USER,
    key::FID,
    key::IP4,
    key::IP6,
    key::DNS,
];
const F_MLFID: usize = 0;
const F_NOFAIL: usize = 1;
const F_GAINED: usize = 2;
const F_FORGET: usize = 3;
const F_USER: usize = 4;
const F_IDS: std::ops::Range<usize> = 5..9;

/// The count-only path: for each match, the few values of [`FACT_KEYS`] are read straight
/// from the recorded spans (no fail dict is built) and the MLFID cache keeps a [`Conn`] per
/// connection. Exact by construction: [`KeySource`] reads a key as `groups_from` would set
/// it, and [`multiline::merge_counted`] is `merge` + `record` reduced to the counts; a test
/// compares both paths on real logs.
struct Counting {
    /// Per failregex, where the keys that decide its counts come from in the merged dict.
    fail: Vec<HitPlan>,
    conns: MlfidCache<Conn, CoarseTime>,
    /// The time for the lines until the next [`LineProcessor::hold_time`]; `None`: the
    /// clock is read for each line that needs it.
    held: Option<CoarseTime>,
}

/// Where each of [`FACT_KEYS`] comes from for one failregex, laid out for the per-hit
/// reads: the id keys that are in neither dict (most of them) are left out once here,
/// instead of being looked at on every hit.
#[derive(Clone, Debug)]
struct HitPlan {
    mlfid: Source,
    nofail: Source,
    gained: Source,
    forget: Source,
    user: Source,
    /// The sources of the id keys that can have a value: the match has an id when one of
    /// them is a span (`None` values are no id, as in `select_id`).
    ids: Vec<Source>,
}

impl HitPlan {
    fn new(src: [Source; 9]) -> HitPlan {
        HitPlan {
            mlfid: src[F_MLFID],
            nofail: src[F_NOFAIL],
            gained: src[F_GAINED],
            forget: src[F_FORGET],
            user: src[F_USER],
            ids: src[F_IDS].iter().copied().filter(|s| !s.is_never()).collect(),
        }
    }
}

/// Where a key of the merged dict (prefregex groups under failregex groups) comes from,
/// simplified once per failregex: most keys are in neither dict, or are one plain group.
#[derive(Clone, Copy, Debug)]
enum Source {
    /// One group without `alt_` merge: of the prefregex (`pref`: the key is not in the
    /// failregex's dict) or of the failregex. A key in neither dict is the group [`NO`],
    /// which never exists, so it reads as `None` ([`Source::NEVER`]).
    Plain { pref: bool, g: u16 },
    /// `alt_` merges: the failregex's value if its dict has the key, else the prefregex's.
    Merged(KeySource, KeySource),
}

impl Source {
    /// In neither dict.
    const NEVER: Source = Source::Plain { pref: false, g: NO };

    fn new(fail: KeySource, pref: KeySource) -> Source {
        let plain = |k: KeySource| k.alts[0] == NO;
        match (fail.direct, pref.direct) {
            (NO, NO) if plain(fail) && plain(pref) => Source::NEVER,
            (NO, g) if plain(fail) && plain(pref) => Source::Plain { pref: true, g },
            (g, _) if g != NO && plain(fail) => Source::Plain { pref: false, g },
            _ => Source::Merged(fail, pref),
        }
    }

    fn is_never(self) -> bool {
        matches!(self, Source::Plain { pref: false, g: NO })
    }

    /// The value, and `true` if it is a span of the prefregex's text. A key in neither dict
    /// reads as `None`, not [`Slot::Absent`]: the callers only ask whether it is a (truthy)
    /// span, for which both are the same; only a merge needs the difference.
    #[inline(always)]
    fn value(self, spans: &[Span], pref_spans: &[Span]) -> (Slot, bool) {
        match self {
            // One shape for every plain source (the usual case), so that reading the keys
            // of a hit does not jump to a different branch per key and failregex.
            Source::Plain { pref, g } => {
                let spans = if pref { pref_spans } else { spans };
                let v = spans.get(usize::from(g)).copied().flatten();
                (v.map_or(Slot::None, |(s, e)| Slot::Span(s, e)), pref)
            }
            Source::Merged(fail, pref) => match fail.value(spans) {
                Slot::Absent => (pref.value(pref_spans), true),
                v => (v, false),
            },
        }
    }
}

/// Where one key's value comes from in a regex's group dict, as `groups_from` sets it: the
/// first named group with that key (positions in `FilterRegex::groups`, [`NO`] for none),
/// then each `alt_` source in order, taken when it is truthy and the value so far is not.
#[derive(Clone, Copy, Debug)]
struct KeySource {
    direct: u16,
    alts: [u16; 2],
}

const NO: u16 = u16::MAX;

/// A key's value in one dict: missing, `None`, or a span of the dict's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Absent,
    None,
    Span(u32, u32),
}

impl Slot {
    fn truthy(self) -> bool {
        matches!(self, Slot::Span(s, e) if s < e)
    }
}

impl KeySource {
    /// The sources of [`FACT_KEYS`] in `r`'s dict; `None` when the dict cannot be read that
    /// way: `tuple_` merges, an `alt_` target that is also an `alt_` source (a chain), more
    /// than two `alt_` sources for one key, or a group that would put `users`/`mlfpending`
    /// in the match's dict (the merge reads those from the cached dict only).
    fn plan(r: &FilterRegex) -> Option<[KeySource; 9]> {
        if !r.tuple().is_empty() || r.groups().len() >= usize::from(NO) {
            return None;
        }
        let alt = r.alt();
        let chained = alt.iter().any(|(_, n)| alt.iter().any(|(k, _)| k == n));
        let keys = r.groups().iter().map(|&(_, n)| n).chain(alt.iter().map(|&(_, n)| n));
        if chained || keys.into_iter().any(|n| n == key::USERS || n == key::MLFPENDING) {
            return None;
        }
        let pos = |id: NameId| r.groups().iter().position(|&(_, n)| n == id).map(|p| p as u16);
        let mut plan = [KeySource { direct: NO, alts: [NO; 2] }; 9];
        for (src, &k) in plan.iter_mut().zip(FACT_KEYS.iter()) {
            src.direct = pos(k).unwrap_or(NO);
            let alts: Vec<u16> =
                alt.iter().filter(|&&(_, n)| n == k).filter_map(|&(a, _)| pos(a)).collect();
            if alts.len() > src.alts.len() {
                return None;
            }
            src.alts[..alts.len()].copy_from_slice(&alts);
        }
        Some(plan)
    }

    /// The key's value, from the spans of the regex's named groups.
    #[inline(always)]
    fn value(self, spans: &[Span]) -> Slot {
        let at = |g: u16| spans.get(usize::from(g)).copied().flatten();
        let mut v = match self.direct {
            NO => Slot::Absent,
            g => at(g).map_or(Slot::None, |(s, e)| Slot::Span(s, e)),
        };
        for a in self.alts {
            if a == NO {
                break;
            }
            if let Some((s, e)) = at(a).filter(|&(s, e)| s < e) {
                if !v.truthy() {
                    v = Slot::Span(s, e);
                }
            }
        }
        v
    }
}

/// The current line, split as fail2ban's tuple.
#[derive(Clone, Copy)]
struct Cur<'a> {
    pre: &'a str,
    date: &'a str,
    post: &'a str,
}

impl LineProcessor {
    /// A processor for `filter`. `dates` finds and cuts the date (`None`: lines carry no date,
    /// as for pre-dated journal entries); `now` is the clock for the 60-second date reuse.
    pub fn new(filter: Arc<Filter>, dates: Option<DateDetector>, now: Now) -> LineProcessor {
        let pref_caps = filter.prefregex().map(FilterRegex::captures);
        let fail_caps = filter.failregex().iter().map(FilterRegex::captures).collect();
        let ign_caps = filter.ignoreregex().iter().map(FilterRegex::captures).collect();
        LineProcessor {
            dates,
            now,
            last_date: None,
            last_time_text: String::new(),
            searcher: (filter.maxlines() == 1).then(|| Searcher::new(Arc::clone(&filter))),
            filter: Arc::clone(&filter),
            matches: LineMatches::default(),
            core: Core {
                pref_caps,
                fail_caps,
                ign_caps,
                pref_scratch: filter.pref_prefilter().scratch(),
                fail_scratch: filter.fail_prefilter().scratch(),
                text0: String::new(),
                text1: String::new(),
                text2: String::new(),
                buffer: Vec::new(),
                cache: MlfidCache::new(),
                pref_matched: false,
                keep_pref_groups: false,
                keep_matches: true,
                last_pref_groups: None,
                serial: 0,
                result: LineResult::empty(),
                counting: None,
            },
        }
    }

    /// Only count (fail2ban-regex without `-v`): [`LineResult::failures`] stays empty and
    /// [`LineResult::regex_hits`], the class and every other count are computed without
    /// building fail dicts or ids. Same counts as the general path, by construction (see
    /// `Counting`); for a filter where that construction does not apply (multi-line, `tuple_`
    /// groups...), the general path runs and failures are built anyway. Set it before the
    /// first line: the two paths keep different MLFID state.
    pub fn count_only(&mut self, yes: bool) {
        let f = &self.filter;
        let plan = || -> Option<Counting> {
            let pref = match f.prefregex() {
                Some(p) => KeySource::plan(p)?,
                None => [KeySource { direct: NO, alts: [NO; 2] }; 9],
            };
            let mut fail = Vec::new();
            for r in f.failregex() {
                let plan = KeySource::plan(r)?;
                fail.push(HitPlan::new(std::array::from_fn(|i| Source::new(plan[i], pref[i]))));
            }
            Some(Counting { fail, conns: MlfidCache::new(), held: None })
        };
        self.core.counting = (yes && f.maxlines() == 1).then(plan).flatten().map(Box::new);
    }

    /// Whether the count-only path runs (asked for, and exact for this filter).
    pub fn is_count_only(&self) -> bool {
        self.core.counting.is_some()
    }

    /// The count-only path's time for MLFID expiry (see [`CoarseTime`]) for the lines
    /// processed until the next call; `None`: a clock reading per line (the default).
    ///
    /// A replay holds one reading per batch of lines: it processes a batch, read in full
    /// beforehand, in a fraction of a millisecond, less than the coarse clock's own tick,
    /// and a clock read per line was ~1% of the run.
    pub fn hold_time(&mut self, now: Option<CoarseTime>) {
        if let Some(c) = &mut self.core.counting {
            c.held = now;
        }
    }

    /// Also return the prefregex's groups with each line ([`LineResult::prefregex_groups`]),
    /// as fail2ban-regex `-v` lists them.
    pub fn keep_prefregex_groups(&mut self, yes: bool) {
        self.core.keep_pref_groups = yes;
        if let Some(s) = &mut self.searcher {
            s.keep_prefregex_groups(yes);
        }
    }

    /// Whether failures carry the lines behind them (`fail['matches']`, on by default). A
    /// replay only counts, so it turns this off: no line is copied for it. Single-line
    /// filters only (multi-line matches need their lines to consume the buffer).
    pub fn keep_matches(&mut self, yes: bool) {
        self.core.keep_matches = yes;
    }

    /// A searcher for this processor's single-line searches, set up as its own (to run them
    /// on another thread, see [`LineProcessor::process_found`]); `None` for a multi-line
    /// filter, whose searches need the line buffer.
    pub fn new_searcher(&self) -> Option<Searcher> {
        self.searcher.as_ref().map(|_| {
            let mut s = Searcher::new(Arc::clone(&self.filter));
            s.keep_prefregex_groups(self.core.keep_pref_groups);
            s
        })
    }

    /// The filter this processor runs.
    pub fn filter(&self) -> &Arc<Filter> {
        &self.filter
    }

    /// The date detector (for its template hits).
    pub fn dates(&self) -> Option<&DateDetector> {
        self.dates.as_ref()
    }

    /// Processes one log line (already stripped of its line end): date detection and cut,
    /// then every regex of the filter.
    pub fn process(&mut self, line: &str) -> &LineResult {
        let hit = self.dates.as_mut().and_then(|d| d.detect(line));
        self.process_found(line, hit, None)
    }

    /// [`LineProcessor::process`] with the date already found, by a detector built for this
    /// filter's `datepattern` that has seen the same lines (shared by filters, or run ahead on
    /// another thread). `searched`: this filter's [`Searcher`] already ran on the line with
    /// that date cut out (`line[..start] + line[end..]`, the whole line without a date); it is
    /// used unless the line turns out to reuse the last date (its aborted searches and
    /// ignoreregex hits are moved out).
    pub fn process_found(
        &mut self,
        line: &str,
        hit: Option<DateHit>,
        searched: Option<Searched<'_>>,
    ) -> &LineResult {
        // "now" is read only for lines without a usable date (fail2ban reads the clock then).
        let now = self.now;
        let recent = |last: Option<f64>| last.is_some_and(|d| d != 0.0 && d > now.get() - 60.0);
        let mut date = None;
        let (mut s, mut e, mut use_last) = (0, 0, false);
        if let Some(h) = &hit {
            (s, e) = (h.start, h.end);
            if s < e {
                date = h.time;
                match date {
                    Some(t) => {
                        // The text is only ever read into a `TupleLine`, which the count-only
                        // path never builds.
                        if self.core.counting.is_none() {
                            self.last_time_text.clear();
                            self.last_time_text.push_str(&line[s..e]);
                        }
                        self.last_date = Some(t);
                    }
                    None => tracing::debug!("date text {:?} did not convert", &line[s..e]),
                }
            } else if recent(self.last_date) {
                use_last = true;
                date = self.last_date;
            } else {
                date = Some(now.get());
            }
        }
        if date.is_none() && recent(self.last_date) {
            use_last = true;
            date = self.last_date;
        }
        // Searches made on the cut line are void when the cut date gave way to the last one.
        let searched = searched.filter(|_| !use_last || s == e);
        let cur = if searched.is_some() && self.core.counting.is_some() {
            // Searched already, and the count-only `apply` never reads the line: not cut.
            Cur { pre: "", date: "", post: "" }
        } else if use_last {
            Cur { pre: "", date: &self.last_time_text, post: line }
        } else {
            Cur { pre: &line[..s], date: &line[s..e], post: &line[e..] }
        };
        let (f, core) = (&*self.filter, &mut self.core);
        match searched {
            // Most lines of most filters in a many-filter replay.
            Some(s) if core.counting.is_some() && s.matches.found_nothing() => {
                core.apply_nothing(f, s.matches, date)
            }
            searched => find(&mut self.searcher, &mut self.matches, f, core, cur, date, searched),
        }
        self.core.result.date = hit;
        &self.core.result
    }

    /// Processes a line that already carries its time (journal entries): `pre + post` is what
    /// the regexes see, `date` is kept as the date text.
    pub fn process_dated(&mut self, pre: &str, date: &str, post: &str, time: f64) -> &LineResult {
        self.last_time_text.clear();
        self.last_time_text.push_str(date);
        self.last_date = Some(time);
        let cur = Cur { pre, date, post };
        let (f, core) = (&*self.filter, &mut self.core);
        find(&mut self.searcher, &mut self.matches, f, core, cur, Some(time), None);
        &self.core.result
    }

    /// The result of the last processed line.
    pub fn last(&self) -> &LineResult {
        &self.core.result
    }
}

/// fail2ban's `findFailure`: a single line as its searches, then the state they feed; a
/// multi-line buffer as a whole.
fn find(
    searcher: &mut Option<Searcher>,
    scratch: &mut LineMatches,
    f: &Filter,
    core: &mut Core,
    cur: Cur<'_>,
    date: Option<f64>,
    searched: Option<Searched<'_>>,
) {
    match searcher {
        Some(searcher) => {
            let found = match searched {
                Some(s) => s,
                None => {
                    searcher.run(cur.pre, cur.post, scratch);
                    // Its texts are copies: no line is needed.
                    Searched { matches: scratch, line_nl: "" }
                }
            };
            core.apply(f, cur, date, found);
        }
        None => core.find_failure(f, cur, date),
    }
}

impl Core {
    fn find_failure(&mut self, f: &Filter, cur: Cur<'_>, date: Option<f64>) {
        self.serial += 1;
        self.result.reset(self.serial);
        self.result.time = date;
        let multi = f.maxlines() > 1;
        let mut cur_arc: Option<Arc<TupleLine>> = None;
        let serial = self.serial;
        let mut make_cur = move || -> Arc<TupleLine> {
            cur_arc
                .get_or_insert_with(|| {
                    Arc::new(TupleLine::with_serial(cur.pre, cur.date, cur.post, serial))
                })
                .clone()
        };

        // 1. The buffer, and fail2ban-regex's snapshot of it for the multi-line recount.
        let (org, snapshot) = if multi {
            let snapshot = self.buffer.clone();
            self.buffer.push(make_cur());
            let excess = self.buffer.len().saturating_sub(f.maxlines());
            self.buffer.drain(..excess);
            join_lines(&mut self.text0, &self.buffer);
            (self.buffer.clone(), snapshot)
        } else {
            self.text0.clear();
            self.text0.push_str(cur.pre);
            self.text0.push_str(cur.post);
            self.text0.push('\n');
            (Vec::new(), Vec::new())
        };
        let mut line_ignored = false;

        self.run_regexes(f, &org, date, &mut make_cur, &mut line_ignored);

        self.verdict(f, line_ignored);
        if multi {
            let r = &mut self.result;
            let full = snapshot.len() >= f.maxlines();
            for l in &snapshot[usize::from(full)..] {
                if !self.buffer.iter().any(|b| **b == **l) {
                    r.consumed.push(Arc::clone(l));
                }
            }
        }
    }

    /// fail2ban-regex's verdict on the line, from the failures found.
    fn verdict(&mut self, f: &Filter, line_ignored: bool) {
        let r = &mut self.result;
        r.prefregex_matched = f.prefregex().is_some() && self.pref_matched;
        if r.prefregex_matched && self.keep_pref_groups {
            r.prefregex_groups = self.last_pref_groups.clone();
        }
        let (mut nofail, mut failing) = (false, false);
        for h in &r.regex_hits {
            nofail |= h.nofail;
            failing |= !h.nofail;
        }
        r.class = if line_ignored || nofail {
            LineClass::Ignored
        } else if failing {
            LineClass::Matched
        } else {
            LineClass::Missed
        };
    }

    /// The count-only [`Core::apply`] of searches that found nothing (see
    /// [`LineMatches::found_nothing`]): the same state and result, without looking at hits,
    /// ignore hits or aborted searches there are none of.
    fn apply_nothing(&mut self, f: &Filter, m: &LineMatches, date: Option<f64>) {
        debug_assert!(self.counting.is_some() && m.found_nothing());
        self.begin(date);
        if m.pref_searched {
            self.pref_matched = m.pref_matched;
        }
        self.verdict(f, false);
    }

    /// A line's result started: its serial, nothing found yet, its time.
    #[inline]
    fn begin(&mut self, date: Option<f64>) {
        self.serial += 1;
        if self.counting.is_some() {
            self.result.reset_counted(self.serial, self.keep_pref_groups);
        } else {
            self.result.reset(self.serial);
        }
        self.result.time = date;
    }

    /// A single line (`maxlines = 1`): what its searches found (`m`) applied to
    /// the run's state: MLFID merges, failure ids, the verdict.
    fn apply(&mut self, f: &Filter, cur: Cur<'_>, date: Option<f64>, found: Searched<'_>) {
        self.begin(date);
        let Searched { matches: m, line_nl } = found;
        let pref = f.prefregex();
        let pref_groups = |m: &LineMatches| match pref {
            Some(p) => groups_from(p, |g| m.pref_span(g), m.pref_text(line_nl)),
            None => FailData::default(),
        };
        if m.pref_searched {
            self.pref_matched = m.pref_matched;
            if m.pref_matched && m.pref_groups_wanted {
                self.last_pref_groups = Some(pref_groups(m));
            }
        }
        // Both are nearly always empty; `append` would still reserve and copy.
        if !m.aborted.is_empty() {
            self.result.aborted.append(&mut m.aborted);
        }
        if !m.ignore_hits.is_empty() {
            self.result.ignore_hits.append(&mut m.ignore_hits);
        }
        if let Some(c) = &mut self.counting {
            c.apply(f, m, line_nl, &mut self.result.regex_hits);
            self.verdict(f, m.line_ignored);
            return;
        }
        let mut cur_arc: Option<Arc<TupleLine>> = None;
        // Built on the first hit only: most lines match no failregex.
        let mut pre: Option<FailData> = None;
        for k in 0..m.hits.len() {
            let hit = m.hits[k];
            let fr = &f.failregex()[hit.regex];
            let mut fail = groups_from(fr, |g| m.span(hit.from, g), m.fail_text(line_nl));
            if pref.is_some() {
                let pre = pre.get_or_insert_with(|| {
                    let mut g = pref_groups(m);
                    g.pop(key::CONTENT);
                    g
                });
                if !pre.items.is_empty() {
                    // `pre` updated with `fail`, in one allocation.
                    let mut merged = FailData {
                        items: Vec::with_capacity(pre.items.len() + fail.items.len() + 4),
                    };
                    merged.items.extend(pre.items.iter().cloned());
                    merged.update(fail);
                    fail = merged;
                }
            }
            if !self.keep_matches {
                self.record(f, hit.regex, fail, &[], date);
                continue;
            }
            let cur_line = cur_arc
                .get_or_insert_with(|| {
                    Arc::new(TupleLine::with_serial(cur.pre, cur.date, cur.post, self.serial))
                })
                .clone();
            self.record(f, hit.regex, fail, std::slice::from_ref(&cur_line), date);
        }
        self.verdict(f, m.line_ignored);
    }

    /// A failregex match (groups merged) through MLFID merge and id selection into the
    /// line's failures.
    fn record(
        &mut self,
        f: &Filter,
        i: usize,
        mut fail: FailData,
        matched: &[Arc<TupleLine>],
        date: Option<f64>,
    ) {
        let mlfid: Option<Arc<str>> = match fail.get(key::MLFID) {
            Some(Value::Str(s)) => Some(Arc::clone(s)),
            Some(v) => Some(v.py_str().into()),
            None => None,
        };
        let mut cached = Cached::No;
        let now = Instant::now();
        if let Some(m) = &mlfid {
            (fail, cached) = multiline::merge(&mut self.cache, m, fail, matched, now);
        } else {
            let mut m = match fail.pop(key::MATCHES) {
                Some(Value::Lines(l)) => l,
                _ => Vec::new(),
            };
            m.extend(matched.iter().cloned());
            fail.set(key::MATCHES, Value::Lines(m));
        }
        let id = match select_id(&mut fail, mlfid.is_some()) {
            Ok(id) => id,
            Err(()) => {
                no_id(f, i);
                return;
            }
        };
        if id.is_none() {
            fail.set(key::MLFPENDING, Value::Int(1));
        }
        if let (Some(m), Cached::Yes) = (&mlfid, cached) {
            self.cache.set(m, fail.clone(), now);
        }
        let failure = Failure { regex: i, id, time: date, data: fail };
        self.result.regex_hits.push(RegexHit { regex: i, nofail: failure.is_nofail() });
        self.result.failures.push(failure);
    }

    /// Ignore pre-check, prefregex, then every failregex (fail2ban's `findFailure` body).
    fn run_regexes(
        &mut self,
        f: &Filter,
        org: &[Arc<TupleLine>],
        date: Option<f64>,
        make_cur: &mut impl FnMut() -> Arc<TupleLine>,
        line_ignored: &mut bool,
    ) {
        let multi = f.maxlines() > 1;
        // 2. With many more failregexes than ignoreregexes, ignoreregexes run first.
        if f.ignores_first() {
            let text = std::mem::take(&mut self.text0);
            let hit = self.ignore_line(f, &text, None, line_ignored);
            self.text0 = text;
            if hit {
                return;
            }
        }

        // 3. prefregex; a non-empty `content` group replaces the buffer.
        // `use_text1`: the buffer text is `text1` (rebuilt) rather than `text0`.
        let mut use_text1 = false;
        // Built on the first failregex match only: most lines match no failregex.
        let mut pre_groups: Option<FailData> = None;
        if let (Some(pref), Some(caps)) = (f.prefregex(), self.pref_caps.as_mut()) {
            self.pref_matched =
                f.pref_prefilter().may_match(0, &self.text0, &mut self.pref_scratch)
                    && search(
                        pref,
                        &Subject::new(&self.text0),
                        caps,
                        RegexKind::Prefregex,
                        0,
                        &mut self.result.aborted,
                    );
            if !self.pref_matched {
                return;
            }
            if self.keep_pref_groups {
                self.last_pref_groups = Some(groups_of(pref, caps, &self.text0));
            }
            // `content` as fail2ban pops it from the groups (after `alt_`/`tuple_` merges).
            let content: Option<Arc<str>> = if pref.alt().is_empty() && pref.tuple().is_empty() {
                pref.group_of(key::CONTENT).and_then(|g| caps.text(&self.text0, g)).map(Arc::from)
            } else {
                match groups_of(pref, caps, &self.text0).pop(key::CONTENT) {
                    Some(Value::Str(c)) => Some(c),
                    _ => None,
                }
            };
            if let Some(content) = content.filter(|c| !c.is_empty()) {
                self.text1.clear();
                self.text1.push_str(&content);
                self.text1.push('\n');
                use_text1 = true;
                if multi {
                    self.buffer =
                        vec![Arc::new(TupleLine::with_serial("", "", &content, self.serial))];
                }
            }
        }

        // 4. Every failregex, in order.
        let mut dirty = false;
        for (i, fr) in f.failregex().iter().enumerate() {
            if dirty {
                join_lines(&mut self.text1, &self.buffer);
                use_text1 = true;
                dirty = false;
            }
            let text = if use_text1 { &self.text1 } else { &self.text0 };
            if !f.fail_prefilter().may_match(i, text, &mut self.fail_scratch) {
                continue;
            }
            let caps = &mut self.fail_caps[i];
            let subject = Subject::new(text);
            if !search(fr, &subject, caps, RegexKind::Failregex, i, &mut self.result.aborted) {
                continue;
            }
            let split = if multi {
                let (s, e) = caps.get(0).unwrap_or((0, 0));
                let mut skipped = String::new();
                for &g in fr.skiplines() {
                    if let Some(t) = caps.text(text, g) {
                        skipped.push_str(t);
                    }
                }
                multiline::split_lines(text, s, e, org, &skipped)
            } else {
                LineSplit { matched: vec![make_cur()], unmatched: Vec::new() }
            };
            let mut fail = groups_of(fr, caps, text);
            if !f.ignoreregex().is_empty() {
                let text =
                    std::mem::take(if use_text1 { &mut self.text1 } else { &mut self.text0 });
                let hit = self.ignore_line(f, &text, Some(&split), line_ignored);
                *(if use_text1 { &mut self.text1 } else { &mut self.text0 }) = text;
                if hit {
                    dirty = multi;
                    continue;
                }
            }
            if multi {
                self.buffer = split.unmatched.clone();
                dirty = true;
            }
            if let (Some(pref), Some(pcaps)) = (f.prefregex(), self.pref_caps.as_ref()) {
                let pre = pre_groups.get_or_insert_with(|| {
                    let mut g = groups_of(pref, pcaps, &self.text0);
                    g.pop(key::CONTENT);
                    g
                });
                if !pre.items.is_empty() {
                    let mut merged = pre.clone();
                    merged.update(fail);
                    fail = merged;
                }
            }
            self.record(f, i, fail, &split.matched, date);
        }
    }

    /// fail2ban's `_ignoreLine`: runs every ignoreregex; a hit marks the line ignored and, for a
    /// multi-line match, drops the match's lines from the buffer. True if any hit.
    fn ignore_line(
        &mut self,
        f: &Filter,
        text: &str,
        split: Option<&LineSplit>,
        line_ignored: &mut bool,
    ) -> bool {
        let multi = f.maxlines() > 1;
        let text: &str = match split {
            Some(s) if multi => {
                join_lines(&mut self.text2, &s.matched);
                &self.text2
            }
            _ => text,
        };
        let mut found = false;
        let subject = Subject::new(text);
        for (j, ir) in f.ignoreregex().iter().enumerate() {
            let caps = &mut self.ign_caps[j];
            if search(ir, &subject, caps, RegexKind::Ignoreregex, j, &mut self.result.aborted) {
                found = true;
                *line_ignored = true;
                self.result.ignore_hits.push(j);
                if let (true, Some(s)) = (multi, split) {
                    self.buffer = s.unmatched.clone();
                }
            }
        }
        found
    }
}

impl Counting {
    /// The count-only `apply` of a line's failregex hits: per hit, its [`RegexHit`].
    fn apply(&mut self, f: &Filter, m: &LineMatches, line_nl: &str, out: &mut Vec<RegexHit>) {
        let Counting { fail, conns, held } = self;
        let mut now = None;
        for hit in &m.hits {
            let (plan, spans) = (&fail[hit.regex], &m.spans[hit.from..]);
            let get = |s: Source| s.value(spans, &m.pref_spans);
            let text = |(v, from_pref): (Slot, bool)| match v {
                Slot::Span(s, e) => {
                    let t = if from_pref { m.pref_text(line_nl) } else { m.fail_text(line_nl) };
                    Some(&t[s as usize..e as usize])
                }
                _ => None,
            };
            let has_id = plan.ids.iter().any(|&s| matches!(get(s).0, Slot::Span(..)));
            let nofail = match text(get(plan.mlfid)) {
                Some(mlfid) => {
                    let facts = MatchFacts {
                        mlfid,
                        nofail: get(plan.nofail).0.truthy(),
                        gained: get(plan.gained).0.truthy(),
                        forget: get(plan.forget).0.truthy(),
                        user: text(get(plan.user)),
                        has_id,
                    };
                    let now = *now.get_or_insert_with(|| held.unwrap_or_else(CoarseTime::now));
                    multiline::merge_counted(conns, &facts, now)
                }
                None if !has_id => {
                    no_id(f, hit.regex);
                    continue;
                }
                None => get(plan.nofail).0.truthy(),
            };
            out.push(RegexHit { regex: hit.regex, nofail });
        }
    }
}

/// fail2ban's "No group found" for a match without any id: logged, the match dropped.
fn no_id(f: &Filter, i: usize) {
    tracing::error!(
        "no failure id found by failregex {} ({}): the match is dropped",
        i + 1,
        f.failregex()[i].source()
    );
}

/// `re.search`; an aborted search counts as no match and is recorded.
fn search(
    r: &FilterRegex,
    text: &Subject<'_>,
    caps: &mut Captures,
    kind: RegexKind,
    index: usize,
    aborted: &mut Vec<Aborted>,
) -> bool {
    match r.regex_for(text.text()).search_subject(text, caps) {
        Ok(m) => m,
        Err(e) => {
            aborted.push(Aborted { kind, index, message: e.message });
            false
        }
    }
}

/// fail2ban's `_tupleLinesBuf`: `pre + post` of each line, joined and ended with `\n`.
fn join_lines(out: &mut String, lines: &[Arc<TupleLine>]) {
    out.clear();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(l.pre());
        out.push_str(l.post());
    }
    out.push('\n');
}

/// The match's group dict, with `alt_` and `tuple_` merges (fail2ban's `getGroups`).
fn groups_of(r: &FilterRegex, caps: &Captures, text: &str) -> FailData {
    groups_from(r, |k| caps.get(r.groups()[k].0), text)
}

/// [`groups_of`] from recorded spans: `span(k)` is the span of the `k`-th named group
/// (`r.groups()[k]`).
fn groups_from(
    r: &FilterRegex,
    span: impl Fn(usize) -> Option<(usize, usize)>,
    text: &str,
) -> FailData {
    let mut f = FailData { items: Vec::with_capacity(r.groups().len() + 3) };
    for (k, &(_, id)) in r.groups().iter().enumerate() {
        let v = span(k).map_or(Value::None, |(s, e)| Value::Str(text[s..e].into()));
        f.items.push((id, v));
    }
    for &(k, n) in r.alt() {
        if f.truthy(k) && !f.truthy(n) {
            let v = f.get(k).cloned().unwrap_or(Value::None);
            f.set(n, v);
        }
    }
    for &(k, n) in r.tuple() {
        let v = f.get(k).cloned().unwrap_or(Value::None);
        let t = match f.get(n).cloned() {
            Some(Value::Tuple(mut t)) => {
                t.push(v);
                t
            }
            other => vec![other.unwrap_or(Value::None), v],
        };
        f.set(n, Value::Tuple(t));
    }
    f
}

/// fail2ban's `IPAddr.CIDR_RAW`, and the "family" pseudo-prefixes for IPv4 / IPv6 parsing.
const CIDR_RAW: i64 = -2;
const FAM_IPV4: i64 = CIDR_RAW - 2;
const FAM_IPV6: i64 = CIDR_RAW - 10;

/// fail2ban's failure-id selection with raw hosts (`--raw`): `ip4`, else `ip6`, else `dns`,
/// else `fid`. `Ok(None)`: an MLFID match without a host yet. `Err`: no id at all (fail2ban
/// logs "No group found" and drops the match).
fn select_id(fail: &mut FailData, has_mlfid: bool) -> Result<Option<String>, ()> {
    let fid = fail.get(key::FID).cloned();
    let cidr_or = |fail: &FailData, fam: i64| -> i64 {
        match fail.get(key::CIDR) {
            Some(v) if v.truthy() => v.py_str().trim().parse().unwrap_or(fam),
            _ => fam,
        }
    };
    let (ip, cidr) = if let Some(ip) = fail.get(key::IP4) {
        (Some(ip.clone()), cidr_or(fail, FAM_IPV4))
    } else if let Some(ip) = fail.get(key::IP6) {
        (Some(ip.clone()), cidr_or(fail, FAM_IPV6))
    } else if let Some(dns) = fail.get(key::DNS) {
        (Some(dns.clone()), CIDR_RAW)
    } else {
        if fid.is_none() && !has_mlfid {
            return Err(());
        }
        (fid.clone(), CIDR_RAW)
    };
    let Some(ip) = ip else { return Ok(None) };
    let ip_str = match &ip {
        Value::Str(text) => ip_text(text, cidr),
        other => ip_text(&other.py_str(), CIDR_RAW),
    };
    match fid {
        Some(fid) if fid != ip => {
            fail.set(key::IP, Value::Str(ip_str.into()));
            Ok(Some(fid.py_str()))
        }
        _ => Ok(Some(ip_str)),
    }
}

/// `str(IPAddr(text, cidr))`: a valid address is normalised (masked to `cidr`, IPv4-mapped
/// IPv6 shown as IPv4), anything else stays as written.
pub fn ip_text(text: &str, cidr: i64) -> String {
    let v4 = |a: Ipv4Addr, plen: i64| {
        let (addr, plen) = if (0..32).contains(&plen) {
            let mask = if plen == 0 { 0 } else { u32::MAX << (32 - plen) };
            (Ipv4Addr::from(u32::from(a) & mask), plen)
        } else {
            (a, 32)
        };
        if plen > 0 && plen < 32 {
            format!("{addr}/{plen}")
        } else {
            addr.to_string()
        }
    };
    let v6 = |a: Ipv6Addr, plen: i64| {
        let (addr, plen) = if (0..128).contains(&plen) {
            let mask = if plen == 0 { 0 } else { u128::MAX << (128 - plen) };
            (Ipv6Addr::from(u128::from(a) & mask), plen)
        } else {
            (a, 128)
        };
        let s = inet_ntop6(addr);
        if plen > 0 && plen < 128 {
            format!("{s}/{plen}")
        } else {
            s
        }
    };
    match cidr {
        // A valid dotted quad (no leading zeros, as inet_pton wants) prints as written.
        FAM_IPV4 => text.to_string(),
        FAM_IPV6 => match text.parse::<Ipv6Addr>() {
            Ok(a) => match a.to_ipv4_mapped() {
                Some(m) => m.to_string(),
                None => v6(a, 128),
            },
            Err(_) => text.to_string(),
        },
        c if c >= 0 => {
            if let Ok(a) = text.parse::<Ipv4Addr>() {
                v4(a, c)
            } else if let Ok(a) = text.parse::<Ipv6Addr>() {
                v6(a, c)
            } else {
                text.to_string()
            }
        }
        _ => text.to_string(),
    }
}

/// glibc's `inet_ntop(AF_INET6)`: RFC 5952, except that `::a.b.c.d` (IPv4-compatible) and
/// `::ffff:a.b.c.d` keep a dotted tail.
fn inet_ntop6(a: Ipv6Addr) -> String {
    let w = a.segments();
    if w[..6].iter().all(|&x| x == 0) && w[6] != 0 {
        let o = a.octets();
        return format!("::{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
    }
    a.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FilterDef;
    use crate::filter::FilterOptions;

    fn processor(
        pref: Option<&str>,
        fail: &[&str],
        ignore: &[&str],
        maxlines: usize,
    ) -> LineProcessor {
        let def = FilterDef {
            name: "t".into(),
            prefregex: pref.map(str::to_string),
            failregex: fail.iter().map(|s| s.to_string()).collect(),
            ignoreregex: ignore.iter().map(|s| s.to_string()).collect(),
            maxlines: Some(maxlines),
            ..Default::default()
        };
        let f = Filter::from_expanded(&def, &FilterOptions::default()).unwrap();
        LineProcessor::new(Arc::new(f), None, Now::Fixed(1e9))
    }

    /// (class, [(regex, id)]) of one line.
    type Verdict = (LineClass, Vec<(usize, Option<String>)>);

    fn run(p: &mut LineProcessor, lines: &[&str]) -> Vec<Verdict> {
        lines
            .iter()
            .map(|l| {
                let r = p.process(l);
                (r.class, r.failures.iter().map(|f| (f.regex, f.id.clone())).collect())
            })
            .collect()
    }

    const IP: &str = r"(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})";

    #[test]
    fn every_failregex_is_checked() {
        let mut p = processor(None, &[&format!("^fail {IP}"), &format!("{IP}$")], &[], 1);
        let got = run(&mut p, &["fail 1.2.3.4", "other", "x 5.6.7.8"]);
        use LineClass::*;
        assert_eq!(
            got[0],
            (Matched, vec![(0, Some("1.2.3.4".into())), (1, Some("1.2.3.4".into()))])
        );
        assert_eq!(got[1], (Missed, vec![]));
        assert_eq!(got[2], (Matched, vec![(1, Some("5.6.7.8".into()))]));
    }

    #[test]
    fn nofail_and_ignoreregex_make_a_line_ignored() {
        let mut p = processor(
            None,
            &[&format!("^(?P<nofail>ok) {IP}"), &format!("^bad {IP}")],
            &["^bad 10\\."],
            1,
        );
        let r = p.process("ok 1.2.3.4");
        assert_eq!(r.class, LineClass::Ignored);
        assert_eq!(r.failures.len(), 1, "a nofail entry still counts as a regex hit");
        let r = p.process("bad 10.0.0.1");
        assert_eq!(
            (r.class, r.failures.len(), r.ignore_hits.clone()),
            (LineClass::Ignored, 0, vec![0])
        );
        assert_eq!(p.process("bad 11.0.0.1").class, LineClass::Matched);
    }

    #[test]
    fn prefregex_content_and_groups() {
        let mut p = processor(
            Some(r"^\S+ (?P<fid>\w+)\[\d+\]: (?P<content>.+)$"),
            &[r"^auth failure user=(?P<user>\S+)$", r"^(?P<fid>x)y"],
            &[],
            1,
        );
        let r = p.process("host sshd[12]: auth failure user=bob");
        assert_eq!(r.class, LineClass::Matched);
        assert!(r.prefregex_matched);
        let f = &r.failures[0];
        assert_eq!(f.id.as_deref(), Some("sshd"));
        let names = p.filter().names().clone();
        assert_eq!(p.last().failures[0].data.get_str(names.get("user").unwrap()), Some("bob"));
        // The failregex's own `fid` group overrides the prefregex's.
        let r = p.process("host sshd[12]: xy");
        assert_eq!(r.failures[0].id.as_deref(), Some("x"));
        // No prefregex match: nothing runs.
        let r = p.process("garbage");
        assert!(!r.prefregex_matched && r.class == LineClass::Missed);
    }

    #[test]
    fn mlfid_connection_flow() {
        // A cut-down sshd: connection prefix in mlfid, nofail/forget/gained flags.
        let mut p = processor(
            Some(r"^(?P<mlfid>c\d+): (?P<content>.+)$"),
            &[
                &format!("^(?P<nofail>Connection from) {IP}"),
                r"^Failed password for (?P<user>\S+)",
                r"^(?P<nofail>(?P<mlfforget>Connection closed))",
                r"^(?P<mlfforget>(?P<mlfgained>Accepted)) for (?P<user>\S+)",
            ],
            &[],
            1,
        );
        use LineClass::*;
        let got = run(
            &mut p,
            &[
                "c1: Connection from 1.2.3.4",
                "c1: Failed password for root",
                "c1: Connection closed",
                "c2: Failed password for bob",
                "c2: Connection from 5.6.7.8",
                "c3: Connection from 9.9.9.9",
                "c3: Accepted for alice",
            ],
        );
        assert_eq!(got[0].0, Ignored);
        assert_eq!(got[1], (Matched, vec![(1, Some("1.2.3.4".into()))]));
        // Closed after a failure: forgiven (nofail) and forgotten.
        assert_eq!(got[2].0, Ignored);
        // A failure before the host is known is pending: matched, no id.
        assert_eq!(got[3], (Matched, vec![(1, None)]));
        // The host arrives: the pending failure turns the nofail line into a failure.
        assert_eq!(got[4], (Matched, vec![(0, Some("5.6.7.8".into()))]));
        assert_eq!(got[5].0, Ignored);
        assert_eq!(got[6].0, Ignored);
    }

    #[test]
    fn multiline_match_consumes_earlier_lines() {
        let mut p = processor(None, &[&format!(r"^a {IP}\n(?P<skiplines0>(?:.*\n)*?)^b$")], &[], 3);
        let r = p.process("a 1.2.3.4");
        assert_eq!(r.class, LineClass::Missed);
        let r = p.process("noise");
        assert_eq!(r.class, LineClass::Missed);
        let r = p.process("b");
        assert_eq!(r.class, LineClass::Matched);
        // Line 1 is consumed; line 2 was skipped (SKIPLINES) and stays buffered.
        assert_eq!(r.consumed.iter().map(|l| l.serial()).collect::<Vec<_>>(), vec![1]);
        let lines: Vec<u64> = r.failures[0].matches().iter().map(|l| l.serial()).collect();
        assert_eq!(lines, vec![1, 3]);
    }

    #[test]
    fn ids_are_normalised_like_ipaddr() {
        assert_eq!(ip_text("1.2.3.4", FAM_IPV4), "1.2.3.4");
        assert_eq!(ip_text("1.2.3.400", FAM_IPV4), "1.2.3.400");
        assert_eq!(ip_text("1.2.3.4", 24), "1.2.3.0/24");
        assert_eq!(ip_text("::ffff:1.2.3.4", FAM_IPV6), "1.2.3.4");
        assert_eq!(ip_text("2001:DB8:0:0:0:0:0:1", FAM_IPV6), "2001:db8::1");
        assert_eq!(ip_text("2001:db8::1", 32), "2001:db8::/32");
        assert_eq!(ip_text("host.example", CIDR_RAW), "host.example");
    }

    /// A processor can be moved to a worker thread (one per filter, or per input shard).
    #[test]
    fn processor_and_results_are_send() {
        fn is_send<T: Send>() {}
        is_send::<LineProcessor>();
        is_send::<LineResult>();
        is_send::<Arc<Filter>>();
    }

    /// Runs the general path and the count-only path side by side over `lines`; every line
    /// must give the same class, regex hits (regex, nofail), ignoreregex hits and prefregex
    /// count. Returns how many lines had a failregex hit.
    fn same_counts(f: &Arc<Filter>, lines: &[String]) -> usize {
        let mut general = LineProcessor::new(Arc::clone(f), None, Now::Fixed(1e9));
        general.keep_matches(false);
        let mut fast = LineProcessor::new(Arc::clone(f), None, Now::Fixed(1e9));
        fast.keep_matches(false);
        fast.count_only(true);
        assert!(fast.core.counting.is_some(), "the count-only path must run");
        let mut hit_lines = 0;
        for (n, l) in lines.iter().enumerate() {
            let a = general.process(l).clone();
            let b = fast.process(l);
            assert!(b.failures.is_empty());
            let summary: Vec<RegexHit> = a
                .failures
                .iter()
                .map(|x| RegexHit { regex: x.regex, nofail: x.is_nofail() })
                .collect();
            assert_eq!(summary, a.regex_hits, "line {n}: {l}");
            assert_eq!(
                (a.class, &a.regex_hits, &a.ignore_hits, a.prefregex_matched),
                (b.class, &b.regex_hits, &b.ignore_hits, b.prefregex_matched),
                "line {n}: {l}"
            );
            hit_lines += usize::from(!a.regex_hits.is_empty());
        }
        hit_lines
    }

    /// A tiny deterministic generator (SplitMix64) for the random connection traffic.
    fn rng(seed: &mut u64) -> u64 {
        *seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *seed;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Random MLFID traffic: few connections (long-lived entries, several users, pending
    /// failures gaining a host) and many (FIFO eviction past 100 entries), every flag of the
    /// merge, `alt_` users, `fid` ids, empty groups, and matches without any id.
    #[test]
    fn count_only_path_counts_like_the_general_path() {
        let fails = [
            format!("^(?P<nofail>Connection from) {IP}"),
            r"^Failed password for (?P<user>\S*)".to_string(),
            format!(r"^Failed key for (?P<user>\S*) from {IP}"),
            r"^(?P<nofail>(?P<mlfforget>Connection closed))".to_string(),
            r"^(?P<mlfforget>(?P<mlfgained>Accepted)) for (?P<user>\S+)".to_string(),
            r"^pam: ruser=(?P<alt_user>\S*) user=(?P<user>\S*)".to_string(),
            r"^token (?P<fid>\w*)".to_string(),
            r"^(?P<mlfforget>reset)".to_string(),
            r"^(?P<nofail>(?P<mlfgained>x?))gain for (?P<user>\S+)".to_string(),
            r"^Failed .*".to_string(),
        ];
        let fails: Vec<&str> = fails.iter().map(String::as_str).collect();
        let msgs = [
            "Connection from 1.2.3.4",
            "Connection from 5.6.7.8",
            "Failed password for root",
            "Failed password for bob",
            "Failed password for ",
            "Failed key for alice from 9.9.9.9",
            "Connection closed",
            "Accepted for root",
            "pam: ruser=carol user=",
            "pam: ruser= user=dave",
            "token abc",
            "token ",
            "reset",
            "gain for eve",
            "xgain for eve",
            "nothing to see",
        ];
        for conns in [3u64, 40, 400] {
            let mut seed = conns;
            let lines: Vec<String> = (0..6000)
                .map(|_| {
                    let c = rng(&mut seed) % conns;
                    let m = msgs[(rng(&mut seed) % msgs.len() as u64) as usize];
                    format!("c{c}: {m}")
                })
                .collect();
            let p = processor(Some(r"^(?P<mlfid>c\d+): (?P<content>.+)$"), &fails, &[], 1);
            let hits = same_counts(p.filter(), &lines);
            assert!(hits > 4000, "{hits}");
            // Without an mlfid: matches without an id are dropped, the others count as is.
            let pref = r"^(?:(?P<fid>c[0-2])|c\d+): (?P<content>.+)$";
            let p = processor(Some(pref), &fails, &["^reset"], 1);
            same_counts(p.filter(), &lines);
        }
    }

    #[test]
    fn count_only_falls_back_where_it_cannot_be_exact() {
        for fail in [r"^(?P<tuple_a>x)(?P<tuple_b>y)", r"^(?P<users>u)", r"^(?P<mlfpending>p)"] {
            let mut p = processor(None, &[&format!("{fail} {IP}")], &[], 1);
            p.count_only(true);
            assert!(p.core.counting.is_none(), "{fail}");
        }
        let mut p = processor(None, &[&format!("^a {IP}")], &[], 2);
        p.count_only(true);
        assert!(p.core.counting.is_none(), "multi-line");
        let mut p = processor(None, &[&format!("^a {IP}")], &[], 1);
        p.count_only(true);
        assert!(p.core.counting.is_some());
    }

    #[test]
    fn python_values() {
        assert!(!Value::Str("".into()).truthy());
        assert_eq!(Value::Tuple(vec![Value::Str("a".into()), Value::None]).py_str(), "('a', None)");
        assert_eq!(Value::Str("it's".into()).py_repr(), "\"it's\"");
    }
}
