//! `regex-lab verify`: run fail2ban-format sample files through the filter engine.
//!
//! # Brief overview
//!
//! Each sample file is one test, named after the file (`logs/sshd` tests filter `sshd`).
//! [`sample::Plan`] decides which variant judges which line; [`runner::VariantRunner`] feeds
//! the lines through a compiled [`crate::filter::Filter`] with the test clock; [`sample::judge`](mod@crate::sample::judge)
//! gives the verdict per line. At the end every failregex of every variant must have been used
//! by a sample, and none may have a greedy catch-all before `<HOST>` (fail2ban's
//! `RE_WRONG_GREED`). The same code serves the CLI ([`verify_paths`]), the corpus test and
//! f2b-config's self-test on embedded corpora ([`verify_text`]).
//!
//! Where filters come from ([`FilterLookup`]): `--config-dir DIR` when given; otherwise the
//! built-in filters for a name that is one, else `/etc/fail2ban`.

pub mod cli;
pub mod report;
pub mod runner;

pub use report::{FileReport, SampleFailure, Status, UnusedRegex, VerifyReport};

use crate::config::{ConfigSource, FilterDef, FilterSpec};
use crate::date::Clock;
use crate::error::Error;
use crate::sample::{self, judge, Plan, SampleError, SampleFile};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// fail2ban's sample-test clock: 2005-08-14 12:00:00 CEST (`TEST_NOW`).
pub const TEST_NOW: i64 = 1_124_013_600;
/// fail2ban's sample-test zone.
pub const TEST_TZ: &str = "CET-01CEST-02,M3.5.0,M10.5.0";
/// Where fail2ban keeps its configuration.
pub const DEFAULT_CONFIG_DIR: &str = "/etc/fail2ban";

/// Where a sample file's filter is read from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FilterLookup {
    /// Built-in filters for their names, `/etc/fail2ban` for every other name.
    #[default]
    Auto,
    /// Always this source (`--config-dir DIR`, or built-in only).
    Only(SourceChoice),
}

/// A [`ConfigSource`] that can be compared and printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceChoice {
    Dir(PathBuf),
    Builtin,
}

impl SourceChoice {
    pub fn source(&self) -> ConfigSource {
        match self {
            SourceChoice::Dir(d) => ConfigSource::Dir(d.clone()),
            SourceChoice::Builtin => ConfigSource::Builtin,
        }
    }

    /// A reason to skip when this source has no filter `name`, else `None`.
    fn missing(&self, name: &str) -> Option<String> {
        match self {
            SourceChoice::Builtin => {
                (!builtin_has(name)).then(|| format!("no built-in filter {name}"))
            }
            SourceChoice::Dir(d) => {
                let base = d.join("filter.d").join(name);
                let exists = ["conf", "local"].iter().any(|ext| base.with_extension(ext).is_file());
                (!exists).then(|| format!("no filter {name} in {}", d.join("filter.d").display()))
            }
        }
    }
}

impl FilterLookup {
    /// The source for filter `name`.
    pub fn choose(&self, name: &str) -> SourceChoice {
        match self {
            FilterLookup::Only(s) => s.clone(),
            FilterLookup::Auto if builtin_has(name) => SourceChoice::Builtin,
            FilterLookup::Auto => SourceChoice::Dir(PathBuf::from(DEFAULT_CONFIG_DIR)),
        }
    }
}

/// How to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    pub lookup: FilterLookup,
    /// "now" and the zone for times without one; fail2ban's test clock by default.
    pub clock: Clock,
    /// Which sample files to run (by file name); everything by default.
    pub select: Selection,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            lookup: FilterLookup::Auto,
            clock: Clock::fail2ban_tests(),
            select: Selection::default(),
        }
    }
}

