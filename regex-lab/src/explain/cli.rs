//! The `explain` subcommand's flags and entry point (the binary only dispatches here).

use crate::config::{load_filter, FilterSpec};
use crate::date::Clock;
use crate::error::Error;
use crate::verify::{cli::parse_now, cli::parse_zone, FilterLookup, SourceChoice};
use std::io::Write;
use std::path::PathBuf;

/// Show what a filter does with a log line, stage by stage.
///
/// Prints the date template that matched and the time it gives, the text left for the
/// regexes, the prefregex groups, every failregex tried in order with its groups, and the
/// verdict (failure with its ID, nofail, pending, ignored, missed). Several lines are processed
/// in order with shared state, as in a log (multi-line filters, sshd's per-connection tracking).
///
/// Example: regex-lab explain --filter sshd 'Aug 14 11:58:58 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2'
// The example is --help text, not a doc link.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Clone, Debug, clap::Args)]
pub struct ExplainArgs {
    /// The log line(s), exactly as in the log file.
    #[arg(value_name = "LINE", required = true)]
    pub lines: Vec<String>,

    /// Filter to use: NAME, NAME[key=value,...] or a path; repeatable (default: every built-in filter).
    #[arg(long, short = 'f', value_name = "FILTER")]
    pub filter: Vec<String>,

    /// Read filters from this fail2ban config dir (default: built-in filters for their names, else /etc/fail2ban).
    #[arg(long, short = 'c', value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Zone for times without one: a POSIX TZ string, an IANA name, UTC±HHMM, or "local" (default: local).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,

    /// "Now" for year inference: Unix seconds or YYYY-MM-DDTHH:MM:SS in the zone (default: the real clock).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Print JSON (a list with one object per filter and line) instead of the trace.
    #[arg(long)]
    pub json: bool,
}

/// Runs `explain` and prints the trace; returns the exit status.
pub fn run(args: &ExplainArgs) -> Result<u8, Error> {
    let zone = parse_zone(args.timezone.as_deref().unwrap_or("local"))?;
    let now = match &args.now {
        Some(t) => parse_now(t, &zone)?,
        None => Clock::system().now,
    };
    let clock = Clock { now, zone };
    let lookup = match &args.config_dir {
        Some(d) => FilterLookup::Only(SourceChoice::Dir(d.clone())),
        None => FilterLookup::Auto,
    };
    let specs: Vec<FilterSpec> = if args.filter.is_empty() {
        crate::builtin::names()
            .iter()
            .map(|n| FilterSpec { name: n.to_string(), options: vec![] })
            .collect()
    } else {
        args.filter.iter().map(|f| FilterSpec::parse(f)).collect::<Result<_, _>>()?
    };
    let lines: Vec<String> = args
        .lines
        .iter()
        .flat_map(|l| {
            l.split('\n').map(|l| l.trim_end_matches('\r').to_string()).collect::<Vec<_>>()
        })
        .collect();
    let mut all = Vec::new();
    for spec in &specs {
        let source = lookup.choose(&spec.name).source();
        let def = load_filter(&source, spec)?;
        all.extend(super::explain_lines(&def, &clock, &lines)?);
    }
    let text = if args.json {
        format!("{}\n", serde_json::to_string_pretty(&all).unwrap_or_default())
    } else {
        let mut s = String::new();
        for (i, e) in all.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            e.render(&mut s);
        }
        s
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Io { path: "<stdout>".into(), source: e })
        }
        _ => Ok(0),
    }
}
