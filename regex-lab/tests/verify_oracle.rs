//! Differential test of `verify` against fail2ban's own sample test.
//!
//! `tests/oracle/sample_trace.py` runs fail2ban's `FilterSamplesRegex` unchanged for every
//! stock filter and records each judgement it makes: which filter variant, the text fed to
//! `processLine`, and every entry returned (failregex index, failure ID, time, nofail, number
//! of matched lines). `verify::trace_file` records the same on our side. Both must agree run
//! by run, so a PASS here means the same inputs were judged on the same results, not only that
//! both runs ended green. `CORPUS_TEST=name[,-name]` selects filters.

use regex_lab::config::ConfigSource;
use regex_lab::sample::Got;
use regex_lab::verify::{trace_file, Selection, VerifyOptions};
use serde_json::{json, Value};
use std::path::Path;

mod oracle_support;

const LOGS: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

fn stock_filters() -> Vec<String> {
    let select = Selection::from_env("CORPUS_TEST");
    let mut names: Vec<String> = std::fs::read_dir("/etc/fail2ban/filter.d")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".conf").map(str::to_string))
        .filter(|n| !n.ends_with("common") && select.selects(n))
        .collect();
    names.sort();
    names
}

fn ours(got: &[Got]) -> Value {
    Value::Array(
        got.iter()
            .map(|g| {
                json!([g.regex, g.id.as_ref().map(|i| i.text.clone()), g.time, g.nofail, g.matches])
            })
            .collect(),
    )
}

/// Times as floats: Python gives an int for pre-dated journal lines.
fn normalize(got: &Value) -> Value {
    let mut got = got.clone();
    for e in got.as_array_mut().into_iter().flatten() {
        if let Some(t) = e.get(2).and_then(Value::as_f64) {
            e[2] = json!(t);
        }
    }
    got
}

#[test]
#[cfg_attr(
    not(host_has = "fail2ban_samples"),
    ignore = "needs fail2ban and its sample logs (apt-get install fail2ban)"
)]
fn same_judgements_as_fail2ban_sample_tests() {
    let names = stock_filters();
    let args: Vec<&str> = names.iter().map(String::as_str).collect();
    let theirs = oracle_support::run("sample_trace.py", &args, &[]);
    assert_eq!(theirs.len(), names.len());

    let clock = VerifyOptions::default().clock;
    let source = ConfigSource::Dir("/etc/fail2ban".into());
    let (mut runs, mut entries) = (0, 0);
    let mut problems = Vec::new();
    for (name, t) in names.iter().zip(&theirs) {
        assert_eq!(t["filter"], name.as_str());
        assert_eq!(t["passed"], true, "fail2ban's own test fails for {name}: {}", t["error"]);
        let (plan, records, report) =
            trace_file(&Path::new(LOGS).join(name), &source, &clock).unwrap();
        assert!(report.passed(), "{name}: {report:?}");
        let their_runs = t["runs"].as_array().unwrap();
        if plan.variants.len() != t["variants"].as_array().unwrap().len()
            || records.len() != their_runs.len()
        {
            problems.push(format!(
                "{name}: {} variants / {} runs, fail2ban {} / {}",
                plan.variants.len(),
                records.len(),
                t["variants"].as_array().unwrap().len(),
                their_runs.len()
            ));
            continue;
        }
        for (i, (r, tr)) in records.iter().zip(their_runs).enumerate() {
            let got = ours(&r.got);
            if tr["variant"] != r.variant
                || tr["text"] != r.text.as_str()
                || normalize(&tr["got"]) != got
            {
                problems.push(format!(
                    "{name} run {i} [{}]: {:?}\n  ours     {got}\n  fail2ban variant {} {} {:?}",
                    plan.variants[r.variant].label, r.text, tr["variant"], tr["got"], tr["text"]
                ));
            }
            entries += r.got.len();
        }
        runs += records.len();
    }
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
    eprintln!(
        "{} filters, {runs} judgements, {entries} returned entries identical to fail2ban's",
        names.len()
    );
}
