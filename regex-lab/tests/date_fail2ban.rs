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

/// Local times around DST transitions (gaps, folds, 30-minute shifts, southern hemisphere),
/// in a scrambled order so that glibc's "previous offset" memory is exercised: our times
/// must equal Python's `time.mktime` (what fail2ban calls) in the same order.
#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs /usr/bin/python3 (installed with fail2ban)")]
fn local_times_convert_like_python_mktime() {
    use jiff::{tz::TimeZone, Timestamp};
    use regex_lab::date::{Clock, DateDetector, Zone};

    let zones = [
        "CET-01CEST-02,M3.5.0,M10.5.0",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "America/Santiago",
        "Europe/Dublin",
    ];
    let mut total = 0;
    let mut diffs = Vec::new();
    for zone in zones {
        let tz = TimeZone::get(zone).or_else(|_| TimeZone::posix(zone)).unwrap();
        let mut naive = Vec::new();
        for year in [2005, 2024] {
            let start = Timestamp::from_second(
                jiff::civil::date(year, 1, 1)
                    .to_zoned(TimeZone::UTC)
                    .unwrap()
                    .timestamp()
                    .as_second(),
            )
            .unwrap();
            for tr in tz.following(start).take(2) {
                let before = tz.to_offset(tr.timestamp() - jiff::SignedDuration::from_secs(1));
                let local_before = before.to_datetime(tr.timestamp());
                let local_after = tr.offset().to_datetime(tr.timestamp());
                for base in [local_before, local_after] {
                    for mins in [-91i64, -61, -31, -1, 0, 1, 29, 30, 31, 59, 60, 61, 89, 90] {
                        naive.push(base + jiff::SignedDuration::from_mins(mins));
                    }
                }
                naive.push(jiff::civil::date(year, 7, 1).at(12, 0, 0, 0));
                naive.push(jiff::civil::date(year, 1, 15).at(12, 0, 0, 0));
            }
        }
        // Deterministic scramble (LCG), then the sorted order too.
        let mut order: Vec<usize> = (0..naive.len()).collect();
        let mut x: u64 = 12345;
        for i in (1..order.len()).rev() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            order.swap(i, (x >> 33) as usize % (i + 1));
        }
        let mut lines: Vec<String> =
            order.iter().map(|&i| naive[i].strftime("%Y-%m-%d %H:%M:%S").to_string()).collect();
        lines.extend(naive.iter().map(|d| d.strftime("%Y-%m-%d %H:%M:%S").to_string()));

        let script = "import sys, time\nfor l in sys.stdin.read().split('\\n'):\n    if l:\n        d, t = l.split(' ')\n        y, m, dd = map(int, d.split('-')); H, M, S = map(int, t.split(':'))\n        print(repr(time.mktime((y, m, dd, H, M, S, 0, 0, -1))))\n";
        let mut child = std::process::Command::new("/usr/bin/python3")
            .args(["-c", script])
            .env("TZ", zone)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(lines.join("\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let want: Vec<f64> =
            String::from_utf8(out.stdout).unwrap().lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(want.len(), lines.len(), "{zone}: python output");

        let clock = Clock { now: 2e9, zone: Zone::Named(zone.to_string()) };
        let mut dd = DateDetector::new(Some(&["^%Y-%m-%d %H:%M:%S".to_string()]), clock).unwrap();
        for (line, want) in lines.iter().zip(&want) {
            total += 1;
            let got = dd.detect(line).and_then(|h| h.time);
            if got != Some(*want) {
                diffs.push(format!("{zone}: {line}: python {want}, ours {got:?}"));
            }
        }
    }
    println!("mktime: {}/{total} local times identical to Python", total - diffs.len());
    for d in diffs.iter().take(20) {
        println!("{d}");
    }
    assert!(diffs.is_empty());
}

/// The datepatterns of the stock filters (`/etc/fail2ban/filter.d`, `%%` already read as `%`),
/// each over all sample log lines through one detector.
const STOCK_DATEPATTERNS: &[&[&str]] = &[
    &["{^LN-BEG}Epoch", "{^LN-BEG}"],
    &["^<co ts=\"{DATE}\"\\s+"],
    &["^[^\\[]*\\[({DATE})", "{^LN-BEG}"],
    &["^%m/%d/%Y %H:%M:%S"],
    &["^<\\d+>\\d+\\s+{DATE}"],
    &["^L %d/%m/%Y - %H:%M:%S"],
    &["^[^-]+ -- [^-]+ -- - ({DATE})", "{^LN-BEG}"],
    &["^\\[%d/%b/%Y %H:%M:%S\\]"],
    &["^{DATE}"],
    &["^[^\\[]*(\\[{DATE}\\s*\\])", "{^LN-BEG}"],
    &[
        "{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?",
        "^[^\\[]*\\[({DATE})",
        "{^LN-BEG}",
    ],
    &["{^LN-BEG}%b-%d-%Exy %H:%M:%S", "{^LN-BEG}"],
    &[
        "{^LN-BEG}%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?",
        "{^LN-BEG}(?:%a )?%b %d %H:%M:%S(?:\\.%f)?(?: %ExY)?",
        "^[^\\[]*\\[({DATE})",
        "{^LN-BEG}",
    ],
    &["^<W>{DATE}"],
    &["^%Y:%m:%d-%H:%M:%S"],
    &["{^LN-BEG}TAI64N", "{^LN-BEG}"],
    &["%d/%b[^/]*/%Y:%H:%M:%S %z"],
    &["EPOCH"],
    &[
        "^(?:=[^=]+={3,} )?(%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?)",
        "^I\\(()**",
    ],
    &["^(?:%Y-)?%m-%d[ T]%H:%M:%S(?:\\.%f)?", "{^LN-BEG}"],
    &["^%Y-%m-%d %H:%M:%S"],
    &["^%b %d, %ExY %I:%M:%S %p", "^WARNING:()**", "{^LN-BEG}"],
    &["^%H:%M:%S.%f"],
    &["^t=%Y-%m-%dT%H:%M:%S%z"],
];

#[test]
#[cfg_attr(
    not(host_has = "fail2ban_samples"),
    ignore = "needs fail2ban's sample logs (apt-get install fail2ban)"
)]
fn stock_filter_datepatterns_over_all_sample_lines() {
    let files = date_support::sample_files();
    let lines: Vec<String> = files.iter().flat_map(|f| date_support::lines_of(f)).collect();
    let mut total = date_support::Report::default();
    for dp in STOCK_DATEPATTERNS {
        let dp: Vec<String> = dp.iter().map(|s| s.to_string()).collect();
        let mode = dp.join("\n");
        let mut args = vec!["concat", "1124013600", mode.as_str()];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        let expected = oracle(&args, Some(TEST_TZ));
        let run = date_support::Run {
            name: format!("{dp:?}"),
            lines: lines.clone(),
            datepattern: Some(dp.clone()),
            clock: regex_lab::date::Clock::fail2ban_tests(),
        };
        let r = compare(&[run], &expected);
        total.lines += r.lines;
        total.same_lines += r.same_lines;
        total.hit_lists += r.hit_lists;
        total.same_hit_lists += r.same_hit_lists;
        total.diffs.extend(r.diffs);
    }
    total.check(&format!("{} stock datepatterns over all sample lines", STOCK_DATEPATTERNS.len()));
}
