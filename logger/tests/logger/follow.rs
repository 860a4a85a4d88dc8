//! Following: output rotation (rename, copytruncate, deleted, SIGHUP), another writer on the
//! same file, journal files appearing, rotating and being vacuumed, restart without replay.

use std::io::Write;
use std::os::unix::fs::MetadataExt;

use crate::util::*;

const T0: u64 = 1_700_000_000_000_000;

#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
#[cfg_attr(not(host_has = "journalctl"), ignore = "needs journalctl")]
fn output_rotation_and_foreign_writer_while_following() {
    let l = Layout::new("rotation");
    let (d, jdir, out) = (&l.dir, &l.jdir, &l.out);
    let jfile = jdir.join("live.journal");
    journal_remote(&numbered(0, 100, T0), &jfile);
    let args = l.args(&["--start-at", "head"]);
    let f = Follower::start(&args, "UTC", d.join("stderr-1"));
    wait_lines(out, 100, &f);
    let md = std::fs::metadata(out).unwrap();
    assert_eq!(md.mode() & 0o7777, 0o640);

    // logrotate `create`: rename, then a new empty file.
    std::fs::rename(out, d.join("out.log.1")).unwrap();
    std::fs::File::create(out).unwrap();
    journal_remote(&numbered(100, 100, T0), &jfile);
    wait_lines(out, 100, &f);

    // logrotate `copytruncate`.
    std::fs::copy(out, d.join("out.log.2")).unwrap();
    std::fs::OpenOptions::new().write(true).open(out).unwrap().set_len(0).unwrap();
    journal_remote(&numbered(200, 100, T0), &jfile);
    let b = wait_lines(out, 100, &f);
    assert!(!b.contains(&0), "copytruncate left a hole of NUL bytes");

    // Renamed away and not recreated: f2b-logger creates the file itself.
    std::fs::rename(out, d.join("out.log.3")).unwrap();
    journal_remote(&numbered(300, 100, T0), &jfile);
    wait_lines(out, 100, &f);
    assert_eq!(std::fs::metadata(out).unwrap().mode() & 0o7777, 0o640);

    // SIGHUP (what a postrotate script sends) reopens even before the next entry.
    std::fs::rename(out, d.join("out.log.4")).unwrap();
    f.signal(libc::SIGHUP);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !out.exists() {
        assert!(
            std::time::Instant::now() < until,
            "SIGHUP did not reopen the output:\n{}",
            f.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    // Another writer appends whole lines while entries arrive.
    let foreign = std::thread::spawn({
        let out = out.clone();
        move || {
            for i in 0..500 {
                let mut o = std::fs::OpenOptions::new().append(true).open(&out).unwrap();
                o.write_all(format!("foreign writer line {i}\n").as_bytes()).unwrap();
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
        }
    });
    for k in 0..5 {
        journal_remote(&numbered(400 + k * 200, 200, T0), &jfile);
    }
    foreign.join().unwrap();
    let b = wait_lines(out, 1000 + 500, &f);
    let log = f.stop();
    assert!(!log.contains("ERROR"), "{log}");

    let (ours, theirs): (Vec<&[u8]>, Vec<&[u8]>) = b
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .partition(|l| !l.starts_with(b"foreign"));
    let want_foreign: Vec<Vec<u8>> =
        (0..500).map(|i| format!("foreign writer line {i}").into_bytes()).collect();
    assert_eq!(
        theirs,
        want_foreign.iter().map(|v| v.as_slice()).collect::<Vec<_>>(),
        "foreign lines intact and in order"
    );
    let mut all = Vec::new();
    for n in ["out.log.1", "out.log.2", "out.log.3", "out.log.4"] {
        all.extend(std::fs::read(d.join(n)).unwrap());
    }
    for l in ours {
        all.extend_from_slice(l);
        all.push(b'\n');
    }
    assert_same_lines(
        &all,
        &journalctl(&["-D", jdir.to_str().unwrap()], "short-iso", "UTC"),
        "rotated files + current",
    );

    // A restart resumes: the next entries are written once, nothing is replayed.
    let before = std::fs::read(out).unwrap();
    let f = Follower::start(&args, "UTC", d.join("stderr-2"));
    journal_remote(&numbered(1400, 10, T0), &jfile);
    let after = wait_lines(out, count_lines(&before) + 10, &f);
    std::thread::sleep(std::time::Duration::from_millis(300));
    f.stop();
    let after2 = std::fs::read(out).unwrap();
    assert_eq!(after, after2, "more lines than entries");
    assert!(after.starts_with(&before));
    assert_eq!(count_lines(&after[before.len()..]), 10);
}

#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
fn vacuumed_cursor_file_loses_nothing_after_it() {
    // Offline: the saved entry's file is gone at the next start.
    let l = Layout::new("vacuum");
    let (jdir, out) = (&l.jdir, &l.out);
    journal_remote(&numbered(0, 3, T0), &jdir.join("a.journal"));
    let args = l.args(&["--once", "--start-at", "head"]);
    run_ok(logger(&args, "UTC"));
    journal_remote(&numbered(3, 3, T0), &jdir.join("b.journal"));
    std::fs::remove_file(jdir.join("a.journal")).unwrap();
    let o = run_ok(logger(&args, "UTC"));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("no longer in the journal"), "the gap is logged:\n{log}");
    let got = String::from_utf8(std::fs::read(out).unwrap()).unwrap();
    let entries: Vec<&str> = got.lines().map(|l| l.rsplit(' ').next().unwrap()).collect();
    assert_eq!(entries, ["0", "1", "2", "3", "4", "5"], "{got}");
}

#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
#[cfg_attr(not(host_has = "journalctl"), ignore = "needs journalctl")]
fn journal_rotation_and_vacuum_while_following() {
    let l = Layout::new("jrotate");
    let (d, jdir, out) = (&l.dir, &l.jdir, &l.out);
    journal_remote(&numbered(0, 50, T0), &jdir.join("system.journal"));
    let args = l.args(&["--start-at", "head"]);
    let f = Follower::start(&args, "UTC", d.join("stderr"));
    wait_lines(out, 50, &f);
    // Rotation: the active file is archived, a new one starts.
    std::fs::rename(jdir.join("system.journal"), jdir.join("system@0001-archived.journal"))
        .unwrap();
    journal_remote(&numbered(50, 50, T0), &jdir.join("system.journal"));
    wait_lines(out, 100, &f);
    // Vacuum: the archive (holding entries already forwarded) disappears; more entries come.
    std::fs::remove_file(jdir.join("system@0001-archived.journal")).unwrap();
    journal_remote(&numbered(100, 50, T0), &jdir.join("system.journal"));
    // And the file holding the last written entry goes too, while new ones arrive elsewhere.
    std::fs::rename(jdir.join("system.journal"), jdir.join("system@0002-archived.journal"))
        .unwrap();
    journal_remote(&numbered(150, 50, T0), &jdir.join("system.journal"));
    wait_lines(out, 200, &f);
    std::fs::remove_file(jdir.join("system@0002-archived.journal")).unwrap();
    journal_remote(&numbered(200, 50, T0), &jdir.join("system.journal"));
    let b = wait_lines(out, 250, &f);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = f.stop();
    assert_eq!(std::fs::read(out).unwrap(), b, "no replay after the last entry");
    let got = String::from_utf8(b).unwrap();
    let n: Vec<u64> = got.lines().map(|l| l.rsplit(' ').next().unwrap().parse().unwrap()).collect();
    assert_eq!(n, (0..250).collect::<Vec<_>>(), "log:\n{log}");
}
