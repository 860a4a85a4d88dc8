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
