//! The verdict on one sample line for one variant, as fail2ban's sample test decides it.
//!
//! Rules (notes §8), applied to what the filter returned for the line:
//! - entries without an ID (MLFID pending) or with `nofail` are dropped (they still count as
//!   "regex used");
//! - nothing left: the failJSON must not say `match: true`;
//! - otherwise it must say `match: true` and exactly one entry may remain;
//! - every other key but `time`/`match`/`desc`/`constraint` must equal the entry's field;
//!   `host` falls back to the failure ID and `attempts` to the number of matched lines;
//!   lists and sets are compared sorted; the ID compares as an IP address when it is one;
//! - `time` is local time in the test zone (`mktime`), and must equal the failure time exactly.

use super::Expect;
use jiff::{civil, tz::TimeZone, Timestamp};
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;

/// A field of a failure as fail2ban's `fail` dict holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A group that did not take part in the match.
    None,
    Str(String),
    /// `users` (a set) and `tuple_*` values.
    List(Vec<String>),
    Int(i64),
}

/// The failure ID and how fail2ban compares it.
#[derive(Clone, Debug, PartialEq)]
pub struct Id {
    pub text: String,
    /// Taken from `ip4`/`ip6` (an `IPAddr` of that family): compared as an address.
    /// Otherwise (`dns`, `fid`) it is raw text, compared as a string.
    pub ip: bool,
    /// The `cidr` group, if any: the address is masked to it.
    pub cidr: Option<u8>,
}

/// One entry of what the filter returned for a line.
#[derive(Clone, Debug, PartialEq)]
pub struct Got {
    /// Index of the failregex that produced it.
    pub regex: usize,
    /// `None` while an MLFID failure is pending (no host yet).
    pub id: Option<Id>,
    /// The failure time (Unix seconds), if the line had one.
    pub time: Option<f64>,
    pub nofail: bool,
    /// The `fail` dict: groups, merged MLFID fields, `users`...
    pub fields: Vec<(String, Field)>,
    /// `len(fail['matches'])`.
    pub matches: usize,
}

impl Got {
    fn field(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Why a sample line failed.
#[derive(Clone, Debug, PartialEq)]
pub enum Mismatch {
    /// `match: true` but the filter found no failure.
    Missed,
    /// The filter found failures on a line that must not match.
    Unexpected { ids: Vec<String>, regexes: Vec<usize> },
    /// More than one failure on the line.
    Multiple { regexes: Vec<usize> },
    /// A field differs.
    Field { key: String, expected: Value, got: String },
    /// The failure time differs (`got` formatted in the test zone).
    Time { expected: String, got: String },
    /// The failJSON `time` is not `%Y-%m-%dT%H:%M:%S[.%f]`.
    BadTime { text: String },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let list =
            |r: &[usize]| r.iter().map(|i| format!("#{}", i + 1)).collect::<Vec<_>>().join(", ");
        match self {
            Mismatch::Missed => write!(f, "expected a failure, got none"),
            Mismatch::Unexpected { ids, regexes } => {
                write!(
                    f,
                    "expected no failure, got {} from failregex {}",
                    ids.join(", "),
                    list(regexes)
                )
            }
            Mismatch::Multiple { regexes } => {
                write!(
                    f,
                    "expected exactly one failure, got {} (failregex {})",
                    regexes.len(),
                    list(regexes)
                )
            }
            Mismatch::Field { key, expected, got } => {
                write!(f, "expected {key} {expected}, got {got}")
            }
            Mismatch::Time { expected, got } => write!(f, "expected time {expected}, got {got}"),
            Mismatch::BadTime { text } => {
                write!(f, "failJSON time {text:?} is not YYYY-MM-DDTHH:MM:SS[.ffffff]")
            }
        }
    }
}

/// The outcome for one line and one variant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgement {
    /// Failregexes this line used (for the "every failregex has a sample" rule).
    pub used: Vec<usize>,
    /// Empty when the line passed.
    pub mismatches: Vec<Mismatch>,
}

