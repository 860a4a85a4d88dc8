//! fail2ban's own sample suite through `regex_lab::verify` (issue 3's acceptance): every
//! sample file of the installed fail2ban's stock filters must pass, judged as fail2ban's
//! `samplestestcase.py` judges it. `CORPUS_TEST=name[,-name]` selects files (as REGEX_TEST
//! does); `CORPUS_TEST_VERBOSE=1` prints the whole report.

use regex_lab::verify::{
    verify_paths, FilterLookup, Selection, SourceChoice, Status, VerifyOptions,
};
use std::path::PathBuf;

const LOGS: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

fn stock_options() -> VerifyOptions {
    VerifyOptions {
        lookup: FilterLookup::Only(SourceChoice::Dir("/etc/fail2ban".into())),
        select: Selection::from_env("CORPUS_TEST"),
        ..VerifyOptions::default()
    }
}

#[test]
#[cfg_attr(
    not(host_has = "fail2ban_samples"),
    ignore = "needs fail2ban's sample logs (apt-get install fail2ban)"
)]
fn stock_samples_all_pass() {
    let report = verify_paths(&[PathBuf::from(LOGS)], &stock_options()).unwrap();
    let text = report.render();
    if std::env::var_os("CORPUS_TEST_VERBOSE").is_some() {
        eprintln!("{text}");
    }
    let t = report.totals();
    assert_eq!((t.failed, t.errors), (0, 0), "\n{text}");
    for f in &report.files {
        if let Status::Skip(reason) = &f.status {
            // Only the zzz-* test filters (not installed) and the journal file sshd adds.
            let ok = (f.filter.starts_with("zzz-") && reason.starts_with("no filter"))
                || (f.filter == "sshd-journal" && reason.contains("part of sshd"));
            assert!(ok, "unexpected skip: {} ({reason})", f.filter);
        }
    }
    if std::env::var_os("CORPUS_TEST").is_none() {
        // 89 stock filters, each with its sample file (notes §8).
        assert_eq!(t.passed, 89, "\n{text}");
        eprintln!("{}", text.lines().last().unwrap_or_default());
    }
}
