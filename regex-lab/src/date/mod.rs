//! Date detection as fail2ban 1.0.2's DateDetector (spec: notes §4 and
//! `notes/fail2ban-date-templates.txt`).
//!
//! OWNER: date helper. The API below is the contract other modules code against; it may grow,
//! but changing a signature means updating the callers (line.rs, explain.rs).

/// A date pattern that cannot be used, or a bad `--timezone`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DateError {
    pub message: String,
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
#[derive(Clone, Debug)]
pub enum Zone {
    /// The machine's local zone (TZ env, else /etc/localtime), as Python's `time.mktime`.
    Local,
    /// A POSIX TZ string such as `CET-01CEST-02,M3.5.0,M10.5.0` or an IANA name.
    Named(String),
    /// A fixed offset in seconds east of UTC (`--timezone UTC+0200`).
    Fixed(i32),
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
}

/// One date found in a line: `line[start..end]` is the text of the template's group 1, which
/// the caller cuts out before matching (`line[..start] + line[end..]`).
#[derive(Clone, Debug, PartialEq)]
pub struct DateHit {
    pub start: usize,
    pub end: usize,
    /// Index of the winning template in [`DateDetector::templates`]'s original order.
    pub template: usize,
    /// Unix time; `None` when the template matched but the fields do not form a valid date.
    pub time: Option<f64>,
}

/// Hits of one template, for fail2ban-regex's "Date template hits" block.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplateHits {
    /// The template's name as fail2ban-regex prints it, e.g.
    /// `{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?`.
    pub name: String,
    pub hits: u64,
}

/// Stateful detector: like fail2ban's, it remembers the last winner and reorders templates.
#[derive(Debug)]
pub struct DateDetector {
    _private: (),
}

impl DateDetector {
    /// `datepattern` lines as the filter gives them (`None`: the 31 default templates).
    pub fn new(_datepattern: Option<&[String]>, _clock: Clock) -> Result<DateDetector, DateError> {
        unimplemented!("date helper")
    }

    /// fail2ban's `matchTime` + `getTime`: finds the date in `line` and converts it.
    pub fn detect(&mut self, _line: &str) -> Option<DateHit> {
        unimplemented!("date helper")
    }

    /// Templates with hits, in the detector's current (possibly reordered) order.
    pub fn template_hits(&self) -> Vec<TemplateHits> {
        unimplemented!("date helper")
    }

    /// True when the datepattern is `{NONE}`: lines carry no date.
    pub fn is_none(&self) -> bool {
        false
    }

    /// The clock this detector converts with.
    pub fn clock(&self) -> &Clock {
        unimplemented!("date helper")
    }
}
