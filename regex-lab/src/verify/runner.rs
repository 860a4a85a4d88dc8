//! One filter variant of a sample test: a compiled filter plus its line state, fed one sample
//! line at a time the way fail2ban's test does, and its results turned into [`Got`]s.

use crate::config::FilterDef;
use crate::date::{Clock, DateDetector, Zone};
use crate::engine::{Regex, RegexOptions};
use crate::error::Error;
use crate::filter::{key, Filter, FilterOptions};
use crate::line::{Failure, LineProcessor, Now, Value};
use crate::sample::{Field, Got, Id};
use jiff::tz::TimeZone;
use std::sync::Arc;

/// A compiled variant with its state (line buffer, MLFID cache, date detector).
pub struct VariantRunner {
    processor: LineProcessor,
    /// What a journal line's date text is (`TEST_NOW_STR`: "now" in UTC, ISO).
    journal_date: String,
    now: f64,
    failregex: Vec<String>,
    sources: Vec<String>,
}

impl VariantRunner {
    /// Compiles `def` as fail2ban's sample test does: `<HOST>` with DNS names (the test's
    /// Filter keeps the default `usedns`), raw IDs (no DNS lookups), every failregex checked.
    pub fn new(def: FilterDef, clock: &Clock) -> Result<VariantRunner, Error> {
        let filter =
            Arc::new(Filter::new(&def, &FilterOptions { usedns_no: false, maxlines: None })?);
        let dates = DateDetector::new(def.datepattern.as_deref(), clock.clone())?;
        let failregex = filter.failregex().iter().map(|r| r.expanded().to_string()).collect();
        let sources = filter.failregex().iter().map(|r| r.source().to_string()).collect();
        let journal_date = jiff::Timestamp::from_second(clock.now.floor() as i64)
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default();
        Ok(VariantRunner {
            processor: LineProcessor::new(filter, Some(dates), Now::Fixed(clock.now)),
            journal_date,
            now: clock.now,
            failregex,
            sources,
        })
    }

    /// Processes one line. Journal lines are pre-dated at "now" and skip date detection
    /// (fail2ban: `processLine(('', TEST_NOW_STR, line), TEST_NOW)`).
    pub fn run(&mut self, text: &str, journal: bool) -> Result<Vec<Got>, Error> {
        let filter = Arc::clone(self.processor.filter());
        let result = if journal {
            self.processor.process_dated("", &self.journal_date, text, self.now)
        } else {
            self.processor.process(text)
        };
        if let Some(a) = result.aborted.first() {
            return Err(Error::Other(format!(
                "{} #{}: {} on line {text:?}",
                a.kind.as_str(),
                a.index + 1,
                a.message
            )));
        }
        Ok(result.failures.iter().map(|f| got(&filter, f)).collect())
    }

    /// The failregexes after tag expansion (fail2ban's `getFailRegex()`).
    pub fn failregexes(&self) -> &[String] {
        &self.failregex
    }

    /// The failregexes as written in the filter, for reports.
    pub fn failregex_sources(&self) -> &[String] {
        &self.sources
    }
}

/// The judge's view of one failure.
fn got(filter: &Filter, f: &Failure) -> Got {
    let names = filter.names();
    // The ID is an IPAddr of a family when it came from ip4/ip6 and no separate fid won
    // (then fail2ban stores the address under `ip` and the raw fid is the ID).
    let from_ip = (f.data.get(key::IP4).is_some() || f.data.get(key::IP6).is_some())
        && f.data.get(key::IP).is_none();
    let fields = f
        .data
        .iter()
        .filter_map(|(k, v)| {
            let field = match v {
                Value::None => Field::None,
                Value::Str(s) => Field::Str(s.to_string()),
                Value::Int(i) => Field::Int(*i),
                Value::Set(s) => Field::List(s.iter().map(|u| u.to_string()).collect()),
                // A tuple never equals a JSON list in fail2ban's comparison.
                Value::Tuple(_) => Field::Str(v.py_str()),
                Value::Lines(_) => return None,
            };
            Some((names.name(k).to_string(), field))
        })
        .collect();
    Got {
        regex: f.regex,
        id: f.id.as_ref().map(|text| Id { text: text.clone(), ip: from_ip, cidr: None }),
        time: f.time,
        nofail: f.is_nofail(),
        fields,
        matches: f.matches().len(),
    }
}

/// The zone as jiff sees it, for turning failJSON local times into Unix times.
pub fn time_zone(zone: &Zone) -> Result<TimeZone, Error> {
    let bad = |e: jiff::Error| Error::Other(format!("timezone: {e}"));
    match zone {
        Zone::Local => Ok(TimeZone::system()),
        Zone::Fixed(secs) => {
            Ok(TimeZone::fixed(jiff::tz::Offset::from_seconds(*secs).map_err(bad)?))
        }
        Zone::Named(name) => {
            jiff::tz::db().get(name).or_else(|_| TimeZone::posix(name)).map_err(bad)
        }
    }
}

/// fail2ban's `RE_WRONG_GREED`: a greedy `.*`/`.+` before `<HOST>`, unless the regex is
/// anchored at the end with no catch-all after the host.
pub struct WrongGreed {
    re: Regex,
}

impl WrongGreed {
    pub fn new() -> Result<WrongGreed, Error> {
        let host = crate::tags::expand("<HOST>", false)?;
        let pattern = format!(r"\.[+\*](?!\?)[^\$\^]*{}.*(?:\.[+\*].*|[^\$])$", escape(&host));
        Ok(WrongGreed { re: Regex::new(&pattern, RegexOptions::default())? })
    }

    /// True when the expanded failregex `regex` has the wrong kind of catch-all.
    pub fn is_wrong(&self, regex: &str) -> bool {
        self.re.is_match(regex).unwrap_or(false)
    }
}

/// Escapes every regex metacharacter so `text` matches itself.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii_punctuation() || c == ' ' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_matches_itself() {
        let text = r"(?:\[?(?P<ip4>\d{1,3})|a.b*c+d?e^f$g)";
        let re = Regex::new(&format!("^{}$", escape(text)), RegexOptions::default()).unwrap();
        assert!(re.is_match(text).unwrap());
        assert!(!re.is_match("(?:x").unwrap());
    }

    /// fail2ban's `testReWrongGreedyCatchAll` cases.
    #[test]
    fn wrong_greed() {
        let g = WrongGreed::new().unwrap();
        let host = crate::tags::expand("<HOST>", false).unwrap();
        let cases = [
            (format!("greedy .* test{host} test not hard-anchored"), true),
            (format!("greedy .+ test{host} test vary .* anchored$"), true),
            (format!("greedy .* test{host} test no catch-all, hard-anchored$"), false),
            (format!("non-greedy .*? test{host} test not hard-anchored"), false),
            (format!("non-greedy .+? test{host} test vary catch-all .* anchored$"), false),
        ];
        for (regex, want) in cases {
            assert_eq!(g.is_wrong(&regex), want, "{regex}");
        }
    }

    #[test]
    fn test_zone() {
        let tz = time_zone(&Zone::Named(super::super::TEST_TZ.into())).unwrap();
        let noon = jiff::civil::date(2005, 8, 14).at(12, 0, 0, 0);
        assert_eq!(
            tz.to_ambiguous_zoned(noon).compatible().unwrap().timestamp().as_second(),
            1124013600
        );
        assert!(time_zone(&Zone::Named("Europe/Berlin".into())).is_ok());
        assert!(time_zone(&Zone::Named("not a zone".into())).is_err());
    }
}
