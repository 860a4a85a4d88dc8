//! The project's own annotated corpora (`corpora/<filter>`, fail2ban's sample format) against
//! the built-in filters, through the same runner as `regex-lab verify`.
//! `CORPUS_TEST=name[,-name]` selects corpora (as REGEX_TEST does); `CORPUS_TEST_VERBOSE=1`
//! prints the whole report.

use regex_lab::verify::{
    verify_paths, FilterLookup, Selection, SourceChoice, Status, VerifyOptions,
};
use std::path::PathBuf;

fn corpora_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../corpora")
}

#[test]
fn corpora_pass_with_builtin_filters() {
    let opts = VerifyOptions {
        lookup: FilterLookup::Only(SourceChoice::Builtin),
        select: Selection::from_env("CORPUS_TEST"),
        ..VerifyOptions::default()
    };
    let report = verify_paths(&[corpora_dir()], &opts).unwrap();
    let text = report.render();
    if std::env::var_os("CORPUS_TEST_VERBOSE").is_some() {
        eprintln!("{text}");
    }
    let t = report.totals();
    assert_eq!((t.failed, t.errors), (0, 0), "\n{text}");
    for f in &report.files {
        assert!(
            !matches!(f.status, Status::Skip(_)),
            "every corpus must have a built-in filter:\n{text}"
        );
    }
    if std::env::var_os("CORPUS_TEST").is_none() {
        for name in ["proxmox", "sshd", "proxmenux"] {
            assert!(
                report.files.iter().any(|f| f.filter == name && f.passed()),
                "corpus {name} missing:\n{text}"
            );
        }
    }
}
