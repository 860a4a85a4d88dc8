//! Zones: loading the local/named zone (jiff), fail2ban's fixed-offset zone syntax
//! (`--timezone UTC+0200`, `%z`/`%Z` values in lines), and local time → Unix time exactly as
//! glibc's `mktime` does it (which is what Python's `time.mktime` calls).

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::templates::abbreviation_offset;
use super::{DateError, Zone};

/// The zone used for "local time", plus the fixed offset for zone-less times if one was set.
#[derive(Clone, Debug)]
pub(crate) struct Zones {
    /// Python's local zone: converts "now" to a wall clock and, without a fixed offset, the
    /// log's zone-less times to Unix time.
    pub local: TimeZone,
    /// fail2ban's `default_tz` (`--timezone` / `logtimezone`), in seconds east of UTC.
    pub fixed: Option<i32>,
}

impl Zones {
    pub(crate) fn new(zone: &Zone) -> Result<Zones, DateError> {
        Ok(match zone {
            Zone::Local => Zones { local: system(), fixed: None },
            Zone::Fixed(secs) => Zones { local: system(), fixed: Some(*secs) },
            Zone::Named(name) => Zones { local: named(name)?, fixed: None },
        })
    }
}

/// The machine's local zone, as `jiff::tz::TimeZone::system()` finds it, without its cost in
/// the usual case: with `TZ` unset, that is `/etc/localtime`, read here directly. jiff also
/// names the zone, for which it lists the whole zoneinfo database: 0.9 ms of every replay's
/// start-up, for a name nothing here uses.
pub(crate) fn system() -> TimeZone {
    if std::env::var_os("TZ").is_none() {
        if let Some(tz) = std::fs::read("/etc/localtime")
            .ok()
            .and_then(|data| TimeZone::tzif("localtime", &data).ok())
        {
            return tz;
        }
    }
    TimeZone::system()
}

/// A zone given like the `TZ` variable: an IANA name (`Europe/Berlin`), a POSIX rule
/// (`CET-01CEST-02,M3.5.0,M10.5.0`) or a TZif file path, with an optional leading `:`.
fn named(name: &str) -> Result<TimeZone, DateError> {
    let n = name.strip_prefix(':').unwrap_or(name);
    let tz = if n.starts_with('/') {
        std::fs::read(n).ok().and_then(|data| TimeZone::tzif(n, &data).ok())
    } else {
        TimeZone::get(n).ok().or_else(|| TimeZone::posix(n).ok())
    };
    tz.ok_or_else(|| {
        DateError::new(format!(
            "time zone `{name}` is neither an IANA name (e.g. Europe/Berlin), nor a POSIX TZ \
             rule (e.g. CET-01CEST-02,M3.5.0,M10.5.0), nor a TZif file; use one of those"
        ))
    })
}

/// fail2ban's fixed-offset zone syntax `[ABBR][±hh[[:]mm]]` (the abbreviation is 1 or 3-5
/// capitals from its table), in minutes east of UTC. `Err(false)`: not that syntax;
/// `Err(true)`: the syntax, but an abbreviation fail2ban does not know.
pub(crate) fn fixed_offset_minutes(s: &str) -> Result<i32, bool> {
    let letters = s.bytes().take_while(u8::is_ascii_uppercase).count();
    if !matches!(letters, 0 | 1 | 3 | 4 | 5) {
        return Err(false);
    }
    let (abbr, rest) = s.split_at(letters);
    let base = if abbr.is_empty() { 0 } else { abbreviation_offset(abbr).ok_or(true)? };
    if rest.is_empty() {
        return Ok(base);
    }
    let b = rest.as_bytes();
    let digit = |i: usize| b.get(i).filter(|c| c.is_ascii_digit()).map(|c| i32::from(c - b'0'));
    let sign = match b[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return Err(false),
    };
    let (Some(h1 @ 0..=1), Some(h2)) = (digit(1), digit(2)) else { return Err(false) };
    let hours = h1 * 10 + h2;
    let minutes = match rest.len() {
        3 => 0,
        5 => digit(3).zip(digit(4)).map(|(a, b)| a * 10 + b).ok_or(false)?,
        6 if b[3] == b':' => digit(4).zip(digit(5)).map(|(a, b)| a * 10 + b).ok_or(false)?,
        _ => return Err(false),
    };
    Ok(base + sign * (hours * 60 + minutes))
}

/// The offset in minutes of a `%z`/`%Z` value found in a line: `Z`, `UTC`, `GMT` are 0,
/// others go through fail2ban's fixed-offset syntax. `None`: not a zone fail2ban can convert
/// (the line's date then has no time).
pub(crate) fn line_zone_minutes(value: &str) -> Option<i32> {
    match value {
        "Z" | "UTC" | "GMT" => Some(0),
        _ => fixed_offset_minutes(value).ok(),
    }
}

