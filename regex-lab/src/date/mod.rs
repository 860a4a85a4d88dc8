//! Date detection as fail2ban 1.0.2's DateDetector (spec: notes §4 and
//! `notes/fail2ban-date-templates.txt`).
//!
//! # Brief overview
//!
//! A [`DateDetector`] holds a list of *templates* built from the filter's `datepattern`
//! lines (`pattern`: `%X` tokens and keywords → regex; `templates`: the default list as
//! data; `list`: the list as fail2ban assembles it, weights included). For each line,
//! `detect` picks the winning template exactly as fail2ban does (last winner first,
//! distance rules, bubble-up reordering), and `parse` turns its match into Unix time with
//! `tz` (fixed offsets, local time via a glibc-identical `mktime`).
//!
//! Speed without a second semantics: the two templates nearly every log hits (syslog
//! `Mon DD HH:MM:SS` and ISO 8601 at the line start) have hand-written matchers (`shape`)
//! that give the regex's exact match or defer to it; when such a template won the last line,
//! `detect` re-checks it in one piece (`Selector::recheck_shaped`), doing exactly what the
//! general selection would; conversion runs on integers and, away from DST changes, without
//! `mktime`'s search; first-byte tests (`first`) answer searches that cannot match. Each fast
//! path is tested against the general one.
//!
//! # What the caller does with a result
//!
//! `detect(line)` returns:
//! - `None`: no template matched. fail2ban matches the whole line and the line has no date
//!   (fail2ban-regex still counts it), unless the last date is younger than 60 s (real clock),
//!   which it then reuses.
//! - `Some(hit)` with `hit.start < hit.end`: `line[hit.start..hit.end]` is the date text; the
//!   regexes run on `line[..start] + line[end..]`. `hit.time` is its Unix time, or `None` if
//!   the text is not a valid date (Feb 30, unknown zone abbreviation): fail2ban logs an error
//!   and treats the line like the no-match case for its time.
//! - `Some(hit)` with `hit.start == hit.end` ([`DateHit::is_empty`]): the template matched an
//!   empty date on purpose (`{NONE}`, patterns like `^I\(()**`): a dateless continuation line.
//!   Its time is the last date if younger than 60 s (real clock), else now; `hit.time` is
//!   `None`.

mod detect;
mod first;
mod list;
mod parse;
mod pattern;
mod shape;
mod templates;
mod tz;

use crate::engine::{Regex, RegexOptions};
use std::sync::Arc;

pub use detect::FastWin;
use detect::{Scratch, Selector};
use first::FirstBytes;
use parse::{Converter, Field};
use pattern::{Kind, Spec};
use shape::Shape;
use tz::LocalEffect;

/// A date pattern that cannot be used, or a bad `--timezone`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DateError {
    pub message: String,
}

impl DateError {
    pub(crate) fn new(message: impl Into<String>) -> DateError {
        DateError { message: message.into() }
    }
}

/// What "now" and "local time" mean for a run: fail2ban-regex uses the real clock and the
/// machine's zone; the sample tests use 2005-08-14 12:00 CEST in `CET-01CEST-02,M3.5.0,M10.5.0`.
#[derive(Clone, Debug)]
pub struct Clock {
    /// Unix seconds.
    pub now: f64,
    /// Zone for times without an offset: `--timezone`/`logtimezone` if given, else local.
    pub zone: Zone,
}

/// How zone-less times are interpreted.
#[derive(Clone, Debug, PartialEq)]
pub enum Zone {
    /// The machine's local zone (TZ env, else /etc/localtime), as Python's `time.mktime`.
    Local,
    /// A POSIX TZ string such as `CET-01CEST-02,M3.5.0,M10.5.0` or an IANA name, used where
    /// fail2ban would use the machine's zone (as if `TZ` were set to it).
    Named(String),
    /// A fixed offset in seconds east of UTC (`--timezone UTC+0200`). "Now" is still read in
    /// the machine's zone, as fail2ban does.
    Fixed(i32),
}

