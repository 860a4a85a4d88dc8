//! `regex-lab replay` as a user runs it: the binary, its output, its exit status, bad input.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_regex-lab"))
}

/// A scratch dir with a small filter and log.
struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    fn new() -> TestDir {
        let t = TestDir { dir: tempfile::tempdir().unwrap() };
        t.write(
            "simple.conf",
            "[Definition]\n\
             failregex = ^\\s*fail from <HOST>$\n\
             \x20           ^\\s*<F-NOFAIL>ok</F-NOFAIL> from <HOST>$\n\
             ignoreregex = from 10\\.\n",
        );
        t.write(
            "auth.log",
            "2024-01-02 03:04:05 fail from 1.2.3.4\n\
             2024-01-02 03:04:06 ok from 1.2.3.4\n\
             2024-01-02 03:04:07 fail from 10.0.0.1\n\
             # a comment\n\
             \n\
             2024-01-02 03:04:08 something else\n\
             2024-01-02 03:04:09 fail from 5.6.7.8\n",
        );
        t
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn replay(&self, args: &[&str]) -> Output {
        bin().arg("replay").args(args).current_dir(self.dir.path()).output().unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts exit status 2 and a single error line on stderr that mentions `what`.
fn assert_error(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(2), "stdout: {}\nstderr: {}", stdout(o), stderr(o));
    let err = stderr(o);
    assert!(err.starts_with("regex-lab: "), "{err}");
    assert!(err.contains(what), "{what:?} not in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line expected: {err}");
}

fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

#[test]
fn human_report_is_shaped_like_fail2ban_regex() {
    let t = TestDir::new();
    let o = t.replay(&["auth.log", "--filter", "./simple.conf"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "Running tests\n=============\n",
        "Use   failregex file : ./simple.conf\n",
        "Use         log file : auth.log\n",
        "Results\n=======\n",
        "Failregex: 3 total\n|-  #) [# of hits] regular expression\n|   1) [2] ^\\s*fail from <HOST>$\n|   2) [1] ^\\s*<F-NOFAIL>ok</F-NOFAIL> from <HOST>$\n`-\n",
        "Ignoreregex: 1 total\n|-  #) [# of hits] regular expression\n|   1) [1] from 10\\.\n`-\n",
        "Lines: 5 lines, 2 ignored, 2 matched, 1 missed\n",
        "|- Missed line(s):\n|  2024-01-02 03:04:08 something else\n`-\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(out.contains("[processed in ") && out.contains(" lines/s]"), "{out}");
}

#[test]
fn json_report() {
    let t = TestDir::new();
    let v = json(&t.replay(&["auth.log", "--filter", "./simple.conf", "--json"]));
    assert_eq!(v["lines"], 5);
    assert_eq!(
        (v["ignored"].clone(), v["matched"].clone(), v["missed"].clone()),
        (2.into(), 2.into(), 1.into())
    );
    let hits: Vec<u64> =
        v["failregex"].as_array().unwrap().iter().map(|r| r["hits"].as_u64().unwrap()).collect();
    assert_eq!(hits, [2, 1]);
    assert_eq!(v["failregex"][0]["regex"], "^\\s*fail from <HOST>$");
    assert!(v["elapsed_s"].as_f64().unwrap() >= 0.0);
    assert_eq!(v["filters"].as_array().unwrap().len(), 1);
}

#[test]
fn several_filters_read_the_input_once() {
    let t = TestDir::new();
    t.write("other.conf", "[Definition]\nfailregex = something <F-ID>\\w+</F-ID>\n");
    let v = json(&t.replay(&["auth.log", "-f", "./simple.conf", "-f", "./other.conf", "--json"]));
    let f = v["filters"].as_array().unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["matched"], 2);
    assert_eq!(f[1]["matched"], 1);
    assert_eq!(f[1]["lines"], 5);
    assert!(
        v.get("matched").is_none(),
        "per-filter fields stay in filters[] when there are several"
    );
}

#[test]
fn stdin_and_gzip_give_the_same_counts() {
    let t = TestDir::new();
    let plain = json(&t.replay(&["auth.log", "-f", "./simple.conf", "--json"]));
    let gz = Command::new("gzip").args(["-k", "-c"]).arg(t.path("auth.log")).output().unwrap();
    std::fs::write(t.path("auth.log.2.gz"), gz.stdout).unwrap();
    let zipped = json(&t.replay(&["auth.log.2.gz", "-f", "./simple.conf", "--json"]));
    let mut child = bin()
        .args(["replay", "-", "-f", "./simple.conf", "--json"])
        .current_dir(t.dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&std::fs::read(t.path("auth.log")).unwrap()).unwrap();
    let piped = json(&child.wait_with_output().unwrap());
    for k in ["lines", "ignored", "matched", "missed", "failregex"] {
        assert_eq!(plain[k], zipped[k], "{k}");
        assert_eq!(plain[k], piped[k], "{k}");
    }
    // Two logs are one stream.
    let both = json(&t.replay(&["auth.log", "auth.log.2.gz", "-f", "./simple.conf", "--json"]));
    assert_eq!(both["lines"], 10);
}

#[test]
fn missing_log_is_an_error() {
    let t = TestDir::new();
    assert_error(&t.replay(&["nope.log", "-f", "./simple.conf"]), "nope.log");
}

#[test]
fn unknown_filter_is_an_error() {
    let t = TestDir::new();
    let dir = t.path("etc");
    std::fs::create_dir_all(dir.join("filter.d")).unwrap();
    let o = t.replay(&["auth.log", "-f", "no-such-filter", "-c", dir.to_str().unwrap()]);
    assert_error(&o, "no-such-filter");
}

#[test]
fn bad_option_is_an_error() {
    let t = TestDir::new();
    let o = t.replay(&["auth.log", "--no-such-option"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--no-such-option"));
    let o = t.replay(&["auth.log", "-f", "./simple.conf", "--timezone", "UTC+2x"]);
    assert_error(&o, "--timezone");
}

#[test]
fn unparsable_filter_names_file_and_line() {
    let t = TestDir::new();
    t.write("bad.conf", "[Definition]\nfailregex = ^x <HOST>$\nthis line has no equals sign\n");
    assert_error(&t.replay(&["auth.log", "-f", "./bad.conf"]), "bad.conf:3");
}

#[test]
fn broken_regex_names_the_regex_and_position() {
    let t = TestDir::new();
    t.write("broken.conf", "[Definition]\nfailregex = ^fail (from <HOST>$\n");
    let o = t.replay(&["auth.log", "-f", "./broken.conf"]);
    assert_error(&o, "offset");
    assert!(stderr(&o).contains("fail (from"), "{}", stderr(&o));
}

#[test]
fn regex_without_failure_id_is_an_error() {
    let t = TestDir::new();
    t.write("noid.conf", "[Definition]\nfailregex = ^fail from \\S+$\n");
    assert_error(&t.replay(&["auth.log", "-f", "./noid.conf"]), "failure-id");
}

#[test]
fn tag_loop_is_an_error() {
    let t = TestDir::new();
    t.write("loop.conf", "[Definition]\na = <b>\nb = <a>\nfailregex = ^<a> <HOST>$\n");
    assert_error(&t.replay(&["auth.log", "-f", "./loop.conf"]), "<a>");
}

#[test]
fn catastrophic_regex_is_reported_not_a_hang() {
    let t = TestDir::new();
    // Not end-anchored, and with the `b` PCRE2 looks for first: the prefilter and PCRE2's
    // own quick checks let the line through, and the backtracking explodes.
    t.write("slow.conf", "[Definition]\nfailregex = ^(?P<fid>(a+)+)b\n");
    t.write("slow.log", &format!("{}cb\nshort\n", "a".repeat(5000)));
    let started = std::time::Instant::now();
    let o = t.replay(&["slow.log", "-f", "./slow.conf"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(started.elapsed().as_secs() < 30);
    let out = stdout(&o);
    assert!(out.contains("PCRE2 gave up on 1 search(es) on 1 line(s)"), "{out}");
    assert!(out.contains("Lines: 2 lines, 0 ignored, 0 matched, 2 missed"), "{out}");
}

#[test]
fn invalid_utf8_is_replaced_not_an_error() {
    let t = TestDir::new();
    std::fs::write(t.path("bad.log"), b"2024-01-02 03:04:05 fail from 1.2.3.4\xff\n\xfe\xfd\n")
        .unwrap();
    let v = json(&t.replay(&["bad.log", "-f", "./simple.conf", "--json"]));
    assert_eq!(v["lines"], 2);
    assert_eq!(v["missed"], 2);
}

#[test]
fn hostile_lines_are_escaped_in_the_report() {
    let t = TestDir::new();
    t.write("evil.log", "2024-01-02 03:04:05 \x1b[2J\x1b]0;owned\x07 nothing\n");
    let o = t.replay(&["evil.log", "-f", "./simple.conf"]);
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "{out:?}");
    assert!(out.contains("\\x1b[2J"), "{out}");
}

#[test]
fn help_documents_every_flag() {
    let o = bin().args(["replay", "--help"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    for flag in ["--filter", "--config-dir", "--timezone", "--json", "--verbose"] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}
