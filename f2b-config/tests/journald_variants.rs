//! journald's effective levels across the main file and every drop-in directory.

use crate::util::{Stage, INSTALL};

const OURS: &str = "/etc/systemd/journald.conf.d/zz-f2b-sidecar.conf";

struct Variant {
    name: &'static str,
    files: &'static [(&'static str, &'static str)],
    /// Keys the drop-in must set (empty: no drop-in).
    raises: &'static [&'static str],
}

const VARIANTS: &[Variant] = &[
    Variant { name: "debian default", files: &[], raises: &[] },
    Variant {
        name: "ProxMenux-style warning in the main file",
        files: &[(
            "/etc/systemd/journald.conf",
            "[Journal]\nMaxLevelStore=warning\nMaxLevelSyslog=warning\n",
        )],
        raises: &["MaxLevelStore=info", "MaxLevelSyslog=info"],
    },
    Variant {
        name: "numeric level in /usr/lib, name in /run",
        files: &[
            ("/usr/lib/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nMaxLevelStore=4\n"),
            ("/run/systemd/journald.conf.d/60-rt.conf", "[Journal]\nMaxLevelSyslog=notice\n"),
        ],
        raises: &["MaxLevelStore=info", "MaxLevelSyslog=info"],
    },
    Variant {
        name: "notice is not enough, but only Store is low",
        files: &[(
            "/etc/systemd/journald.conf.d/10-x.conf",
            "[Journal]\nMaxLevelStore=notice\nMaxLevelSyslog=debug\n",
        )],
        raises: &["MaxLevelStore=info"],
    },
    Variant {
        name: "/etc masks /usr/lib's drop-in of the same name",
        files: &[
            ("/usr/lib/systemd/journald.conf.d/50-a.conf", "[Journal]\nMaxLevelStore=err\n"),
            ("/etc/systemd/journald.conf.d/50-a.conf", "[Journal]\nMaxLevelStore=info\n"),
        ],
        raises: &[],
    },
];

#[test]
fn raises_only_what_is_below_info_and_restores() {
    for v in VARIANTS {
        let s = Stage::new();
        for (p, t) in v.files {
            s.write(p, t, 0o644, 0);
        }
        let before = s.snapshot();
        let out = s.f2b(&INSTALL);
        out.ok();
        if v.raises.is_empty() {
            assert!(!s.exists(OURS), "{}: unexpected drop-in", v.name);
        } else {
            let d = s.read(OURS);
            for r in v.raises {
                assert!(d.contains(&format!("{r}\n")), "{}: lacks {r}:\n{d}", v.name);
            }
            assert_eq!(d.matches("=info").count(), v.raises.len(), "{}: {d}", v.name);
        }
        let st = s.f2b(&["status"]);
        assert!(
            st.stdout.contains("OK    journald MaxLevelStore")
                && st.stdout.contains("OK    journald MaxLevelSyslog"),
            "{}: {}",
            v.name,
            st.stdout
        );
        s.f2b(&["remove"]).ok();
        before.assert_same(&s.snapshot(), v.name);
    }
}

#[test]
fn a_later_drop_in_that_keeps_a_low_level_is_reported() {
    let s = Stage::new();
    s.write(
        "/etc/systemd/journald.conf.d/zzz-late.conf",
        "[Journal]\nMaxLevelStore=err\n",
        0o644,
        0,
    );
    let out = s.f2b(&INSTALL);
    out.ok();
    assert!(
        out.stderr.contains("zzz-late.conf:2 sorts after") && out.stderr.contains("edit it"),
        "{}",
        out.stderr
    );
    let st = s.f2b(&["status"]);
    assert_eq!(st.code, 1);
    assert!(
        st.stdout.contains(
            "FAIL  journald MaxLevelStore: err (/etc/systemd/journald.conf.d/zzz-late.conf:2)"
        ),
        "{}",
        st.stdout
    );
}
