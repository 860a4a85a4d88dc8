//! `regex-lab replay`: run logs through filters and count like fail2ban-regex.
//!
//! The input is read once, line by line, and every line is fed to every filter (each with its
//! own [`LineProcessor`]: line buffer, MLFID cache; filters with the same `datepattern` share
//! a date detector), on `--threads` threads ([`crate::pipeline`]). Results are the counts
//! fail2ban-regex prints, compared against it in `tests/differential.rs`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::config::{self, ConfigSource, FilterSpec};
use crate::date::{Clock, DateDetector, TemplateHits, Zone};
use crate::error::Error;
use crate::filter::{Filter, FilterOptions};
use crate::input::{LineReader, Source};
use crate::line::{LineProcessor, Now};
use crate::pipeline::{self, DateGroup, Job};
use crate::progress;
use crate::report::counts::Keep;
use crate::report::{self, Counts, FilterRun, RunSummary};

/// Options of `regex-lab replay` (the command's help text lives on its subcommand in main.rs).
#[derive(Debug, Clone, clap::Args)]
pub struct ReplayArgs {
    /// Log files to replay, in order (`-` reads stdin; gzip files are decompressed).
    #[arg(value_name = "LOG", required = true)]
    pub logs: Vec<PathBuf>,

    /// Filter to run: a name with options (`sshd[mode=aggressive]`) or a filter file path.
    ///
    /// Repeat to run several filters over one read of the logs. Without --filter, every
    /// built-in filter runs. Names are looked up among the built-in filters, or under
    /// --config-dir when it is given.
    #[arg(short = 'f', long = "filter", value_name = "NAME[OPTS]|PATH")]
    pub filters: Vec<String>,

    /// Look filters up in this fail2ban config dir, like fail2ban-regex -c (e.g. /etc/fail2ban).
    ///
    /// Filters are read as fail2ban reads them: filter.d/NAME.conf, NAME.d/*.conf,
    /// NAME.local, NAME.d/*.local, with their includes.
    #[arg(short = 'c', long = "config-dir", value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Time zone for log times without one, like fail2ban-regex --timezone (e.g. UTC, UTC+0200).
    ///
    /// Default: the machine's local zone.
    #[arg(long, visible_alias = "TZ", value_name = "ZONE")]
    pub timezone: Option<String>,

    /// Print one JSON object (counts, per-regex hits, timing) instead of the report.
    #[arg(long)]
    pub json: bool,

    /// Also list regexes with no hits, and the id and time of every hit (like fail2ban-regex -v).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Print every matched line (kept in memory until the report).
    #[arg(long)]
    pub print_all_matched: bool,

    /// Print every ignored line, not only up to 20 (kept in memory until the report).
    #[arg(long)]
    pub print_all_ignored: bool,

    /// Print every missed line, not only up to 20 (kept in memory until the report).
    #[arg(long)]
    pub print_all_missed: bool,

    /// Threads for date detection and regex searches (default: one per CPU; 1: no threads).
    ///
    /// Results do not depend on it: state (dates, MLFID, multi-line buffers, counts) is
    /// applied in log order in one place.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
}

impl ReplayArgs {
    /// The arguments for `logs` and `filters` with every option at its default.
    pub fn new(logs: Vec<PathBuf>, filters: Vec<String>) -> ReplayArgs {
        ReplayArgs {
            logs,
            filters,
            config_dir: None,
            timezone: None,
            json: false,
            verbose: 0,
            print_all_matched: false,
            print_all_ignored: false,
            print_all_missed: false,
            threads: None,
        }
    }

    fn keep(&self) -> Keep {
        Keep {
            all_matched: self.print_all_matched,
            all_ignored: self.print_all_ignored,
            all_missed: self.print_all_missed,
            hits: self.verbose > 0,
        }
    }
}

/// How a replay ended, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every log was read to its end.
    Complete,
    /// A log broke off while being read (reported); the counts cover what was read.
    ReadErrors,
}

/// The built-in filter names, in report order, when no `--filter` is given.
fn builtin_names() -> Vec<String> {
    crate::builtin::names().iter().map(|s| s.to_string()).collect()
}

struct Prepared {
    spec_text: String,
    spec: FilterSpec,
    proc: LineProcessor,
    counts: Counts,
    /// Its date group (filters with the same `datepattern` share one detector).
    group: usize,
}