impl Zone {
    /// Parses fail2ban's `--timezone` / `logtimezone` value: `[ABBR][±hh[[:]mm]]`, e.g. `UTC`,
    /// `UTC+0200`, `-05:30`, `CEST` (abbreviations are fixed offsets, without DST).
    pub fn from_timezone_option(value: &str) -> Result<Zone, DateError> {
        match tz::fixed_offset_minutes(value) {
            Ok(minutes) => Ok(Zone::Fixed(minutes * 60)),
            Err(known_syntax) => Err(DateError::new(format!(
                "time zone `{value}`: {}; fail2ban accepts a fixed offset such as UTC, UTC+0200, \
                 -05:30 or a zone abbreviation such as CEST",
                if known_syntax { "unknown zone abbreviation" } else { "not a fixed-offset zone" }
            ))),
        }
    }
}

impl Clock {
    /// The real clock and the machine's zone (fail2ban-regex's default).
    pub fn system() -> Clock {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Clock { now, zone: Zone::Local }
    }

    /// fail2ban's sample-test clock: 2005-08-14 12:00 CEST, zone `CET-01CEST-02,M3.5.0,M10.5.0`.
    pub fn fail2ban_tests() -> Clock {
        Clock { now: 1124013600.0, zone: Zone::Named("CET-01CEST-02,M3.5.0,M10.5.0".into()) }
    }
}

/// One date found in a line: `line[start..end]` is the text of the template's group 1, which
/// the caller cuts out before matching (`line[..start] + line[end..]`). See the module docs
/// for the three outcomes.
#[derive(Clone, Debug, PartialEq)]
pub struct DateHit {
    pub start: usize,
    pub end: usize,
    /// Index of the winning template in [`DateDetector::templates`]'s original order.
    pub template: usize,
    /// Unix time; `None` when the template matched but the fields do not form a valid date,
    /// or when the date is empty ([`DateHit::is_empty`]).
    pub time: Option<f64>,
}

impl DateHit {
    /// The template matched an empty date: a dateless continuation line (use the last date
    /// if younger than 60 s, else now).
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// Hits of one template, for fail2ban-regex's "Date template hits" block.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateHits {
    /// The template's name as fail2ban-regex prints it, e.g.
    /// `{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?`.
    pub name: String,
    pub hits: u64,
}

/// A template as `explain` and fail2ban-regex `--VD` show it.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateInfo {
    pub name: String,
    /// The datepattern it was built from (`None` for `Epoch`/`TAI64N`).
    pub pattern: Option<String>,
    /// The regex searched (Python syntax, as fail2ban prints it).
    pub regex: String,
    /// fail2ban's base weight: 100 for the `{^LN-BEG}` copies of default templates, else 1.
    pub weight: f64,
    /// Boundary flags as fail2ban names them, e.g. `LINE_BEGIN|WORD_END`.
    pub flags: String,
}

/// One slot of the current (reordered) list, for `fail2ban-regex -v --VD` style output.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateState {
    pub template: usize,
    pub name: String,
    pub hits: u64,
    /// fail2ban's dynamic weight `hits * weight / max(1, distance)`.
    pub weight: f64,
    pub base_weight: f64,
}

/// A template ready to search.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub id: usize,
    pub spec: Spec,
    pub regex: Regex,
    /// strptime fields by group index, in group order.
    fields: Vec<(Field, usize)>,
    /// A hand-written matcher equal to `regex`, for the commonest templates.
    pub shape: Option<Shape>,
    /// Rejects lines `regex` cannot match before PCRE2 searches them.
    pub first: Option<FirstBytes>,
}

impl Compiled {
    fn new(id: usize, spec: Spec, datepattern: &str, ex_year: &str) -> Result<Compiled, DateError> {
        let regex = Regex::new(&spec.regex, RegexOptions::default()).map_err(|e| {
            DateError::new(format!(
                "datepattern `{datepattern}`: template `{}` does not compile ({}); fix the \
                 pattern's regex syntax",
                spec.name, e.message
            ))
        })?;
        let fields = regex
            .group_names()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((Field::from_group(n.as_deref()?)?, i)))
            .collect();
        let shape = Shape::recognize(&spec.regex, ex_year);
        let first = FirstBytes::new(&spec.regex);
        Ok(Compiled { id, spec, regex, fields, shape, first })
    }

    pub(crate) fn flags(&self) -> u8 {
        self.spec.flags
    }
}