/// Verifies sample files and directories of sample files (their regular files, sorted; names
/// starting with `.` or containing `.` are not samples). A file another one adds with
/// `addFILE` is reported as skipped: it runs as part of that one.
pub fn verify_paths(paths: &[PathBuf], opts: &VerifyOptions) -> Result<VerifyReport, Error> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|source| Error::Io { path: p.clone(), source })?;
        if meta.is_dir() {
            let rd =
                std::fs::read_dir(p).map_err(|source| Error::Io { path: p.clone(), source })?;
            let mut inner: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
                .filter(|e| !e.file_name().to_string_lossy().contains('.'))
                .map(|e| e.path())
                .collect();
            inner.sort();
            files.extend(inner);
        } else {
            files.push(p.clone());
        }
    }
    // Parse first: added files are known only after reading the files that add them.
    let mut parsed = Vec::new();
    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !opts.select.selects(&name) {
            continue;
        }
        parsed.push((path, name.clone(), read_sample(path, &name)));
    }
    let mut added_by = std::collections::HashMap::new();
    for (path, name, file) in &parsed {
        if let Ok(f) = file {
            for added in f.added_files() {
                let dir = path.parent().unwrap_or(Path::new("."));
                added_by.entry(dir.join(added)).or_insert_with(|| name.clone());
            }
        }
    }
    let mut report = VerifyReport::default();
    for (path, name, file) in parsed {
        let shown = path.display().to_string();
        let fr = match file {
            _ if added_by.contains_key(path) && !is_filter_file(&opts.lookup, &name) => {
                FileReport::skip(
                    &shown,
                    &name,
                    format!("runs as part of {} via addFILE", added_by[path]),
                )
            }
            Err(e) => FileReport::error(&shown, &name, e.to_string()),
            Ok(f) => {
                let choice = opts.lookup.choose(&name);
                match choice.missing(&name) {
                    Some(reason) => FileReport::skip(&shown, &name, reason),
                    None => {
                        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
                        let resolve = |added: &str| read_sample(&dir.join(added), added);
                        verify_file(&shown, f, resolve, &choice.source(), &opts.clock)
                    }
                }
            }
        };
        report.files.push(fr);
    }
    Ok(report)
}

fn is_filter_file(lookup: &FilterLookup, name: &str) -> bool {
    lookup.choose(name).missing(name).is_none()
}