/// glibc's `mktime` for one zone, with its memory: glibc starts its search from the offset
/// that the previous call found, so inside a DST fold (an hour that exists twice) the answer
/// depends on the previous conversion, and inside a gap (an hour that does not exist) it
/// settles on the DST side. Python's `time.mktime`, and so fail2ban, inherit this.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mktime {
    /// `t - naive` of the last successful call (glibc's `localtime_offset`, 0 at start).
    guess: i64,
}

impl Mktime {
    /// `naive` is the wall-clock time as seconds since 1970-01-01T00:00 (as if it were UTC).
    pub(crate) fn convert(&mut self, tz: &TimeZone, naive: i64) -> Option<i64> {
        let offset_at = |t: i64| -> Option<(i64, bool)> {
            let info = tz.to_offset_info(Timestamp::from_second(t).ok()?);
            Some((i64::from(info.offset().seconds()), info.dst().is_dst()))
        };
        let t0 = naive + self.guess;
        let (mut t, mut t1, mut t2) = (t0, t0, t0);
        let mut prev_dst = false;
        let mut probes = 6;
        loop {
            let (off, dst) = offset_at(t)?;
            let dt = naive - (t + off);
            if dt == 0 {
                break;
            }
            // Oscillating between two candidates: a spring-forward gap. Stop on the DST one
            // (or when neither is DST).
            if t == t1 && t != t2 && (!prev_dst || dst) {
                break;
            }
            probes -= 1;
            if probes == 0 {
                return None;
            }
            t1 = t2;
            t2 = t;
            t += dt;
            prev_dst = dst;
        }
        self.guess = t - naive;
        Some(t)
    }
}

/// What a conversion did to [`Mktime`]'s memory, so that another `Mktime` can be put in the
/// same state without converting (parallel replay confirms worker results in line order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum LocalEffect {
    /// No local-time conversion happened (zone in the line, fixed offset, no valid date).
    #[default]
    Untouched,
    /// The result did not depend on the memory, which is now this.
    Unique(i64),
    /// The result may depend on the memory (near a transition, or no result).
    Ambiguous,
}

/// How far a time must be from any zone transition for [`Period`] to convert it: more than
/// any two offsets can differ (jiff bounds offsets to ±25:59:59), so glibc's search, from
/// whatever offset it remembers, lands inside the period at once.
const MARGIN: i64 = 3 * 86_400;

/// Unix times `lo..=hi` share one offset and lie at least [`MARGIN`] from any transition.
/// A wall-clock time whose candidate `naive - offset` falls inside has exactly one solution,
/// and [`Mktime::convert`] finds it whatever its memory: its first probe `naive + guess` is
/// within 52 h of the solution, so inside the period, so the second probe is the solution.
#[derive(Clone, Copy, Debug)]
struct Period {
    lo: i64,
    hi: i64,
    offset: i64,
}

impl Period {
    /// The period around Unix time `t`, if `t` is far enough from the transitions.
    fn around(tz: &TimeZone, t: i64) -> Option<Period> {
        let ts = Timestamp::from_second(t).ok()?;
        let offset = i64::from(tz.to_offset_info(ts).offset().seconds());
        let prev = tz.preceding(ts).next().map(|x| x.timestamp().as_second());
        let next = tz.following(ts).next().map(|x| x.timestamp().as_second());
        // Whether the bounds of `preceding`/`following` are strict does not matter: the
        // margin keeps `t` away from both.
        let lo = prev.map_or(i64::MIN / 4, |p| p + MARGIN);
        let hi = next.map_or(i64::MAX / 4, |n| n - MARGIN);
        let offset_at = |x: i64| {
            let x = x.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
            Timestamp::from_second(x)
                .ok()
                .map(|x| i64::from(tz.to_offset_info(x).offset().seconds()))
        };
        let sane = offset_at(lo) == Some(offset) && offset_at(hi) == Some(offset);
        (lo <= t && t <= hi && sane).then_some(Period { lo, hi, offset })
    }
}

/// How many periods [`LocalTime`] remembers: logs mixing dates from several years (the
/// sample tests, rotated archives) still convert by subtraction.
const PERIODS: usize = 8;

/// [`Mktime`] with a shortcut: conversions far from zone transitions are a subtraction.
#[derive(Clone, Debug, Default)]
pub(crate) struct LocalTime {
    mktime: Mktime,
    periods: [Option<Period>; PERIODS],
    /// The slot the next new period replaces.
    next: usize,
    /// The slot that converted last (tried first).
    last: usize,
    /// Tests: plain `Mktime`, to compare with.
    #[cfg(test)]
    pub plain: bool,
}

