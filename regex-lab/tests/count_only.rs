//! The count-only path (`LineProcessor::count_only`, what `replay` runs without `-v`) counts
//! exactly like the general path: for every stock filter and the sshd modes, over every
//! fail2ban sample log (all of them through each filter, in file order, so MLFID connections
//! carry across lines), and over the sshd samples repeated with shifted pids (hundreds of
//! connections: FIFO eviction, connections seen again after eviction), every line gives the
//! same class, regex hits and ignoreregex hits, and the final fail2ban-regex counters agree.

use std::path::Path;
use std::sync::Arc;

use regex_lab::config::{self, ConfigSource, FilterSpec};
use regex_lab::date::{Clock, DateDetector};
use regex_lab::filter::{Filter, FilterOptions};
use regex_lab::line::{LineProcessor, Now};
use regex_lab::report::counts::Keep;
use regex_lab::report::Counts;

const SAMPLES: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";
const CONFIG: &str = "/etc/fail2ban";

fn specs() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(Path::new(CONFIG).join("filter.d"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".conf").map(str::to_string))
        .filter(|n| !n.ends_with("common"))
        .collect();
    out.extend(["normal", "ddos", "extra", "aggressive"].map(|m| format!("sshd[mode={m}]")));
    out.sort();
    out
}

fn sample_lines(file: Option<&str>) -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(SAMPLES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && file.is_none_or(|f| p.file_name().unwrap() == f))
        .collect();
    paths.sort();
    let mut lines = Vec::new();
    for p in paths {
        let text = std::fs::read(&p).unwrap();
        for l in String::from_utf8_lossy(&text).lines() {
            if !l.is_empty() && !l.starts_with('#') {
                lines.push(l.to_string());
            }
        }
    }
    lines
}

/// `sshd[pid]` with the pid shifted by `k`: a new connection key per repetition.
fn shift_pid(line: &str, k: u64) -> String {
    let Some(i) = line.find("sshd[") else { return line.to_string() };
    let digits = &line[i + 5..];
    let n = digits.bytes().take_while(u8::is_ascii_digit).count();
    match digits[..n].parse::<u64>() {
        Ok(pid) => format!("{}sshd[{}{}", &line[..i], pid + k * 100_000, &digits[n..]),
        Err(_) => line.to_string(),
    }
}

/// Both paths over `lines`; panics on the first difference. Returns the number of lines with
/// a failregex hit, and whether the count-only path ran (it falls back for some filters).
fn compare(
    spec: &str,
    def: &config::FilterDef,
    filter: &Arc<Filter>,
    lines: &[String],
) -> (u64, bool) {
    let dates = || DateDetector::new(def.datepattern.as_deref(), Clock::fail2ban_tests()).ok();
    let now = Now::Fixed(Clock::fail2ban_tests().now);
    let mut general = LineProcessor::new(Arc::clone(filter), dates(), now);
    general.keep_matches(false);
    let mut fast = LineProcessor::new(Arc::clone(filter), dates(), now);
    fast.keep_matches(false);
    fast.count_only(true);
    let (nf, ni) = (filter.failregex().len(), filter.ignoreregex().len());
    let mut counts = [Counts::new(nf, ni, Keep::default()), Counts::new(nf, ni, Keep::default())];
    let mut hits = 0;
    for (n, l) in lines.iter().enumerate() {
        let a = general.process(l);
        counts[0].add(a, l);
        let a = a.clone();
        let b = fast.process(l);
        counts[1].add(b, l);
        assert_eq!(
            (a.class, &a.regex_hits, &a.ignore_hits, a.prefregex_matched, a.consumed.len()),
            (b.class, &b.regex_hits, &b.ignore_hits, b.prefregex_matched, b.consumed.len()),
            "{spec}, line {}: {l}",
            n + 1
        );
        hits += u64::from(!a.regex_hits.is_empty());
    }
    assert_eq!(format!("{:?}", counts[0]), format!("{:?}", counts[1]), "{spec}");
    (hits, fast.is_count_only())
}

fn load(source: &ConfigSource, spec: &str) -> Option<(config::FilterDef, Arc<Filter>)> {
    let def = config::load_filter(source, &FilterSpec::parse(spec).ok()?).ok()?;
    let filter = Filter::new(&def, &FilterOptions::default()).ok()?;
    Some((def, Arc::new(filter)))
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban's stock filters and sample logs (apt-get install fail2ban)"
)]
fn count_only_counts_like_the_general_path_on_every_stock_filter() {
    let source = ConfigSource::Dir(CONFIG.into());
    let lines = sample_lines(None);
    let (mut filters, mut fast, mut hits) = (0, 0, 0);
    for spec in specs() {
        let Some((def, filter)) = load(&source, &spec) else { continue };
        let (h, counted) = compare(&spec, &def, &filter, &lines);
        filters += 1;
        fast += usize::from(counted);
        hits += h;
    }
    // Only multi-line filters fall back among the stock ones.
    assert!(filters > 80 && fast + 6 >= filters, "{fast} of {filters} filters count only");
    assert!(hits > 1500, "{hits} lines with a hit");
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban's stock filters and sample logs (apt-get install fail2ban)"
)]
fn count_only_counts_like_the_general_path_on_many_sshd_connections() {
    let source = ConfigSource::Dir(CONFIG.into());
    let base = sample_lines(Some("sshd"));
    // Repetitions interleaved two by two, some pids reused across repetitions.
    let lines: Vec<String> =
        (0..40u64).flat_map(|k| base.iter().map(move |l| shift_pid(l, k % 17))).collect();
    for mode in ["normal", "ddos", "extra", "aggressive"] {
        let spec = format!("sshd[mode={mode}]");
        let (def, filter) = load(&source, &spec).unwrap();
        let (hits, counted) = compare(&spec, &def, &filter, &lines);
        assert!(counted && hits > 1000, "{spec}: {hits}");
    }
}
