//! The `verify` subcommand's flags and entry point (the binary only dispatches here).

use super::{FilterLookup, SourceChoice, VerifyOptions, TEST_NOW, TEST_TZ};
use crate::date::{Clock, Zone};
use crate::error::Error;
use std::io::Write;
use std::path::PathBuf;

/// Check filters against fail2ban-format sample files (`# failJSON:` annotations).
///
/// Each file is one test: its name is the filter's name, every annotated line must give the
/// failure its failJSON promises (or none), and every failregex must be used by a sample.
/// Exit status: 0 all passed, 1 a sample failed, 2 a file or filter could not be used.
///
/// Example: regex-lab verify --config-dir /etc/fail2ban /usr/lib/python3/dist-packages/fail2ban/tests/files/logs
#[derive(Clone, Debug, clap::Args)]
pub struct VerifyArgs {
    /// Sample files, or directories whose sample files are all verified.
    #[arg(value_name = "SAMPLE_FILE|DIR", required = true)]
    pub paths: Vec<PathBuf>,

    /// Read filters from this fail2ban config dir (default: built-in filters for their names, else /etc/fail2ban).
    #[arg(long, short = 'c', value_name = "DIR")]
    pub config_dir: Option<PathBuf>,

    /// Use only the built-in filters (the ones f2b-config installs).
    #[arg(long, conflicts_with = "config_dir")]
    pub builtin: bool,

    /// "Now" for year inference: Unix seconds or YYYY-MM-DDTHH:MM:SS in the zone (default: fail2ban's test time 2005-08-14T12:00:00).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,

    /// Zone for times without one: a POSIX TZ string, an IANA name, UTC±HHMM, or "local" (default: CET-01CEST-02,M3.5.0,M10.5.0).
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,

    /// Print one JSON object instead of the human report.
    #[arg(long)]
    pub json: bool,
}

impl VerifyArgs {
    /// The library options these flags mean.
    pub fn options(&self) -> Result<VerifyOptions, Error> {
        let zone = parse_zone(self.timezone.as_deref().unwrap_or(TEST_TZ))?;
        let now = match &self.now {
            None => TEST_NOW as f64,
            Some(t) => parse_now(t, &zone)?,
        };
        let lookup = match (&self.config_dir, self.builtin) {
            (Some(d), _) => FilterLookup::Only(SourceChoice::Dir(d.clone())),
            (None, true) => FilterLookup::Only(SourceChoice::Builtin),
            (None, false) => FilterLookup::Auto,
        };
        Ok(VerifyOptions { lookup, clock: Clock { now, zone }, select: Default::default() })
    }
}

/// Runs `verify` and prints its report; returns the exit status.
pub fn run(args: &VerifyArgs) -> Result<u8, Error> {
    let opts = args.options()?;
    let report = super::verify_paths(&args.paths, &opts)?;
    let text = if args.json { format!("{}\n", report.to_json()) } else { report.render() };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(Error::Io { path: "<stdout>".into(), source: e })
        }
        _ => {}
    }
    Ok(report.exit_code())
}

/// `--timezone`: fail2ban's fixed-offset syntax (`UTC`, `UTC+0200`, `-05:30`, `CEST`),
/// `local`, or a zone with rules: a POSIX TZ string or an IANA name.
pub fn parse_zone(text: &str) -> Result<Zone, Error> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("local") {
        return Ok(Zone::Local);
    }
    if let Ok(z) = Zone::from_timezone_option(t) {
        return Ok(z);
    }
    super::runner::time_zone(&Zone::Named(t.to_string())).map(|_| Zone::Named(t.to_string())).map_err(|_| {
        Error::Other(format!(
            "--timezone {text:?}: not a zone; use a POSIX TZ (CET-01CEST-02,M3.5.0,M10.5.0), an IANA name (Europe/Berlin), UTC+HHMM or local"
        ))
    })
}

/// `--now`: Unix seconds, or an ISO date-time (local in `zone` unless it has an offset).
pub fn parse_now(text: &str, zone: &Zone) -> Result<f64, Error> {
    let bad = || {
        Error::Other(format!(
            "--now {text:?}: use Unix seconds (1124013600) or YYYY-MM-DDTHH:MM:SS (2005-08-14T12:00:00)"
        ))
    };
    if let Ok(secs) = text.trim().parse::<f64>() {
        return if secs.is_finite() { Ok(secs) } else { Err(bad()) };
    }
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) / 1e9);
    }
    let dt: jiff::civil::DateTime = text.parse().map_err(|_| bad())?;
    let tz = super::runner::time_zone(zone)?;
    let ts = tz.to_ambiguous_zoned(dt).compatible().map_err(|_| bad())?.timestamp();
    Ok(ts.as_second() as f64 + f64::from(ts.subsec_nanosecond()) / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones() {
        assert!(matches!(parse_zone(TEST_TZ).unwrap(), Zone::Named(z) if z == TEST_TZ));
        assert!(matches!(parse_zone("Europe/Berlin").unwrap(), Zone::Named(_)));
        assert!(matches!(parse_zone("UTC").unwrap(), Zone::Fixed(0)));
        assert!(matches!(parse_zone("UTC+0200").unwrap(), Zone::Fixed(7200)));
        assert!(matches!(parse_zone("-05:30").unwrap(), Zone::Fixed(-19800)));
        assert!(matches!(parse_zone("local").unwrap(), Zone::Local));
        let e = parse_zone("Mars/Olympus").unwrap_err().to_string();
        assert!(e.contains("--timezone \"Mars/Olympus\""), "{e}");
    }

    #[test]
    fn now() {
        let tz = Zone::Named(TEST_TZ.into());
        assert_eq!(parse_now("1124013600", &tz).unwrap(), 1124013600.0);
        assert_eq!(parse_now("2005-08-14T12:00:00", &tz).unwrap(), 1124013600.0);
        assert_eq!(parse_now("2005-08-14T10:00:00Z", &tz).unwrap(), 1124013600.0);
        assert!(parse_now("yesterday", &tz).unwrap_err().to_string().contains("--now"));
    }
}
