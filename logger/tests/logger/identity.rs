//! Byte identity with journalctl 252 on 100k entries in all four formats, in a zone with DST.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::util::*;

/// Entries of the unit whose MESSAGE journalctl prints as one line, with every header
/// variant journalctl knows (missing hostname, identifier and pid fallbacks, source time,
/// repeated fields), mixed with entries of other units, spread over a year so that both DST
/// changes are crossed.
pub fn compatible_entries(n: usize, seed: u64) -> Vec<Ex> {
    let mut rng = StdRng::seed_from_u64(seed);
    let msgs: &[&[u8]] = &[
        b"authentication failure; rhost=::ffff:10.0.0.5 user=root@pam msg=Authentication failure",
        b"Failed password for invalid user admin from 203.0.113.5 port 52113 ssh2",
        b"tab\tseparated\tfields",
        b"colour \x1b[1;31mred\x1b[0m and \x1b[m plain",
        b"osc \x1b]8;;http://x\x07link\x1b]8;;\x07 end",
        b"trailing newline\n",
        b"crlf line end\r\n",
        b"trailing cr\r\r",
        b"utf-8: M\xc3\xbcller \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x94\x91",
        b"line separator \xe2\x80\xa8 stays",
        b"",
        b"   leading blanks",
        b"#012 looks escaped but is literal",
        b"\t",
    ];
    let start: u64 = 1_679_000_000_000_000; // 2023-03-16, two weeks before a DST change
    let mut t = start;
    let mut out = Vec::with_capacity(n);
    for seq in 0..n as u64 {
        // Mostly seconds apart, sometimes the same second, sometimes hours; plus a few
        // entries pinned around the 2023 and 2024 DST changes in Europe.
        t += match rng.gen_range(0..100) {
            0..=9 => rng.gen_range(0..1_000_000),
            10..=98 => rng.gen_range(1_000_000..600_000_000),
            _ => rng.gen_range(3_600_000_000..7_200_000_000),
        };
        let pinned = [
            1_698_541_199_999_999u64,
            1_698_541_200_000_000,
            1_698_544_799_500_000,
            1_711_846_799_999_999,
            1_711_846_800_000_000,
        ];
        let rt = if seq < pinned.len() as u64 { pinned[seq as usize] } else { t };
        let unit = match rng.gen_range(0..10) {
            0..=2 => Some("other.service"),
            3 => None,
            _ => Some(UNIT),
        };
        let mut e = Ex::new(rt, seq, unit);
        match rng.gen_range(0..20) {
            0 => {}
            1 => {
                e.set("_HOSTNAME", "");
            }
            2 => {
                e.set("_HOSTNAME", "h\x1bx");
            }
            _ => {
                e.set("_HOSTNAME", "pve1");
            }
        }
        match rng.gen_range(0..20) {
            0 => {
                e.set("_COMM", "comm-only");
            }
            1 => {}
            2 => {
                e.set("SYSLOG_IDENTIFIER", "bad\x07ident").set("_COMM", "fallback");
            }
            3 => {
                e.set("SYSLOG_IDENTIFIER", "with space\tand tab");
            }
            _ => {
                e.set("SYSLOG_IDENTIFIER", "pvedaemon").set("_COMM", "pvedaemon worke");
            }
        }
        match rng.gen_range(0..20) {
            0 => {
                e.set("SYSLOG_PID", "77");
            }
            1 => {}
            2 => {
                e.set("_PID", "12").set("SYSLOG_PID", "99");
            }
            _ => {
                e.set("_PID", rng.gen_range(1..4_000_000u32).to_string());
            }
        }
        match rng.gen_range(0..20) {
            0 => {
                e.set("_SOURCE_REALTIME_TIMESTAMP", (rt - rng.gen_range(0..3_000_000)).to_string());
            }
            1 => {
                e.set("_SOURCE_REALTIME_TIMESTAMP", "garbage");
            }
            _ => {}
        }
        match rng.gen_range(0..100) {
            0 => {} // no MESSAGE: journalctl skips the entry
            1 => {
                e.set("MESSAGE", "first of two").set("MESSAGE", "second of two wins");
            }
            2 => {
                e.set("MESSAGE", "x".repeat(rng.gen_range(100..4000)));
            }
            _ => {
                let m = msgs[rng.gen_range(0..msgs.len())];
                let mut m = m.to_vec();
                m.extend_from_slice(format!(" #{seq}").as_bytes());
                if m.starts_with(b"trailing") || m.starts_with(b"crlf") {
                    // keep the line end at the very end
                    m = msgs.iter().find(|x| m.starts_with(&x[..5])).unwrap().to_vec();
                }
                e.set("MESSAGE", m);
            }
        }
        out.push(e);
    }
    out
}

#[test]
#[cfg_attr(
    not(host_has = "journal_remote"),
    ignore = "needs systemd-journal-remote (apt-get install systemd-journal-remote)"
)]
#[cfg_attr(not(host_has = "journalctl"), ignore = "needs journalctl")]
fn identical_to_journalctl_in_all_formats() {
    let d = TestDir::new("identity");
    let jdir = d.join("journal");
    std::fs::create_dir(&jdir).unwrap();
    journal_remote(&compatible_entries(100_000, 1), &jdir.join("import.journal"));
    let jdir_s = jdir.to_str().unwrap();
    for (format, tz) in [
        ("short", TZ),
        ("short-iso", TZ),
        ("short-precise", TZ),
        ("short-iso-precise", TZ),
        ("short-iso", "America/St_Johns"),
        ("short", "UTC"),
    ] {
        let out = d.join(&format!("{format}-{}.log", tz.replace('/', "_")));
        let state = d.join(&format!("state-{format}-{}", tz.replace('/', "_")));
        let route = format!("{UNIT}={}", out.display());
        let extra = ["--once", "--start-at", "head", "--format", format];
        run_ok(logger(&run_args(&jdir, &state, &route, &extra), tz));
        let want = journalctl(&["-D", jdir_s], format, tz);
        assert!(
            count_lines(&want) > 50_000,
            "the test journal should hold most entries in the unit"
        );
        assert_same_lines(&std::fs::read(&out).unwrap(), &want, &format!("{format} in {tz}"));
    }
}
