//! `--threads N` gives the same results as one thread: the same counts, per-regex hits, date
//! template hits and listed lines, for many filters at once (shared dates, single- and
//! multi-line filters, different datepatterns), over a log long enough to span many batches,
//! with formats that switch (so speculative date detection is confirmed, redone and
//! reordered).

use std::path::{Path, PathBuf};

use regex_lab::replay::{self, ReplayArgs};
use serde_json::Value;

const SAMPLES: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

const FILTERS: &[&str] = &[
    "sshd[mode=aggressive]",
    "sshd",
    "pam-generic",
    "guacamole",
    "dovecot",
    "apache-auth",
    "monit",
    "postfix[mode=aggressive]",
];

/// fail2ban's sample lines of several filters, interleaved and repeated with shifted pids.
fn write_log(dir: &Path) -> PathBuf {
    let mut lines = Vec::new();
    for name in ["sshd", "pam-generic", "guacamole", "dovecot", "apache-auth", "monit", "postfix"] {
        let text = std::fs::read(Path::new(SAMPLES).join(name)).unwrap();
        for l in String::from_utf8_lossy(&text).lines() {
            if !l.is_empty() && !l.starts_with('#') {
                lines.push(l.to_string());
            }
        }
    }
    let mut out = String::new();
    for rep in 0..30 {
        for (i, l) in lines.iter().enumerate() {
            // Interleave: every third line comes from the far end, so formats switch often.
            let l = if i % 3 == 0 { &lines[lines.len() - 1 - i] } else { l };
            out.push_str(&l.replace("sshd[", &format!("sshd[{rep}")));
            out.push('\n');
        }
    }
    let path = dir.join("mixed.log");
    std::fs::write(&path, out).unwrap();
    path
}

fn replay_json(log: &Path, threads: usize) -> Value {
    let filters = FILTERS.iter().map(|s| s.to_string()).collect();
    replay_times_stripped(vec![log.to_path_buf()], filters, Some("/etc/fail2ban"), threads)
}

/// `regex-lab replay --json`, without the timings (which vary from run to run).
fn replay_times_stripped(
    logs: Vec<PathBuf>,
    filters: Vec<String>,
    config_dir: Option<&str>,
    threads: usize,
) -> Value {
    let mut args = ReplayArgs::new(logs, filters);
    args.config_dir = config_dir.map(PathBuf::from);
    args.json = true;
    args.threads = Some(threads);
    let mut out = Vec::new();
    replay::run(&args, &mut out).unwrap();
    let mut v: Value = serde_json::from_slice(&out).unwrap();
    strip_times(&mut v);
    v
}

fn strip_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("elapsed_s");
            m.remove("lines_per_s");
            m.values_mut().for_each(strip_times);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_times),
        _ => {}
    }
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban's stock filters and sample logs (apt-get install fail2ban)"
)]
fn threads_do_not_change_results() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path());
    let one = replay_json(&log, 1);
    let lines = one["lines"].as_u64().unwrap();
    assert!(lines > 5000, "the log must span several batches ({lines} lines)");
    let matched: i64 =
        one["filters"].as_array().unwrap().iter().map(|f| f["matched"].as_i64().unwrap()).sum();
    assert!(matched > 1000, "the filters must match something ({matched})");
    for threads in [2, 3, 5] {
        assert_eq!(replay_json(&log, threads), one, "--threads {threads} differs from --threads 1");
    }
}

/// The speculative date protocol on its own: a detector that sees every line in order and
/// replays another detector's quick decisions when it is in the same state (redoing the
/// line otherwise) ends with exactly the dates, hit counts and template order of a detector
/// that detected every line itself. The other detector runs batches out of order, as a
/// worker does, over lines from every sample log (dozens of formats).
#[test]
#[cfg_attr(
    not(host_has = "fail2ban_samples"),
    ignore = "needs fail2ban's sample logs (apt-get install fail2ban)"
)]
fn speculative_dates_equal_sequential_dates() {
    use regex_lab::date::{Clock, DateDetector};
    let mut lines = Vec::new();
    for e in std::fs::read_dir(SAMPLES).unwrap() {
        let path = e.unwrap().path();
        if path.is_file() {
            let text = std::fs::read(&path).unwrap();
            for l in String::from_utf8_lossy(&text).lines() {
                if !l.is_empty() && !l.starts_with('#') {
                    lines.push(l.to_string());
                }
            }
        }
    }
    lines.sort();
    // Runs of one format, with the formats changing between runs.
    let lines: Vec<&String> = lines.iter().chain(lines.iter().rev()).collect();
    let clock = Clock::fail2ban_tests();
    let mut sequential = DateDetector::new(None, clock.clone()).unwrap();
    let want: Vec<_> = lines.iter().map(|l| sequential.detect(l)).collect();

    // The "worker": batches of 64 in the order 1, 0, 3, 2, ... with its own state.
    let mut worker = DateDetector::new(None, clock.clone()).unwrap();
    let mut spec = vec![None; lines.len()];
    let batches: Vec<usize> = (0..lines.len().div_ceil(64)).collect();
    for pair in batches.chunks(2) {
        for &b in pair.iter().rev() {
            for i in b * 64..((b + 1) * 64).min(lines.len()) {
                let hit = worker.detect(lines[i]);
                spec[i] = Some((hit, worker.last_fast().cloned()));
            }
        }
    }
    let mut confirming = DateDetector::new(None, clock).unwrap();
    let (mut confirmed, mut redone) = (0, 0);
    for (i, l) in lines.iter().enumerate() {
        let (hit, fast) = spec[i].take().unwrap();
        let got = match fast {
            Some(fw) if confirming.confirm_fast(l, &fw) => {
                confirmed += 1;
                hit
            }
            _ => {
                redone += 1;
                confirming.detect(l)
            }
        };
        assert_eq!(got, want[i], "line {i}: {l}");
    }
    assert_eq!(confirming.template_states(), sequential.template_states());
    assert!(confirmed > lines.len() / 2 && redone > 100, "confirmed {confirmed}, redone {redone}");
}

/// A log that breaks off mid-way (a truncated .gz) is reported and the run goes on with the
/// next log, with the same counts and the same error whatever the number of threads.
#[test]
fn read_errors_do_not_depend_on_threads() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..20_000 {
        text.push_str(&format!("line {i} from 192.0.2.{}\n", i % 250));
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let broken = dir.path().join("broken.log.gz");
    std::fs::write(&broken, &gz[..gz.len() / 2]).unwrap();
    let good = dir.path().join("good.log");
    std::fs::write(&good, &text[..text.len() / 4]).unwrap();
    let run = |threads| {
        replay_times_stripped(vec![broken.clone(), good.clone()], Vec::new(), None, threads)
    };
    let one = run(1);
    let errors = one["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].as_str().unwrap().contains("broken.log.gz"), "{errors:?}");
    let lines = one["lines"].as_u64().unwrap();
    assert!(lines > 5000 && lines < 20_000, "{lines} lines");
    for threads in [2, 3] {
        assert_eq!(run(threads), one, "--threads {threads} differs from --threads 1");
    }
}
