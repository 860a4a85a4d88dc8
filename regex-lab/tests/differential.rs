//! Differential test: `regex-lab replay` against the real `fail2ban-regex --raw` (Debian's
//! fail2ban 1.0.2) on fail2ban's own sample logs, for every stock filter that has one, in its
//! default variant and in every variant the sample file names (`# filterOptions:`), e.g. sshd
//! in modes normal, ddos, extra and aggressive.
//!
//! For each (filter variant, log) both sides must give the same line counts (lines, ignored,
//! matched, missed), the same prefregex total and the same hits for every failregex and
//! ignoreregex, 0-hit ones included. The oracle (`tests/oracle/replay_f2b_counts.py`) drives
//! fail2ban-regex's own code in one Python process; both sides run here, on the same clock, so
//! year inference and the 60-second date reuse agree.
//!
//! `REGEX_LAB_DIFF=sshd` limits the run to cases whose filter spec contains `sshd`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod oracle_support;
use oracle_support::{fail2ban_regex_counts, replay_counts, CountCase};

const SAMPLES: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";
const CONFIG: &str = "/etc/fail2ban";

/// Filter variants the issue requires to be identical (more are compared and must agree too).
const REQUIRED: &[&str] = &[
    "sshd",
    "sshd[mode=normal]",
    "sshd[mode=ddos]",
    "sshd[mode=extra]",
    "sshd[mode=aggressive]",
    "pam-generic",
];

#[derive(Clone, Debug)]
struct Case {
    filter: String,
    log: PathBuf,
}

/// `name[k=v, ...]` with fail2ban's quoting for values holding `,` or quotes.
fn spec(name: &str, opts: &serde_json::Map<String, Value>) -> String {
    let items: Vec<String> = opts
        .iter()
        .filter(|(k, _)| !k.starts_with("test."))
        .map(|(k, v)| {
            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            if v.contains([',', '"', '\'', ']']) {
                format!("{k}=\"{}\"", v.replace('"', "\\\""))
            } else {
                format!("{k}={v}")
            }
        })
        .collect();
    if items.is_empty() {
        name.to_string()
    } else {
        format!("{name}[{}]", items.join(", "))
    }
}

/// Every stock filter with a sample log, in its default variant and the sample's variants.
fn discover() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(Path::new(CONFIG).join("filter.d"))
        .expect("read /etc/fail2ban/filter.d")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".conf")?.to_string();
            (!stem.ends_with("common") && Path::new(SAMPLES).join(&stem).is_file()).then_some(stem)
        })
        .collect();
    names.sort();
    for name in names {
        let log = Path::new(SAMPLES).join(&name);
        let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
        let mut specs = BTreeSet::from([name.clone()]);
        for line in text.lines() {
            let Some((_, json)) = line.split_once("filterOptions:") else { continue };
            if !line.trim_start().starts_with('#') {
                continue;
            }
            let v: Value = match serde_json::from_str(json.trim()) {
                Ok(v) => v,
                Err(_) => continue,
            };
            let dicts = match v {
                Value::Array(a) => a,
                other => vec![other],
            };
            for d in dicts {
                if let Value::Object(m) = d {
                    specs.insert(spec(&name, &m));
                }
            }
        }
        if name == "sshd" {
            for mode in ["normal", "ddos", "extra", "aggressive"] {
                specs.insert(format!("sshd[mode={mode}]"));
            }
        }
        for s in specs {
            cases.push(Case { filter: s, log: log.clone() });
        }
    }
    // sshd's journal-format sample (fail2ban's tests add it to sshd with logtype=journal).
    for mode in ["normal", "aggressive"] {
        cases.push(Case {
            filter: format!("sshd[logtype=journal, mode={mode}]"),
            log: Path::new(SAMPLES).join("sshd-journal"),
        });
    }
    if let Ok(sel) = std::env::var("REGEX_LAB_DIFF") {
        cases.retain(|c| c.filter.contains(&sel));
    }
    cases
}

