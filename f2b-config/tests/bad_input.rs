//! Bad input: one clear message, exit 2, nothing half-done.

use std::process::Command;

use crate::util::{f2b, Stage, INSTALL};

const JAIL: &str = "/etc/fail2ban/jail.d/50-f2b-sidecar.local";

#[test]
fn unknown_profile() {
    let s = Stage::new();
    let before = s.snapshot();
    s.f2b(&["install", "--profile", "paranoid"])
        .fails_with(2, "invalid value 'paranoid' for '--profile <PROFILE>'");
    before.assert_same(&s.snapshot(), "unknown profile");
}

#[test]
fn missing_or_non_directory_root() {
    f2b(&["install", "--root", "/nonexistent/f2b-root"])
        .fails_with(2, "--root /nonexistent/f2b-root: No such file or directory");
    let t = tempfile::NamedTempFile::new().unwrap();
    let p = t.path().display().to_string();
    f2b(&["install", "--root", &p]).fails_with(2, "not a directory");
    f2b(&["status", "--root", &p]).fails_with(2, "not a directory");
}

#[test]
#[cfg_attr(not(host_has = "unshare"), ignore = "needs root and unshare (a read-only bind mount)")]
fn unwritable_root_changes_nothing() {
    let s = Stage::new();
    let before = s.snapshot();
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", "mount --bind \"$1\" \"$1\" && mount -o remount,ro,bind \"$1\" && exec \"$0\" install --backend nftables --root \"$1\""])
        .arg(crate::util::bin())
        .arg(s.dir())
        .env_remove("SSH_CONNECTION")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("Read-only file system") && !err.contains("panicked"), "{err}");
    before.assert_same(&s.snapshot(), "read-only root");
}

#[test]
fn corrupt_manifest_is_refused_by_every_command() {
    let s = Stage::new();
    s.f2b(&INSTALL).ok();
    for (garbage, what) in [
        ("{\"format\": 1, \"phase\": \"installed\", \"profile\"", "EOF while parsing"),
        ("{\"format\": 2}", "format 2 is not 1"),
    ] {
        s.write("/var/lib/f2b-config/manifest.json", garbage, 0o600, 0);
        let before = s.snapshot();
        s.f2b(&INSTALL).fails_with(2, what).fails_with(2, "Nothing was changed");
        s.f2b(&["remove"]).fails_with(2, what);
        let st = s.f2b(&["status"]);
        assert_eq!(st.code, 1);
        assert!(st.stdout.contains("FAIL  manifest: manifest"), "{}", st.stdout);
        before.assert_same(&s.snapshot(), what);
    }
    // A backup that went missing is corruption too.
    let s = Stage::new();
    s.f2b(&INSTALL).ok();
    let m = s.read("/var/lib/f2b-config/manifest.json");
    assert!(m.contains("\"original\": null"));
    std::fs::remove_file(s.path("/var/lib/f2b-config/installed/etc/logrotate.d/f2b-sidecar"))
        .unwrap();
    s.f2b(&["remove"]).fails_with(2, "installed/etc/logrotate.d/f2b-sidecar is missing");
}

