//! Hand-written matchers for the two `{^LN-BEG}` default templates nearly every log hits:
//! syslog's `Mon DD HH:MM:SS` and ISO 8601 as journalctl `short-iso` writes it. They replace
//! the PCRE2 search (and the captures → strptime text round trip) for those templates only.
//!
//! # Why they are exact
//!
//! A template gets a matcher only if its regex is, byte for byte, the one fail2ban's pattern
//! yields with this process's `%ExY` (see [`Shape::recognize`]); the code below follows that
//! regex. Both regexes start with `^`, so the only place to match is offset 0. The matchers
//! walk every path PCRE2 would, in the same priority order (greedy `?` first, alternatives
//! left to right, backtracking into the earlier choices when a later part fails), so the
//! first path that succeeds is PCRE2's match, and when none does there is no match.
//!
//! Unicode is where the two could differ (`\d`, `\w`, `\s` and caseless matching are
//! Unicode-aware in the engine), so the matchers only read ASCII: reaching a non-ASCII byte,
//! or a line that does not start with a word character (where `^(?:\W{0,2})?` could consume
//! something), or more than [`ASCII_WINDOW`] bytes in, gives [`Outcome::Unsure`] and the
//! caller runs the regex. For ASCII bytes, caseless means ASCII case-insensitive, `\d` is
//! `[0-9]`, a word character is `[A-Za-z0-9_]`, and `\s` is `[ \t\n\x0b\x0c\r]`.
//! `tests` compares both ways on crafted and generated lines.

use super::pattern;

/// How far into a line the matchers read (the longest date they accept is 42 bytes).
const ASCII_WINDOW: usize = 64;

/// How `{^LN-BEG}` templates start, after their flags.
const SKIP: &str = r"^(?:\W{0,2})?";

/// The datepatterns whose `{^LN-BEG}` templates have a matcher.
const SYSLOG_PATTERN: &str = r"{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?";
const ISO_PATTERN: &str =
    r"{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?";

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];
const WEEKDAYS: [&[u8; 3]; 7] = [b"mon", b"tue", b"wed", b"thu", b"fri", b"sat", b"sun"];

/// The numbers strptime would read from the match (groups `Y`, `m`/`b`, `d`, `H`, `M`, `S`;
/// `a` and `f` do not change the time when month and day are given), and the `z` text.
/// Compact, so that it travels in registers: every number has at most two digits (the year
/// four), and every position is within [`ASCII_WINDOW`] (+ the 6 bytes of a zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fields {
    pub year: Option<u16>,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Byte span of group `z` (empty: none).
    pub zone: (u8, u8),
    /// End of groups 0 and 1 (both start at 0).
    pub end: u8,
}

impl Fields {
    fn at(self, end: usize) -> Fields {
        Fields { end: end as u8, ..self }
    }
    fn with_zone(self, start: usize, end: usize) -> Fields {
        Fields { zone: (start as u8, end as u8), ..self }.at(end)
    }
}

const NO_FIELDS: Fields =
    Fields { year: None, month: 0, day: 0, hour: 0, minute: 0, second: 0, zone: (0, 0), end: 0 };

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Match(Fields),
    NoMatch,
    /// Not decidable on ASCII alone: run the regex.
    Unsure,
}

/// `%ExY` as four digits: a literal prefix, an optional class of digits, then `\d`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Years {
    prefix: Vec<u8>,
    /// Bit `d` set: digit `d` allowed at the class position.
    class: Option<u16>,
}

impl Years {
    /// Reads fail2ban's `%ExY` regex, e.g. `(?P<Y>20[012]\d)`; `None` for other shapes
    /// (such as the alternation it becomes after 2099).
    fn parse(ex_year: &str) -> Option<Years> {
        let body = ex_year.strip_prefix("(?P<Y>")?.strip_suffix(r"\d)")?;
        let (prefix, class) = match body.split_once('[') {
            None => (body, None),
            Some((p, c)) => {
                let c = c.strip_suffix(']')?;
                let mut bits = 0u16;
                for d in c.bytes() {
                    if !d.is_ascii_digit() {
                        return None;
                    }
                    bits |= 1 << (d - b'0');
                }
                (p, Some(bits))
            }
        };
        let digits = prefix.len() + usize::from(class.is_some()) + 1;
        (prefix.bytes().all(|b| b.is_ascii_digit()) && digits == 4)
            .then(|| Years { prefix: prefix.as_bytes().to_vec(), class })
    }

    /// The value of four ASCII digits, if the group matches them.
    fn value(&self, d: &[u8]) -> Option<i64> {
        let prefix_ok = d.starts_with(&self.prefix);
        let class_ok =
            self.class.is_none_or(|bits| bits & (1 << (d[self.prefix.len()] - b'0')) != 0);
        (prefix_ok && class_ok).then(|| d.iter().fold(0, |n, c| n * 10 + i64::from(c - b'0')))
    }

    /// The year at `p`, if the group matches there.
    fn at(&self, c: &Cursor, p: usize) -> Step<Option<i64>> {
        let mut value = 0i64;
        let mut q = p;
        for &want in &self.prefix {
            if c.at(q)? != Some(want) {
                return Ok(None);
            }
            value = value * 10 + i64::from(want - b'0');
            q += 1;
        }
        if let Some(bits) = self.class {
            match c.digit(q)? {
                Some(d) if bits & (1 << d) != 0 => value = value * 10 + d,
                _ => return Ok(None),
            }
            q += 1;
        }
        Ok(c.digit(q)?.map(|d| value * 10 + d))
    }
}

/// A template that has a hand-written matcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `{^LN-BEG}(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`
    Syslog(Years),
    /// `{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`
    Iso(Years),
}

/// Reaching a byte the matchers do not decide on: the regex must.
struct Unsure;
type Step<T> = Result<T, Unsure>;

