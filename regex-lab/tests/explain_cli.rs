//! `regex-lab explain` end to end with a hand-made filter and with fail2ban's stock sshd.

use std::process::Command;

fn explain(args: &[&str]) -> (i32, String, String) {
    let out =
        Command::new(env!("CARGO_BIN_EXE_regex-lab")).arg("explain").args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const TZ: [&str; 4] =
    ["--timezone", "CET-01CEST-02,M3.5.0,M10.5.0", "--now", "2005-08-14T12:00:00"];

#[test]
#[cfg_attr(
    not(host_has = "fail2ban"),
    ignore = "needs fail2ban's stock filters (apt-get install fail2ban)"
)]
fn stock_sshd_failure_trace() {
    let line = "Aug 14 11:58:58 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2";
    let mut args = vec!["--config-dir", "/etc/fail2ban", "--filter", "sshd"];
    args.extend(TZ);
    args.push(line);
    let (code, out, err) = explain(&args);
    assert_eq!(code, 0, "{out}{err}");
    for want in [
        "filter       sshd",
        "             \"Aug 14 11:58:58\" → 2005-08-14T11:58:58 (1124013538)",
        "text         \" host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2\"",
        "             content = \"Failed password for root from 192.0.2.1 port 22 ssh2\"",
        "verdict      matched",
    ] {
        assert!(out.lines().any(|l| l == want), "missing {want:?} in:\n{out}");
    }
    assert!(out.contains("failure, id \"192.0.2.1\""), "{out}");
}

#[test]
#[cfg_attr(
    not(host_has = "fail2ban"),
    ignore = "needs fail2ban's stock filters (apt-get install fail2ban)"
)]
fn stock_sshd_missed_and_json() {
    let mut args =
        vec!["--config-dir", "/etc/fail2ban", "--filter", "sshd[mode=aggressive]", "--json"];
    args.extend(TZ);
    args.push("Aug 14 11:58:58 host sshd[1]: Server listening on 0.0.0.0 port 22.");
    let (code, out, err) = explain(&args);
    assert_eq!(code, 0, "{out}{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j[0]["verdict"]["class"], "missed");
    assert_eq!(j[0]["prefregex"]["matched"], true);
    assert!(j[0]["failregex"].as_array().unwrap().iter().all(|r| r["matched"] == false));
}

#[test]
fn unknown_filter_is_an_error() {
    let (code, _, err) = explain(&["--config-dir", "/nonexistent", "--filter", "nope", "line"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope"), "{err}");
}
