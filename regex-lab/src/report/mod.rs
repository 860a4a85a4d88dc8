//! Replay results: per-filter [`counts::Counts`] accumulated line by line, printed as a
//! fail2ban-regex-shaped [`human`] report or as one [`json`] object.

pub mod counts;
pub mod human;
pub mod json;

use std::time::Duration;

use crate::config::FilterSpec;
use crate::date::TemplateHits;
use crate::filter::Filter;

pub use counts::Counts;

/// One filter's part of a replay, ready to print.
pub struct FilterRun<'a> {
    /// The filter as given on the command line (`sshd[mode=aggressive]`).
    pub spec: &'a str,
    /// The parsed spec, for the `Use   filter options` line.
    pub options: &'a FilterSpec,
    pub filter: &'a Filter,
    /// The date detector's description (`Default Detectors`, or the template's name).
    pub date_describe: String,
    pub counts: &'a Counts,
    /// Templates with hits, in the detector's order.
    pub date_hits: Vec<TemplateHits>,
    /// Time spent in this filter (the whole loop when there is one filter).
    pub elapsed: Duration,
}

/// The whole replay.
pub struct RunSummary<'a> {
    /// Log names as given (`<stdin>` for `-`).
    pub logs: &'a [String],
    /// Lines read and tested (after skipping empty and `#` lines).
    pub lines: u64,
    /// Wall time of the read-and-match loop.
    pub elapsed: Duration,
    pub filters: Vec<FilterRun<'a>>,
    /// Read errors (a log that broke off), one line each.
    pub errors: &'a [String],
}

/// Lines per second, 0 when nothing was timed.
pub fn rate(lines: u64, elapsed: Duration) -> f64 {
    let s = elapsed.as_secs_f64();
    if s > 0.0 {
        lines as f64 / s
    } else {
        0.0
    }
}