/// The line's bytes, readable where they are ASCII and within the window.
struct Cursor<'a> {
    b: &'a [u8],
    /// Leading bytes known to be ASCII (at most [`ASCII_WINDOW`]).
    ascii: usize,
}

impl Cursor<'_> {
    /// The byte at `p`; `None` at or past the end.
    fn at(&self, p: usize) -> Step<Option<u8>> {
        if p < self.ascii {
            Ok(Some(self.b[p]))
        } else if p >= self.b.len() {
            Ok(None)
        } else {
            Err(Unsure)
        }
    }
    fn is(&self, p: usize, f: impl Fn(u8) -> bool) -> Step<bool> {
        Ok(self.at(p)?.is_some_and(f))
    }
    fn byte(&self, p: usize, want: u8) -> Step<bool> {
        Ok(self.at(p)? == Some(want))
    }
    fn digit(&self, p: usize) -> Step<Option<i64>> {
        Ok(self.at(p)?.filter(u8::is_ascii_digit).map(|d| i64::from(d - b'0')))
    }
    /// Digit at `p` within `lo..=hi`.
    fn digit_in(&self, p: usize, lo: u8, hi: u8) -> Step<Option<i64>> {
        Ok(self.digit(p)?.filter(|d| (i64::from(lo - b'0')..=i64::from(hi - b'0')).contains(d)))
    }
    /// Index of the caseless three-letter name at `p`.
    fn name(&self, p: usize, names: &[&[u8; 3]]) -> Step<Option<i64>> {
        let mut w = [0u8; 3];
        for (i, x) in w.iter_mut().enumerate() {
            *x = match self.at(p + i)? {
                Some(c) => c.to_ascii_lowercase(),
                None => return Ok(None),
            };
        }
        Ok(names.iter().position(|n| **n == w).map(|i| i as i64))
    }
    /// `(?=\b|\W|$)` after a word character: true unless a word character follows.
    fn boundary(&self, p: usize) -> Step<bool> {
        Ok(!self.is(p, |c| c.is_ascii_alphanumeric() || c == b'_')?)
    }
}

/// Candidates of a sub-pattern at one place: (value, length) in PCRE2's order.
type Candidates = [Option<(i64, usize)>; 3];

/// `[0-5]?\d` (`lo_hi` = b'5'), `[0-2]?\d`, `[0-1]?\d`: two digits, then one.
fn optional_tens(c: &Cursor, p: usize, tens_hi: u8) -> Step<Candidates> {
    let two = match (c.digit_in(p, b'0', tens_hi)?, c.digit(p + 1)?) {
        (Some(a), Some(b)) => Some((a * 10 + b, 2)),
        _ => None,
    };
    Ok([two, c.digit(p)?.map(|d| (d, 1)), None])
}

/// `%d`: `[1-2]\d|[0 ]?[1-9]|3[0-1]`.
fn day(c: &Cursor, p: usize) -> Step<Candidates> {
    let first = match (c.digit_in(p, b'1', b'2')?, c.digit(p + 1)?) {
        (Some(a), Some(b)) => Some((a * 10 + b, 2)),
        _ => None,
    };
    // `[0 ]?` takes the zero or space if it can; then `[1-9]` must follow. Without it,
    // `[1-9]` would face the zero or space itself, which fails.
    let second = if c.is(p, |x| x == b'0' || x == b' ')? {
        c.digit_in(p + 1, b'1', b'9')?.map(|d| (d, 2))
    } else {
        c.digit_in(p, b'1', b'9')?.map(|d| (d, 1))
    };
    let third =
        if c.byte(p, b'3')? { c.digit_in(p + 1, b'0', b'1')?.map(|d| (30 + d, 2)) } else { None };
    Ok([first, second, third])
}

/// `%S`: `[0-5]?\d|6[0-1]`.
fn second(c: &Cursor, p: usize) -> Step<Candidates> {
    let [two, one, _] = optional_tens(c, p, b'5')?;
    let leap =
        if c.byte(p, b'6')? { c.digit_in(p + 1, b'0', b'1')?.map(|d| (60 + d, 2)) } else { None };
    Ok([two, one, leap])
}

/// `:%M:%S` at `p` (after the hour), then `rest` at the end of the seconds.
fn minutes_seconds(
    c: &Cursor,
    p: usize,
    f: Fields,
    rest: impl Fn(usize, Fields) -> Step<Option<Fields>>,
) -> Step<Option<Fields>> {
    if !c.byte(p, b':')? {
        return Ok(None);
    }
    for (minute, ml) in optional_tens(c, p + 1, b'5')?.into_iter().flatten() {
        let q = p + 1 + ml;
        if !c.byte(q, b':')? {
            continue;
        }
        for (second, sl) in second(c, q + 1)?.into_iter().flatten() {
            if let Some(f) =
                rest(q + 1 + sl, Fields { minute: minute as u8, second: second as u8, ..f })?
            {
                return Ok(Some(f));
            }
        }
    }
    Ok(None)
}

/// `(?:<sep>(?P<f>[0-9]{1,6}))?` at `p`, then `rest`: the longest fraction first, down to
/// one digit, then none.
fn fraction(
    c: &Cursor,
    p: usize,
    sep: &[u8],
    f: Fields,
    rest: impl Fn(usize, Fields) -> Step<Option<Fields>>,
) -> Step<Option<Fields>> {
    if c.is(p, |x| sep.contains(&x))? {
        let mut n = 0;
        while n < 6 && c.digit(p + 1 + n)?.is_some() {
            n += 1;
        }
        for k in (1..=n).rev() {
            if let Some(f) = rest(p + 1 + k, f)? {
                return Ok(Some(f));
            }
        }
    }
    rest(p, f)
}

