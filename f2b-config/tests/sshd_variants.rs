//! MaxAuthTries on sshd_config variants: effective 3 afterwards (by f2b-config's reading and,
//! where it runs here, by the real `sshd -T`), reinstall identical, remove byte-exact.

use crate::util::{can_run_sshd, Stage, INSTALL};
use f2b_config::root::Root;
use f2b_config::sshd;
use f2b_config::view::View;

struct Variant {
    name: &'static str,
    /// Turns Debian's pristine sshd_config into the variant.
    main: fn(&str) -> String,
    dropins: &'static [(&'static str, &'static str)],
    /// The file f2b-config writes, `None` when nothing needs changing.
    edits: Option<&'static str>,
}

fn no_include(t: &str) -> String {
    t.replace("Include /etc/ssh/sshd_config.d/*.conf\n", "")
}

const DROPIN: &str = "/etc/ssh/sshd_config.d/00-f2b-sidecar.conf";
const MAIN: &str = "/etc/ssh/sshd_config";

const VARIANTS: &[Variant] = &[
    Variant { name: "debian default", main: |t| t.to_string(), dropins: &[], edits: Some(DROPIN) },
    Variant { name: "commented, no include", main: no_include, dropins: &[], edits: Some(MAIN) },
    Variant {
        name: "indented",
        main: |t| no_include(t).replace("#MaxAuthTries 6", "    MaxAuthTries 6"),
        dropins: &[],
        edits: Some(MAIN),
    },
    Variant {
        name: "mixed case with =",
        main: |t| no_include(t).replace("#MaxAuthTries 6", "maxAUTHtries=10"),
        dropins: &[],
        edits: Some(MAIN),
    },
    Variant {
        name: "only inside a Match block",
        main: |t| {
            no_include(t).replace("#MaxAuthTries 6\n", "")
                + "Match User backup\n\tMaxAuthTries 10\n"
        },
        dropins: &[],
        edits: Some(MAIN),
    },
    Variant {
        name: "after a Match block",
        main: |t| {
            no_include(t)
                + "Match Address 10.0.0.0/8\n    PasswordAuthentication yes\nMaxAuthTries 8\n"
        },
        dropins: &[],
        edits: Some(MAIN),
    },
    Variant {
        name: "set before the Include",
        main: |t| {
            t.replace(
                "Include /etc/ssh/sshd_config.d/*.conf\n",
                "MaxAuthTries 6\nInclude /etc/ssh/sshd_config.d/*.conf\n",
            )
        },
        dropins: &[],
        edits: Some(MAIN),
    },
    Variant {
        name: "with a later drop-in",
        main: |t| t.to_string(),
        dropins: &[(
            "/etc/ssh/sshd_config.d/10-local.conf",
            "PasswordAuthentication no\nMaxAuthTries 5\n",
        )],
        edits: Some(DROPIN),
    },
    Variant {
        name: "with an earlier drop-in",
        main: |t| t.to_string(),
        dropins: &[("/etc/ssh/sshd_config.d/00-aaa.conf", "# site policy\nmaxauthtries 10\n")],
        edits: Some("/etc/ssh/sshd_config.d/00-aaa.conf"),
    },
    Variant {
        name: "already low in a drop-in",
        main: |t| t.to_string(),
        dropins: &[("/etc/ssh/sshd_config.d/10-hard.conf", "MaxAuthTries 2\n")],
        edits: None,
    },
];

fn effective(s: &Stage) -> u32 {
    let root = Root::staged(s.dir()).unwrap();
    let view = View::disk(&root);
    sshd::effective_max_auth_tries(&sshd::directives(&view, sshd::MAIN).unwrap()).value
}

fn run_variant(v: &Variant, real_sshd: bool) {
    let s = Stage::new();
    let main = (v.main)(&s.read(MAIN));
    s.write(MAIN, &main, 0o644, 0);
    for (p, t) in v.dropins {
        s.write(p, t, 0o600, 0);
    }
    let before = s.snapshot();
    let f2b = |args: &[&str]| if real_sshd { s.f2b_ns(args) } else { s.f2b(args) };
    let out = f2b(&INSTALL);
    out.ok();
    let want = if v.edits.is_some() { 3 } else { 2 };
    assert_eq!(effective(&s), want, "{}: effective after install\n{}", v.name, out.stdout);
    let changed: Vec<String> = before
        .differences(&s.snapshot())
        .into_iter()
        .filter(|d| d.contains("/etc/ssh/") && !d.contains("/var/lib/"))
        .collect();
    match v.edits {
        Some(path) => {
            assert_eq!(changed.len(), 1, "{}: {changed:?}", v.name);
            assert!(
                changed[0].ends_with(path) || changed[0].contains(&format!("{path} ")),
                "{}: {changed:?}",
                v.name
            );
        }
        None => assert!(changed.is_empty(), "{}: {changed:?}", v.name),
    }
    // An edited file keeps its mode and owner; its original is in the backup, and stays the
    // first backup when a reinstall (here: another profile) edits it again.
    if let Some(p) = v.edits.filter(|p| *p != DROPIN) {
        assert_eq!(before.0[p].1, s.snapshot().0[p].1, "{}: mode of {p}", v.name);
        let backup = format!("/var/lib/f2b-config/backup{p}");
        assert_eq!(s.snapshot().0[&backup].4, before.0[p].4, "{}: backup of {p}", v.name);
        f2b(&["install", "--profile", "strict", "--backend", "nftables"]).ok();
        assert_eq!(s.snapshot().0[&backup].4, before.0[p].4, "{}: backup after reinstall", v.name);
        f2b(&INSTALL).ok();
    }
    if real_sshd {
        let st = f2b(&["status"]);
        assert!(
            st.stdout.contains(&format!("sshd MaxAuthTries: {want} (sshd -T)")),
            "{}: {}",
            v.name,
            st.stdout
        );
        assert!(!out.stderr.contains("sshd -t not run"), "{}: {}", v.name, out.stderr);
    }
    let installed = s.snapshot();
    f2b(&INSTALL).ok();
    installed.assert_same(&s.snapshot(), &format!("{}: second install", v.name));
    f2b(&["remove"]).ok();
    before.assert_same(&s.snapshot(), &format!("{}: install + remove", v.name));
}

#[test]
fn every_variant_gets_max_auth_tries_3_and_is_restored_byte_exactly() {
    for v in VARIANTS {
        run_variant(v, false);
    }
}

#[test]
#[cfg_attr(
    not(all(host_has = "unshare", host_has = "sshd")),
    ignore = "needs root, unshare and sshd (apt-get install openssh-server)"
)]
fn real_sshd_agrees_on_every_variant() {
    assert!(can_run_sshd());
    for v in VARIANTS {
        run_variant(v, true);
    }
}