impl LocalTime {
    /// Exactly [`Mktime::convert`] (result and memory), plus what it did to the memory.
    #[inline]
    pub(crate) fn convert(&mut self, tz: &TimeZone, naive: i64) -> (Option<i64>, LocalEffect) {
        #[cfg(test)]
        if self.plain {
            return (self.mktime.convert(tz, naive), LocalEffect::Ambiguous);
        }
        match self.periods[self.last] {
            Some(p) if (p.lo..=p.hi).contains(&(naive - p.offset)) => {
                self.mktime.guess = -p.offset;
                (Some(naive - p.offset), LocalEffect::Unique(-p.offset))
            }
            _ => self.convert_other(tz, naive),
        }
    }

    /// [`LocalTime::convert`] when the last period does not hold the time.
    #[inline(never)]
    fn convert_other(&mut self, tz: &TimeZone, naive: i64) -> (Option<i64>, LocalEffect) {
        // At most one period can hold the solution (it is unique), so the order of the
        // search does not matter.
        let hit = |p: &Option<Period>| p.filter(|p| (p.lo..=p.hi).contains(&(naive - p.offset)));
        let found = self.periods.iter().position(|p| hit(p).is_some()).map(|i| {
            self.last = i;
            self.periods[i]
        });
        if let Some(Some(p)) = found {
            self.mktime.guess = -p.offset;
            return (Some(naive - p.offset), LocalEffect::Unique(-p.offset));
        }
        let t = self.mktime.convert(tz, naive);
        let effect = match t.and_then(|t| Some((t, Period::around(tz, t)?))) {
            Some((t, p)) if t == naive - p.offset => {
                self.periods[self.next] = Some(p);
                self.next = (self.next + 1) % PERIODS;
                LocalEffect::Unique(self.mktime.guess)
            }
            _ => LocalEffect::Ambiguous,
        };
        (t, effect)
    }

    /// Puts the memory where a conversion with `effect` left another `LocalTime`.
    pub(crate) fn replay(&mut self, effect: LocalEffect) {
        if let LocalEffect::Unique(guess) = effect {
            self.mktime.guess = guess;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posix_cet() -> TimeZone {
        TimeZone::posix("CET-01CEST-02,M3.5.0,M10.5.0").unwrap()
    }

    fn naive(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> i64 {
        jiff::civil::datetime(y, mo, d, h, mi, 0, 0)
            .to_zoned(TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_second()
    }

    #[test]
    fn mktime_gap_and_fold_like_glibc() {
        // Values measured with python3 time.mktime under the same TZ.
        let tz = posix_cet();
        let mut m = Mktime::default();
        assert_eq!(m.convert(&tz, naive(2005, 3, 27, 2, 30)), Some(1111887000)); // 03:30 CEST
        let mut m = Mktime::default();
        assert_eq!(m.convert(&tz, naive(2005, 10, 30, 1, 30)), Some(1130632200)); // CET
        let mut m = Mktime::default();
        m.convert(&tz, naive(2005, 7, 1, 1, 0));
        assert_eq!(m.convert(&tz, naive(2005, 10, 30, 1, 30)), Some(1130628600)); // CEST
        let mut m = Mktime::default();
        m.convert(&tz, naive(2005, 3, 27, 2, 30));
        assert_eq!(m.convert(&tz, naive(2005, 10, 30, 1, 30)), Some(1130632200));
        // CET
    }

    #[test]
    fn fixed_offsets() {
        assert_eq!(fixed_offset_minutes("UTC+0200"), Ok(120));
        assert_eq!(fixed_offset_minutes("-05:30"), Ok(-330));
        assert_eq!(fixed_offset_minutes("+01"), Ok(60));
        assert_eq!(fixed_offset_minutes("CEST"), Ok(120));
        assert_eq!(fixed_offset_minutes("PDT-0100"), Ok(-480));
        assert_eq!(fixed_offset_minutes(""), Ok(0));
        assert_eq!(fixed_offset_minutes("ABCD"), Err(true));
        assert_eq!(fixed_offset_minutes("cest"), Err(false));
        assert_eq!(fixed_offset_minutes("+2:00"), Err(false));
        assert_eq!(line_zone_minutes("GMT"), Some(0));
        assert_eq!(line_zone_minutes("+0130"), Some(90));
    }

    #[test]
    fn named_zones() {
        assert!(named("CET-01CEST-02,M3.5.0,M10.5.0").is_ok());
        assert!(named("UTC").is_ok());
        let e = named("Not/AZone").unwrap_err();
        assert!(e.to_string().contains("Not/AZone"));
    }
}
