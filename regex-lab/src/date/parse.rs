//! A template match → Unix time, as fail2ban's `reGroupDictStrptime`, `DateEpoch` and
//! `DateTai64n` compute it.
//!
//! - Fields come from the named groups, in pattern order (a later group of the same meaning
//!   wins). `%f` is parsed and dropped: times are whole seconds.
//! - No year: the current one, or the previous one if the result would be more than a day
//!   ahead of now. No month and day: today, or yesterday if the result is ahead of now.
//! - `%z`/`%Z` in the line, else the fixed default offset, make the time UTC-based; otherwise
//!   it is local time converted like Python's `time.mktime`.
//! - Anything Python's `datetime` would reject (Feb 30, hour 24, second 60, unknown zone
//!   abbreviation) gives no time.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::shape::Fields;
use super::tz::{line_zone_minutes, LocalEffect, LocalTime, Zones};

/// The strptime fields fail2ban looks at (other named groups are ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Year2,
    Year,
    Month,
    MonthName,
    MonthAbbr,
    Day,
    Hour,
    Hour12,
    AmPm,
    Minute,
    Second,
    Weekday,
    WeekdayName,
    WeekdayAbbr,
    YearDay,
    WeekSun,
    WeekMon,
    Zone,
}

impl Field {
    /// The field a named group stands for (strptime directive letters as group names).
    pub(crate) fn from_group(name: &str) -> Option<Field> {
        Some(match name {
            "y" => Field::Year2,
            "Y" => Field::Year,
            "m" => Field::Month,
            "B" => Field::MonthName,
            "b" => Field::MonthAbbr,
            "d" => Field::Day,
            "H" => Field::Hour,
            "I" => Field::Hour12,
            "p" => Field::AmPm,
            "M" => Field::Minute,
            "S" => Field::Second,
            "w" => Field::Weekday,
            "A" => Field::WeekdayName,
            "a" => Field::WeekdayAbbr,
            "j" => Field::YearDay,
            "U" => Field::WeekSun,
            "W" => Field::WeekMon,
            "z" | "Z" => Field::Zone,
            _ => return None,
        })
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const WEEKDAYS: [&str; 7] =
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// What converting needs besides the match: the zones, "now", and glibc's mktime memory.
#[derive(Clone, Debug)]
pub(crate) struct Converter {
    pub zones: Zones,
    /// "now" as a local wall clock (Python's `MyTime.now()`, microsecond precision).
    now: DateTime,
    /// `now` in microseconds since 1970-01-01T00:00 as if it were UTC, when its year is in
    /// [`ARITHMETIC_YEARS`].
    now_micros: Option<i64>,
    pub(crate) local: LocalTime,
    /// What the last conversion did to the mktime memory.
    pub effect: LocalEffect,
    /// The last year [`Converter::days_from_civil`] saw: (year, days to its January 1st,
    /// leap year). Pure functions of the year; lines of one log share their year.
    year: (i64, i64, bool),
}

/// A date as strptime read it, before conversion: wall-clock fields, the zone the text
/// named (minutes east of UTC), and which fields fail2ban guessed (the year, or the whole day
/// for a time alone).
#[derive(Clone, Copy, Debug)]
struct Naive {
    year: i64,
    month: i64,
    day: i64,
    hms: (i64, i64, i64),
    zone_minutes: Option<i32>,
    assume_year: bool,
    assume_today: bool,
}

/// Years for which [`Converter::finish`] computes with integers: every shift it makes (a
/// zone offset, a day, a year back) stays far inside jiff's ranges, so none of the range
/// errors the general code can meet is possible. Other years take the general code.
const ARITHMETIC_YEARS: std::ops::RangeInclusive<i64> = 1000..=9000;

fn int(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if !b.is_empty() && b.len() <= 18 && b.iter().all(u8::is_ascii_digit) {
        return Some(b.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')));
    }
    s.trim().parse().ok()
}

/// Days from 1970-01-01 to a valid proleptic Gregorian date (Hinnant's `days_from_civil`);
/// `None` if the month or day does not exist, as `Date::new` decides.
fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

impl Converter {
    pub(crate) fn new(zones: Zones, now: f64) -> Converter {
        let mut c = Converter {
            now: DateTime::default(),
            now_micros: None,
            zones,
            local: LocalTime::default(),
            effect: LocalEffect::Untouched,
            year: (1970, 0, false),
        };
        c.set_now(now);
        c
    }

    pub(crate) fn set_now(&mut self, now: f64) {
        let micros = (now * 1e6).round() as i64;
        let ts = Timestamp::from_microsecond(micros).unwrap_or(Timestamp::UNIX_EPOCH);
        self.now = ts.to_zoned(self.zones.local.clone()).datetime();
        self.now_micros = ARITHMETIC_YEARS
            .contains(&i64::from(self.now.year()))
            .then(|| self.now.to_zoned(TimeZone::UTC).ok())
            .flatten()
            .map(|z| z.timestamp().as_microsecond());
    }

    /// Puts the mktime memory where a conversion with `effect` left another converter.
    pub(crate) fn replay(&mut self, effect: LocalEffect) {
        self.local.replay(effect);
    }

    /// Time of a match read by a [`super::shape`] matcher: what [`Converter::strptime`]
    /// gives for the same groups (month and day are always there; `a` and `f` are ignored).
    pub(crate) fn fields(&mut self, f: &Fields, line: &str) -> Option<f64> {
        self.effect = LocalEffect::Untouched;
        let zone = match f.zone {
            (s, e) if s < e => Some(line_zone_minutes(&line[usize::from(s)..usize::from(e)])?),
            _ => None,
        };
        let year = f.year.map_or(i64::from(self.now.year()), i64::from);
        let hms = (i64::from(f.hour), i64::from(f.minute), i64::from(f.second));
        let (month, day) = (i64::from(f.month), i64::from(f.day));
        self.finish(Naive {
            year,
            month,
            day,
            hms,
            zone_minutes: zone,
            assume_year: f.year.is_none(),
            assume_today: false,
        })
    }

    /// Time of a strptime-style match. `fields` are (field, text) in group order.
    pub(crate) fn strptime<'a>(
        &mut self,
        fields: impl Iterator<Item = (Field, &'a str)> + Clone,
    ) -> Option<f64> {
        let mut year = None;
        let (mut month, mut day) = (None, None);
        let (mut hour, mut minute, mut second) = (0i64, 0i64, 0i64);
        let (mut weekday, mut julian, mut week) = (None, None, None);
        let mut zone_minutes = None;
        self.effect = LocalEffect::Untouched;
        let am_pm = fields.clone().find(|(f, _)| *f == Field::AmPm).map(|(_, v)| v.to_lowercase());
        for (field, v) in fields {
            match field {
                Field::Year2 => {
                    let y = int(v)?;
                    year = Some(if y <= 2000 { y + 2000 } else { y });
                }
                Field::Year => year = Some(int(v)?),
                Field::Month => month = Some(int(v)?),
                Field::MonthName => month = Some(name_index(&MONTHS, v, usize::MAX)? + 1),
                Field::MonthAbbr => month = Some(name_index(&MONTHS, v, 3)? + 1),
                Field::Day => day = Some(int(v)?),
                Field::Hour => hour = int(v)?,
                Field::Hour12 => {
                    hour = int(v)?;
                    match am_pm.as_deref() {
                        None | Some("") | Some("am") if hour == 12 => hour = 0,
                        Some("pm") if hour != 12 => hour += 12,
                        _ => {}
                    }
                }
                Field::AmPm => {}
                Field::Minute => minute = int(v)?,
                Field::Second => second = int(v)?,
                Field::WeekdayName => weekday = Some(name_index(&WEEKDAYS, v, usize::MAX)?),
                Field::WeekdayAbbr => weekday = Some(name_index(&WEEKDAYS, v, 3)?),
                Field::Weekday => weekday = Some((int(v)? + 6) % 7),
                Field::YearDay => julian = Some(int(v)?),
                Field::WeekSun => week = Some((int(v)?, false)),
                Field::WeekMon => week = Some((int(v)?, true)),
                Field::Zone => zone_minutes = Some(line_zone_minutes(v)?),
            }
        }

        let now = self.now;
        let assume_year = year.is_none();
        let year = year.unwrap_or(i64::from(now.year()));
        if month.is_none() || day.is_none() {
            if julian.is_none() {
                if let (Some((w, monday_first)), Some(wd)) = (week, weekday) {
                    julian = Some(julian_from_week(year, w, wd, monday_first)?);
                }
            }
            if let Some(j) = julian {
                let d = civil_date(year, 1, 1)?
                    .checked_add(SignedDuration::from_hours(24 * (j - 1)))
                    .ok()?;
                return self.finish(Naive {
                    year: i64::from(d.year()),
                    month: d.month().into(),
                    day: d.day().into(),
                    hms: (hour, minute, second),
                    zone_minutes,
                    assume_year,
                    assume_today: false,
                });
            }
        }
        let assume_today = month.is_none() && day.is_none();
        let (month, day) = if assume_today {
            (i64::from(now.month()), i64::from(now.day()))
        } else {
            // Only one of month/day: Python's datetime() fails.
            (month?, day?)
        };
        self.finish(Naive {
            year,
            month,
            day,
            hms: (hour, minute, second),
            zone_minutes,
            assume_year,
            assume_today,
        })
    }

    /// The end of strptime and fail2ban's year/day guesses, with integers (see
    /// [`ARITHMETIC_YEARS`]); [`Converter::finish_general`] otherwise. Each step is the
    /// general code's, on seconds since 1970-01-01T00:00 of the naive wall clock.
    #[inline(always)]
    fn finish(&mut self, n: Naive) -> Option<f64> {
        let Naive { year, month, day, hms: (hour, minute, second), zone_minutes, .. } = n;
        let Naive { assume_year, assume_today, .. } = n;
        let Some(now) = self.now_micros.filter(|_| ARITHMETIC_YEARS.contains(&year)) else {
            return self.finish_general(n);
        };
        let days = self.days_from_civil(year, month, day)?;
        if !(0..24).contains(&hour) || !(0..60).contains(&minute) || !(0..60).contains(&second) {
            return None;
        }
        let mut dt = days * 86_400 + hour * 3600 + minute * 60 + second;
        let offset_secs =
            zone_minutes.map(|m| i64::from(m) * 60).or(self.zones.fixed.map(i64::from));
        if let Some(off) = offset_secs {
            dt -= off;
        }
        // `now` has microseconds: compare in microseconds, as the DateTimes compare.
        if assume_today && dt * 1_000_000 > now {
            dt -= 86_400;
        }
        if assume_year && dt * 1_000_000 > now + 86_400_000_000 {
            dt = days_from_civil(year - 1, month, day)? * 86_400 + dt.rem_euclid(86_400);
        }
        match offset_secs {
            Some(_) => Some(dt as f64),
            None => self.local_to_unix(dt),
        }
    }

    /// [`days_from_civil`], from the year's start (see [`Converter::year`]) and a table of
    /// months: the same validity test (month 1-12, day within the month), and the same
    /// count, as a date's days are its year's January 1st plus the days before it in the year.
    #[inline]
    fn days_from_civil(&mut self, year: i64, month: i64, day: i64) -> Option<i64> {
        const BEFORE: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        const LENGTH: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        if self.year.0 != year {
            let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
            self.year = (year, days_from_civil(year, 1, 1)?, leap);
        }
        let (_, start, leap) = self.year;
        let m = usize::try_from(month - 1).ok().filter(|&m| m < 12)?;
        let feb29 = i64::from(leap && m >= 1);
        let length = LENGTH[m] + if m == 1 { feb29 } else { 0 };
        (1..=length)
            .contains(&day)
            .then(|| start + BEFORE[m] + if m >= 2 { feb29 } else { 0 } + day - 1)
    }

    /// Python's `time.mktime` of a naive wall clock (seconds as if UTC).
    fn local_to_unix(&mut self, naive: i64) -> Option<f64> {
        let (t, effect) = self.local.convert(&self.zones.local, naive);
        self.effect = effect;
        t.map(|t| t as f64)
    }

    #[cold]
    fn finish_general(&mut self, n: Naive) -> Option<f64> {
        let Naive { year, month, day, hms: (hour, minute, second), zone_minutes, .. } = n;
        let Naive { assume_year, assume_today, .. } = n;
        let now = self.now;
        let date = civil_date(year, month, day)?;
        if !(0..24).contains(&hour) || !(0..60).contains(&minute) || !(0..60).contains(&second) {
            return None;
        }
        let mut dt = date.to_datetime(jiff::civil::time(hour as i8, minute as i8, second as i8, 0));
        let offset_secs =
            zone_minutes.map(|m| i64::from(m) * 60).or(self.zones.fixed.map(i64::from));
        if let Some(off) = offset_secs {
            dt = dt.checked_sub(SignedDuration::from_secs(off)).ok()?;
        }
        // Python compares these naive values even when `dt` was shifted to UTC above.
        if assume_today && dt > now {
            dt = dt.checked_sub(SignedDuration::from_hours(24)).ok()?;
        }
        if assume_year && dt > now.checked_add(SignedDuration::from_hours(24)).ok()? {
            // Back one year, with the month and day as written (not as shifted).
            dt = civil_date(year - 1, month, day)?.to_datetime(dt.time());
        }
        let naive = dt.to_zoned(TimeZone::UTC).ok()?.timestamp().as_second();
        match offset_secs {
            Some(_) => Some(naive as f64),
            None => self.local_to_unix(naive),
        }
    }
}

fn civil_date(year: i64, month: i64, day: i64) -> Option<Date> {
    if !(1..=9999).contains(&year) {
        return None;
    }
    Date::new(year as i16, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

/// Index of `v` (lower-cased) in `names`, compared on the first `len` chars (3 for `%b`/`%a`).
fn name_index(names: &[&str], v: &str, len: usize) -> Option<i64> {
    if v.is_ascii() {
        let eq = |n: &str| n.eq_ignore_ascii_case(v);
        return names
            .iter()
            .position(|n| if len == usize::MAX { eq(n) } else { n.get(..len).is_some_and(eq) })
            .map(|i| i as i64);
    }
    let v = v.to_lowercase();
    names
        .iter()
        .position(|n| if len == usize::MAX { *n == v } else { n.get(..len) == Some(v.as_str()) })
        .map(|i| i as i64)
}

/// Day of the year from a week number (`%U`: weeks start on Sunday, `%W`: on Monday) and a
/// weekday (Monday = 0), as Python's `_strptime` computes it.
fn julian_from_week(year: i64, week: i64, weekday: i64, monday_first: bool) -> Option<i64> {
    let first = civil_date(year, 1, 1)?.weekday().to_monday_zero_offset() as i64;
    let (first, weekday) =
        if monday_first { (first, weekday) } else { ((first + 1) % 7, (weekday + 1) % 7) };
    Some(if week == 0 {
        1 + weekday - first
    } else {
        1 + (7 - first) % 7 + 7 * (week - 1) + weekday
    })
}

/// Time of an epoch match: seconds with fractions; `long` also takes milli- and microseconds.
pub(crate) fn epoch(v: &str, long: bool) -> Option<f64> {
    let x: f64 = v.parse().ok()?;
    if long && v.len() >= 13 {
        if v.len() >= 16 && !v.contains('.') {
            return Some(x / 1_000_000.0);
        }
        return Some(x / 1000.0);
    }
    Some(x)
}

/// Time of a TAI64N label `@4000000037c219bf2ef02e94`: the seconds part, without the
/// leading `4`, as hex.
pub(crate) fn tai64n(v: &str) -> Option<f64> {
    i64::from_str_radix(v.get(2..17)?, 16).ok().map(|s| s as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv() -> Converter {
        let zones =
            Zones { local: TimeZone::posix("CET-01CEST-02,M3.5.0,M10.5.0").unwrap(), fixed: None };
        Converter::new(zones, 1124013600.0) // 2005-08-14 12:00 CEST
    }

    fn t(c: &mut Converter, f: &[(Field, &str)]) -> Option<f64> {
        c.strptime(f.iter().copied())
    }

    #[test]
    fn year_inference_and_zones() {
        use Field::*;
        let mut c = conv();
        // Same year; 2005-08-15 11:00 is within now + 1 day.
        let aug = [(MonthAbbr, "Aug"), (Day, "15"), (Hour, "11"), (Minute, "0"), (Second, "0")];
        assert_eq!(t(&mut c, &aug), Some(1124096400.0));
        // More than a day ahead → last year.
        let sep = [(MonthAbbr, "sep"), (Day, "1"), (Hour, "0"), (Minute, "0"), (Second, "0")];
        assert_eq!(t(&mut c, &sep), Some(1093989600.0));
        // Explicit zone.
        let z = [
            (Year, "2005"),
            (Month, "1"),
            (Day, "1"),
            (Hour, "0"),
            (Minute, "0"),
            (Second, "0"),
            (Zone, "+0100"),
        ];
        assert_eq!(t(&mut c, &z), Some(1104534000.0));
        assert_eq!(t(&mut c, &[(Year, "2005"), (Month, "2"), (Day, "30")]), None);
        assert_eq!(t(&mut c, &[(Year, "2005"), (Month, "2"), (Day, "3"), (Zone, "XYZW")]), None);
    }

    #[test]
    fn time_only_and_ampm() {
        use Field::*;
        let mut c = conv();
        assert_eq!(t(&mut c, &[(Hour, "11"), (Minute, "0"), (Second, "0")]), Some(1124010000.0));
        // 13:00 today is after now → yesterday.
        assert_eq!(t(&mut c, &[(Hour, "13"), (Minute, "0"), (Second, "0")]), Some(1123930800.0));
        let pm = [
            (Year, "2005"),
            (MonthAbbr, "Aug"),
            (Day, "14"),
            (Hour12, "11"),
            (Minute, "0"),
            (Second, "0"),
            (AmPm, "AM"),
        ];
        assert_eq!(t(&mut c, &pm), Some(1124010000.0));
        let twelve =
            [(Year, "2005"), (MonthAbbr, "Aug"), (Day, "14"), (Hour12, "12"), (AmPm, "am")];
        assert_eq!(t(&mut c, &twelve), Some(1123970400.0));
    }

    /// The integer `finish` (with the period shortcut of `LocalTime`) against the jiff one
    /// (with plain `Mktime`), call for call on one sequence, so that the mktime memory is
    /// compared too: DST gaps and folds in zones with 1 h, 30 min and southern-hemisphere
    /// changes, year and range edges, invalid dates, fixed offsets, both guesses.
    #[test]
    fn integer_finish_equals_general() {
        let mut seed = 0x853c_49e6_748f_ea9bu64;
        let mut below = |n: i64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as i64
        };
        let zones = [
            "CET-01CEST-02,M3.5.0,M10.5.0",
            "Europe/Berlin",
            "America/New_York",
            "Australia/Lord_Howe",
            "Australia/Sydney",
            "America/Sao_Paulo",
            "Asia/Kolkata",
            "UTC",
        ];
        let nows = [1124013600.0, 1104537600.5, 1111885200.25, 1130630400.0, 1790000000.0, 1.0];
        let (mut checked, mut shortcut) = (0, 0);
        for name in zones {
            let tz = TimeZone::get(name).or_else(|_| TimeZone::posix(name)).unwrap();
            // Transition instants around the nows, as wall clocks: where gaps and folds are.
            let edges: Vec<i64> = tz
                .following(Timestamp::from_second(1_070_000_000).unwrap())
                .take(50)
                .map(|t| t.timestamp().to_zoned(tz.clone()).datetime())
                .map(|dt| dt.to_zoned(TimeZone::UTC).unwrap().timestamp().as_second())
                .collect();
            for fixed in [None, Some(3600), Some(-19800)] {
                for &now in &nows {
                    let zones = Zones { local: tz.clone(), fixed };
                    let mut fast = Converter::new(zones.clone(), now);
                    let mut general = Converter::new(zones, now);
                    general.local.plain = true;
                    for _ in 0..3000 {
                        let (y, mo, d, h, mi, s) = if !edges.is_empty() && below(3) > 0 {
                            let e = edges[below(edges.len() as i64) as usize] + below(10800) - 5400;
                            let dt = Timestamp::from_second(e)
                                .unwrap()
                                .to_zoned(TimeZone::UTC)
                                .datetime();
                            let (h, mi, s) =
                                (dt.hour().into(), dt.minute().into(), dt.second().into());
                            (dt.year().into(), dt.month().into(), dt.day().into(), h, mi, s)
                        } else {
                            let years =
                                [1, 999, 1000, 2004, 2005, 2006, 2025, 9000, 9001, 9999, 10000];
                            let y = years[below(years.len() as i64) as usize];
                            (y, below(15) - 1, below(34) - 1, below(26) - 1, below(61), below(62))
                        };
                        let zone = [None, None, None, Some(0), Some(120), Some(-330), Some(1439)]
                            [below(7) as usize];
                        let (ay, at) = (below(2) == 0, below(5) == 0);
                        let n = Naive {
                            year: y,
                            month: mo,
                            day: d,
                            hms: (h, mi, s),
                            zone_minutes: zone,
                            assume_year: ay,
                            assume_today: at,
                        };
                        let (a, b) = (fast.finish(n), general.finish_general(n));
                        assert_eq!(a, b, "{name} fixed={fixed:?} now={now} {y}-{mo}-{d} {h}:{mi}:{s} z={zone:?} {ay} {at}");
                        checked += 1;
                        shortcut += usize::from(matches!(fast.effect, LocalEffect::Unique(_)));
                    }
                }
            }
        }
        assert!(checked > 100_000 && shortcut > 10_000, "{checked} {shortcut}");
    }

    /// The converter's table-based count equals the formula, for every year, in any order of
    /// years (it remembers the last one).
    #[test]
    fn remembered_years_count_days_as_the_formula() {
        let mut c = conv();
        for year in (1..=9999).chain([2005, 2004, 2004, 1970, 2100, 2000, 1900, 2005]) {
            for month in -1..=13 {
                for day in [-1, 0, 1, 15, 28, 29, 30, 31, 32] {
                    let want = days_from_civil(year, month, day);
                    assert_eq!(c.days_from_civil(year, month, day), want, "{year}-{month}-{day}");
                }
            }
        }
    }

    #[test]
    fn days_from_civil_equals_jiff() {
        for year in 1..=9999 {
            for month in 0..=13 {
                for day in [0, 1, 15, 28, 29, 30, 31, 32] {
                    let jiff = civil_date(year, month, day)
                        .map(|d| d.since(Date::constant(1970, 1, 1)).unwrap().get_days() as i64);
                    assert_eq!(days_from_civil(year, month, day), jiff, "{year}-{month}-{day}");
                }
            }
        }
    }

    #[test]
    fn epochs() {
        assert_eq!(epoch("1124013600.5", false), Some(1124013600.5));
        assert_eq!(epoch("1124013600123", true), Some(1124013600.123));
        assert_eq!(epoch("1124013600123456", true), Some(1124013600.123456));
        assert_eq!(tai64n("@4000000037c219bf2ef02e94"), Some(935467455.0));
    }
}
