// Shared by the build.rs of every crate whose tests need something from the host.
// `include!("../build-support/host_probe.rs")` then call `probe_host()` from `main`.
//
// Why at build time: cargo has no runtime "skip". A test that cannot run here must show up as
// *ignored* (cargo's "skipped"), never as passed, so each such test is written as
//
//     #[test]
//     #[cfg_attr(not(host_has = "root"), ignore = "needs root (run make test as root)")]
//
// and this probe emits `host_has="..."` for what this host really provides. `make test` installs
// the Debian packages before building, so the probe sees them.

#[allow(dead_code)]
fn probe_host() {
    use std::path::Path;
    use std::process::{Command, Stdio};

    let run_ok = |prog: &str, args: &[&str]| {
        Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let exists = |p: &str| Path::new(p).exists();
    let is_root = unsafe { libc_geteuid() } == 0;

    let probes: &[(&str, bool)] = &[
        ("root", is_root),
        // Private mount + network namespaces: what the journald and e2e tests use.
        ("unshare", is_root && run_ok("unshare", &["-m", "-n", "--propagation", "private", "true"])),
        ("fail2ban", exists("/usr/bin/fail2ban-regex") && exists("/usr/bin/fail2ban-client")),
        ("fail2ban_samples", exists("/usr/lib/python3/dist-packages/fail2ban/tests/files/logs/sshd")),
        ("journal_remote", exists("/lib/systemd/systemd-journal-remote")),
        ("journald", exists("/lib/systemd/systemd-journald")),
        ("journalctl", exists("/usr/bin/journalctl") || exists("/bin/journalctl")),
        ("sshd", exists("/usr/sbin/sshd")),
        ("nft", exists("/usr/sbin/nft")),
        ("logrotate", exists("/usr/sbin/logrotate")),
    ];
    let names: Vec<String> = probes.iter().map(|(n, _)| format!("\"{n}\"")).collect();
    println!("cargo::rustc-check-cfg=cfg(host_has, values({}))", names.join(","));
    for (name, ok) in probes {
        if *ok {
            println!("cargo::rustc-cfg=host_has=\"{name}\"");
        }
    }
    // Re-probe when any of these appear or disappear (a missing path always counts as changed).
    for p in [
        "/usr/bin/fail2ban-regex",
        "/lib/systemd/systemd-journal-remote",
        "/usr/sbin/sshd",
        "/usr/sbin/nft",
        "/usr/sbin/logrotate",
    ] {
        println!("cargo::rerun-if-changed={p}");
    }
    println!("cargo::rerun-if-changed=../build-support/host_probe.rs");
}

#[allow(dead_code)]
extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
