//! `regex-lab explain`: trace log lines through every stage of a filter, for filter authors.
//!
//! # Brief overview
//!
//! For each line, [`explain_lines`] reports what fail2ban does with it, stage by stage:
//! the date template that matched and the time it gives, the text left once the date is cut
//! out, the prefregex and its groups (and `content`, which the failregexes then search), every
//! failregex tried in order with its groups, the ignoreregexes, and the verdict the engine of
//! record ([`crate::line::LineProcessor`]) gives: failure with its ID, nofail, pending, ignored
//! or missed. Several lines go through one processor in order, so multi-line and MLFID state
//! (sshd's per-connection tracking) shows up as it would in a log.
//!
//! The per-regex trace re-runs each search on the same text the processor searched; the
//! verdict always comes from the processor. Everything printed is [`sanitize()`]d: the lines
//! come from attackers.

pub mod cli;
pub mod sanitize;

use crate::config::FilterDef;
use crate::date::{Clock, DateDetector};
use crate::error::Error;
use crate::filter::{Filter, FilterOptions, FilterRegex};
use crate::line::{LineClass, LineProcessor, Now};
use sanitize::sanitize;
use serde::Serialize;
use std::fmt::Write;
use std::sync::Arc;

/// The date stage of one line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DateStep {
    /// The template as fail2ban-regex names it.
    pub template: String,
    /// The date text cut out of the line.
    pub text: String,
    /// Unix time; `None` when the text does not form a valid date.
    pub time: Option<f64>,
    /// The time in the zone, ISO.
    pub local: Option<String>,
}

/// One regex tried on the line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegexStep {
    /// 0-based index in the filter's list.
    pub index: usize,
    /// As written in the filter (tags included).
    pub regex: String,
    pub matched: bool,
    /// Named groups of the match, in group order; `None` when a group did not take part.
    pub groups: Vec<(String, Option<String>)>,
    /// PCRE2 gave up on this search (match limit).
    pub aborted: bool,
}

/// One failure the engine returned for the line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FailureStep {
    pub regex: usize,
    /// `None`: an MLFID match waiting for its host (pending).
    pub id: Option<String>,
    pub nofail: bool,
    pub time: Option<f64>,
}

/// The verdict for the line.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// fail2ban-regex's class: `ignored`, `matched` or `missed`.
    pub class: &'static str,
    pub failures: Vec<FailureStep>,
    /// Ignoreregexes that hit.
    pub ignored_by: Vec<usize>,
}

/// Everything about one line and one filter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    pub filter: String,
    pub line: String,
    /// `None`: no template matched (the line keeps its text and has no time of its own).
    pub date: Option<DateStep>,
    /// The line with the date cut out: what the prefregex searches.
    pub text: String,
    pub prefregex: Option<RegexStep>,
    /// True when the prefregex captured a non-empty `content`, which the failregexes search.
    pub content: bool,
    /// The text the failregexes searched (without the final `\n` fail2ban appends).
    pub searched: String,
    pub failregex: Vec<RegexStep>,
    pub ignoreregex: Vec<RegexStep>,
    /// `maxlines` when above 1: the verdict then searches the line buffer, while the per-regex
    /// trace above searches this line alone.
    pub maxlines: Option<usize>,
    pub verdict: Verdict,
}