/// Stateful detector: like fail2ban's, it remembers the last winner and reorders templates.
pub struct DateDetector {
    /// Shared by [`DateDetector::fresh`] copies: compiling is most of a detector's cost.
    templates: Arc<[Compiled]>,
    scratch: Vec<Scratch>,
    selector: Selector,
    spans: Vec<Option<(usize, usize)>>,
    converter: Converter,
    clock: Clock,
    none: bool,
    /// The last conversion: (template, matched text, time, what it did to the mktime
    /// memory). The same text converts to the same time: when the result did not depend on
    /// the memory (`Untouched`, `Unique`), converting again gives it and leaves the memory as
    /// it is (as the last conversion left it, nothing converted since); when it did
    /// (`Ambiguous`, a time near a DST change), fail2ban's own cache returns the same time
    /// for the same text on the next line, where converting again might not (glibc's
    /// search starts from the offset found the first time). Runs of lines with the same
    /// timestamp are common.
    memo: (usize, String, Option<f64>, LocalEffect),
    memo_live: bool,
}

impl std::fmt::Debug for DateDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DateDetector")
            .field("templates", &self.templates.len())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

/// fail2ban's `%ExY` for this machine's current year (fail2ban computes it from the real
/// clock when it is loaded, whatever test clock is set later).
fn ex_year() -> String {
    let year = jiff::Timestamp::now().to_zoned(tz::system()).year();
    templates::year_regex(i32::from(year))
}

impl DateDetector {
    /// `datepattern` lines as the filter gives them (`None`: the 31 default templates).
    pub fn new(datepattern: Option<&[String]>, clock: Clock) -> Result<DateDetector, DateError> {
        let ex_year = ex_year();
        let specs = list::build(datepattern, &ex_year)?;
        let none = datepattern.is_some_and(|l| {
            let l: Vec<_> = l.iter().map(|x| x.trim()).filter(|x| !x.is_empty()).collect();
            l.len() == 1 && l[0].eq_ignore_ascii_case("{NONE}")
        });
        let templates = specs
            .into_iter()
            .enumerate()
            .map(|(id, (spec, line))| Compiled::new(id, spec, &line, &ex_year))
            .collect::<Result<Arc<[_]>, _>>()?;
        let zones = tz::Zones::new(&clock.zone)?;
        Ok(DateDetector::with(templates, zones, clock, none))
    }

    /// A detector in the state [`DateDetector::new`] gives, with the same templates and clock
    /// as this one (shared, not compiled again): for threads that detect the same lines ahead.
    pub fn fresh(&self) -> DateDetector {
        let zones = self.converter.zones.clone();
        DateDetector::with(Arc::clone(&self.templates), zones, self.clock.clone(), self.none)
    }

    fn with(
        templates: Arc<[Compiled]>,
        zones: tz::Zones,
        clock: Clock,
        none: bool,
    ) -> DateDetector {
        let scratch =
            templates.iter().map(|t| Scratch { caps: t.regex.captures(), fields: None }).collect();
        DateDetector {
            selector: Selector::new(templates.len()),
            converter: Converter::new(zones, clock.now),
            templates,
            scratch,
            spans: Vec::new(),
            clock,
            none,
            memo: (0, String::new(), None, LocalEffect::Untouched),
            memo_live: false,
        }
    }