/// Judges `got` (the filter's result for the line) against `expect`; `zone` is the test zone.
pub fn judge(expect: &Expect, got: &[Got], zone: &TimeZone) -> Judgement {
    let mut j = Judgement { used: got.iter().map(|g| g.regex).collect(), mismatches: vec![] };
    j.used.dedup();
    let found: Vec<&Got> = got.iter().filter(|g| g.id.is_some() && !g.nofail).collect();
    if found.is_empty() {
        if expect.matches {
            j.mismatches.push(Mismatch::Missed);
        }
        return j;
    }
    if !expect.matches {
        j.mismatches.push(Mismatch::Unexpected {
            ids: found
                .iter()
                .map(|g| g.id.as_ref().map_or(String::new(), |i| i.text.clone()))
                .collect(),
            regexes: found.iter().map(|g| g.regex).collect(),
        });
        return j;
    }
    if found.len() != 1 {
        j.mismatches.push(Mismatch::Multiple { regexes: found.iter().map(|g| g.regex).collect() });
        return j;
    }
    let g = found[0];
    for (key, want) in &expect.fields {
        if let Some(got) = field_mismatch(g, key, want) {
            j.mismatches.push(Mismatch::Field { key: key.clone(), expected: want.clone(), got });
        }
    }
    if let Some(t) = &expect.time {
        match expected_time(t, zone) {
            None => j.mismatches.push(Mismatch::BadTime { text: t.clone() }),
            Some(want) if g.time != Some(want) => {
                let got = g.time.map_or("none".to_string(), |t| format_time(t, zone));
                j.mismatches.push(Mismatch::Time { expected: format!("{t} ({want})"), got });
            }
            Some(_) => {}
        }
    }
    j
}

/// `Some(description of what was got)` when the field differs.
fn field_mismatch(g: &Got, key: &str, want: &Value) -> Option<String> {
    let field = match g.field(key) {
        Some(Field::None) | None => match key {
            "host" => {
                let id = g.id.as_ref()?;
                return (!id_equals(id, want)).then(|| id.text.clone());
            }
            "attempts" => Field::Int(g.matches as i64),
            _ => Field::None,
        },
        Some(f) => f.clone(),
    };
    let equal = match (&field, want) {
        (Field::None, Value::Null) => true,
        (Field::Str(s), Value::String(w)) => s == w,
        (Field::Int(i), Value::Number(n)) => n.as_f64() == Some(*i as f64),
        (Field::List(items), Value::Array(w)) => {
            let mut a = items.clone();
            let mut b: Vec<String> =
                w.iter().map(|v| v.as_str().map_or(v.to_string(), str::to_string)).collect();
            a.sort();
            b.sort();
            a == b && w.iter().all(Value::is_string)
        }
        _ => false,
    };
    (!equal).then(|| match field {
        Field::None => "none".into(),
        Field::Str(s) => format!("{s:?}"),
        Field::Int(i) => i.to_string(),
        Field::List(l) => format!("{l:?}"),
    })
}

/// fail2ban's `IPAddr.__eq__` between the failure ID and the expected text.
fn id_equals(id: &Id, want: &Value) -> bool {
    let Value::String(w) = want else { return false };
    if !id.ip {
        return id.text == *w;
    }
    match (parse_ip(&id.text, id.cidr), parse_ip(w, None)) {
        (Some(a), Some(b)) => a == b,
        (None, None) => id.text == *w,
        _ => false,
    }
}

/// An address as fail2ban normalises it: brackets dropped, IPv4-mapped IPv6 → IPv4, masked
/// to the prefix length (`/n` suffix or `cidr`).
fn parse_ip(text: &str, cidr: Option<u8>) -> Option<(IpAddr, u8)> {
    let text = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .filter(|t| !t.is_empty())
        .unwrap_or(text);
    let (addr, plen) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
        None => (text, cidr),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    Some(match ip {
        IpAddr::V4(v4) => {
            let p = plen.unwrap_or(32).min(32);
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            (IpAddr::V4((u32::from(v4) & mask).into()), p)
        }
        IpAddr::V6(v6) => {
            let p = plen.unwrap_or(128).min(128);
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            (IpAddr::V6((u128::from(v6) & mask).into()), p)
        }
    })
}

/// `mktime(strptime(t, "%Y-%m-%dT%H:%M:%S[.%f]")) + µs` in `zone`.
pub fn expected_time(t: &str, zone: &TimeZone) -> Option<f64> {
    let (dt, micros) = parse_local(t)?;
    let ts = zone.to_ambiguous_zoned(dt).compatible().ok()?.timestamp();
    Some(ts.as_second() as f64 + micros as f64 / 1_000_000.0)
}

