//! Differential tests against the real fail2ban: lines go through fail2ban's own
//! DateDetector (`tests/oracle/date_oracle.py`) and through ours, with the same clock. Per
//! line the winning template, the span of the date and the time must be identical; per run
//! the final "Date template hits" list (order and counts).
//!
//! - every line of every fail2ban sample log (the sample tests' clock: 2005-08-14 12:00,
//!   `TZ=CET-01CEST-02,M3.5.0,M10.5.0`), with the default templates and with `{^LN-BEG}`;
//! - `testdata/date-cases.txt`, live (the table test checks the recorded results).
//!
//! `DATE_ORACLE_VERBOSE=1` prints every difference instead of the first 20.

mod date_support;

use date_support::{compare, oracle, sample_runs, TEST_TZ};

fn samples(mode: &str, datepattern: Option<&[String]>) {
    let runs = sample_runs(datepattern);
    let files: Vec<&str> = runs.iter().map(|r| r.name.as_str()).collect();
    let mut args = vec!["files", "1124013600", mode];
    args.extend(files);
    let expected = oracle(&args, Some(TEST_TZ));
    compare(&runs, &expected).check(&format!("fail2ban sample logs, datepattern {mode}"));
}

#[test]
#[cfg_attr(
    not(host_has = "fail2ban_samples"),
    ignore = "needs fail2ban's sample logs (apt-get install fail2ban)"
)]
fn sample_logs_default_templates() {
    samples("default", None);
}

#[test]
#[cfg_attr(
    not(host_has = "fail2ban_samples"),
    ignore = "needs fail2ban's sample logs (apt-get install fail2ban)"
)]
fn sample_logs_line_begin_templates() {
    samples("{^LN-BEG}", Some(&["{^LN-BEG}".to_string()]));
}

#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs fail2ban (apt-get install fail2ban)")]
fn date_cases_live() {
    let cases = date_support::manifest_path("testdata/date-cases.txt");
    let expected = oracle(&["cases", cases.to_str().unwrap()], None);
    compare(&date_support::case_runs(), &expected).check("date-cases.txt (live fail2ban)");
}
