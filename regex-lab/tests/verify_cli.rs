//! `regex-lab verify` end to end on small hand-made filters and samples: what PASS, FAIL,
//! SKIP and ERROR look like, and the exit status of each.

use std::path::Path;
use std::process::Command;

const FILTER: &str = r#"[Definition]
failregex = ^\s*\S+ demo\[\d+\]: bad password for <F-USER>\S+</F-USER> from <HOST>$
            ^\s*\S+ demo\[\d+\]: banned host <HOST>$
ignoreregex =
datepattern = {^LN-BEG}
"#;

const GOOD: &str = r#"# failJSON: { "time": "2005-08-14T11:00:00", "match": true, "host": "192.0.2.1", "user": "root" }
Aug 14 11:00:00 h demo[1]: bad password for root from 192.0.2.1
# failJSON: { "time": "2005-08-14T11:00:01", "match": true, "host": "2001:db8::1" }
Aug 14 11:00:01 h demo[1]: banned host 2001:DB8::1
# failJSON: { "match": false }
Aug 14 11:00:02 h demo[1]: good password for root from 192.0.2.1
"#;

fn setup(dir: &Path, samples: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("etc/filter.d")).unwrap();
    std::fs::write(dir.join("etc/filter.d/demo.conf"), FILTER).unwrap();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    for (name, text) in samples {
        std::fs::write(dir.join("logs").join(name), text).unwrap();
    }
}

fn verify(dir: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_regex-lab"))
        .arg("verify")
        .arg("--config-dir")
        .arg(dir.join("etc"))
        .args(extra)
        .arg(dir.join("logs"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pass_and_skip() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path(), &[("demo", GOOD), ("other", "x\n")]);
    let (code, out, err) = verify(t.path(), &[]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("PASS ") && lines[0].ends_with("/logs/demo (3 samples, 3 judgements)"),
        "{out}"
    );
    assert!(lines[1].starts_with("SKIP ") && lines[1].contains("(no filter other in "), "{out}");
    assert_eq!(lines.last().unwrap(), &"1 passed, 0 failed, 1 skipped (3 samples, 3 judgements)");
}

#[test]
fn wrong_samples_are_reported_with_line_expected_and_got() {
    let bad = GOOD
        .replace(r#""host": "192.0.2.1", "user": "root""#, r#""host": "192.0.2.9", "user": "root""#)
        .replace(r#""time": "2005-08-14T11:00:01""#, r#""time": "2005-08-14T11:00:09""#)
        .replace(r#"{ "match": false }"#, r#"{ "match": true }"#);
    let t = tempfile::tempdir().unwrap();
    setup(t.path(), &[("demo", &bad)]);
    let (code, out, err) = verify(t.path(), &[]);
    assert_eq!(code, 1, "{out}{err}");
    let want = [
        "  demo:2 [demo]",
        "    line: Aug 14 11:00:00 h demo[1]: bad password for root from 192.0.2.1",
        "    expected host \"192.0.2.9\", got 192.0.2.1",
        "  demo:4 [demo]",
        "    expected time 2005-08-14T11:00:09 (1124010009), got 2005-08-14T11:00:01 (1124010001)",
        "  demo:6 [demo]",
        "    expected a failure, got none",
        "0 passed, 1 failed, 0 skipped (3 samples, 3 judgements)",
    ];
    for w in want {
        assert!(out.lines().any(|l| l == w), "missing {w:?} in:\n{out}");
    }
    assert!(out.starts_with("FAIL "), "{out}");
}

#[test]
fn every_failregex_needs_a_sample() {
    let only_first: String = GOOD.lines().take(2).map(|l| format!("{l}\n")).collect();
    let t = tempfile::tempdir().unwrap();
    setup(t.path(), &[("demo", &only_first)]);
    let (code, out, _) = verify(t.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "  [demo] failregex #2 has no sample: ^\\s*\\S+ demo\\[\\d+\\]: banned host <HOST>$"
        ),
        "{out}"
    );
}

#[test]
fn variants_and_json() {
    let text = format!("# filterOptions: [{{}}, {{\"x\": \"1\"}}]\n{GOOD}");
    let t = tempfile::tempdir().unwrap();
    setup(t.path(), &[("demo", &text)]);
    let (code, out, err) = verify(t.path(), &["--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["totals"]["passed"], 1);
    assert_eq!(j["totals"]["judgements"], 6);
    assert_eq!(j["files"][0]["status"], "pass");
}

#[test]
fn broken_files_are_errors_with_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    setup(t.path(), &[("demo", "# failJSON: { \"match\": tru }\nline\n")]);
    let (code, out, _) = verify(t.path(), &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("ERROR ") && out.contains("demo:1: failJSON: invalid JSON"), "{out}");

    let (code, _, err) = {
        let out = Command::new(env!("CARGO_BIN_EXE_regex-lab"))
            .args(["verify", "/nonexistent/samples"])
            .output()
            .unwrap();
        (out.status.code(), String::new(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/samples"), "{err}");
}

#[test]
fn hostile_lines_are_sanitized() {
    let text =
        "# failJSON: { \"match\": true }\nAug 14 11:00:00 h demo[1]: evil \x1b[2J\u{202e} line\n";
    let t = tempfile::tempdir().unwrap();
    setup(t.path(), &[("demo", text)]);
    let (code, out, _) = verify(t.path(), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("evil \\x1b[2J\\u{202e} line"), "{out}");
    assert!(!out.contains('\x1b') && !out.contains('\u{202e}'));
}