    /// fail2ban's `matchTime` + `getTime`: finds the date in `line` and converts it.
    pub fn detect(&mut self, line: &str) -> Option<DateHit> {
        let (tid, fields) = match self.selector.recheck_shaped(&self.templates, line) {
            Some((tid, f)) => (tid, Some(f)),
            None => {
                let (tid, shaped) = self.selector.select(
                    &self.templates,
                    &mut self.scratch,
                    line,
                    &mut self.spans,
                )?;
                (tid, if shaped { self.scratch[tid].fields } else { None })
            }
        };
        let tpl = &self.templates[tid];
        let fields = fields.as_ref();
        let text = |i: usize| self.spans.get(i).copied().flatten().map(|(s, e)| &line[s..e]);
        // A shape match is groups 0 and 1 both at `0..end`.
        let ((start, end), whole) = match fields {
            Some(f) => ((0, usize::from(f.end)), &line[..usize::from(f.end)]),
            None => (self.spans.get(1).copied().flatten().unwrap_or((0, 0)), text(0).unwrap_or("")),
        };
        let (time, local) = if start == end {
            (None, LocalEffect::Untouched)
        } else if self.memo_live && self.memo.0 == tid && self.memo.1 == whole {
            (self.memo.2, self.memo.3)
        } else {
            self.converter.effect = LocalEffect::Untouched;
            let t = match (fields, tpl.spec.kind) {
                (Some(f), _) => self.converter.fields(f, line),
                (None, Kind::Pattern) => {
                    let fields = tpl.fields.iter().filter_map(|&(f, i)| Some((f, text(i)?)));
                    self.converter.strptime(fields)
                }
                (None, Kind::Epoch { long, group }) => {
                    text(group).and_then(|v| parse::epoch(v, long))
                }
                (None, Kind::Tai64n) => text(1).and_then(parse::tai64n),
            };
            let local = self.converter.effect;
            self.memo_live = true;
            self.memo.0 = tid;
            self.memo.1.clear();
            self.memo.1.push_str(whole);
            self.memo.2 = t;
            self.memo.3 = local;
            (t, local)
        };
        if let Some(fw) = self.selector.fast.as_mut() {
            fw.local = local;
        }
        Some(DateHit { start, end, template: tid, time })
    }

    /// How the last [`DateDetector::detect`] was decided, when a quick decision (nearly every
    /// line of a homogeneous log) made it; `None` after [`DateDetector::confirm_fast`].
    pub fn last_fast(&self) -> Option<&FastWin> {
        self.selector.fast.as_ref()
    }

    /// Accounts for `line` as if [`DateDetector::detect`] had run, using `fw` (from
    /// [`DateDetector::last_fast`] of another detector with the same templates and clock, e.g.
    /// on another thread, right after it detected `line`): true if this detector is in the state that decision depended on,
    /// so `detect` would have found the same date; then its counters and order are updated
    /// exactly as `detect` would. False: nothing changed, call `detect`.
    ///
    /// A decision whose time depended on the converting detector's mktime memory (a time
    /// near a DST change) is never confirmed: this detector's memory may differ.
    pub fn confirm_fast(&mut self, line: &str, fw: &FastWin) -> bool {
        if fw.local == LocalEffect::Ambiguous
            || !self.selector.confirm_fast(&self.templates, line, fw)
        {
            return false;
        }
        self.converter.replay(fw.local);
        self.memo_live = false;
        true
    }

    /// Templates with hits, in the detector's current (possibly reordered) order.
    pub fn template_hits(&self) -> Vec<TemplateHits> {
        self.selector
            .slots
            .iter()
            .filter(|s| s.hits > 0)
            .map(|s| TemplateHits { name: self.templates[s.tid].spec.name.clone(), hits: s.hits })
            .collect()
    }

    /// Every template in the current order with its counters (fail2ban-regex `-v`/`--VD`).
    pub fn template_states(&self) -> Vec<TemplateState> {
        self.selector
            .slots
            .iter()
            .map(|s| {
                let spec = &self.templates[s.tid].spec;
                TemplateState {
                    template: s.tid,
                    name: spec.name.clone(),
                    hits: s.hits,
                    weight: s.weight(spec.weight),
                    base_weight: spec.weight,
                }
            })
            .collect()
    }

    /// All templates in their original order (index = [`DateHit::template`]).
    pub fn templates(&self) -> Vec<TemplateInfo> {
        self.templates.iter().map(|t| self.template(t.id)).collect()
    }