/// Explains `lines`, in order, through one filter with shared state.
pub fn explain_lines(
    def: &FilterDef,
    clock: &Clock,
    lines: &[String],
) -> Result<Vec<Explanation>, Error> {
    let filter = Arc::new(Filter::new(def, &FilterOptions::default())?);
    let dates = DateDetector::new(def.datepattern.as_deref(), clock.clone())?;
    let mut processor = LineProcessor::new(Arc::clone(&filter), Some(dates), Now::Fixed(clock.now));
    let zone = crate::verify::runner::time_zone(&clock.zone)?;
    let mut out = Vec::new();
    for line in lines {
        let result = processor.process(line).clone();
        let date = result.date.as_ref().map(|h| {
            let template =
                processor.dates().map(|d| d.template(h.template).name).unwrap_or_default();
            DateStep {
                template,
                text: line[h.start..h.end].to_string(),
                time: h.time,
                local: h.time.map(|t| crate::sample::judge::format_time(t, &zone)),
            }
        });
        let text = match &result.date {
            Some(h) => format!("{}{}", &line[..h.start], &line[h.end..]),
            None => line.clone(),
        };
        let buf = format!("{text}\n");
        let prefregex = filter.prefregex().map(|p| step(0, p, &buf));
        let content = prefregex
            .as_ref()
            .and_then(|p| p.groups.iter().find(|(n, _)| n == "content"))
            .and_then(|(_, v)| v.clone())
            .filter(|c| !c.is_empty());
        let searched = match &content {
            Some(c) => format!("{c}\n"),
            None => buf.clone(),
        };
        let pref_ok = !matches!(&prefregex, Some(p) if !p.matched);
        let failregex = if pref_ok {
            filter.failregex().iter().enumerate().map(|(i, r)| step(i, r, &searched)).collect()
        } else {
            Vec::new()
        };
        let ignoreregex =
            filter.ignoreregex().iter().enumerate().map(|(i, r)| step(i, r, &searched)).collect();
        let verdict = Verdict {
            class: match result.class {
                LineClass::Ignored => "ignored",
                LineClass::Matched => "matched",
                LineClass::Missed => "missed",
            },
            failures: result
                .failures
                .iter()
                .map(|f| FailureStep {
                    regex: f.regex,
                    id: f.id.clone(),
                    nofail: f.is_nofail(),
                    time: f.time,
                })
                .collect(),
            ignored_by: result.ignore_hits.clone(),
        };
        out.push(Explanation {
            filter: def.name.clone(),
            line: line.clone(),
            date,
            text,
            prefregex,
            content: content.is_some(),
            searched: searched.strip_suffix('\n').unwrap_or(&searched).to_string(),
            failregex,
            ignoreregex,
            maxlines: (filter.maxlines() > 1).then(|| filter.maxlines()),
            verdict,
        });
    }
    Ok(out)
}

/// Searches `r` in `hay` and collects its named groups.
fn step(index: usize, r: &FilterRegex, hay: &str) -> RegexStep {
    let mut caps = r.captures();
    let (matched, aborted) = match r.regex().search(hay, &mut caps) {
        Ok(m) => (m, false),
        Err(_) => (false, true),
    };
    let groups = if matched {
        r.regex()
            .group_names()
            .iter()
            .enumerate()
            .filter_map(|(i, n)| Some((n.clone()?, caps.text(hay, i).map(str::to_string))))
            .collect()
    } else {
        Vec::new()
    };
    RegexStep { index, regex: r.source().to_string(), matched, groups, aborted }
}

impl Explanation {
    /// The human rendering, every line sanitized.
    pub fn render(&self, out: &mut String) {
        let q = |s: &str| format!("\"{}\"", sanitize(s));
        let _ = writeln!(out, "filter       {}", sanitize(&self.filter));
        let _ = writeln!(out, "line         {}", q(&self.line));
        match &self.date {
            None => {
                let _ = writeln!(
                    out,
                    "date         no template matched (the line has no time of its own)"
                );
            }
            Some(d) => {
                let _ = writeln!(out, "date         {}", sanitize(&d.template));
                let when = match (&d.time, &d.local) {
                    (Some(_), Some(l)) => l.clone(),
                    (Some(t), None) => t.to_string(),
                    _ => "not a valid date".into(),
                };
                if d.text.is_empty() {
                    let _ = writeln!(
                        out,
                        "             empty match: time of the previous line, or now → {when}"
                    );
                } else {
                    let _ = writeln!(out, "             {} → {when}", q(&d.text));
                }
            }
        }
        let _ = writeln!(out, "text         {}", q(&self.text));
        match &self.prefregex {
            None => {
                let _ = writeln!(out, "prefregex    (none)");
            }
            Some(p) => {
                let _ = writeln!(out, "prefregex    {}  {}", mark(p), sanitize(&p.regex));
                groups(out, p, "             ");
                if !p.matched {
                    let _ = writeln!(
                        out,
                        "             no prefregex match: the failregexes are not tried"
                    );
                }
            }
        }
        if !self.failregex.is_empty() {
            let on = if self.content { "content" } else { "text" };
            let _ = writeln!(out, "failregex    searched on {on}: {}", q(&self.searched));
            for r in &self.failregex {
                let _ = writeln!(out, "  #{:<3} {}  {}", r.index + 1, mark(r), sanitize(&r.regex));
                groups(out, r, "              ");
            }
        }
        for r in &self.ignoreregex {
            let _ = writeln!(
                out,
                "ignoreregex #{:<3} {}  {}",
                r.index + 1,
                mark(r),
                sanitize(&r.regex)
            );
        }
        if let Some(n) = self.maxlines {
            let _ = writeln!(
                out,
                "note         multi-line filter (maxlines {n}): the trace above searches this line alone, the verdict searches the last {n} lines"
            );
        }
        let _ = write!(out, "verdict      ");
        let v = &self.verdict;
        if !v.ignored_by.is_empty() {
            let list: Vec<String> = v.ignored_by.iter().map(|i| format!("#{}", i + 1)).collect();
            let _ = writeln!(out, "ignored (ignoreregex {})", list.join(", "));
        } else if v.failures.is_empty() {
            let _ = writeln!(out, "missed (no failregex matched)");
        } else {
            let _ = writeln!(out, "{}", v.class);
        }
        for f in &v.failures {
            let what = match (&f.id, f.nofail) {
                (_, true) => "nofail (not a failure: F-NOFAIL or a successful login)".to_string(),
                (None, false) => "pending (MLFID connection, no host yet)".to_string(),
                (Some(id), false) => format!("failure, id {}", q(id)),
            };
            let _ = writeln!(out, "             failregex #{}: {what}", f.regex + 1);
        }
    }
}