#[test]
fn a_file_changed_since_install_is_never_lost() {
    let s = Stage::new();
    let pristine = s.snapshot();
    s.f2b(&INSTALL).ok();
    let mine = s.read(JAIL) + "\n[sshd]\nmaxretry = 5\n";
    s.write(JAIL, &mine, 0o644, 0);
    let changed = s.snapshot();

    // install and remove refuse, changing nothing.
    s.f2b(&INSTALL).fails_with(
        2,
        "changed since f2b-config installed them: /etc/fail2ban/jail.d/50-f2b-sidecar.local",
    );
    s.f2b(&["remove"]).fails_with(2, "Re-run `f2b-config remove --yes`");
    changed.assert_same(&s.snapshot(), "refused");

    // install --yes keeps a copy and puts its own file back.
    let out = s.f2b(&["install", "--backend", "nftables", "--yes"]);
    out.ok();
    assert!(out.stdout.contains("kept your changed /etc/fail2ban/jail.d/50-f2b-sidecar.local as /var/lib/f2b-config/saved/"), "{}", out.stdout);
    assert!(!s.read(JAIL).contains("maxretry = 5"));
    let saved = saved_copies(&s);
    assert_eq!(saved.len(), 1);
    assert_eq!(std::fs::read_to_string(&saved[0]).unwrap(), mine);

    // remove --yes keeps a copy too, and the rest is the original tree.
    s.write(JAIL, &mine, 0o644, 0);
    s.f2b(&["remove", "--yes"]).ok();
    assert_eq!(saved_copies(&s).len(), 2);
    let left: Vec<String> = pristine
        .differences(&s.snapshot())
        .into_iter()
        .filter(|d| !d.contains("/var/lib/f2b-config"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

fn saved_copies(s: &Stage) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let dir = s.path("/var/lib/f2b-config/saved");
    for stamp in std::fs::read_dir(dir).unwrap() {
        let p = stamp.unwrap().path().join("etc/fail2ban/jail.d/50-f2b-sidecar.local");
        if p.exists() {
            out.push(p);
        }
    }
    out
}

#[test]
fn deleted_files_are_handled_without_losing_anything() {
    // A file f2b-config created and the admin deleted: nothing to keep, remove just goes on.
    let s = Stage::new();
    let before = s.snapshot();
    s.f2b(&INSTALL).ok();
    s.remove("/etc/logrotate.d/f2b-sidecar");
    s.f2b(&["remove"]).ok();
    before.assert_same(&s.snapshot(), "remove after deleting a created file");

    // An edited original the admin deleted: remove wants --yes, then restores the original.
    let s = Stage::new();
    let main =
        s.read("/etc/ssh/sshd_config").replace("Include /etc/ssh/sshd_config.d/*.conf\n", "");
    s.write("/etc/ssh/sshd_config", &main, 0o644, 0);
    let before = s.snapshot();
    s.f2b(&INSTALL).ok();
    s.remove("/etc/ssh/sshd_config");
    s.f2b(&["remove"])
        .fails_with(2, "changed since f2b-config installed them: /etc/ssh/sshd_config");
    s.f2b(&["remove", "--yes"]).ok();
    before.assert_same(&s.snapshot(), "original restored");
}

#[test]
fn remove_without_install() {
    let s = Stage::new();
    s.f2b(&["remove"]).fails_with(2, "f2b-config has not installed anything here");
}

#[test]
fn a_second_run_waits_for_the_lock() {
    let s = Stage::new();
    let before = s.snapshot();
    let dir = std::fs::File::open(s.dir()).unwrap();
    let lock = nix::fcntl::Flock::lock(dir, nix::fcntl::FlockArg::LockExclusiveNonblock)
        .map_err(|(_, e)| e)
        .unwrap();
    s.f2b(&INSTALL).fails_with(2, "lock held");
    before.assert_same(&s.snapshot(), "locked");
    drop(lock);
    s.f2b(&INSTALL).ok();
}

#[test]
fn symlinks_are_not_written_through() {
    let s = Stage::new();
    let target = s.dir().join("elsewhere");
    std::fs::create_dir(&target).unwrap();
    std::fs::remove_dir_all(s.path("/etc/logrotate.d")).unwrap();
    std::os::unix::fs::symlink(&target, s.path("/etc/logrotate.d")).unwrap();
    let before = s.snapshot();
    s.f2b(&INSTALL).fails_with(2, "logrotate.d: is a symlink (on the way to /etc/logrotate.d/f2b-sidecar); refusing to write there");
    before.assert_same(&s.snapshot(), "symlinked directory");

    let s = Stage::new();
    std::os::unix::fs::symlink("/etc/passwd", s.path("/etc/tmpfiles.d/f2b-sidecar.conf")).unwrap();
    s.f2b(&INSTALL).fails_with(2, "f2b-sidecar.conf: is a symlink");
}

#[test]
fn bad_ignoreip_and_logger_values() {
    let s = Stage::new();
    s.f2b(&["install", "--ignoreip", "1.2.3.4 5.6.7.8"])
        .fails_with(2, "--ignoreip \"1.2.3.4 5.6.7.8\"");
    s.f2b(&["install", "--logger", "f2b-logger"])
        .fails_with(2, "--logger f2b-logger: give an absolute path");
}
