//! The log reading rules, checked against the real fail2ban-regex on crafted logs: line ends,
//! skipped lines, a last line without a newline, undecodable bytes.
//!
//! The filter counts every tested line (regex 1), lines holding U+FFFD (regex 2) and lines
//! holding two U+FFFD in a row (regex 3), so each rule shows in the counts.

use std::path::PathBuf;

mod oracle_support;
use oracle_support::{fail2ban_regex_counts, replay_counts, CountCase};

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
    let filter_name = filter.display().to_string();
    let cases: Vec<CountCase> =
        logs.iter().map(|l| CountCase { log: l, filter: &filter_name }).collect();
    let want = fail2ban_regex_counts(&cases);
    let mut bad = Vec::new();
    for ((case, want), (name, _)) in cases.iter().zip(&want).zip(LOGS) {
        let got = replay_counts(case, None).unwrap();
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
        let filter = filter.display().to_string();
        let got = replay_counts(&CountCase { log: &p, filter: &filter }, None).unwrap();
        assert_eq!(got["lines"], lines, "{name}");
        let got_hits: Vec<u64> =
            got["failregex"].as_array().unwrap().iter().map(|h| h.as_u64().unwrap()).collect();
        assert_eq!(got_hits, hits, "{name}");
    }
}
