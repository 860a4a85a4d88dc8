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

use regex_lab::replay::{self, ReplayArgs};
use serde_json::Value;

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

fn oracle(cases: &[Case]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.json");
    let list: Vec<Value> = cases
        .iter()
        .map(|c| serde_json::json!({"log": c.log, "filter": c.filter, "config": CONFIG}))
        .collect();
    std::fs::write(&input, serde_json::to_vec(&list).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/replay_f2b_counts.py");
    // /usr/bin/python3: the interpreter Debian's fail2ban is installed for.
    let out = Command::new("/usr/bin/python3").arg(script).arg(&input).output().unwrap();
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("oracle output is JSON")
}

fn ours(case: &Case) -> Result<Value, String> {
    let args = ReplayArgs {
        logs: vec![case.log.clone()],
        filters: vec![case.filter.clone()],
        config_dir: Some(CONFIG.into()),
        timezone: None,
        json: true,
        verbose: 0,
    };
    let mut out = Vec::new();
    replay::run(&args, &mut out).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    let f = &v["filters"][0];
    let hits = |k: &str| -> Vec<Value> {
        f[k].as_array().unwrap().iter().map(|r| r["hits"].clone()).collect()
    };
    Ok(serde_json::json!({
        "lines": f["lines"], "ignored": f["ignored"], "matched": f["matched"],
        "missed": f["missed"],
        "prefregex": f["prefregex"].get("hits").cloned().unwrap_or(Value::from(0)),
        "failregex": hits("failregex"), "ignoreregex": hits("ignoreregex"),
    }))
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban-regex and its sample logs (apt-get install fail2ban)"
)]
fn replay_counts_equal_fail2ban_regex() {
    let cases = discover();
    assert!(!cases.is_empty(), "no cases (REGEX_LAB_DIFF too narrow?)");
    let expected = oracle(&cases);
    let mut identical = Vec::new();
    let mut different = Vec::new();
    for (case, want) in cases.iter().zip(&expected) {
        if let Some(e) = want.get("error") {
            different.push(format!("{} on {}: oracle error {e}", case.filter, case.log.display()));
            continue;
        }
        match ours(case) {
            Ok(got) if got == *want => identical.push(case.filter.clone()),
            Ok(got) => different.push(format!(
                "{} on {}:\n    fail2ban-regex: {want}\n    regex-lab:      {got}",
                case.filter,
                case.log.display()
            )),
            Err(e) => different.push(format!(
                "{} on {}: regex-lab error: {e}",
                case.filter,
                case.log.display()
            )),
        }
    }
    let filters: BTreeSet<&str> =
        identical.iter().map(|s| s.split('[').next().unwrap_or(s)).collect();
    eprintln!(
        "differential: {} of {} filter variants identical to fail2ban-regex --raw ({} distinct filters)",
        identical.len(),
        cases.len(),
        filters.len()
    );
    for d in &different {
        eprintln!("  DIFFERENT {d}");
    }
    if std::env::var("REGEX_LAB_DIFF").is_err() {
        for r in REQUIRED {
            assert!(identical.iter().any(|s| s == r), "required variant {r} is not identical");
        }
        assert!(filters.len() >= 17, "only {} distinct filters identical", filters.len());
    }
    assert!(different.is_empty(), "{} of {} variants differ", different.len(), cases.len());
}
