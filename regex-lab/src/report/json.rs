//! `--json`: one object for the whole replay. Fields are only ever added, never renamed.
//!
//! ```json
//! {"lines": 148, "elapsed_s": 0.004, "lines_per_s": 37000.0, "logs": ["auth.log"],
//!  "filters": [{"filter": "sshd", "lines": 148, "ignored": 42, "matched": 64, "missed": 42,
//!               "prefregex": {"regex": "...", "hits": 148},
//!               "failregex": [{"regex": "...", "hits": 8}, ...], "ignoreregex": [],
//!               "date_templates": [{"template": "...", "hits": 144}],
//!               "aborted_searches": 0, "elapsed_s": 0.004, "lines_per_s": 37000.0}],
//!  "errors": []}
//! ```
//!
//! With exactly one filter, that filter's fields are also repeated at the top level, so
//! `jq .matched` works on a single-filter replay.

use std::io::{self, Write};

use serde::Serialize;

use super::{rate, FilterRun, RunSummary};

#[derive(Serialize)]
struct RegexHits<'a> {
    regex: &'a str,
    hits: u64,
}

#[derive(Serialize)]
struct TemplateHits<'a> {
    template: &'a str,
    hits: u64,
}

#[derive(Serialize)]
struct FilterJson<'a> {
    filter: &'a str,
    lines: u64,
    ignored: i64,
    matched: i64,
    missed: i64,
    prefregex: Option<RegexHits<'a>>,
    failregex: Vec<RegexHits<'a>>,
    ignoreregex: Vec<RegexHits<'a>>,
    date_templates: Vec<TemplateHits<'a>>,
    aborted_searches: u64,
    elapsed_s: f64,
    lines_per_s: f64,
}

#[derive(Serialize)]
struct RunJson<'a> {
    lines: u64,
    elapsed_s: f64,
    lines_per_s: f64,
    logs: &'a [String],
    filters: &'a [FilterJson<'a>],
    errors: &'a [String],
}

fn filter_json<'a>(f: &'a FilterRun<'a>) -> FilterJson<'a> {
    let c = f.counts;
    let list = |regexes: &'a [crate::filter::FilterRegex], hits: &[u64]| {
        regexes.iter().zip(hits).map(|(r, &hits)| RegexHits { regex: r.source(), hits }).collect()
    };
    FilterJson {
        filter: f.spec,
        lines: c.lines,
        ignored: c.ignored,
        matched: c.matched,
        missed: c.missed,
        prefregex: f
            .filter
            .prefregex()
            .map(|p| RegexHits { regex: p.expanded(), hits: c.prefregex }),
        failregex: list(f.filter.failregex(), &c.failregex),
        ignoreregex: list(f.filter.ignoreregex(), &c.ignoreregex),
        date_templates: f
            .date_hits
            .iter()
            .filter(|t| t.hits > 0)
            .map(|t| TemplateHits { template: &t.name, hits: t.hits })
            .collect(),
        aborted_searches: c.aborted_searches,
        elapsed_s: f.elapsed.as_secs_f64(),
        lines_per_s: rate(c.lines, f.elapsed),
    }
}

/// Writes the replay as one JSON object and a newline.
pub fn write(w: &mut dyn Write, run: &RunSummary<'_>) -> io::Result<()> {
    let filters: Vec<FilterJson<'_>> = run.filters.iter().map(filter_json).collect();
    let obj = RunJson {
        lines: run.lines,
        elapsed_s: run.elapsed.as_secs_f64(),
        lines_per_s: rate(run.lines, run.elapsed),
        logs: run.logs,
        filters: &filters,
        errors: run.errors,
    };
    let mut value = serde_json::to_value(&obj)?;
    if let ([single], Some(top)) = (filters.as_slice(), value.as_object_mut()) {
        if let serde_json::Value::Object(fields) = serde_json::to_value(single)? {
            for (k, v) in fields {
                top.entry(k).or_insert(v);
            }
        }
    }
    serde_json::to_writer(&mut *w, &value)?;
    writeln!(w)
}
