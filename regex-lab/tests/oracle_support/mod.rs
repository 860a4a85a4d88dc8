//! Running the Python oracles in `tests/oracle/` (scripts that ask the installed fail2ban
//! how it reads, expands or judges something) and reading their JSON-lines answers.

// Each test binary that includes this uses only part of it.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// The interpreter fail2ban-regex runs with (its shebang), so `import fail2ban` works even
/// when another python3 comes first in PATH.
pub fn fail2ban_python() -> String {
    let text = std::fs::read_to_string("/usr/bin/fail2ban-regex").unwrap_or_default();
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("#!"))
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "python3".into())
}

/// Runs `tests/oracle/<script>` with `args`, writes `input` to its stdin one JSON value per
/// line, and returns the JSON values it prints, one per line. Fails the test if it fails.
pub fn run(script: &str, args: &[&str], input: &[Value]) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle").join(script);
    let mut child = Command::new(fail2ban_python())
        .arg(&path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the fail2ban oracle");
    let mut stdin = child.stdin.take().expect("the oracle's stdin");
    let input: Vec<String> = input.iter().map(Value::to_string).collect();
    // Written from another thread: a large input must not block against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        for line in input {
            writeln!(stdin, "{line}").expect("write to the oracle");
        }
    });
    let out = child.wait_with_output().expect("the oracle's output");
    writer.join().expect("the oracle's input is written");
    assert!(
        out.status.success(),
        "oracle {script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("oracle JSON"))
        .collect()
}

/// A JSON array of strings (anything else reads as empty).
pub fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap_or_default().to_string()).collect())
        .unwrap_or_default()
}

/// One replay to compare: a log and a filter (a name like `sshd[mode=aggressive]`, or a
/// path to a `.conf`).
pub struct CountCase<'a> {
    pub log: &'a Path,
    pub filter: &'a str,
}

/// fail2ban-regex's counts (`fail2ban-regex --raw -e UTF-8 -c /etc/fail2ban LOG FILTER`) for
/// each case, in one Python process (`tests/oracle/replay_f2b_counts.py`): objects with
/// `lines`, `ignored`, `matched`, `missed`, `prefregex`, `failregex` and `ignoreregex` hit
/// lists, or `error`.
pub fn fail2ban_regex_counts(cases: &[CountCase]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.json");
    let list: Vec<Value> = cases
        .iter()
        .map(|c| serde_json::json!({"log": c.log, "filter": c.filter, "config": "/etc/fail2ban"}))
        .collect();
    std::fs::write(&input, serde_json::to_vec(&list).unwrap()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/replay_f2b_counts.py");
    let out = Command::new(fail2ban_python()).arg(script).arg(&input).output().unwrap();
    assert!(out.status.success(), "oracle failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("oracle output is JSON")
}

/// `regex-lab replay --json` of one case, in the shape [`fail2ban_regex_counts`] gives.
/// `config_dir`: `None` for the built-in filters (and filter paths).
pub fn replay_counts(case: &CountCase, config_dir: Option<&str>) -> Result<Value, String> {
    use regex_lab::replay::{self, ReplayArgs};
    let mut args = ReplayArgs::new(vec![case.log.to_path_buf()], vec![case.filter.to_string()]);
    args.config_dir = config_dir.map(Into::into);
    args.json = true;
    let mut out = Vec::new();
    replay::run(&args, &mut out).map_err(|e| e.to_string())?;
    let v: Value = serde_json::from_slice(&out).map_err(|e| e.to_string())?;
    let f = &v["filters"][0];
    let hits = |k: &str| -> Vec<Value> {
        f[k].as_array().map(|a| a.iter().map(|r| r["hits"].clone()).collect()).unwrap_or_default()
    };
    Ok(serde_json::json!({
        "lines": f["lines"], "ignored": f["ignored"], "matched": f["matched"],
        "missed": f["missed"],
        "prefregex": f["prefregex"].get("hits").cloned().unwrap_or(Value::from(0)),
        "failregex": hits("failregex"), "ignoreregex": hits("ignoreregex"),
    }))
}