/// The end of group 1 at `p` (after a word character), then the word-end lookahead.
fn close(c: &Cursor, p: usize, f: Fields) -> Step<Option<Fields>> {
    Ok(c.boundary(p)?.then_some(f.at(p)))
}

fn syslog(c: &Cursor, years: &Years) -> Step<Option<Fields>> {
    // `(?:(?P<a>mon|…) )?`: with the weekday first; month names are no weekday names, so
    // without it the month cannot match where the weekday did, but try as PCRE2 would.
    if c.name(0, &WEEKDAYS)?.is_some() && c.byte(3, b' ')? {
        if let Some(f) = syslog_month(c, 4, years)? {
            return Ok(Some(f));
        }
    }
    syslog_month(c, 0, years)
}

/// `(?P<b>jan|…) (?P<d>…) ?(?P<H>[0-2]?\d):%M:%S(?:\.%f)?(?: %ExY)?` and the lookahead.
fn syslog_month(c: &Cursor, p: usize, years: &Years) -> Step<Option<Fields>> {
    let Some(m) = c.name(p, &MONTHS)? else { return Ok(None) };
    if !c.byte(p + 3, b' ')? {
        return Ok(None);
    }
    let f = Fields { month: m as u8 + 1, ..NO_FIELDS };
    let year = |q: usize, f: Fields| -> Step<Option<Fields>> {
        // `(?: (?P<Y>…))?`: with the year first.
        if c.byte(q, b' ')? {
            if let Some(y) = years.at(c, q + 1)? {
                if let Some(f) = close(c, q + 5, Fields { year: Some(y as u16), ..f })? {
                    return Ok(Some(f));
                }
            }
        }
        close(c, q, f)
    };
    let frac = |q: usize, f: Fields| fraction(c, q, b".", f, year);
    for (day, dl) in day(c, p + 4)?.into_iter().flatten() {
        // The space after `%d`, then the ` ?` of `%k`: with the second space first.
        let q = p + 4 + dl + 1;
        if !c.byte(q - 1, b' ')? {
            continue;
        }
        let spaces: &[usize] = if c.byte(q, b' ')? { &[1, 0] } else { &[0] };
        for &s in spaces {
            for (hour, hl) in optional_tens(c, q + s, b'2')?.into_iter().flatten() {
                let g = Fields { day: day as u8, hour: hour as u8, ..f };
                if let Some(f) = minutes_seconds(c, q + s + hl, g, frac)? {
                    return Ok(Some(f));
                }
            }
        }
    }
    Ok(None)
}

fn iso(c: &Cursor, years: &Years) -> Step<Option<Fields>> {
    let Some(year) = years.at(c, 0)? else { return Ok(None) };
    let Some(sep) = c.at(4)?.filter(|x| b"-/.".contains(x)) else { return Ok(None) };
    let f = Fields { year: Some(year as u16), ..NO_FIELDS };
    let frac = |q: usize, f: Fields| fraction(c, q, b".,", f, |q, f| iso_zone(c, q, f));
    // `%m`: `0?[1-9]|1[0-2]`.
    let first = if c.byte(5, b'0')? {
        c.digit_in(6, b'1', b'9')?.map(|d| (d, 2))
    } else {
        c.digit_in(5, b'1', b'9')?.map(|d| (d, 1))
    };
    let second =
        if c.byte(5, b'1')? { c.digit_in(6, b'0', b'2')?.map(|d| (10 + d, 2)) } else { None };
    for (month, ml) in [first, second].into_iter().flatten() {
        let p = 5 + ml;
        if !c.byte(p, sep)? {
            continue;
        }
        for (day, dl) in day(c, p + 1)?.into_iter().flatten() {
            let q = p + 1 + dl;
            // `(?:T|  ?)`
            let seps: &[usize] = if c.byte(q, b'T')? {
                &[1]
            } else if c.byte(q, b' ')? {
                if c.byte(q + 1, b' ')? {
                    &[2, 1]
                } else {
                    &[1]
                }
            } else {
                &[]
            };
            for &s in seps {
                let h = q + s;
                // `%H`: `[0-1]?\d|2[0-3]`.
                let [two, one, _] = optional_tens(c, h, b'1')?;
                let late = if c.byte(h, b'2')? {
                    c.digit_in(h + 1, b'0', b'3')?.map(|d| (20 + d, 2))
                } else {
                    None
                };
                for (hour, hl) in [two, one, late].into_iter().flatten() {
                    let g = Fields { month: month as u8, day: day as u8, hour: hour as u8, ..f };
                    if let Some(f) = minutes_seconds(c, h + hl, g, frac)? {
                        return Ok(Some(f));
                    }
                }
            }
        }
    }
    Ok(None)
}

/// `(?:\s*(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?))?` at `p`, then the lookahead.
fn iso_zone(c: &Cursor, p: usize, f: Fields) -> Step<Option<Fields>> {
    let mut n = 0;
    while c.is(p + n, |x| matches!(x, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))? {
        n += 1;
    }
    // Other control chars: leave `\s` to the regex.
    if c.is(p + n, |x| x.is_ascii_control())? {
        return Err(Unsure);
    }
    for k in (0..=n).rev() {
        let q = p + k;
        let mut lens = [0usize; 4];
        let mut count = 0;
        let mut push = |l: usize| {
            lens[count] = l;
            count += 1;
        };
        if c.byte(q, b'Z')? {
            push(1);
        } else if (c.byte(q, b'U')? && c.byte(q + 1, b'T')? && c.byte(q + 2, b'C')?)
            || (c.byte(q, b'G')? && c.byte(q + 1, b'M')? && c.byte(q + 2, b'T')?)
        {
            push(3);
        } else if c.is(q, |x| x == b'+' || x == b'-')?
            && c.digit_in(q + 1, b'0', b'1')?.is_some()
            && c.digit(q + 2)?.is_some()
        {
            // `(?::?\d{2})?`: with the colon, then without, then no minutes.
            if c.byte(q + 3, b':')? && c.digit(q + 4)?.is_some() && c.digit(q + 5)?.is_some() {
                push(6);
            }
            if c.digit(q + 3)?.is_some() && c.digit(q + 4)?.is_some() {
                push(5);
            }
            push(3);
        }
        for &l in &lens[..count] {
            if let Some(f) = close(c, q + l, f.with_zone(q, q + l))? {
                return Ok(Some(f));
            }
        }
    }
    close(c, p, f)
}

