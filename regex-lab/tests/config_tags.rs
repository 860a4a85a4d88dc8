//! Data-driven `tags::expand` cases (`testdata/tags_cases.toml`), and the same inputs against
//! fail2ban's own Regex class when fail2ban is installed.

use std::path::Path;

use regex_lab::tags;
use serde::Deserialize;
use serde_json::Value;

mod oracle_support;

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    regex: String,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    expect_usedns_no: Option<String>,
    #[serde(default)]
    error: bool,
}

fn cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/tags_cases.toml");
    let text = std::fs::read_to_string(path).expect("read tags_cases.toml");
    toml::from_str::<Cases>(&text).expect("parse tags_cases.toml").case
}

fn ours(regex: &str, no: bool) -> Result<String, String> {
    tags::expand(regex, no).map_err(|e| e.message)
}

#[test]
fn tags_cases_expectations() {
    let mut bad = Vec::new();
    let all = cases();
    for c in &all {
        for no in [false, true] {
            let want = if no {
                c.expect_usedns_no.as_ref().or(c.expect.as_ref())
            } else {
                c.expect.as_ref()
            };
            match (ours(&c.regex, no), want) {
                (Ok(got), Some(w)) if &got == w => {}
                (Err(e), None) if c.error && !e.contains('\n') => {}
                (got, w) => bad.push(format!(
                    "{:?} (usedns_no={no})\n    got:  {got:?}\n    want: {w:?}",
                    c.regex
                )),
            }
        }
    }
    eprintln!("{} tag cases, {} failures", all.len(), bad.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs fail2ban (apt-get install fail2ban)")]
fn tags_cases_match_fail2ban() {
    let all = cases();
    let input: Vec<Value> = all
        .iter()
        .flat_map(|c| ["yes", "no"].map(|dns| serde_json::json!({"regex": c.regex, "usedns": dns})))
        .collect();
    let theirs = oracle_support::run("filter_dump.py", &["--tags"], &input);
    assert_eq!(theirs.len(), all.len() * 2);
    let mut bad = Vec::new();
    for (i, c) in all.iter().enumerate() {
        for (j, no) in [false, true].into_iter().enumerate() {
            let t = &theirs[i * 2 + j];
            let ok = match (ours(&c.regex, no), t["result"].as_str()) {
                (Ok(o), Some(r)) => o == r,
                (Err(_), None) => true,
                _ => false,
            };
            if !ok {
                bad.push(format!(
                    "{:?} (usedns_no={no}): ours {:?}, fail2ban {t}",
                    c.regex,
                    ours(&c.regex, no)
                ));
            }
        }
    }
    eprintln!("{} tag expansions compared with fail2ban, {} mismatches", all.len() * 2, bad.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
