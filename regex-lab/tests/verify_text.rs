//! The in-memory entry point f2b-config uses as a self-test before enabling a filter: the
//! corpus text (embedded in f2b-config) against the built-in filters, no files involved.

use regex_lab::config::ConfigSource;
use regex_lab::date::Clock;
use regex_lab::verify::{verify_text, Status};

fn corpus(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpora").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn no_added_files(name: &str) -> Result<String, String> {
    Err(format!("no embedded file {name}"))
}

#[test]
fn builtin_corpora_self_test() {
    for name in regex_lab::builtin::names() {
        let r = verify_text(
            name,
            &corpus(name),
            &ConfigSource::Builtin,
            &Clock::fail2ban_tests(),
            no_added_files,
        );
        assert!(r.passed(), "{name}: {r:?}");
        assert!(r.samples > 0, "{name}: no samples judged");
    }
}

#[test]
fn a_wrong_annotation_fails_the_self_test() {
    let text = corpus("sshd").replacen("\"match\": true", "\"match\": false", 1);
    let r = verify_text(
        "sshd",
        &text,
        &ConfigSource::Builtin,
        &Clock::fail2ban_tests(),
        no_added_files,
    );
    assert_eq!(r.status, Status::Fail);
    assert!(r.failures[0].problems[0].starts_with("expected no failure, got "), "{:?}", r.failures);
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let clock = Clock::fail2ban_tests();
    let r =
        verify_text("sshd", "# addFILE: \"x\"\n", &ConfigSource::Builtin, &clock, no_added_files);
    assert_eq!(r.status, Status::Error("sshd:1: addFILE \"x\": no embedded file x".into()));
    let r = verify_text("nope", "line\n", &ConfigSource::Builtin, &clock, no_added_files);
    assert!(matches!(&r.status, Status::Error(e) if e.contains("nope")), "{r:?}");
}