/// The commonest layouts, read at fixed offsets: `Mmm dd HH:MM:SS` (day `dd`, ` d` or
/// `0d`) and `YYYY-mm-ddTHH:MM:SS[.ffffff][±zz[:]zz]`, every number two digits. `None`: not
/// that layout, the general walk decides. Where this decides, it is the general walk's first
/// success, taken without trying the alternatives it would reject, as argued in the
/// comments; `tests` compare the two.
mod layout {
    use super::{Fields, Outcome, Years, MONTHS, NO_FIELDS};

    fn get(b: &[u8], i: usize) -> u8 {
        b.get(i).copied().unwrap_or(0)
    }
    fn num(b: &[u8], i: usize) -> u8 {
        (b[i] - b'0') * 10 + (b[i + 1] - b'0')
    }
    fn digit(c: u8) -> bool {
        c.is_ascii_digit()
    }
    fn word(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_'
    }

    /// A two-char `%d` at `i..i+2`, followed by a non-digit: `[1-2]\d`, `[0 ][1-9]`,
    /// `3[0-1]`. The three start differently, so at most one applies; the one-char
    /// alternative (`[1-9]`) needs the char after it to continue the pattern (` `, `T`),
    /// which the second char is not.
    fn day(b: &[u8], i: usize) -> Option<u8> {
        let (x, y) = (get(b, i), get(b, i + 1));
        let ok = match x {
            b'1' | b'2' => digit(y),
            b'0' | b' ' => (b'1'..=b'9').contains(&y),
            b'3' => y == b'0' || y == b'1',
            _ => false,
        };
        ok.then(|| (y - b'0') + if x == b' ' { 0 } else { (x - b'0') * 10 })
    }

    /// `MM:SS` at `i`, each `[0-5]\d`: the two-digit branch of `[0-5]?\d` comes first, and
    /// the one-digit branch would need `:` (or the end of `%S`) where a digit is.
    fn min_sec(b: &[u8], i: usize) -> Option<(u8, u8)> {
        let ok = (b'0'..=b'5').contains(&get(b, i))
            && digit(get(b, i + 1))
            && get(b, i + 2) == b':'
            && (b'0'..=b'5').contains(&get(b, i + 3))
            && digit(get(b, i + 4));
        ok.then(|| (num(b, i), num(b, i + 3)))
    }

    /// Month number of three bytes, caseless. `| 0x20` lower-cases ASCII letters; the only
    /// other bytes it maps onto a lower-case letter are that letter's capital, so comparing
    /// with lower-case names is exactly `to_ascii_lowercase` then compare.
    fn month(h: &[u8; 16]) -> Option<u8> {
        const fn key(n: &[u8; 3]) -> u32 {
            u32::from_le_bytes([n[0], n[1], n[2], 0])
        }
        const JAN: u32 = key(MONTHS[0]);
        const FEB: u32 = key(MONTHS[1]);
        const MAR: u32 = key(MONTHS[2]);
        const APR: u32 = key(MONTHS[3]);
        const MAY: u32 = key(MONTHS[4]);
        const JUN: u32 = key(MONTHS[5]);
        const JUL: u32 = key(MONTHS[6]);
        const AUG: u32 = key(MONTHS[7]);
        const SEP: u32 = key(MONTHS[8]);
        const OCT: u32 = key(MONTHS[9]);
        const NOV: u32 = key(MONTHS[10]);
        const DEC: u32 = key(MONTHS[11]);
        // A switch on constants: a few comparisons instead of a scan of the names.
        Some(match key(&[h[0] | 0x20, h[1] | 0x20, h[2] | 0x20]) {
            JAN => 1,
            FEB => 2,
            MAR => 3,
            APR => 4,
            MAY => 5,
            JUN => 6,
            JUL => 7,
            AUG => 8,
            SEP => 9,
            OCT => 10,
            NOV => 11,
            DEC => 12,
            _ => return None,
        })
    }

    pub(super) fn syslog(b: &[u8], years: &Years) -> Option<Outcome> {
        syslog_fields(b, years).map(Outcome::Match)
    }