fn read_sample(path: &Path, name: &str) -> Result<SampleFile, SampleError> {
    let bytes = std::fs::read(path).map_err(|e| SampleError {
        file: path.display().to_string(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    SampleFile::parse(name, &sample::decode(&bytes))
}

/// Verifies one in-memory sample text against filter `name` from `source` (f2b-config's
/// self-test on its embedded corpora). `resolve` supplies files named by `addFILE`.
pub fn verify_text(
    name: &str,
    text: &str,
    source: &ConfigSource,
    clock: &Clock,
    resolve: impl FnMut(&str) -> Result<String, String>,
) -> FileReport {
    let mut resolve = resolve;
    let first = match SampleFile::parse(name, text) {
        Ok(f) => f,
        Err(e) => return FileReport::error(name, name, e.to_string()),
    };
    let resolve = |added: &str| {
        let text = resolve(added).map_err(|message| SampleError {
            file: added.into(),
            line: 0,
            message,
        })?;
        SampleFile::parse(added, &text)
    };
    verify_file(name, first, resolve, source, clock)
}

/// Runs one sample test: the file, the files it adds, every variant.
fn verify_file(
    shown: &str,
    first: SampleFile,
    resolve: impl FnMut(&str) -> Result<SampleFile, SampleError>,
    source: &ConfigSource,
    clock: &Clock,
) -> FileReport {
    let name = first.name.clone();
    let plan = match Plan::build(first, resolve) {
        Ok(p) => p,
        Err(e) => return FileReport::error(shown, &name, e.to_string()),
    };
    match run_plan(shown, &plan, source, clock, &mut |_, _| {}) {
        Ok(r) => r,
        Err(e) => FileReport::error(shown, &name, e.to_string()),
    }
}

fn load(source: &ConfigSource, name: &str, args: &[(String, String)]) -> Result<FilterDef, Error> {
    let spec = FilterSpec { name: name.to_string(), options: args.to_vec() };
    Ok(crate::config::load_filter(source, &spec)?)
}

/// One judgement as it was made: the variant, the text fed, what the filter returned.
#[derive(Clone, Debug)]
pub struct RunRecord {
    /// Index into [`Plan::variants`].
    pub variant: usize,
    pub text: String,
    pub got: Vec<sample::Got>,
}

/// Runs sample file `path` like [`verify_paths`] and also returns the plan and every
/// judgement's raw result, in order (for differential tests against fail2ban's own run).
pub fn trace_file(
    path: &Path,
    source: &ConfigSource,
    clock: &Clock,
) -> Result<(Plan, Vec<RunRecord>, FileReport), Error> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let first = read_sample(path, &name)?;
    let plan = Plan::build(first, |added: &str| read_sample(&dir.join(added), added))?;
    let mut records = Vec::new();
    let report = run_plan(&path.display().to_string(), &plan, source, clock, &mut |run, got| {
        records.push(RunRecord { variant: run.variant, text: run.text.clone(), got: got.to_vec() })
    })?;
    Ok((plan, records, report))
}

fn run_plan(
    shown: &str,
    plan: &Plan,
    source: &ConfigSource,
    clock: &Clock,
    observe: &mut dyn FnMut(&sample::Run, &[sample::Got]),
) -> Result<FileReport, Error> {
    let zone = runner::time_zone(&clock.zone)?;
    let mut runners = Vec::new();
    for v in &plan.variants {
        let def = load(source, &plan.name, &v.args)
            .map_err(|e| Error::Other(format!("{}: {e}", v.label)))?;
        runners.push(
            runner::VariantRunner::new(def, clock)
                .map_err(|e| Error::Other(format!("{}: {e}", v.label)))?,
        );
    }
    let mut report = FileReport::new(shown, &plan.name);
    report.samples = plan.samples();
    report.judgements = plan.judgements();
    let mut used: Vec<HashSet<usize>> = vec![HashSet::new(); plan.variants.len()];
    let mut used_text: HashSet<String> = HashSet::new();
    for step in &plan.steps {
        for run in &step.runs {
            let r = &mut runners[run.variant];
            let got = r.run(&run.text, run.journal)?;
            observe(run, &got);
            let j = judge(&step.expect, &got, &zone);
            for &i in &j.used {
                used[run.variant].insert(i);
                if let Some(t) = r.failregexes().get(i) {
                    used_text.insert(t.clone());
                }
            }
            if !j.mismatches.is_empty() {
                report.failures.push(SampleFailure {
                    file: plan.files[step.file].clone(),
                    line: step.line,
                    variant: plan.variants[run.variant].label.clone(),
                    text: run.text.clone(),
                    problems: j.mismatches.iter().map(|m| m.to_string()).collect(),
                });
            }
        }
    }
    let greed = runner::WrongGreed::new()?;
    for (vi, r) in runners.iter().enumerate() {
        for (i, (text, source)) in r.failregexes().iter().zip(r.failregex_sources()).enumerate() {
            let label = &plan.variants[vi].label;
            if !used[vi].contains(&i) && !used_text.contains(text) {
                report.unused.push(UnusedRegex {
                    variant: label.clone(),
                    index: i,
                    regex: source.clone(),
                });
            }
            if greed.is_wrong(text) {
                report.greedy.push(UnusedRegex {
                    variant: label.clone(),
                    index: i,
                    regex: source.clone(),
                });
            }
        }
    }
    report.finish();
    Ok(report)
}

fn builtin_has(name: &str) -> bool {
    crate::builtin::names().contains(&name)
}

/// A rust-lang/regex `REGEX_TEST`-style selection of sample files by name: comma-separated
/// substrings; a leading `-` excludes. Empty selects everything; with only exclusions,
/// everything else is selected.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl Selection {
    pub fn parse(spec: &str) -> Selection {
        let mut s = Selection::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.strip_prefix('-') {
                Some(x) => s.exclude.push(x.to_string()),
                None => s.include.push(part.to_string()),
            }
        }
        s
    }

    /// From an environment variable (unset: everything).
    pub fn from_env(var: &str) -> Selection {
        Selection::parse(&std::env::var(var).unwrap_or_default())
    }

    pub fn selects(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|i| name.contains(i.as_str())))
            && !self.exclude.iter().any(|x| name.contains(x.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection() {
        let cases: &[(&str, &str, bool)] = &[
            ("", "sshd", true),
            ("sshd", "sshd", true),
            ("sshd", "sshd-journal", true),
            ("sshd", "proxmox", false),
            ("-journal", "sshd-journal", false),
            ("-journal", "sshd", true),
            ("sshd,-journal", "sshd-journal", false),
            ("apache, postfix", "postfix", true),
        ];
        for (spec, name, want) in cases {
            assert_eq!(Selection::parse(spec).selects(name), *want, "{spec} {name}");
        }
    }

    #[test]
    fn lookup_rule() {
        assert_eq!(FilterLookup::Auto.choose("sshd"), SourceChoice::Builtin);
        assert_eq!(
            FilterLookup::Auto.choose("apache-auth"),
            SourceChoice::Dir(DEFAULT_CONFIG_DIR.into())
        );
        let dir = FilterLookup::Only(SourceChoice::Dir("/x".into()));
        assert_eq!(dir.choose("sshd"), SourceChoice::Dir("/x".into()));
        let missing = SourceChoice::Dir("/nonexistent".into()).missing("sshd").unwrap();
        assert_eq!(missing, "no filter sshd in /nonexistent/filter.d");
    }
}