fn mark(r: &RegexStep) -> &'static str {
    match (r.matched, r.aborted) {
        (_, true) => "ABORTED",
        (true, _) => "MATCH",
        (false, _) => "no   ",
    }
}

/// The groups that took part in the match (the JSON output has all of them).
fn groups(out: &mut String, r: &RegexStep, indent: &str) {
    for (name, value) in &r.groups {
        if let Some(v) = value {
            let _ = writeln!(out, "{indent}{name} = \"{}\"", sanitize(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::date::Zone;

    fn def(pref: Option<&str>, fail: &[&str], ign: &[&str]) -> FilterDef {
        FilterDef {
            name: "t".into(),
            prefregex: pref.map(str::to_string),
            failregex: fail.iter().map(|s| s.to_string()).collect(),
            ignoreregex: ign.iter().map(|s| s.to_string()).collect(),
            ..FilterDef::default()
        }
    }

    fn clock() -> Clock {
        Clock { now: 1124013600.0, zone: Zone::Named(crate::verify::TEST_TZ.into()) }
    }

    #[test]
    fn trace_with_prefregex_content() {
        let d = def(
            Some(r"^\s*\S+ sshd\[\d+\]: <F-CONTENT>.+</F-CONTENT>$"),
            &[
                r"^Invalid user <F-USER>\S+</F-USER> from <HOST>",
                r"^Failed \S+ for <F-USER>\S+</F-USER> from <HOST>",
            ],
            &[],
        );
        let line =
            "Aug 14 11:58:58 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2"
                .to_string();
        let e = &explain_lines(&d, &clock(), &[line]).unwrap()[0];
        let dt = e.date.as_ref().unwrap();
        assert_eq!(dt.text, "Aug 14 11:58:58");
        assert_eq!(dt.time, Some(1124013538.0));
        assert_eq!(e.text, " host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2");
        assert!(e.content);
        assert_eq!(e.searched, "Failed password for root from 192.0.2.1 port 22 ssh2");
        assert_eq!(e.failregex.iter().map(|r| r.matched).collect::<Vec<_>>(), [false, true]);
        assert!(e.failregex[1].groups.contains(&("user".into(), Some("root".into()))));
        assert_eq!(e.verdict.class, "matched");
        assert_eq!(e.verdict.failures[0].id.as_deref(), Some("192.0.2.1"));
        let mut s = String::new();
        e.render(&mut s);
        assert!(s.contains("failregex    searched on content:"), "{s}");
        assert!(s.contains("failregex #2: failure, id \"192.0.2.1\""), "{s}");
    }

    #[test]
    fn missed_ignored_and_hostile() {
        let d = def(None, &[r"^bad from <HOST>"], &[r"friend"]);
        let lines =
            vec!["bad from 192.0.2.1 friend".to_string(), "good \x1b[2J\u{202e} line".to_string()];
        let e = explain_lines(&d, &clock(), &lines).unwrap();
        assert_eq!(e[0].verdict.class, "ignored");
        assert_eq!(e[0].verdict.ignored_by, [0]);
        assert_eq!(e[1].verdict.class, "missed");
        assert!(e[1].date.is_none());
        let mut s = String::new();
        e[1].render(&mut s);
        assert!(s.contains("good \\x1b[2J\\u{202e} line"), "{s}");
        assert!(!s.contains('\x1b') && !s.contains('\u{202e}'));
        assert!(s.contains("verdict      missed"), "{s}");
    }
}