    /// Also takes an unpadded one-digit day (`Mmm d HH:MM:SS`): `(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])`
    /// facing a digit 1-9 then a space takes that digit alone (`[1-2]\d` needs a second
    /// digit, `[0 ]?` cannot take a nonzero digit), and the rest is the same walk one byte
    /// earlier. Needs 16 bytes (shorter lines go to the general walk): the checks then read
    /// fixed arrays, without bounds tests.
    #[inline(always)]
    pub(super) fn syslog_fields(b: &[u8], years: &Years) -> Option<Fields> {
        let h: &[u8; 16] = b.get(..16)?.try_into().ok()?;
        // `s`: where the space after the day is.
        let (day, s) = if h[5] == b' ' && (b'1'..=b'9').contains(&h[4]) {
            (h[4] - b'0', 5)
        } else {
            (day(b, 4)?, 6)
        };
        // `HH:MM:SS` in one word: `x` is 0-9 where a digit is, 0 where the colons are
        // (xor is one-to-one per byte), and each byte must be at most its limit: `[0-2]\d`,
        // `[0-5]\d`, `[0-5]\d`. Adding `0x7f - limit` to the low 7 bits sets bit 7 exactly
        // when they exceed the limit, without carrying into the next byte; bytes with bit 7
        // set (not ASCII) fail through the `| x`.
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const ADD: u64 = u64::from_le_bytes([0x7d, 0x76, 0x7f, 0x7a, 0x76, 0x7f, 0x7a, 0x76]);
        let w: [u8; 8] = h[s + 1..s + 9].try_into().ok()?;
        let x = u64::from_le_bytes(w) ^ u64::from_le_bytes(*b"00:00:00");
        if h[3] != b' ' || h[s] != b' ' || ((((x & !HIGH) + ADD) | x) & HIGH) != 0 {
            return None;
        }
        let month = month(h)?;
        let d = x.to_le_bytes();
        let f = Fields {
            month,
            day,
            hour: d[0] * 10 + d[1],
            minute: d[3] * 10 + d[4],
            second: d[6] * 10 + d[7],
            ..NO_FIELDS
        };
        let e = s + 9;
        match h[e] {
            b' ' => {
                let y = (e + 1..e + 5)
                    .all(|i| digit(get(b, i)))
                    .then(|| years.value(&b[e + 1..e + 5]))
                    .flatten();
                match y {
                    Some(y) if !word(get(b, e + 5)) && get(b, e + 5).is_ascii() => {
                        Some(Fields { year: Some(y as u16), ..f }.at(e + 5))
                    }
                    Some(_) => None,
                    None => Some(f.at(e)),
                }
            }
            c if c != b'.' && c.is_ascii() && !word(c) => Some(f.at(e)),
            _ => None,
        }
    }

    pub(super) fn iso(b: &[u8], years: &Years) -> Option<Outcome> {
        let year = years.value(b.get(..4)?.iter().all(|&c| digit(c)).then(|| &b[..4])?)?;
        let sep = get(b, 4);
        // `%m` as `0[1-9]` or `1[0-2]`: `0?[1-9]` takes the former whole; for the latter its
        // one-char `1` would need the separator where the second digit is.
        let month_ok = match get(b, 5) {
            b'0' => (b'1'..=b'9').contains(&get(b, 6)),
            b'1' => (b'0'..=b'2').contains(&get(b, 6)),
            _ => false,
        };
        // `(?:T|  ?)` as `T` or one space; hour `[0-1]\d` or `2[0-3]` (the one-digit branch
        // would need `:` where the second digit is).
        let hour_ok = match get(b, 11) {
            b'0' | b'1' => digit(get(b, 12)),
            b'2' => (b'0'..=b'3').contains(&get(b, 12)),
            _ => false,
        };
        let ok = matches!(sep, b'-' | b'/' | b'.')
            && month_ok
            && get(b, 7) == sep
            && matches!(get(b, 10), b'T' | b' ')
            && hour_ok
            && get(b, 13) == b':';
        if !ok {
            return None;
        }
        let day = day(b, 8)?;
        let (minute, second) = min_sec(b, 14)?;
        let f = Fields {
            year: Some(year as u16),
            month: num(b, 5),
            day,
            hour: num(b, 11),
            minute,
            second,
            ..NO_FIELDS
        };
        let mut p = 19;
        // `(?:[.,]%f)?`: all the digits there are (at most 6), if no seventh follows and
        // what follows is accepted below; anything else goes to the general walk.
        if matches!(get(b, p), b'.' | b',') {
            let n = b[p + 1..].iter().take(7).take_while(|c| digit(**c)).count();
            if n == 0 || n == 7 {
                return None;
            }
            p += 1 + n.min(6);
        }
        // `(?:\s*%z)?`: an attached `±hh:mm`, `±hhmm` (tried in that order, each before the
        // shorter forms) followed by a non-word char, or no zone before a non-word char that
        // cannot begin `\s*%z`.
        let c = get(b, p);
        if c == b'+' || c == b'-' {
            let h = (b'0'..=b'1').contains(&get(b, p + 1)) && digit(get(b, p + 2));
            let colon = get(b, p + 3) == b':' && digit(get(b, p + 4)) && digit(get(b, p + 5));
            let plain = digit(get(b, p + 3)) && digit(get(b, p + 4));
            let len = match (h, colon, plain) {
                (true, true, _) => 6,
                (true, false, true) => 5,
                _ => return None,
            };
            let after = get(b, p + len);
            return (after.is_ascii() && !word(after))
                .then(|| Outcome::Match(f.with_zone(p, p + len)));
        }
        let may_start_zone = |c: u8| matches!(c, b'Z' | b'U' | b'G' | b'+' | b'-');
        let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        if space(c) {
            let q = p + b[p..].iter().take_while(|c| space(**c)).count();
            let printable = |c: u8| (b' '..=b'~').contains(&c);
            if q - p > 8 || may_start_zone(get(b, q)) || (q < b.len() && !printable(b[q])) {
                return None;
            }
        } else if p < b.len() && (!c.is_ascii_punctuation() || matches!(c, b'.' | b',' | b'_')) {
            // Only the end of the line or printable non-word punctuation: no control char,
            // which `\s` might take.
            return None;
        }
        Some(Outcome::Match(f.at(p)))
    }
}

impl Shape {
    /// The syslog matcher's fixed layout alone, small enough to inline: `Some` only where
    /// [`Shape::matches`] gives the same match (it tries that layout first).
    #[inline]
    pub(crate) fn quick(&self, line: &str) -> Option<Fields> {
        match self {
            Shape::Syslog(years) => layout::syslog_fields(line.as_bytes(), years),
            Shape::Iso(_) => None,
        }
    }