    /// One template by index ([`DateHit::template`]). Panics if `index` is not one of this
    /// detector's templates.
    pub fn template(&self, index: usize) -> TemplateInfo {
        let s = &self.templates[index].spec;
        TemplateInfo {
            name: s.name.clone(),
            pattern: s.pattern.clone(),
            regex: s.regex.clone(),
            weight: s.weight,
            flags: pattern::flag_names(s.flags),
        }
    }

    /// What fail2ban-regex prints after `Use      datepattern : <pattern> : `: the single
    /// (or first of two) template's name, else `Default Detectors`.
    pub fn describe(&self) -> String {
        if self.templates.len() > 2 {
            "Default Detectors".to_string()
        } else {
            self.templates[0].spec.name.clone()
        }
    }

    /// True when the datepattern is `{NONE}`: lines carry no date.
    pub fn is_none(&self) -> bool {
        self.none
    }

    /// The clock this detector converts with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves "now" (year inference, time-only dates). fail2ban-regex reads the real clock
    /// on every line; a long replay may call this to follow it.
    pub fn set_now(&mut self, now: f64) {
        self.memo_live = false;
        self.clock.now = now;
        self.converter.set_now(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dd(lines: &[&str]) -> Result<DateDetector, DateError> {
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        DateDetector::new(Some(&lines), Clock::fail2ban_tests())
    }

    /// A fresh copy starts where `new` starts, whatever the original has seen since.
    #[test]
    fn fresh_copies_start_from_scratch() {
        let lines = [
            "Jan  3 10:00:01 host sshd[1]: x",
            "2005-01-03 10:00:02 y",
            "garbage",
            "<38>1 2005-01-03T10:00:03Z host app - - - z",
            "Jan  3 10:00:04 host sshd[2]: x",
        ];
        for datepattern in [None, Some(vec!["{^LN-BEG}".to_string()])] {
            let mut used =
                DateDetector::new(datepattern.as_deref(), Clock::fail2ban_tests()).unwrap();
            for l in lines.iter().rev() {
                used.detect(l);
            }
            let mut copy = used.fresh();
            let mut new =
                DateDetector::new(datepattern.as_deref(), Clock::fail2ban_tests()).unwrap();
            for l in lines {
                assert_eq!(copy.detect(l), new.detect(l), "{l}");
            }
            assert_eq!(copy.template_states(), new.template_states());
        }
    }

    #[test]
    fn bad_datepatterns_say_what_to_fix() {
        let e = dd(&["%Y-%q %H"]).unwrap_err().to_string();
        assert!(e.contains("`%Y-%q %H`") && e.contains("%%"), "{e}");
        let e = dd(&["(%H:%M"]).unwrap_err().to_string();
        assert!(e.contains("`(%H:%M`") && e.contains("does not compile"), "{e}");
        let e = dd(&["%H:%M", "%H:%M"]).unwrap_err().to_string();
        assert!(e.contains("already a template") && e.contains("24hour:Minute"), "{e}");
        let e = dd(&["", "  "]).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn bad_zones_say_what_to_fix() {
        let e = Zone::from_timezone_option("Europe/Berlin").unwrap_err().to_string();
        assert!(e.contains("Europe/Berlin") && e.contains("UTC+0200"), "{e}");
        let e = Zone::from_timezone_option("XYZW").unwrap_err().to_string();
        assert!(e.contains("unknown zone abbreviation"), "{e}");
        assert_eq!(Zone::from_timezone_option("UTC+0200").unwrap(), Zone::Fixed(7200));
        let clock = Clock { now: 0.0, zone: Zone::Named("Mars/Olympus".into()) };
        let e = DateDetector::new(None, clock).unwrap_err().to_string();
        assert!(e.contains("Mars/Olympus"), "{e}");
    }

    /// Lines for comparing the fast paths (shape matchers, integer conversion, periods,
    /// replayed decisions) with the general ones: both layouts, invalid dates, the year
    /// guess around now + 1 day, year ends, DST gaps and folds (2005 in the test zone),
    /// and lines the shapes must not take.
    const EDGE_LINES: &[&str] = &[
        "Nov 25 20:44:19 host sshd[1]: x",
        "Aug 14 11:59:59 host sshd[1]: x",
        "Aug 14 11:59:59 host sshd[1]: again",
        "Feb 30 10:00:00 host x",
        "Feb 29 10:00:00 host x",
        "Feb 29 10:00:00 2004 host x",
        "Aug 15 12:00:00 host x",
        "Aug 15 12:00:01 host x",
        "Dec 31 23:59:59 host x",
        "Jan  1 00:00:00 host x",
        "Jan 01 00:00:00 host x",
        "Mar 27 02:30:00 host gap",
        "Oct 30 02:30:00 host fold",
        "Oct 30 02:30:00 host fold again",
        "Oct 30 01:59:59 host",
        "Oct 30 03:00:00 host",
        "Oct 30 02:30:00 2005 host",
        "Oct 31 02:30:00 host fold 2004",
        "Oct 31 02:10:00 host fold 2004",
        "Oct 31 03:30:00 host",
        "Oct 31 01:30:00 host",
        // Space- and zero-padded days at a fold (Lord Howe, 30 min) and a gap (New York).
        "Apr  3 01:45:00 host fold",
        "Apr 03 01:45:00 host fold",
        "Apr  3 02:30:00 host gap",
        "Apr 03 02:30:00 host gap",
        "Jan 15 12:00:00 host",
        "Jul 15 12:00:00 host",
        "2005-10-30T02:10:00 host fold",
        "Nov 31 20:44:19 host",
        "Nov 25 24:00:00 host",
        "Nov 25 20:44:60 host",
        "Nov 25 20:44:19.123456 2005 host",
        "Wed Nov 25 20:44:19 2005 host",
        "2005-03-27T02:30:00 host gap",
        "2005-10-30T02:30:00 host fold",
        "2005-10-30 02:30:00 host fold",
        "2005-10-30T02:30:00+0200 host",
        "2026-11-25T20:44:19+0100 host sshd[1]: x",
        "2015-04-16T18:02:50.321974+00:00 host sshd[1]: x",
        "2005-02-30T10:00:00 host",
        "2005-08-14 11:59:59,123 host",
        "2005-08-14T11:59:59Zx host",
        "Nov 25 20:44:19x host",
        "[Nov 25 20:44:19] host",
        "<38>1 2019-07-08T17:40:16.954167-04:00 host sshd 1 - - x",
        "Nov  5 20:44:1\u{e9} host",
        "  Nov 25 20:44:19 host",
        "host Nov 25 20:44:19 x",
        "\u{17f}ep 14 11:59:59 host",
        "no date here",
        "@4000000037c219bf2ef02e94 host",
        "1124013599 host",
    ];

    fn general(mut d: DateDetector) -> DateDetector {
        for t in Arc::get_mut(&mut d.templates).expect("not shared").iter_mut() {
            t.shape = None;
        }
        d.converter.local.plain = true;
        d
    }

    fn clocks() -> Vec<Clock> {
        vec![
            Clock::fail2ban_tests(),
            Clock { now: 1124013600.0, zone: Zone::Named("Australia/Lord_Howe".into()) },
            Clock { now: 1131000000.0, zone: Zone::Named("America/New_York".into()) },
            Clock { now: 1124013600.0, zone: Zone::Fixed(3600) },
        ]
    }

    /// The edge lines in a shuffled, repeating order.
    fn edge_sequence() -> Vec<&'static str> {
        let mut seed = 0x1234_5678_9abc_def1u64;
        (0..4000)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Runs of one line now and then, as real logs have.
                let k = if i % 7 < 3 {
                    (seed % 3) as usize
                } else {
                    (seed % EDGE_LINES.len() as u64) as usize
                };
                EDGE_LINES[k]
            })
            .collect()
    }

