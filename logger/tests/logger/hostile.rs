//! Hostile messages and header fields: one line per entry, each starting with that entry's
//! own header, so no byte of a message can forge a line fail2ban would read.

use crate::util::*;

const FORGED: &str = "2024-01-01T00:00:00+0000 pve1 pvedaemon[999999]: authentication failure; rhost=198.51.100.7 user=root@pam msg=x";

fn hostile_messages() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        format!("x\n{FORGED}").into_bytes(),
        format!("x\r{FORGED}").into_bytes(),
        format!("x\r\n{FORGED}\n").into_bytes(),
        format!("\n{FORGED}").into_bytes(),
        format!("x\n\n\n{FORGED}\n\n").into_bytes(),
        format!("x\x0b{FORGED}").into_bytes(),
        format!("x\x0c{FORGED}").into_bytes(),
        format!("x\x1b[2K\r{FORGED}").into_bytes(),
        format!("x\x1bE{FORGED}").into_bytes(),
        format!("x\x00{FORGED}").into_bytes(),
        format!("x\u{85}{FORGED}").into_bytes(),
        b"bad \xff\xfe utf-8 \xc0\xaf".to_vec(),
        b"\x07\x08\x7f controls".to_vec(),
        (0u8..=255).collect(),
    ];
    let mut long = b"long\n".to_vec();
    long.extend_from_slice(&[b'y'; 100_000]);
    v.push(long);
    v.push(vec![b'\n'; 5000]);
    v
}

#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
#[cfg_attr(not(host_has = "journalctl"), ignore = "needs journalctl")]
fn one_line_per_entry_nothing_forged() {
    let d = TestDir::new("hostile");
    let jfile = d.join("h.journal");
    let t0 = 1_700_000_000_000_000u64;
    let mut entries = Vec::new();
    let msgs = hostile_messages();
    for (i, m) in msgs.iter().enumerate() {
        // Also hostile identifiers and pids (journalctl prints a LF in them raw).
        let mut e = Ex::new(t0 + i as u64 * 1_000_000, i as u64, Some(UNIT));
        e.set("_HOSTNAME", "pve1").set("_PID", i.to_string()).set("MESSAGE", m);
        entries.push(e);
        let mut e = Ex::new(t0 + i as u64 * 1_000_000 + 1, 10_000 + i as u64, Some(UNIT));
        e.set("_HOSTNAME", "pve1")
            .set("SYSLOG_IDENTIFIER", format!("id\n{FORGED}"))
            .set("SYSLOG_PID", format!("1\n{FORGED}"))
            .set("MESSAGE", m);
        entries.push(e);
    }
    journal_remote(&entries, &jfile);
    let out = d.join("out.log");
    let route = format!("{UNIT}={}", out.display());
    let args = run_args(&jfile, &d.join("st"), &route, &["--once", "--start-at", "head"]);
    run_ok(logger(&args, "UTC"));
    let got = std::fs::read(&out).unwrap();
    let lines: Vec<&[u8]> = got.strip_suffix(b"\n").unwrap().split(|&b| b == b'\n').collect();
    assert_eq!(lines.len(), entries.len(), "one line per entry");
    for (i, line) in lines.iter().enumerate() {
        let s = String::from_utf8(line.to_vec()).expect("output is valid UTF-8");
        assert!(!s.contains('\r'), "line {i} holds a CR: {s:?}");
        let sec = (t0 / 1_000_000) as i64 + (i / 2) as i64;
        let ts = jiff::Timestamp::from_second(sec)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%S+0000")
            .to_string();
        let header = if i % 2 == 0 {
            format!("{ts} pve1 unknown[{}]: ", i / 2)
        } else {
            format!("{ts} pve1 id#012{FORGED}[1#012{FORGED}]: ")
        };
        assert!(
            s.starts_with(&header),
            "line {i} does not start with its own header:\n{s:?}\n{header:?}"
        );
        assert!(s.len() <= header.len() + 16 * 1024 + 20, "line {i} is not cut: {} bytes", s.len());
    }
    // The first message, unescaped, is what was logged (trailing line ends aside).
    assert!(got.starts_with(
        format!(
            "{} pve1 unknown[0]: x#012{FORGED}\n",
            lines[0]
                .split(|&b| b == b' ')
                .next()
                .map(|t| String::from_utf8_lossy(t).into_owned())
                .unwrap()
        )
        .as_bytes()
    ));
    // journalctl, for contrast, prints the forged line at the start of a line of its own.
    let jc = journalctl(&["--file", jfile.to_str().unwrap()], "short-iso", "UTC");
    assert!(jc
        .split(|&b| b == b'\n')
        .any(|l| l.starts_with(FORGED.as_bytes())
            || l.trim_ascii_start().starts_with(FORGED.as_bytes())));
}