    /// The matcher for a template regex, if it is one of the known ones for this `%ExY`.
    /// Also the same templates anchored by a bare `^` (datepattern `^{DATE}`): `^X` and
    /// `^(?:\W{0,2})?X` match the same on a line starting with a word character (`\W{0,2}`
    /// takes nothing there, and `^` allows no other start), and the matchers leave every
    /// other line to the regex ([`Outcome::Unsure`]; the fixed layouts decide only lines
    /// starting with a letter or digit).
    pub(crate) fn recognize(regex: &str, ex_year: &str) -> Option<Shape> {
        let years = Years::parse(ex_year)?;
        let is = |p: &str| {
            pattern::template(p, ex_year)
                .is_ok_and(|s| s.regex == regex || s.regex.replacen(SKIP, "^", 1) == regex)
        };
        if is(SYSLOG_PATTERN) {
            Some(Shape::Syslog(years))
        } else if is(ISO_PATTERN) {
            Some(Shape::Iso(years))
        } else {
            None
        }
    }

    /// Matches the template's regex against `line` from its start.
    pub(crate) fn matches(&self, line: &str) -> Outcome {
        let b = line.as_bytes();
        // The fixed layouts first: they decide only on lines starting with an ASCII letter
        // or digit (a month name, a year), which pass the test below, so trying them before
        // it changes nothing (`tests` check that start).
        let quick = match self {
            Shape::Syslog(years) => layout::syslog(b, years),
            Shape::Iso(years) => layout::iso(b, years),
        };
        if let Some(o) = quick {
            return o;
        }
        let window = &b[..b.len().min(ASCII_WINDOW)];
        let ascii = if window.is_ascii() {
            window.len()
        } else {
            window.iter().position(|x| !x.is_ascii()).unwrap_or(window.len())
        };
        let c = Cursor { b, ascii };
        // `^(?:\W{0,2})?` can only match empty before a word character.
        if !matches!(c.at(0), Ok(Some(x)) if x.is_ascii_alphanumeric() || x == b'_') {
            return Outcome::Unsure;
        }
        let found = match self {
            Shape::Syslog(years) => syslog(&c, years),
            Shape::Iso(years) => iso(&c, years),
        };
        match found {
            Ok(Some(f)) => Outcome::Match(f),
            Ok(None) => Outcome::NoMatch,
            Err(Unsure) => Outcome::Unsure,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Captures, Regex, RegexOptions};

    const Y: &str = r"(?P<Y>20[012]\d)";

    /// A small deterministic generator (xorshift), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
        /// A number below `max` (one or two digits), or any one or two digits now and then.
        fn field(&mut self, max: usize) -> String {
            if self.chance(15) {
                return self.digits(2);
            }
            let v = self.below(max);
            if self.chance(75) {
                format!("{v:02}")
            } else {
                v.to_string()
            }
        }
        fn digits(&mut self, max_len: usize) -> String {
            (0..1 + self.below(max_len)).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
        }
        fn case(&mut self, s: &str) -> String {
            s.chars().map(|c| if self.chance(30) { c.to_ascii_uppercase() } else { c }).collect()
        }
        /// Replaces, inserts or deletes a char now and then.
        fn mutate(&mut self, s: String) -> String {
            if !self.chance(15) {
                return s;
            }
            let mut v: Vec<char> = s.chars().collect();
            let noise =
                [' ', '0', '9', ':', '.', ',', 'T', 'Z', '+', '-', 'é', '\t', '\x1c', '_', 'a'];
            let at = self.below(v.len() + 1);
            match self.below(3) {
                0 if at < v.len() => v[at] = noise[self.below(noise.len())],
                1 => v.insert(at, noise[self.below(noise.len())]),
                _ if at < v.len() => {
                    v.remove(at);
                }
                _ => {}
            }
            v.into_iter().collect()
        }
    }

    const PREFIXES: &[&str] = &["<", "[", " ", "é", "<<", "-", "_", "x"];
    const TAILS: &[&str] = &[
        "",
        " host sshd[1]: x",
        "x",
        "_",
        "5",
        "é",
        ".",
        ".5",
        "\n",
        "\t",
        "\x1c",
        ":",
        "Z",
        " 2026",
        " 2026x",
        " 1999",
        " 2029 ",
        "+0100",
        "  +01:00",
        ",",
        " Z",
        "\u{660}",
    ];
    const DAYS: &[&str] = &[
        "1", "5", "05", " 5", "00", "0", "3", "9", "10", "19", "25", "29", "30", "31", "32", "39",
        "  ", "٣",
    ];

    fn syslog_line(r: &mut Rng) -> String {
        let mut s = if r.chance(15) { r.pick(PREFIXES).to_string() } else { String::new() };
        if r.chance(20) {
            let wd = r.pick(&["mon", "sat", "sun", "thu", "xyz"]);
            s += &format!("{} ", r.case(wd));
        }
        let m = r.pick(&["jan", "feb", "mar", "aug", "sep", "oct", "nov", "dec", "foo", "ſep"]);
        s += &r.case(m);
        s += r.pick(&[" ", " ", " ", "  ", ""]);
        s += r.pick(DAYS);
        s += r.pick(&[" ", " ", " ", "  ", "", "   "]);
        s += &r.field(24);
        s += ":";
        s += &r.field(60);
        s += ":";
        s += &if r.chance(10) {
            r.pick(&["60", "61", "6", "62", "70"]).to_string()
        } else {
            r.field(60)
        };
        if r.chance(15) {
            s += ".";
            s += &r.digits(8);
        }
        s += r.pick(TAILS);
        r.mutate(s)
    }

