//! One filter variant of a sample test: a compiled filter plus its line state, fed one sample
//! line at a time the way fail2ban's test does, and its results turned into [`Got`]s.

use crate::config::FilterDef;
use crate::date::{Clock, Zone};
use crate::engine::{Regex, RegexOptions};
use crate::error::Error;
use crate::sample::Got;
use jiff::tz::TimeZone;

/// A compiled variant with its state (line buffer, MLFID cache, date detector).
pub struct VariantRunner {
    failregex: Vec<String>,
    sources: Vec<String>,
}

impl VariantRunner {
    /// Compiles `def` as fail2ban's sample test does (no DNS, every regex checked).
    pub fn new(_def: FilterDef, _clock: &Clock) -> Result<VariantRunner, Error> {
        unimplemented!("connect to core's Filter/LineProcessor")
    }

    /// Processes one line. Journal lines are pre-dated at "now" and skip date detection.
    pub fn run(&mut self, _text: &str, _journal: bool) -> Result<Vec<Got>, Error> {
        unimplemented!("connect to core's Filter/LineProcessor")
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
