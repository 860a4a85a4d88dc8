//! Service behaviour: errors exit 2 with one clear line, where a route without state starts,
//! corrupt state, and the sd_notify protocol (READY, STATUS, WATCHDOG, STOPPING).

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::util::*;

const T0: u64 = 1_700_000_000_000_000;

fn fails_with(args: &[&str], needle: &str) {
    let o = logger(args, "UTC").output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("f2b-logger: error: ") && last.contains(needle), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let d = TestDir::new("errors");
    let st = d.join("st");
    let st = st.to_str().unwrap();
    let out = d.join("out.log");
    let route = format!("{UNIT}={}", out.display());
    let o = logger(&["--route", "no-equals-sign"], "UTC").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected UNIT=PATH"));
    fails_with(&["--route", "ssh.service=relative.log"], "absolute PATH");
    std::fs::write(d.join("file"), b"").unwrap();
    let under_file = d.join("file/state");
    fails_with(
        &["--state-dir", under_file.to_str().unwrap(), "--route", &route],
        "state directory",
    );
    std::os::unix::fs::symlink("/etc/passwd", d.join("link.log")).unwrap();
    let link_route = format!("{UNIT}={}", d.join("link.log").display());
    fails_with(&["--state-dir", st, "--route", &link_route], "symlink");
    let missing_dir = format!("{UNIT}={}", d.join("nodir/out.log").display());
    fails_with(&["--state-dir", st, "--route", &missing_dir], "No such file");
    let nojournal = d.join("no-such-journal-dir");
    fails_with(
        &["--state-dir", st, "--journal-dir", nojournal.to_str().unwrap(), "--route", &route],
        "cannot read",
    );
    fails_with(
        &["--state-dir", st, "--file-owner", "no-such-user-here", "--route", &route],
        "no such user",
    );
    let other = format!("other.service={}", out.display());
    fails_with(&["--state-dir", st, "--route", &route, "--route", &other], "same file");
}

#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
fn no_state_starts_at_tail_and_corrupt_state_never_backfills() {
    let d = TestDir::new("tail");
    let jdir = d.join("journal");
    std::fs::create_dir(&jdir).unwrap();
    let jfile = jdir.join("j.journal");
    journal_remote(&numbered(0, 20, T0), &jfile);
    let out = d.join("out.log");
    let st = d.join("st");
    let once = run_args(&jdir, &st, &format!("{UNIT}={}", out.display()), &["--once"]);
    // No state: history is not replayed ...
    let o = run_ok(logger(&once, "UTC"));
    assert!(String::from_utf8_lossy(&o.stderr).contains("starting at the tail"));
    assert_eq!(std::fs::read(&out).unwrap(), b"");
    // ... but what comes after the start is.
    journal_remote(&numbered(20, 5, T0), &jfile);
    run_ok(logger(&once, "UTC"));
    let got = String::from_utf8(std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(
        got.lines().map(|l| l.rsplit(' ').next().unwrap()).collect::<Vec<_>>(),
        ["20", "21", "22", "23", "24"]
    );

    // Corrupt state: a copy is kept, a warning given, and we start at the tail even with
    // --start-at head.
    let state = std::fs::read_dir(&st)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".state"))
        .unwrap()
        .path();
    std::fs::write(&state, b"{\"version\": 1, \"trunc").unwrap();
    journal_remote(&numbered(25, 5, T0), &jfile);
    let mut head = once.clone();
    head.extend(["--start-at".into(), "head".into()]);
    let o = run_ok(logger(&head, "UTC"));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("corrupt") && log.contains("kept"), "{log}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), got, "nothing replayed");
    let kept: Vec<_> = std::fs::read_dir(&st)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(kept.len(), 1);
    assert_eq!(std::fs::read(kept[0].path()).unwrap(), b"{\"version\": 1, \"trunc");

    // A state that parses but holds a cursor libsystemd rejects is just as corrupt.
    let text = std::fs::read_to_string(&state).unwrap();
    let start = text.find("\"cursor\": \"").unwrap() + 11;
    let end = start + text[start..].find('"').unwrap();
    std::fs::write(&state, format!("{}not-a-cursor{}", &text[..start], &text[end..])).unwrap();
    journal_remote(&numbered(30, 5, T0), &jfile);
    let o = run_ok(logger(&head, "UTC"));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("invalid") && log.contains("kept"), "{log}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), got, "nothing replayed");
    let kept = std::fs::read_dir(&st).unwrap().flatten();
    assert_eq!(kept.filter(|e| e.file_name().to_string_lossy().contains(".corrupt-")).count(), 2);

    // A unit that has no entry yet: the start time is saved, entries after it are forwarded.
    let out2 = d.join("out2.log");
    let once2 = run_args(&jdir, &st, &format!("late.service={}", out2.display()), &["--once"]);
    run_ok(logger(&once2, "UTC"));
    let mut late = Ex::new(T0 + 100_000_000_000_000, 999, Some("late.service")); // far "future"
    late.set("SYSLOG_IDENTIFIER", "late").set("MESSAGE", "first entry of the unit");
    journal_remote(&[late], &jfile);
    run_ok(logger(&once2, "UTC"));
    assert!(std::fs::read_to_string(&out2).unwrap().ends_with("late: first entry of the unit\n"));
}

#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
fn sd_notify_ready_status_watchdog_stopping() {
    let d = TestDir::new("notify");
    let jdir = d.join("journal");
    std::fs::create_dir(&jdir).unwrap();
    journal_remote(&numbered(0, 30, T0), &jdir.join("j.journal"));
    let sock_path = d.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let out = d.join("out.log");
    let route = format!("{UNIT}={}", out.display());
    let st = d.join("st");
    let mut c = logger(
        &[
            "--start-at",
            "head",
            "--journal-dir",
            jdir.to_str().unwrap(),
            "--state-dir",
            st.to_str().unwrap(),
            "--route",
            &route,
        ],
        "UTC",
    );
    c.env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut msgs = String::new();
    let mut buf = [0u8; 4096];
    let until = std::time::Instant::now() + Duration::from_secs(10);
    while !(msgs.contains("READY=1") && msgs.contains("WATCHDOG=1") && msgs.contains("30 lines")) {
        assert!(std::time::Instant::now() < until, "notifications so far: {msgs}");
        let n = sock.recv(&mut buf).unwrap();
        msgs.push_str(&String::from_utf8_lossy(&buf[..n]));
        msgs.push('\n');
    }
    assert!(msgs.contains(&format!("STATUS={UNIT}: ")), "{msgs}");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    loop {
        let n = sock.recv(&mut buf).unwrap();
        if String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1") {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(count_lines(&std::fs::read(&out).unwrap()), 30);
}