    fn iso_line(r: &mut Rng) -> String {
        let mut s = if r.chance(15) { r.pick(PREFIXES).to_string() } else { String::new() };
        s += r.pick(&["2026", "2026", "2019", "2001", "1999", "2030", "202", "20266"]);
        let sep = r.pick(&["-", "-", "/", ".", "_"]);
        s += sep;
        s += r.pick(&["1", "01", "09", "10", "11", "12", "13", "00", "0", "2"]);
        s += if r.chance(90) { sep } else { r.pick(&["-", "/", "."]) };
        s += r.pick(DAYS);
        s += r.pick(&["T", "T", " ", "  ", "   ", "t", ""]);
        s += &if r.chance(10) {
            r.pick(&["20", "23", "24", "2", "29"]).to_string()
        } else {
            r.field(24)
        };
        s += ":";
        s += &r.field(60);
        s += ":";
        s += &r.field(62);
        if r.chance(40) {
            s += r.pick(&[".", ","]);
            s += &r.digits(8);
        }
        if r.chance(70) {
            s += r.pick(&["", "", " ", "\t", "  ", "\x1c", "\u{a0}"]);
            s += r.pick(&[
                "Z", "UTC", "GMT", "+01", "+0100", "+01:00", "-0530", "+2", "+01:0", "+1900",
                "utc", "+01:000", "-05:30",
            ]);
        }
        s += r.pick(TAILS);
        r.mutate(s)
    }

    /// What the regex finds: the fields, and whether `^(?:\W{0,2})?` took something (a
    /// shape never matches then).
    fn by_regex(re: &Regex, caps: &mut Captures, line: &str) -> Option<(Fields, bool)> {
        if !re.search(line, caps).unwrap() {
            return None;
        }
        let (s0, e0) = caps.get(0).unwrap();
        let (s1, e1) = caps.get(1).unwrap();
        assert_eq!((s0, e0), (0, e1), "{line:?}");
        if s1 > 0 || !line[..e1].is_ascii() {
            // Caseless `ſep`, Unicode digits: the shape leaves these to the regex.
            return Some((NO_FIELDS, true));
        }
        let g = |name: &str| re.group_index(name).and_then(|i| caps.text(line, i));
        let n = |name: &str| g(name).map(|t| t.trim().parse::<u8>().unwrap());
        let month = match g("b") {
            Some(b) => {
                MONTHS.iter().position(|m| m.eq_ignore_ascii_case(b.as_bytes())).unwrap() as u8 + 1
            }
            None => n("m").unwrap(),
        };
        let zone = re
            .group_index("z")
            .and_then(|i| caps.get(i))
            .map_or((0, 0), |(s, e)| (s as u8, e as u8));
        let f = Fields {
            year: g("Y").map(|y| y.parse().unwrap()),
            month,
            day: n("d").unwrap(),
            hour: n("H").unwrap(),
            minute: n("M").unwrap(),
            second: n("S").unwrap(),
            zone,
            end: e1 as u8,
        };
        Some((f, false))
    }

    /// Every generated line: a decided matcher agrees with the regex, and so do its two
    /// parts (fixed layout, general walk) with each other.
    fn differential(pattern: &str, make: fn(&mut Rng) -> String) {
        let spec = pattern::template(pattern, Y).unwrap();
        differential_regex(&spec.regex, make);
        // The same template anchored by a bare `^`.
        let bare = spec.regex.replacen(SKIP, "^", 1);
        assert_ne!(bare, spec.regex);
        differential_regex(&bare, make);
    }