/// Python `strptime` for `%Y-%m-%dT%H:%M:%S` with an optional `.%f` (1–6 digits); like
/// strptime, the fields after `%Y` take one or two digits.
fn parse_local(t: &str) -> Option<(civil::DateTime, u32)> {
    let (date, time) = t.split_once('T')?;
    let num = |s: &str, min: usize, max: usize| -> Option<i64> {
        (s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())?
    };
    let d: Vec<&str> = date.split('-').collect();
    let (clock, frac) = match time.split_once('.') {
        Some((c, f)) => (c, Some(f)),
        None => (time, None),
    };
    let c: Vec<&str> = clock.split(':').collect();
    if d.len() != 3 || c.len() != 3 {
        return None;
    }
    let dt = civil::DateTime::new(
        num(d[0], 4, 4)? as i16,
        num(d[1], 1, 2)? as i8,
        num(d[2], 1, 2)? as i8,
        num(c[0], 1, 2)? as i8,
        num(c[1], 1, 2)? as i8,
        num(c[2], 1, 2)? as i8,
        0,
    )
    .ok()?;
    let micros = match frac {
        None => 0,
        Some(f) => num(f, 1, 6)? as u32 * 10u32.pow(6 - f.len() as u32),
    };
    Some((dt, micros))
}

/// A Unix time as local ISO text in `zone` (for "expected ..., got ..." messages).
pub fn format_time(t: f64, zone: &TimeZone) -> String {
    let secs = t.floor() as i64;
    let frac = t - secs as f64;
    match Timestamp::from_second(secs) {
        Ok(ts) => {
            let local = ts.to_zoned(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S").to_string();
            if frac > 0.0 {
                format!("{local}.{:06} ({t})", (frac * 1e6).round() as u32)
            } else {
                format!("{local} ({t})")
            }
        }
        Err(_) => t.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEST_TZ: &str = "CET-01CEST-02,M3.5.0,M10.5.0";

    fn zone() -> TimeZone {
        TimeZone::posix(TEST_TZ).unwrap()
    }

    fn ip(text: &str) -> Option<Id> {
        Some(Id { text: text.into(), ip: true, cidr: None })
    }

    fn got(regex: usize, id: Option<Id>) -> Got {
        Got { regex, id, time: Some(1124013600.0), nofail: false, fields: vec![], matches: 1 }
    }

    fn expect(json: Value) -> Expect {
        let text = format!("# failJSON: {json}\nline\n");
        match super::super::SampleFile::parse("t", &text).unwrap().items.remove(0).kind {
            super::super::ItemKind::Sample { expect, .. } => expect,
            k => panic!("{k:?}"),
        }
    }

    fn verdict(e: Value, g: &[Got]) -> Vec<String> {
        judge(&expect(e), g, &zone()).mismatches.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn test_now_is_noon_cest() {
        assert_eq!(expected_time("2005-08-14T12:00:00", &zone()), Some(1124013600.0));
        assert_eq!(
            expected_time("2005-8-4T2:0:0", &zone()),
            expected_time("2005-08-04T02:00:00", &zone())
        );
        // Winter time: CET = UTC+1.
        assert_eq!(expected_time("2005-01-14T12:00:00", &zone()), Some(1105700400.0));
        assert_eq!(expected_time("2005-08-14T12:00:00.5", &zone()), Some(1124013600.5));
        assert_eq!(expected_time("2005-08-14T12:00:00.000123", &zone()), Some(1124013600.000123));
        for bad in [
            "2005-08-14 12:00:00",
            "05-08-14T12:00:00",
            "2005-13-14T12:00:00",
            "2005-08-14T12:00:00.1234567",
        ] {
            assert_eq!(expected_time(bad, &zone()), None, "{bad}");
        }
        assert_eq!(format_time(1124013600.0, &zone()), "2005-08-14T12:00:00 (1124013600)");
    }

    #[test]
    fn verdict_table() {
        let pending = got(0, None);
        let nofail = Got { nofail: true, ..got(1, ip("192.0.2.9")) };
        let one = got(2, ip("192.0.2.1"));
        let cases: Vec<(Value, Vec<Got>, Vec<&str>)> = vec![
            (json!({"match": false}), vec![], vec![]),
            (json!({}), vec![pending.clone(), nofail.clone()], vec![]),
            (json!({"match": true}), vec![], vec!["expected a failure, got none"]),
            (json!({"match": true}), vec![nofail.clone()], vec!["expected a failure, got none"]),
            (json!({"match": false}), vec![one.clone()], vec!["expected no failure, got 192.0.2.1 from failregex #3"]),
            (
                json!({"match": true}),
                vec![one.clone(), got(4, ip("192.0.2.1"))],
                vec!["expected exactly one failure, got 2 (failregex #3, #5)"],
            ),
            (json!({"match": true, "host": "192.0.2.1", "time": "2005-08-14T12:00:00"}), vec![pending, one.clone()], vec![]),
            (json!({"match": true, "host": "192.0.2.2"}), vec![one.clone()], vec!["expected host \"192.0.2.2\", got 192.0.2.1"]),
            (
                json!({"match": true, "time": "2005-08-14T11:00:00"}),
                vec![one.clone()],
                vec!["expected time 2005-08-14T11:00:00 (1124010000), got 2005-08-14T12:00:00 (1124013600)"],
            ),
            (json!({"match": true, "attempts": 1}), vec![one.clone()], vec![]),
            (json!({"match": true, "attempts": 2}), vec![one.clone()], vec!["expected attempts 2, got 1"]),
            (json!({"match": true, "user": "root"}), vec![one.clone()], vec!["expected user \"root\", got none"]),
            (json!({"match": true, "user": null}), vec![one.clone()], vec![]),
            (json!({"match": 1, "desc": "x"}), vec![one.clone()], vec![]),
            (
                json!({"match": true, "time": "bad"}),
                vec![one],
                vec!["failJSON time \"bad\" is not YYYY-MM-DDTHH:MM:SS[.ffffff]"],
            ),
        ];
        for (e, g, want) in cases {
            assert_eq!(verdict(e.clone(), &g), want, "{e}");
        }
    }

    #[test]
    fn fields_sets_and_ids() {
        let mut g = got(0, Some(Id { text: "alice".into(), ip: false, cidr: None }));
        g.fields = vec![
            ("user".into(), Field::Str("alice".into())),
            ("users".into(), Field::List(vec!["b".into(), "a".into()])),
            ("ip4".into(), Field::Str("192.0.2.1".into())),
            ("host".into(), Field::None),
        ];
        g.matches = 3;
        let ok = json!({"match": true, "host": "alice", "user": "alice", "users": ["a", "b"], "ip4": "192.0.2.1", "attempts": 3});
        assert!(verdict(ok, &[g.clone()]).is_empty());
        assert_eq!(
            verdict(json!({"match": true, "users": ["a"]}), &[g.clone()]),
            ["expected users [\"a\"], got [\"b\", \"a\"]"]
        );
        assert_eq!(
            verdict(json!({"match": true, "host": "Alice"}), &[g]),
            ["expected host \"Alice\", got alice"]
        );

        // IP IDs compare as addresses, like fail2ban's IPAddr.
        for (id, want, eq) in [
            ("2001:DB8::1", "2001:db8::1", true),
            ("::ffff:192.0.2.1", "192.0.2.1", true),
            ("[2001:db8::1]", "2001:db8::1", true),
            ("192.0.2.1", "192.0.2.01", false),
            ("999.1.1.1", "999.1.1.1", true),
            ("192.0.2.1", "192.0.2.2", false),
        ] {
            let g = got(0, ip(id));
            assert_eq!(
                verdict(json!({"match": true, "host": want}), &[g]).is_empty(),
                eq,
                "{id} vs {want}"
            );
        }
        let masked = got(0, Some(Id { text: "192.0.2.77".into(), ip: true, cidr: Some(24) }));
        assert!(verdict(json!({"match": true, "host": "192.0.2.0/24"}), &[masked]).is_empty());
    }

    #[test]
    fn used_regexes_include_dropped_entries() {
        let e = expect(json!({"match": false}));
        let g = [got(3, None), Got { nofail: true, ..got(1, ip("192.0.2.1")) }];
        assert_eq!(judge(&e, &g, &zone()).used, [3, 1]);
    }
}
