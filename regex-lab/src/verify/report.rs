//! Results of `verify`: per file PASS/FAIL/SKIP/ERROR, human and JSON renderings.
//!
//! The JSON shape is an interface for CI: fields are only ever added.

use crate::explain::sanitize::sanitize;
use serde::Serialize;
use std::fmt::Write;

/// The outcome of one sample file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase", tag = "status", content = "reason")]
pub enum Status {
    Pass,
    Fail,
    /// Not run, with the reason (no such filter, added by another file).
    Skip(String),
    /// Could not be run: unreadable or malformed sample file, filter that does not load.
    Error(String),
}

/// One sample line that one variant got wrong.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleFailure {
    /// The sample file (the tested one or a file it adds).
    pub file: String,
    /// Line number of the sample text.
    pub line: usize,
    /// The filter variant, e.g. `sshd[mode=aggressive]`.
    pub variant: String,
    /// The text fed to the filter.
    pub text: String,
    /// What differs, e.g. `expected host "192.0.2.1", got 192.0.2.2`.
    pub problems: Vec<String>,
}

/// A failregex flagged by the end-of-test checks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnusedRegex {
    pub variant: String,
    /// 0-based index in the variant's failregex list.
    pub index: usize,
    /// As written in the filter.
    pub regex: String,
}

/// The result of one sample file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileReport {
    /// The path as given (or the corpus name for in-memory text).
    pub path: String,
    /// The filter tested (the file name).
    pub filter: String,
    #[serde(flatten)]
    pub status: Status,
    /// Annotated (failJSON) lines judged.
    pub samples: usize,
    /// Line × variant judgements made.
    pub judgements: usize,
    pub failures: Vec<SampleFailure>,
    /// Failregexes no sample used (fail2ban: "Regex has no samples").
    pub unused: Vec<UnusedRegex>,
    /// Failregexes with a greedy catch-all before `<HOST>` not anchored at the end.
    pub greedy: Vec<UnusedRegex>,
}

impl FileReport {
    pub(crate) fn new(path: &str, filter: &str) -> FileReport {
        FileReport {
            path: path.into(),
            filter: filter.into(),
            status: Status::Pass,
            samples: 0,
            judgements: 0,
            failures: vec![],
            unused: vec![],
            greedy: vec![],
        }
    }

    pub(crate) fn skip(path: &str, filter: &str, reason: String) -> FileReport {
        FileReport { status: Status::Skip(reason), ..FileReport::new(path, filter) }
    }

    pub(crate) fn error(path: &str, filter: &str, message: String) -> FileReport {
        FileReport { status: Status::Error(message), ..FileReport::new(path, filter) }
    }

    /// Sets the status from the findings.
    pub(crate) fn finish(&mut self) {
        let bad = !(self.failures.is_empty() && self.unused.is_empty() && self.greedy.is_empty());
        self.status = if bad { Status::Fail } else { Status::Pass };
    }

    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }

    /// The human rendering: one status line, then the details of a failure, indented.
    pub fn render(&self, out: &mut String) {
        let path = sanitize(&self.path);
        let _ = match &self.status {
            Status::Pass => writeln!(
                out,
                "PASS {path} ({} samples, {} judgements)",
                self.samples, self.judgements
            ),
            Status::Fail => writeln!(out, "FAIL {path}"),
            Status::Skip(r) => writeln!(out, "SKIP {path} ({})", sanitize(r)),
            Status::Error(e) => writeln!(out, "ERROR {path}: {}", sanitize(e)),
        };
        for f in &self.failures {
            let _ = writeln!(out, "  {}:{} [{}]", sanitize(&f.file), f.line, sanitize(&f.variant));
            let _ = writeln!(out, "    line: {}", sanitize(&f.text));
            for p in &f.problems {
                let _ = writeln!(out, "    {}", sanitize(p));
            }
        }
        for u in &self.unused {
            let _ = writeln!(
                out,
                "  [{}] failregex #{} has no sample: {}",
                sanitize(&u.variant),
                u.index + 1,
                sanitize(&u.regex)
            );
        }
        for u in &self.greedy {
            let _ = writeln!(
                out,
                "  [{}] failregex #{} has a greedy catch-all before <HOST> and is not anchored at the end: {}",
                sanitize(&u.variant),
                u.index + 1,
                sanitize(&u.regex)
            );
        }
    }
}