/// Runs a replay and writes the report to `out`.
pub fn run(args: &ReplayArgs, out: &mut dyn Write) -> Result<Outcome, Error> {
    let zone = match &args.timezone {
        Some(tz) => {
            Zone::from_timezone_option(tz).map_err(|e| Error::Other(format!("--timezone: {e}")))?
        }
        None => Zone::Local,
    };
    let clock = Clock { zone, ..Clock::system() };
    let source = match &args.config_dir {
        Some(dir) => ConfigSource::Dir(dir.clone()),
        None => ConfigSource::Builtin,
    };
    let spec_texts = if args.filters.is_empty() { builtin_names() } else { args.filters.clone() };
    let mut groups: Vec<DateGroup> = Vec::new();
    let mut filters = spec_texts
        .iter()
        .map(|text| prepare(text, &source, &clock, args.keep(), &mut groups))
        .collect::<Result<Vec<_>, Error>>()?;

    // Open every log first: a missing one is an error before any work is done.
    let sources: Vec<Source> = args.logs.iter().map(|p| Source::from_arg(p)).collect();
    let mut readers = sources.iter().map(LineReader::open).collect::<Result<Vec<_>, _>>()?;
    let log_names: Vec<String> = sources.iter().map(Source::display).collect();

    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let progress = progress::Bar::for_inputs(&readers);
    let report_progress = |bytes: u64, lines: u64| progress.update(bytes, lines);
    let opts = pipeline::Options {
        threads,
        progress: progress.is_shown().then_some(&report_progress as &(dyn Fn(u64, u64) + Sync)),
    };
    let start = Instant::now();
    let mut jobs: Vec<Job> = filters
        .iter_mut()
        .map(|f| Job { proc: &mut f.proc, counts: &mut f.counts, group: f.group })
        .collect();
    let stats = pipeline::run(&mut readers, &mut groups, &mut jobs, &opts);
    let elapsed = start.elapsed();
    progress.finish();
    let (lines, errors) = (stats.lines, stats.errors);

    let summary = RunSummary {
        logs: &log_names,
        lines,
        elapsed,
        filters: filters
            .iter()
            .map(|f| FilterRun {
                spec: &f.spec_text,
                options: &f.spec,
                filter: f.proc.filter(),
                date_describe: groups[f.group].detector.describe(),
                counts: &f.counts,
                date_hits: date_hits(&groups[f.group].detector, args.verbose > 0),
                // Filters share reading, dates and threads: the run's time is each one's.
                elapsed,
            })
            .collect(),
        errors: &errors,
    };
    let written = if args.json {
        report::json::write(out, &summary)
    } else {
        report::human::write(out, &summary, args.verbose)
    };
    written.map_err(|e| Error::Io { path: PathBuf::from("<stdout>"), source: e })?;
    // Warnings after the results, once each: they say what to fix but change no count.
    let mut seen = std::collections::BTreeSet::new();
    for f in &filters {
        for w in &f.proc.filter().def().warnings {
            if seen.insert(w.as_str()) {
                tracing::warn!("{w}");
            }
        }
    }
    for e in &errors {
        tracing::error!("{e}");
    }
    Ok(if errors.is_empty() { Outcome::Complete } else { Outcome::ReadErrors })
}

/// Templates with hits in the detector's order; with `verbose`, every template (as
/// fail2ban-regex `-v` lists them).
fn date_hits(d: &DateDetector, verbose: bool) -> Vec<TemplateHits> {
    if verbose {
        d.template_states()
            .into_iter()
            .map(|t| TemplateHits { name: t.name, hits: t.hits })
            .collect()
    } else {
        d.template_hits()
    }
}

/// Loads, compiles and sets up one filter; its date group is found or added in `groups`.
fn prepare(
    text: &str,
    source: &ConfigSource,
    clock: &Clock,
    keep: Keep,
    groups: &mut Vec<DateGroup>,
) -> Result<Prepared, Error> {
    let spec = FilterSpec::parse(text)?;
    let def = config::load_filter(source, &spec)?;
    // A new date group compiles its templates on a second thread while the filter compiles
    // (both are on the path of the replay's start-up).
    let existing = groups.iter().position(|g| g.serves(def.datepattern.as_deref()));
    let (filter, group) = std::thread::scope(|scope| {
        let group = existing
            .ok_or_else(|| scope.spawn(|| DateGroup::new(def.datepattern.clone(), clock.clone())));
        let filter = Filter::new(&def, &FilterOptions::default());
        let group = group.map_err(|g| g.join().expect("compiling date templates panicked"));
        (filter, group)
    });
    let filter = filter?;
    let group = match group {
        Ok(existing) => existing,
        Err(new_group) => {
            groups.push(new_group?);
            groups.len() - 1
        }
    };
    let counts = Counts::new(filter.failregex().len(), filter.ignoreregex().len(), keep);
    Ok(Prepared {
        spec_text: text.to_string(),
        spec,
        proc: {
            let mut p = LineProcessor::new(Arc::new(filter), None, Now::System);
            p.keep_prefregex_groups(keep.hits);
            // The report counts; it never shows the lines behind a failure.
            p.keep_matches(false);
            // Without `-v` no id or fail dict is shown: count only.
            p.count_only(!keep.hits);
            p
        },
        counts,
        group,
    })
}