    #[test]
    fn fast_paths_equal_general_paths() {
        let bare = Some(vec!["^{DATE}".to_string()]);
        for patterns in [None, Some(vec!["{^LN-BEG}".to_string()]), bare] {
            for clock in clocks() {
                let new = || DateDetector::new(patterns.as_deref(), clock.clone()).unwrap();
                let (mut fast, mut slow) = (new(), general(new()));
                assert!(fast.templates.iter().filter(|t| t.shape.is_some()).count() == 2);
                for (i, line) in edge_sequence().into_iter().enumerate() {
                    assert_eq!(fast.detect(line), slow.detect(line), "{clock:?} {line}");
                    if i % 97 == 0 {
                        assert_eq!(fast.template_states(), slow.template_states());
                    }
                }
                assert_eq!(fast.template_hits(), slow.template_hits());
                // The one-piece re-check took its share (and the general path the rest).
                assert!(fast.selector.one_piece > 1000, "{}", fast.selector.one_piece);
                assert_eq!(slow.selector.one_piece, 0);
            }
        }
    }

    /// As parallel replay does: two workers detect alternate batches on their own, the
    /// sequencer confirms their quick decisions in line order and detects the rest; every
    /// date and the final state equal one detector's on the whole sequence.
    #[test]
    fn confirmed_decisions_equal_sequential_detection() {
        for (clock, bare) in clocks().into_iter().flat_map(|c| [(c.clone(), false), (c, true)]) {
            let patterns = bare.then(|| vec!["^{DATE}".to_string()]);
            let new = || DateDetector::new(patterns.as_deref(), clock.clone()).unwrap();
            let (mut workers, mut sequencer, mut reference) = ([new(), new()], new(), new());
            let lines = edge_sequence();
            let mut confirmed = 0;
            for (b, batch) in lines.chunks(7).enumerate() {
                let w = &mut workers[b % 2];
                let out: Vec<_> =
                    batch.iter().map(|l| (w.detect(l), w.last_fast().cloned())).collect();
                for (line, (hit, fast)) in batch.iter().zip(out) {
                    let got = if fast.is_some_and(|fw| sequencer.confirm_fast(line, &fw)) {
                        confirmed += 1;
                        hit
                    } else {
                        sequencer.detect(line)
                    };
                    assert_eq!(got, reference.detect(line), "{clock:?} {line}");
                }
            }
            assert_eq!(sequencer.template_states(), reference.template_states());
            assert!(confirmed > lines.len() / 3, "{confirmed}");
        }
    }

