//! Exactly-once across `kill -9`: SIGKILL at random moments during a catch-up, restart each
//! time; the file must always be a prefix of journalctl's output (nothing doubled) and at the
//! end equal to it (nothing lost, no torn line).

use std::io::Write;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::util::*;

fn entries(n: usize) -> Vec<Ex> {
    let t0 = 1_700_000_000_000_000u64;
    (0..n as u64)
        .map(|i| {
            let unit = if i % 10 == 9 { Some("other.service") } else { Some(UNIT) };
            let mut e = Ex::new(t0 + i * 7_000, i, unit);
            e.set("_HOSTNAME", "pve1")
                .set("SYSLOG_IDENTIFIER", "pvedaemon")
                .set("_PID", (1000 + i % 50).to_string());
            if i % 1000 != 500 {
                e.set(
                    "MESSAGE",
                    format!(
                        "authentication failure; rhost=10.{}.{}.{} user=root@pam msg=entry {i}",
                        i >> 16 & 255,
                        i >> 8 & 255,
                        i & 255
                    ),
                );
            }
            e
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
#[cfg_attr(not(host_has = "journalctl"), ignore = "needs journalctl")]
fn kill9_loop_equals_uninterrupted_run() {
    let d = TestDir::new("kill9");
    let jdir = d.join("journal");
    std::fs::create_dir(&jdir).unwrap();
    journal_remote(&entries(200_000), &jdir.join("import.journal"));
    let jdir = jdir.to_str().unwrap().to_owned();
    let want = journalctl(&["-D", &jdir], "short-iso", "UTC");
    assert!(count_lines(&want) > 170_000);

    let args = |out: &std::path::Path, st: &std::path::Path| -> Vec<String> {
        let route = format!("{UNIT}={}", out.display());
        run_args(std::path::Path::new(&jdir), st, &route, &["--once", "--start-at", "head"])
    };
    // An uninterrupted run: the reference, and the time scale for the kills.
    let started = Instant::now();
    let a = args(&d.join("ref.log"), &d.join("ref-state"));
    run_ok(logger(&a.iter().map(String::as_str).collect::<Vec<_>>(), "UTC"));
    let full = started.elapsed();
    assert_same_lines(&std::fs::read(d.join("ref.log")).unwrap(), &want, "uninterrupted run");

    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut window = full / 10;
    for attempt in 0..4 {
        let out = d.join(&format!("out{attempt}.log"));
        let st = d.join(&format!("state{attempt}"));
        let a = args(&out, &st);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let mut kills = 0;
        let finished = loop {
            let mut child = logger(&a, "UTC").stderr(std::process::Stdio::null()).spawn().unwrap();
            let delay =
                Duration::from_micros(rng.gen_range(0..=window.as_micros().max(1000) as u64));
            std::thread::sleep(delay);
            let done_by_itself = child.try_wait().unwrap().is_some();
            if !done_by_itself {
                child.kill().unwrap(); // SIGKILL
                kills += 1;
            }
            let status = child.wait().unwrap();
            let got = std::fs::read(&out).unwrap_or_default();
            assert!(want.starts_with(&got), "after kill {kills}, the output is not a prefix of journalctl's (duplicate or wrong line)");
            if done_by_itself {
                assert!(status.success(), "run ended with {status:?}");
                break kills >= 20;
            }
        };
        if finished {
            eprintln!("{kills} SIGKILLs during the catch-up (uninterrupted run: {full:?})");
            // One more start must find nothing to do.
            run_ok(logger(&a, "UTC"));
            assert_same_lines(
                &std::fs::read(&out).unwrap(),
                &want,
                &format!("after {kills} SIGKILLs"),
            );
            let leftovers: Vec<_> = std::fs::read_dir(&st)
                .unwrap()
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| n.to_string_lossy().contains(".tmp-"))
                .collect();
            assert!(leftovers.is_empty(), "temporary state files left: {leftovers:?}");
            return;
        }
        eprintln!("attempt {attempt}: the catch-up finished after only {kills} kills; trying with shorter runs");
        window /= 2;
    }
    panic!("could not get 20 kills into one catch-up");
}

/// The crash window, made deterministic: lines after the saved state, the last one torn.
#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
fn unsaved_lines_are_recognised_and_a_torn_line_completed() {
    let l = Layout::new("torn");
    let (jdir, out, st) = (&l.jdir, &l.out, &l.st);
    let jfile = jdir.join("j.journal");
    let t0 = 1_700_000_000_000_000;
    journal_remote(&numbered(0, 10, t0), &jfile);
    let args = l.args(&["--once", "--start-at", "head"]);
    run_ok(logger(&args, "UTC"));
    let state_file = std::fs::read_dir(st)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with(".state"))
        .unwrap()
        .path();
    let early_state = std::fs::read(&state_file).unwrap();
    // A foreign line, more entries, an uninterrupted run: the reference file.
    std::fs::OpenOptions::new()
        .append(true)
        .open(out)
        .unwrap()
        .write_all(b"foreign line\n")
        .unwrap();
    journal_remote(&numbered(10, 10, t0), &jfile);
    run_ok(logger(&args, "UTC"));
    let full = std::fs::read(out).unwrap();
    // Back to the early state with the file cut in the middle of line 17: as if the process
    // had died while writing, before saving any state after the first run.
    let cut = full.iter().enumerate().filter(|(_, &b)| b == b'\n').nth(16).unwrap().0 + 20;
    std::fs::OpenOptions::new().write(true).open(out).unwrap().set_len(cut as u64).unwrap();
    std::fs::write(&state_file, &early_state).unwrap();
    let o = run_ok(logger(&args, "UTC"));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("completed a line torn by a crash") && log.contains("lines=7"), "{log}");
    assert_same_lines(&std::fs::read(out).unwrap(), &full, "after recovery");
}