    fn differential_regex(regex: &str, make: fn(&mut Rng) -> String) {
        let shape = Shape::recognize(regex, Y).unwrap();
        let re = Regex::new(regex, RegexOptions::default()).unwrap();
        let mut caps = re.captures();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut matched, mut missed, mut unsure, mut by_layout) = (0, 0, 0, 0);
        for _ in 0..200_000 {
            let line = make(&mut rng);
            let expected = by_regex(&re, &mut caps, &line);
            let outcome = shape.matches(&line);
            match outcome {
                Outcome::Match(f) => {
                    assert_eq!(Some((f, false)), expected, "{line:?}");
                    matched += 1;
                }
                Outcome::NoMatch => {
                    assert_eq!(None, expected, "{line:?}");
                    missed += 1;
                }
                Outcome::Unsure => unsure += 1,
            }
            let b = line.as_bytes();
            let layout = match &shape {
                Shape::Syslog(y) => layout::syslog(b, y),
                Shape::Iso(y) => layout::iso(b, y),
            };
            if let Some(o) = layout {
                assert!(b[0].is_ascii_alphanumeric(), "{line:?}");
                assert_eq!(Some(o), expected.map(|(f, _)| Outcome::Match(f)), "{line:?}");
                by_layout += 1;
            }
        }
        // The generator must exercise every outcome.
        assert!(matched > 5_000 && missed > 5_000 && unsure > 1_000, "{matched} {missed} {unsure}");
        assert!(by_layout > 500, "{by_layout}");
    }

    #[test]
    fn syslog_matcher_equals_its_regex() {
        differential(SYSLOG_PATTERN, syslog_line);
    }

    #[test]
    fn iso_matcher_equals_its_regex() {
        differential(ISO_PATTERN, iso_line);
    }

    /// Lines as journalctl `short-iso` and syslog write them, every field two digits, with
    /// values in and out of range: the fixed layouts decide nearly all, as the regex does.
    #[test]
    fn fixed_layouts_on_log_lines() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for (pattern, iso) in [(ISO_PATTERN, true), (SYSLOG_PATTERN, false)] {
            let spec = pattern::template(pattern, Y).unwrap();
            let shape = Shape::recognize(&spec.regex, Y).unwrap();
            let re = Regex::new(&spec.regex, RegexOptions::default()).unwrap();
            let mut caps = re.captures();
            let (mut decided, mut unpadded) = (0, 0);
            for _ in 0..50_000 {
                let r = &mut rng;
                let (mo, d, h, mi, s) =
                    (r.below(14), r.below(33), r.below(26), r.below(62), r.below(63));
                let tail = r.pick(&[" host sshd[1]: x", "", "\n", ": x", " 2026 x", " 2026x", "x"]);
                let line = if iso {
                    let zone = r.pick(&[
                        "+0100",
                        "-0530",
                        "+01:00",
                        "Z",
                        "",
                        ".123456+00:00",
                        ",5Z",
                        "+1900",
                        "+01",
                        ".1234567",
                        " UTC",
                    ]);
                    format!("2026-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{zone}{tail}")
                } else {
                    let m = ["Jan", "feb", "MAR", "Nov", "Dec", "Foo"][r.below(6)];
                    // Padded with a space or a zero, or not at all.
                    let day = match r.below(3) {
                        0 if d < 10 => format!(" {d}"),
                        1 if d < 10 => format!("{d}"),
                        _ => format!("{d:02}"),
                    };
                    format!("{m} {day} {h:02}:{mi:02}:{s:02}{tail}")
                };
                let expected = by_regex(&re, &mut caps, &line).map(|(f, _)| Outcome::Match(f));
                let o = shape.matches(&line);
                assert_eq!(expected.unwrap_or(Outcome::NoMatch), o, "{line:?}");
                let b = line.as_bytes();
                let layout = match &shape {
                    Shape::Syslog(y) => layout::syslog(b, y),
                    Shape::Iso(y) => layout::iso(b, y),
                };
                if let Some(l) = layout {
                    assert_eq!(l, o, "{line:?}");
                    decided += 1;
                    unpadded += usize::from(!iso && line.as_bytes()[5] == b' ');
                }
            }
            assert!(decided > 15_000, "{pattern}: {decided}");
            assert!(iso || unpadded > 1_000, "{unpadded}");
        }
    }

    #[test]
    fn crafted_lines() {
        let syslog = Shape::Syslog(Years::parse(Y).unwrap());
        let iso = Shape::Iso(Years::parse(Y).unwrap());
        let end = |s: &Shape, l: &str| match s.matches(l) {
            Outcome::Match(f) => Some(f.end),
            Outcome::NoMatch => None,
            Outcome::Unsure => Some(255),
        };
        for (line, want) in [
            ("Nov 25 20:44:19 host", Some(15)),
            ("Nov  5 20:44:19 host", Some(15)),
            ("nov 05 2:44:19 host", Some(14)),
            ("Feb 30 20:44:19 host", Some(15)), // a match; the date is invalid later
            ("Nov 31 20:44:19 2026 host", Some(20)),
            ("Nov 31 20:44:192026 host", None),
            ("Nov 25 20:44:19.123 2026", Some(24)),
            ("Wed Nov 25 20:44:19 x", Some(19)),
            ("Nov 25 20:44:19x", None),
            ("Nov 25 20:44:1é", Some(255)),
            ("[Nov 25 20:44:19]", Some(255)),
            ("Nov 25 20:44:19é", Some(255)),
        ] {
            assert_eq!(end(&syslog, line), want, "{line}");
        }
        for (line, want) in [
            ("2026-11-25T20:44:19+0100 host", Some(24)),
            ("2026-11-25T20:44:19.123456+01:00 host", Some(32)),
            ("2026-11-25 20:44:19 host", Some(19)),
            ("2026-11-25T20:44:19Z", Some(20)),
            ("2026-11-25T20:44:19 +0100 x", Some(25)),
            // `+0100x` is no zone, but `+` ends the date.
            ("2026-11-25T20:44:19+0100x", Some(19)),
            ("2026-11-25T20:44:19Zx", None),
            ("2026-11-25T20:44:19x", None),
            ("2026-11-25T24:44:19 x", None),
            ("2026-02-30T20:44:19", Some(19)),
            ("2026/11-25T20:44:19", None),
        ] {
            assert_eq!(end(&iso, line), want, "{line}");
        }
    }

    #[test]
    fn the_regexes_the_matchers_follow() {
        let syslog = pattern::template(SYSLOG_PATTERN, Y).unwrap().regex;
        assert_eq!(
            syslog,
            r"(?iu)^(?:\W{0,2})?((?:(?P<a>mon|tue|wed|thu|fri|sat|sun) )?(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) (?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])  ?(?P<H>[0-2]?\d):(?P<M>[0-5]?\d):(?P<S>[0-5]?\d|6[0-1])(?:\.(?P<f>[0-9]{1,6}))?(?: (?P<Y>20[012]\d))?)(?=\b|\W|$)"
        );
        let iso = pattern::template(ISO_PATTERN, Y).unwrap().regex;
        assert_eq!(
            iso,
            r"^(?:\W{0,2})?((?P<Y>20[012]\d)(?P<_sep>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=_sep)(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])(?:T|  ?)(?P<H>[0-1]?\d|2[0-3]):(?P<M>[0-5]?\d):(?P<S>[0-5]?\d|6[0-1])(?:[.,](?P<f>[0-9]{1,6}))?(?:\s*(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?))?)(?=\b|\W|$)"
        );
        assert_eq!(Shape::recognize(&syslog, Y), Some(Shape::Syslog(Years::parse(Y).unwrap())));
        assert!(matches!(Shape::recognize(&iso, Y), Some(Shape::Iso(_))));
        assert_eq!(Shape::recognize(&iso, "(?P<Y>2(?:00|01)\\d)"), None);
        let y = Years::parse(r"(?P<Y>20[0123]\d)").unwrap();
        assert_eq!((y.prefix.as_slice(), y.class), (&b"20"[..], Some(0b1111)));
        assert_eq!(Years::parse(r"(?P<Y>200\d)").unwrap().class, None);
    }
}