/// The result of a `verify` run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    pub files: Vec<FileReport>,
}

/// Totals of a [`VerifyReport`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
    pub samples: usize,
    pub judgements: usize,
}

impl VerifyReport {
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for f in &self.files {
            match f.status {
                Status::Pass => t.passed += 1,
                Status::Fail => t.failed += 1,
                Status::Skip(_) => t.skipped += 1,
                Status::Error(_) => t.errors += 1,
            }
            t.samples += f.samples;
            t.judgements += f.judgements;
        }
        t
    }

    /// 0 when everything ran and passed, 1 when a sample failed, 2 when a file could not run.
    pub fn exit_code(&self) -> u8 {
        let t = self.totals();
        if t.errors > 0 {
            2
        } else if t.failed > 0 {
            1
        } else {
            0
        }
    }

    /// The human report; the last line is `N passed, M failed, K skipped`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            f.render(&mut out);
        }
        let t = self.totals();
        let _ = write!(out, "{} passed, {} failed, {} skipped", t.passed, t.failed, t.skipped);
        if t.errors > 0 {
            let _ = write!(out, ", {} errors", t.errors);
        }
        let _ = writeln!(out, " ({} samples, {} judgements)", t.samples, t.judgements);
        out
    }

    /// The JSON report: `{"files": [...], "totals": {...}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "files": self.files, "totals": self.totals() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_report() -> VerifyReport {
        let mut fail = FileReport::new("logs/x", "x");
        fail.samples = 2;
        fail.judgements = 3;
        fail.failures.push(SampleFailure {
            file: "x".into(),
            line: 7,
            variant: "x[mode=aggressive]".into(),
            text: "from 1.2.3.4 \x1b[2J".into(),
            problems: vec!["expected a failure, got none".into()],
        });
        fail.unused.push(UnusedRegex { variant: "x".into(), index: 1, regex: "^b <HOST>$".into() });
        fail.finish();
        let mut pass = FileReport::new("logs/y", "y");
        pass.samples = 10;
        pass.judgements = 10;
        pass.finish();
        VerifyReport {
            files: vec![
                pass,
                fail,
                FileReport::skip("logs/z", "z", "no filter z in /etc/fail2ban/filter.d".into()),
            ],
        }
    }

    #[test]
    fn human_rendering() {
        let want = "\
PASS logs/y (10 samples, 10 judgements)
FAIL logs/x
  x:7 [x[mode=aggressive]]
    line: from 1.2.3.4 \\x1b[2J
    expected a failure, got none
  [x] failregex #2 has no sample: ^b <HOST>$
SKIP logs/z (no filter z in /etc/fail2ban/filter.d)
1 passed, 1 failed, 1 skipped (12 samples, 13 judgements)
";
        let r = sample_report();
        assert_eq!(r.render(), want);
        assert_eq!(r.exit_code(), 1);
    }

    #[test]
    fn json_rendering() {
        let j = sample_report().to_json();
        assert_eq!(j["totals"]["passed"], 1);
        assert_eq!(j["files"][0]["status"], "pass");
        assert_eq!(j["files"][1]["status"], "fail");
        assert_eq!(j["files"][1]["failures"][0]["line"], 7);
        assert_eq!(j["files"][2]["status"], "skip");
        assert_eq!(j["files"][2]["reason"], "no filter z in /etc/fail2ban/filter.d");
        let err = VerifyReport { files: vec![FileReport::error("a", "a", "bad".into())] };
        assert_eq!(err.exit_code(), 2);
        assert!(err
            .render()
            .ends_with("0 passed, 0 failed, 0 skipped, 1 errors (0 samples, 0 judgements)\n"));
    }
}
