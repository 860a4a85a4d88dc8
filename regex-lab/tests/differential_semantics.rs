//! Differential test on crafted filters and logs that reach the corners of fail2ban's line
//! logic the stock samples barely touch: the ignoreregex pre-check (and the stale prefregex
//! count it leaves), multi-line buffers with consumed lines, `<SKIPLINES>` and back-references,
//! content substitution in multi-line mode, matches without a failure id, `alt_`/`tuple_`
//! groups, MLFID pending/gained flows, and the 60-second reuse of the last date (which needs
//! log times close to now, so the log is generated at test time).
//!
//! Each case runs through the real fail2ban-regex (`tests/oracle/replay_f2b_counts.py`) and
//! through `regex-lab replay`; counts and per-regex hits must be identical.

use std::path::PathBuf;

mod oracle_support;
use oracle_support::{fail2ban_regex_counts, replay_counts, CountCase};

struct Case {
    name: &'static str,
    filter: String,
    log: String,
}

fn cases() -> Vec<Case> {
    let now = jiff::Zoned::now();
    let ts = |secs: i64| {
        now.checked_add(jiff::SignedDuration::from_secs(secs))
            .unwrap()
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    vec![
        Case {
            name: "ignore pre-check and stale prefregex count",
            filter: "[Definition]\n\
                prefregex = ^\\s*pre: <F-CONTENT>.+</F-CONTENT>$\n\
                failregex = ^a <HOST>$\n  ^b <HOST>$\n  ^c <HOST>$\n  ^d <HOST>$\n\
                ignoreregex = ^\\s*pre: ign\n"
                .into(),
            log: "pre: a 1.2.3.4\npre: ign 1\nnopre x\npre: ign 2\npre: b 1.2.3.5\nnopre\npre: ign 3\npre: c 9.9.9.9\n"
                .into(),
        },
        Case {
            name: "multi-line: consumed lines, SKIPLINES with back-reference, ignoreregex",
            filter: "[Definition]\n\
                maxlines = 4\n\
                failregex = ^start <HOST>\\n(?:.*\\n)*?^end$\n\
                \x20 ^single <F-ID>\\S+</F-ID>$\n\
                \x20 ^open (?P<fid>\\w+)<SKIPLINES>^close (?P=fid)$\n\
                ignoreregex = ^start 10\\.\n"
                .into(),
            log: "start 1.2.3.4\nnoise\nend\nopen c1\nsingle s1\nopen c2\nclose c1\nstart 10.0.0.1\nend\n\
                  single s2\nmissed\nmissed again\nclose c2\nend\nstart 5.5.5.5\nx\ny\nz\nend\n"
                .into(),
        },
        Case {
            name: "multi-line with prefregex content substitution",
            filter: "[Definition]\n\
                maxlines = 3\n\
                prefregex = ^\\s*app\\[\\d+\\]: <F-CONTENT>.+</F-CONTENT>$\n\
                failregex = ^login failed for <F-ID>\\w+</F-ID>$\n\
                \x20 ^step one\\n(?:.*\\n)*?.*step two <HOST>$\n"
                .into(),
            log: "app[1]: login failed for bob\nother 1\napp[1]: step one\nother 2\napp[2]: step two 1.2.3.4\n\
                  app[3]: nothing\nother 3\nother 4\napp[4]: login failed for eve\n"
                .into(),
        },
        Case {
            name: "matches without failure id, alt_ and tuple_ groups",
            filter: "[Definition]\n\
                failregex = ^x(?: <F-IP4/>)?$\n\
                \x20 ^u=<F-ALT_USER>\\S*</F-ALT_USER> v=<F-USER>\\S*</F-USER> from <HOST>$\n\
                \x20 ^t=<F-TUPLE_ID>\\S+</F-TUPLE_ID> k=<F-ID>\\S+</F-ID>$\n"
                .into(),
            log: "x\nx 1.2.3.4\nu=a v= from 2.2.2.2\nu= v=b from 3.3.3.3\nt=1 k=2\nt=1 k=1\n".into(),
        },
        Case {
            name: "MLFID: pending failures, gained logins, several users, forget",
            filter: "[Definition]\n\
                prefregex = ^\\s*<F-MLFID>h\\[\\d+\\]:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$\n\
                failregex = ^<F-NOFAIL>connect from</F-NOFAIL> <HOST>$\n\
                \x20 ^bad password for <F-USER>\\S+</F-USER>$\n\
                \x20 ^<F-MLFFORGET><F-MLFGAINED>accepted</F-MLFGAINED></F-MLFFORGET> <F-USER>\\S+</F-USER>$\n\
                \x20 ^<F-NOFAIL><F-MLFFORGET>closed</F-MLFFORGET></F-NOFAIL>$\n\
                \x20 ^<F-NOFAIL>probe</F-NOFAIL> <F-USER>\\S+</F-USER>$\n"
                .into(),
            log: "h[1]: bad password for a\nh[1]: connect from 1.1.1.1\nh[1]: closed\n\
                  h[2]: connect from 2.2.2.2\nh[2]: probe x\nh[2]: probe y\nh[2]: closed\n\
                  h[3]: connect from 3.3.3.3\nh[3]: bad password for z\nh[3]: accepted z\nh[3]: closed\n\
                  h[4]: connect from 4.4.4.4\nh[4]: accepted q\nh[4]: bad password for q\n\
                  h[5]: closed\nh[6]: probe p\n"
                .into(),
        },
        Case {
            name: "60-second reuse of the last date for undated and unparsable lines",
            filter: "[Definition]\nfailregex = ^\\s*x <HOST>$\n  ^\\S+ \\S+ x <HOST>$\n  ^x <HOST>$\n".into(),
            log: format!(
                "{} x 1.1.1.1\nx 2.2.2.2\n2001-02-30 10:00:00 x 3.3.3.3\n{} x 4.4.4.4\n\
                 2001-02-30 10:00:00 x 5.5.5.5\nx 6.6.6.6\n",
                ts(-5),
                ts(-400)
            ),
        },
    ]
}

#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs fail2ban-regex (apt-get install fail2ban)")]
fn crafted_semantics_equal_fail2ban_regex() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    let files: Vec<(PathBuf, PathBuf)> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let f = dir.path().join(format!("f{i}.conf"));
            let l = dir.path().join(format!("l{i}.log"));
            std::fs::write(&f, &c.filter).unwrap();
            std::fs::write(&l, &c.log).unwrap();
            (f, l)
        })
        .collect();
    let names: Vec<String> = files.iter().map(|(f, _)| f.display().to_string()).collect();
    let list: Vec<CountCase> =
        files.iter().zip(&names).map(|((_, l), f)| CountCase { log: l, filter: f }).collect();
    let want = fail2ban_regex_counts(&list);
    let mut bad = Vec::new();
    for ((c, case), want) in cases.iter().zip(&list).zip(&want) {
        assert!(want.get("error").is_none(), "{}: oracle: {want}", c.name);
        let got = replay_counts(case, None).unwrap();
        eprintln!("  {}: {got}", c.name);
        if got != *want {
            bad.push(format!("{}:\n  fail2ban-regex {want}\n  regex-lab      {got}", c.name));
        }
    }
    eprintln!("crafted semantics: {} of {} cases identical", cases.len() - bad.len(), cases.len());
    assert!(bad.is_empty(), "differences:\n{}", bad.join("\n"));
}
