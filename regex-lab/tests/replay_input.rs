//! The log reading rules, checked against the real fail2ban-regex on crafted logs: line ends,
//! skipped lines, a last line without a newline, undecodable bytes.
//!
//! The filter counts every tested line (regex 1), lines holding U+FFFD (regex 2) and lines
//! holding two U+FFFD in a row (regex 3), so each rule shows in the counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use regex_lab::replay::{self, ReplayArgs};
use serde_json::Value;

const FILTER: &str = "[Definition]\n\
failregex = ^(?P<fid>.*)$\n\
\x20           (?P<fid>\u{fffd})\n\
\x20           (?P<fid>\u{fffd}\u{fffd})\n";

/// (file name, content): each ends differently or holds one of the rules.
const LOGS: &[(&str, &[u8])] = &[
    ("plain.log", b"one\ntwo\n"),
    ("crlf.log", b"one\r\ntwo\r\r\n\r\nthree\n"),
    ("skipped.log", b"# comment\n\n   \n\t\n #not a comment\nx # y\n"),
    ("no-final-newline.log", b"one\ntwo"),
    ("final-cr.log", b"one\ntwo\r"),
    ("inner-cr.log", b"one\rtwo\nthree\n"),
    ("invalid-utf8.log", b"a\xffb\n\xe2\x82\n\xc3\x28\n\xf0\x9f\x98\n\xed\xa0\x80\nok \xc3\xa9\n"),
    ("only-comments.log", b"#a\n#b\n"),
    ("empty.log", b""),
];

fn ours(log: &Path, filter: &Path) -> Value {
    let mut args = ReplayArgs::new(vec![log.to_path_buf()], vec![filter.display().to_string()]);
    args.config_dir = None;
    args.json = true;
    let mut out = Vec::new();
    replay::run(&args, &mut out).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let f = &v["filters"][0];
    let hits: Vec<Value> =
        f["failregex"].as_array().unwrap().iter().map(|r| r["hits"].clone()).collect();
    serde_json::json!({
        "lines": f["lines"], "ignored": f["ignored"], "matched": f["matched"],
        "missed": f["missed"], "prefregex": 0, "failregex": hits, "ignoreregex": [],
    })
}

#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs fail2ban-regex (apt-get install fail2ban)")]
fn reading_rules_equal_fail2ban_regex() {
    let dir = tempfile::tempdir().unwrap();
    let filter = dir.path().join("count.conf");
    std::fs::write(&filter, FILTER).unwrap();
    let logs: Vec<PathBuf> = LOGS
        .iter()
        .map(|(name, data)| {
            let p = dir.path().join(name);
            std::fs::write(&p, data).unwrap();
            p
        })
        .collect();
    let cases: Vec<Value> = logs
        .iter()
        .map(|l| serde_json::json!({"log": l, "filter": filter, "config": "/etc/fail2ban"}))
        .collect();
    let input = dir.path().join("cases.json");
    std::fs::write(&input, serde_json::to_vec(&cases).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/replay_f2b_counts.py");
    let out = Command::new("/usr/bin/python3").arg(script).arg(&input).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut bad = Vec::new();
    for ((log, want), (name, _)) in logs.iter().zip(&want).zip(LOGS) {
        let got = ours(log, &filter);
        if got != *want {
            bad.push(format!("{name}:\n  fail2ban-regex {want}\n  regex-lab      {got}"));
        }
    }
    assert!(bad.is_empty(), "reading differs:\n{}", bad.join("\n"));
}

#[test]
fn reading_rules_known_values() {
    // The same rules without the oracle, so they are checked everywhere.
    let dir = tempfile::tempdir().unwrap();
    let filter = dir.path().join("count.conf");
    std::fs::write(&filter, FILTER).unwrap();
    let expect = [
        ("plain.log", 2, [2, 0, 0]),
        ("crlf.log", 3, [3, 0, 0]),
        ("skipped.log", 4, [4, 0, 0]),
        ("no-final-newline.log", 1, [1, 0, 0]),
        ("final-cr.log", 2, [2, 0, 0]),
        ("inner-cr.log", 2, [2, 0, 0]),
        ("invalid-utf8.log", 6, [6, 5, 1]),
        ("only-comments.log", 0, [0, 0, 0]),
        ("empty.log", 0, [0, 0, 0]),
    ];
    for ((name, data), (ename, lines, hits)) in LOGS.iter().zip(expect) {
        assert_eq!(*name, ename);
        let p = dir.path().join(name);
        std::fs::write(&p, data).unwrap();
        let got = ours(&p, &filter);
        assert_eq!(got["lines"], lines, "{name}");
        let got_hits: Vec<u64> =
            got["failregex"].as_array().unwrap().iter().map(|h| h.as_u64().unwrap()).collect();
        assert_eq!(got_hits, hits, "{name}");
    }
}