    /// Lines for the first-byte tests: each template's date at and near the line start, and
    /// after brackets.
    const PREFILTER_LINES: &[&str] = &[
        "<38>1 2019-07-08T17:40:16.954167-04:00 host sshd 1 - - x",
        "x 14/08/2005 11:59:59 y",
        "x 08/14/2005:11:59:59 y",
        "x 08-14-2005 11:59:59 y",
        "x 14-Aug-2005 11:59:59 y",
        "x Aug 14, 2005 11:59:59 am y",
        "x Aug 14, 2005 11:59:59 y",
        "x aug 14 2005 11:59:59 y",
        "<08/14/05@11:59:59> x",
        "Aug-14-05 11:59:59 x",
        "x 050814 11:59:59 y",
        "x 20050814T115959 y",
        "[1124013599] x",
        "audit(1124013599.123:45): x",
        "x @4000000037c219bf2ef02e94 y",
        "11:59:59 x",
        "x 2005/08/14 11:59:59 y",
        "x /2005 -2005 , 2005 AM y",
        "host x[Aug 14 11:59:59] y",
        "host x[14/Aug/2005:11:59:59 +0200] y",
        "host x[2005-08-14 11:59:59] y",
        "host x[1124013599] y",
        "[1124013599.123] y",
        "x [11:59:59] [2005-08-14 11:59:59] y",
        "x[",
        "x [\u{e9}Aug 14 11:59:59] y",
    ];

