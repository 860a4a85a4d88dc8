//! Shared by the date tests: the case file, sample logs, and the comparison with fail2ban's
//! records (as written by `tests/oracle/date_oracle.py`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use regex_lab::date::{Clock, DateDetector, Zone};
use serde_json::Value;

pub const SAMPLES: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";
pub const TEST_TZ: &str = "CET-01CEST-02,M3.5.0,M10.5.0";
pub const TEST_NOW: f64 = 1124013600.0;

/// One detector run: lines through a fresh detector.
pub struct Run {
    pub name: String,
    pub lines: Vec<String>,
    pub datepattern: Option<Vec<String>>,
    pub clock: Clock,
}

pub fn manifest_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The runs of `testdata/date-cases.txt`, named `section.datepattern` (1-based) like the oracle.
pub fn case_runs() -> Vec<Run> {
    let text = std::fs::read_to_string(manifest_path("testdata/date-cases.txt")).unwrap();
    let mut sections: Vec<(Value, Vec<String>)> = Vec::new();
    for line in text.split('\n') {
        if let Some(head) = line.strip_prefix("## ") {
            sections.push((serde_json::from_str(head).unwrap(), Vec::new()));
        } else if line.starts_with("# ") || line == "#" || sections.is_empty() {
            continue;
        } else {
            sections.last_mut().unwrap().1.push(line.to_string());
        }
    }
    let mut runs = Vec::new();
    for (si, (head, mut lines)) in sections.into_iter().enumerate() {
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        let now = head["now"].as_f64().unwrap_or(TEST_NOW);
        let zone = match head["timezone"].as_str() {
            Some(tz) => Zone::from_timezone_option(tz).unwrap(),
            None => Zone::Named(head["tz"].as_str().unwrap_or(TEST_TZ).to_string()),
        };
        for (pi, dp) in head["datepatterns"].as_array().unwrap().iter().enumerate() {
            let datepattern = dp
                .as_array()
                .map(|a| a.iter().map(|p| p.as_str().unwrap().to_string()).collect::<Vec<_>>());
            runs.push(Run {
                name: format!("{}.{}", si + 1, pi + 1),
                lines: lines.clone(),
                datepattern,
                clock: Clock { now, zone: zone.clone() },
            });
        }
    }
    runs
}

pub fn sample_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(SAMPLES), &mut files);
    files.sort();
    files
}

/// Lines as the oracle reads them: split on `\n`, one trailing `\r` dropped, lossy UTF-8.
pub fn lines_of(path: &Path) -> Vec<String> {
    let data = std::fs::read(path).unwrap();
    let mut parts: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
        .into_iter()
        .map(|p| String::from_utf8_lossy(p.strip_suffix(b"\r").unwrap_or(p)).into_owned())
        .collect()
}

/// The runs over fail2ban's sample logs (one per file) with the sample tests' clock.
pub fn sample_runs(datepattern: Option<&[String]>) -> Vec<Run> {
    sample_files()
        .into_iter()
        .map(|path| Run {
            name: path.display().to_string(),
            lines: lines_of(&path),
            datepattern: datepattern.map(<[String]>::to_vec),
            clock: Clock::fail2ban_tests(),
        })
        .collect()
}

/// Runs the oracle with `args` (see its usage) and parses its records.
pub fn oracle(args: &[&str], tz: Option<&str>) -> Vec<Value> {
    let mut cmd = Command::new("/usr/bin/python3");
    cmd.arg(manifest_path("tests/oracle/date_oracle.py")).args(args);
    if let Some(tz) = tz {
        cmd.env("TZ", tz);
    }
    let out = cmd.output().expect("run /usr/bin/python3");
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    parse_records(&String::from_utf8(out.stdout).unwrap())
}

pub fn parse_records(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Totals of a comparison.
#[derive(Default)]
pub struct Report {
    pub lines: usize,
    pub same_lines: usize,
    pub hit_lists: usize,
    pub same_hit_lists: usize,
    pub diffs: Vec<String>,
}

impl Report {
    /// Prints the totals and the differences (all with `DATE_ORACLE_VERBOSE=1`, else 20),
    /// then fails if there are any.
    pub fn check(&self, what: &str) {
        println!(
            "{what}: {}/{} lines identical, {}/{} template-hit lists identical",
            self.same_lines, self.lines, self.same_hit_lists, self.hit_lists
        );
        let all = std::env::var_os("DATE_ORACLE_VERBOSE").is_some();
        for d in self.diffs.iter().take(if all { usize::MAX } else { 20 }) {
            println!("{d}");
        }
        assert!(self.diffs.is_empty(), "{what}: {} differences from fail2ban", self.diffs.len());
    }
}

/// Runs every run through our detector and compares with fail2ban's records, in order.
pub fn compare(runs: &[Run], expected: &[Value]) -> Report {
    let mut report = Report::default();
    let mut expected = expected.iter();
    for run in runs {
        let mut dd = DateDetector::new(run.datepattern.as_deref(), run.clock.clone())
            .unwrap_or_else(|e| panic!("run {}: {e}", run.name));
        for (no, line) in run.lines.iter().enumerate() {
            let want = expected.next().expect("oracle record");
            assert_eq!(want["line"].as_u64(), Some(no as u64 + 1), "{}: out of step", run.name);
            let got = match dd.detect(line) {
                None => (None, None, None, None),
                Some(h) => (
                    Some(dd.template(h.template).name),
                    Some(h.start as u64),
                    Some(h.end as u64),
                    h.time,
                ),
            };
            let want = (
                want["name"].as_str().map(str::to_string),
                want["start"].as_u64(),
                want["end"].as_u64(),
                want["time"].as_f64(),
            );
            report.lines += 1;
            if got == want {
                report.same_lines += 1;
            } else {
                report.diffs.push(format!(
                    "{} line {}: {line:?}\n    fail2ban: {want:?}\n    ours:     {got:?}",
                    run.name,
                    no + 1
                ));
            }
        }
        let want = expected.next().expect("oracle hits");
        let want: Vec<(String, u64)> = want["hits"]
            .as_array()
            .expect("hits record")
            .iter()
            .map(|h| (h[0].as_str().unwrap().to_string(), h[1].as_u64().unwrap()))
            .collect();
        let got: Vec<(String, u64)> =
            dd.template_hits().into_iter().map(|h| (h.name, h.hits)).collect();
        report.hit_lists += 1;
        if got == want {
            report.same_hit_lists += 1;
        } else {
            report.diffs.push(format!(
                "{}: template hits\n    fail2ban: {want:?}\n    ours:     {got:?}",
                run.name
            ));
        }
    }
    assert!(expected.next().is_none(), "oracle has more records than runs");
    report
}