/// Runs both sides on every case; returns (identical specs, descriptions of differences).
fn compare(cases: &[Case], config: Option<&str>) -> (Vec<String>, Vec<String>) {
    let list: Vec<CountCase> =
        cases.iter().map(|c| CountCase { log: &c.log, filter: &c.filter }).collect();
    let expected = fail2ban_regex_counts(&list);
    let mut identical = Vec::new();
    let mut different = Vec::new();
    for (case, want) in cases.iter().zip(&expected) {
        let what = format!("{} on {}", case.filter, case.log.display());
        if let Some(e) = want.get("error") {
            different.push(format!("{what}: oracle error {e}"));
            continue;
        }
        match replay_counts(&CountCase { log: &case.log, filter: &case.filter }, config) {
            Ok(got) if got == *want => identical.push(case.filter.clone()),
            Ok(got) => different
                .push(format!("{what}:\n    fail2ban-regex: {want}\n    regex-lab:      {got}")),
            Err(e) => different.push(format!("{what}: regex-lab error: {e}")),
        }
    }
    for d in &different {
        eprintln!("  DIFFERENT {d}");
    }
    (identical, different)
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban-regex and its sample logs (apt-get install fail2ban)"
)]
fn replay_counts_equal_fail2ban_regex() {
    let cases = discover();
    assert!(!cases.is_empty(), "no cases (REGEX_LAB_DIFF too narrow?)");
    let (identical, different) = compare(&cases, Some(CONFIG));
    let filters: BTreeSet<&str> =
        identical.iter().map(|s| s.split('[').next().unwrap_or(s)).collect();
    eprintln!(
        "differential: {} of {} stock filter variants identical to fail2ban-regex --raw \
         ({} distinct filters)",
        identical.len(),
        cases.len(),
        filters.len()
    );
    if std::env::var("REGEX_LAB_DIFF").is_err() {
        for r in REQUIRED {
            assert!(identical.iter().any(|s| s == r), "required variant {r} is not identical");
        }
        assert!(filters.len() >= 17, "only {} distinct filters identical", filters.len());
    }
    assert!(different.is_empty(), "{} of {} variants differ", different.len(), cases.len());
}

/// The project's own filters (`regex-lab/filters/`, read by path on both sides) on the
/// project's corpora and the demo log.
#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs fail2ban-regex (apt-get install fail2ban)")]
fn builtin_filters_equal_fail2ban_regex() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = root.parent().unwrap();
    let demo = workspace.join("corpora/demo/proxmox-bruteforce.log");
    let mut cases = Vec::new();
    for name in regex_lab::builtin::names() {
        let path = root.join("filters").join(format!("{name}.conf"));
        let mut specs = vec![path.display().to_string()];
        if *name == "sshd" {
            for mode in ["normal", "ddos", "extra", "aggressive"] {
                specs.push(format!("{}[mode={mode}]", path.display()));
            }
        }
        let mut logs = vec![demo.clone()];
        let corpus = workspace.join("corpora").join(name);
        if corpus.is_file() {
            logs.push(corpus);
        }
        for spec in &specs {
            for log in &logs {
                if log.is_file() {
                    cases.push(Case { filter: spec.clone(), log: log.clone() });
                }
            }
        }
    }
    if let Ok(sel) = std::env::var("REGEX_LAB_DIFF") {
        cases.retain(|c| c.filter.contains(&sel));
    }
    assert!(!cases.is_empty(), "no built-in filter cases");
    let (identical, different) = compare(&cases, None);
    eprintln!(
        "differential: {} of {} built-in filter runs (filters x corpora) identical to fail2ban-regex --raw",
        identical.len(),
        cases.len()
    );
    assert!(different.is_empty(), "{} of {} runs differ", different.len(), cases.len());
}

/// The human report, line for line, against fail2ban-regex's own output (only the
/// `[processed in ...]` line differs: we add lines/s).
#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban-regex and its sample logs (apt-get install fail2ban)"
)]
fn human_report_equals_fail2ban_regex_output() {
    let runs: &[(&str, &str, &[&str])] = &[
        ("sshd", "sshd", &[]),
        ("sshd", "sshd[mode=aggressive]", &["--print-all-missed"]),
        ("sshd", "sshd", &["-v"]),
        ("postfix", "postfix[mode=aggressive]", &["--print-all-ignored"]),
        ("slapd", "slapd", &["--print-all-matched"]),
        ("apache-auth", "apache-auth", &[]),
    ];
    let mut bad = Vec::new();
    for (log, filter, extra) in runs {
        let log = Path::new(SAMPLES).join(log);
        let strip = |out: Vec<u8>| -> String {
            String::from_utf8_lossy(&out)
                .lines()
                .filter(|l| !l.starts_with("[processed in "))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        let f2b = Command::new("fail2ban-regex")
            .args(["--raw", "-e", "UTF-8", "-c", CONFIG])
            .args(*extra)
            .arg(&log)
            .arg(filter)
            .output()
            .unwrap();
        let ours = Command::new(env!("CARGO_BIN_EXE_regex-lab"))
            .args(["replay", "-c", CONFIG])
            .args(*extra)
            .arg(&log)
            .args(["--filter", filter])
            .output()
            .unwrap();
        assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
        let (want, got) = (strip(f2b.stdout), strip(ours.stdout));
        if want != got {
            let diff = similar_lines(&want, &got);
            bad.push(format!("{filter} {extra:?}:\n{diff}"));
        }
    }
    assert!(bad.is_empty(), "reports differ:\n{}", bad.join("\n"));
}

/// The first differing lines of two texts.
fn similar_lines(a: &str, b: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = String::new();
    for i in 0..a.len().max(b.len()) {
        let (x, y) = (a.get(i).copied().unwrap_or("<none>"), b.get(i).copied().unwrap_or("<none>"));
        if x != y {
            out.push_str(&format!(
                "  line {}:\n    fail2ban-regex: {x}\n    regex-lab:      {y}\n",
                i + 1
            ));
            if out.len() > 2000 {
                break;
            }
        }
    }
    out
}
