//! Against a real systemd-journald started in a private mount namespace (tests/journald/).

use crate::util::*;

fn cgroup2_root() -> &'static str {
    let is_cg2 = |p: &str| {
        let c = std::ffi::CString::new(p).unwrap();
        let mut s: libc::statfs = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::statfs(c.as_ptr(), &mut s) } == 0;
        ok && s.f_type == libc::CGROUP2_SUPER_MAGIC
    };
    if is_cg2("/sys/fs/cgroup/unified") {
        "/sys/fs/cgroup/unified"
    } else {
        "/sys/fs/cgroup"
    }
}

#[test]
#[cfg_attr(
    not(all(host_has = "unshare", host_has = "journald", host_has = "journalctl")),
    ignore = "needs root, unshare and systemd-journald (run make test as root)"
)]
fn real_journald_rotation_vacuum_restart() {
    let d = TestDir::new("journald");
    let unit = format!("f2b-logger-test-{}.service", std::process::id());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/journald/run.sh");
    let o = std::process::Command::new("unshare")
        .args([
            "-m",
            "--propagation",
            "private",
            "sh",
            script,
            bin(),
            d.path().to_str().unwrap(),
            &unit,
            cgroup2_root(),
        ])
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success() && text.contains("\nok\n"), "journald scenario failed:\n{text}");
    eprintln!("{text}");
}