    /// Every line of fail2ban's sample logs, the edge lines and the first-byte lines, in
    /// that order.
    fn prefilter_corpus() -> Vec<String> {
        let mut lines = Vec::new();
        let dir = std::path::Path::new("/usr/lib/python3/dist-packages/fail2ban/tests/files/logs");
        let mut stack = vec![dir.to_path_buf()];
        let mut files = Vec::new();
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            lines.extend(String::from_utf8_lossy(&bytes).lines().map(str::to_string));
        }
        lines.extend(EDGE_LINES.iter().chain(PREFILTER_LINES).map(|l| l.to_string()));
        lines
    }

    /// The first-byte tests only skip searches that cannot match: detection with and without
    /// them is the same, line by line and in the final template order and counters.
    #[test]
    #[cfg_attr(
        not(host_has = "fail2ban_samples"),
        ignore = "needs fail2ban's sample logs (apt-get install fail2ban)"
    )]
    fn first_byte_tests_change_nothing() {
        let lines = prefilter_corpus();
        assert!(lines.len() > 1000, "{}", lines.len());
        let bracket = r"^[^\[]*\[({DATE})";
        for patterns in [None, Some(vec!["{^LN-BEG}".to_string()]), Some(vec![bracket.to_string()])]
        {
            let new = || DateDetector::new(patterns.as_deref(), Clock::fail2ban_tests()).unwrap();
            let (mut with, mut without) = (new(), new());
            Arc::get_mut(&mut without.templates)
                .expect("not shared")
                .iter_mut()
                .for_each(|t| t.first = None);
            let rejects = |l: &str| {
                with.templates
                    .iter()
                    .filter(|t| t.first.as_ref().is_some_and(|f| !f.may_match(l)))
                    .count()
            };
            if patterns.as_ref().is_some_and(|p| p[0] == bracket) {
                // Most templates test the two bytes after the first `[`.
                assert!(rejects("x [<38>1 2005-08-14T11:59:59") >= 8, "{}", rejects("x [<3"));
                assert!(rejects("no bracket") >= 8, "{}", rejects("no bracket"));
            } else {
                assert!(rejects(PREFILTER_LINES[0]) >= 8, "{}", rejects(PREFILTER_LINES[0]));
            }
            for (k, line) in lines.iter().enumerate() {
                assert_eq!(with.detect(line), without.detect(line), "{line}");
                if k % 101 == 0 {
                    assert_eq!(with.template_states(), without.template_states(), "{line}");
                }
            }
            assert_eq!(with.template_states(), without.template_states());
            // Each prefilter line alone, after a syslog line (the usual last winner).
            for line in PREFILTER_LINES {
                let (mut with, mut without) = (new(), new());
                Arc::get_mut(&mut without.templates)
                    .expect("not shared")
                    .iter_mut()
                    .for_each(|t| t.first = None);
                for l in ["Aug 14 11:59:59 host x", line, line] {
                    assert_eq!(with.detect(l), without.detect(l), "{l}");
                }
                assert_eq!(with.template_states(), without.template_states(), "{line}");
            }
        }
    }

    #[test]
    fn hits_and_cut() {
        let mut d = DateDetector::new(None, Clock::fail2ban_tests()).unwrap();
        let line = "Aug 14 11:59:59 host sshd[1]: x";
        let hit = d.detect(line).unwrap();
        assert_eq!((hit.start, hit.end, hit.time), (0, 15, Some(1124013599.0)));
        assert_eq!(format!("{}{}", &line[..hit.start], &line[hit.end..]), " host sshd[1]: x");
        assert!(d.detect("no date").is_none());
        assert_eq!(
            d.template_hits(),
            vec![TemplateHits {
                name: r"{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?"
                    .into(),
                hits: 1
            }]
        );
        assert_eq!(d.template(hit.template).weight, 100.0);
    }

    #[test]
    fn none_and_empty_dates() {
        let mut d = dd(&["{NONE}"]).unwrap();
        assert!(d.is_none());
        let hit = d.detect("Aug 14 11:59:59 x").unwrap();
        assert!(hit.is_empty() && hit.time.is_none());
        let mut d = dd(&[r"^I\(()**"]).unwrap();
        assert!(!d.is_none());
        assert!(d.detect("I(x) y").unwrap().is_empty());
        assert!(d.detect("J(x) y").is_none());
    }
}
