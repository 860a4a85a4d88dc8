//! Install, reinstall, remove on the pristine Debian 12 tree.

use crate::util::{f2b, f2b_env, Stage, INSTALL};

#[test]
fn install_twice_is_identical_and_remove_restores_every_byte() {
    for (profile, backend) in
        [("proxmenux", "nftables"), ("proxmenux", "iptables"), ("strict", "nftables")]
    {
        let s = Stage::new();
        let before = s.snapshot();
        let args = ["install", "--profile", profile, "--backend", backend];
        let out = s.f2b(&args);
        out.ok();
        assert!(
            out.stdout.contains("created /etc/fail2ban/jail.d/50-f2b-sidecar.local"),
            "{}",
            out.stdout
        );
        let first = s.snapshot();
        s.f2b(&args).ok();
        first.assert_same(&s.snapshot(), &format!("{profile}/{backend}: second install"));
        s.f2b(&["remove"]).ok();
        before.assert_same(&s.snapshot(), &format!("{profile}/{backend}: install + remove"));
    }
}

#[test]
fn installs_the_seed_values_under_names_of_its_own() {
    let s = Stage::new();
    s.f2b(&INSTALL).ok();
    let jail = s.read("/etc/fail2ban/jail.d/50-f2b-sidecar.local");
    for want in [
        "ignoreip = 127.0.0.1/8 ::1\n",
        "ignoreself = true\nbantime = 86400\nmaxretry = 2\nfindtime = 1800\n",
        "banaction = nftables\nbanaction_allports = nftables[type=allports]\n",
        "[sshd]\nenabled = true\nfilter = f2b-sshd[mode=aggressive]\nbackend = auto\nlogpath = /var/log/ssh-auth.log\nport = ssh\nmaxretry = 2\nfindtime = 3600\nbantime = 32400\n",
        "[proxmox]\nenabled = true\nfilter = f2b-proxmox\nbackend = auto\nlogpath = /var/log/proxmox-auth.log\nport = 8006\nmaxretry = 3\nfindtime = 600\nbantime = 3600\n",
        "[proxmenux]\nenabled = true\nfilter = f2b-proxmenux\nbackend = auto\nlogpath = /var/log/proxmenux-auth.log\nport = 8008,http,https\nmaxretry = 3\nfindtime = 600\nbantime = 3600\n",
    ] {
        assert!(jail.contains(want), "jail file lacks {want:?}:\n{jail}");
    }
    // Never fail2ban's own names, never jail.local.
    assert!(
        !s.exists("/etc/fail2ban/filter.d/proxmox.conf") && !s.exists("/etc/fail2ban/jail.local")
    );
    for f in ["f2b-proxmox", "f2b-sshd", "f2b-proxmenux"] {
        assert!(s.exists(&format!("/etc/fail2ban/filter.d/{f}.conf")));
    }
    let unit = s.read("/etc/systemd/system/proxmox-auth-logger.service");
    for want in [
        "Type=notify\n",
        "ExecStart=/usr/local/bin/f2b-logger --route pvedaemon.service=/var/log/proxmox-auth.log --state-dir /var/lib/f2b-logger/proxmox-auth-logger --format short-iso\n",
        "ReadWritePaths=/var/log/proxmox-auth.log\n",
        "ProtectSystem=strict\n",
        "NoNewPrivileges=yes\n",
        "Before=fail2ban.service\n",
        "WantedBy=multi-user.target\n",
    ] {
        assert!(unit.contains(want), "unit lacks {want:?}:\n{unit}");
    }
    assert!(!unit.contains("PartOf="), "{unit}");
    let ssh_unit = s.read("/etc/systemd/system/ssh-auth-logger.service");
    assert!(ssh_unit.contains("--route ssh.service=/var/log/ssh-auth.log"), "{ssh_unit}");
    // Log files exist, 0640 root:adm.
    use std::os::unix::fs::MetadataExt;
    for log in ["/var/log/ssh-auth.log", "/var/log/proxmox-auth.log", "/var/log/proxmenux-auth.log"]
    {
        let md = s.path(log).metadata().unwrap();
        assert_eq!((md.mode() & 0o7777, md.uid(), md.gid()), (0o640, 0, 4), "{log}");
    }
    let manifest = s.read("/var/lib/f2b-config/manifest.json");
    assert!(
        manifest.contains("\"mode\": \"0644\"") && manifest.contains("\"phase\": \"installed\""),
        "{manifest}"
    );
}

#[test]
fn strict_profile_is_the_hardening_guide() {
    let s = Stage::new();
    s.f2b(&["install", "--profile", "strict", "--backend", "iptables"]).ok();
    let jail = s.read("/etc/fail2ban/jail.d/50-f2b-sidecar.local");
    assert!(jail.contains("[pam-generic]\nenabled = true\nfilter = pam-generic\nbackend = systemd\nbanaction = %(banaction_allports)s\nmaxretry = 1\nfindtime = 14d\nbantime = 30d\n"), "{jail}");
    assert!(
        jail.contains("[proxmox]\nenabled = true\nfilter = f2b-proxmox\nbackend = auto\n"),
        "{jail}"
    );
    assert!(
        !jail.contains("[proxmenux]") && !s.exists("/etc/fail2ban/filter.d/f2b-proxmenux.conf")
    );
    assert!(!s.exists("/var/log/proxmenux-auth.log"));
}

#[test]
fn switching_profiles_puts_back_what_the_old_one_changed() {
    let s = Stage::new();
    let before = s.snapshot();
    s.f2b(&INSTALL).ok();
    s.f2b(&["install", "--profile", "strict", "--backend", "nftables"]).ok();
    assert!(!s.exists("/etc/fail2ban/filter.d/f2b-proxmenux.conf"));
    assert!(!s.exists("/var/log/proxmenux-auth.log"), "the empty log the old profile created goes");
    let strict = s.snapshot();
    // Same as a fresh strict install.
    let t = Stage::new();
    t.f2b(&["install", "--profile", "strict", "--backend", "nftables"]).ok();
    let d: Vec<String> = strict
        .differences(&t.snapshot())
        .into_iter()
        .filter(|d| !d.contains("/var/lib/f2b-config/manifest.json"))
        .collect();
    assert!(d.is_empty(), "{d:?}");
    s.f2b(&["remove"]).ok();
    before.assert_same(&s.snapshot(), "after switching and removing");
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let s = Stage::new();
    let before = s.snapshot();
    let out = s.f2b(&["install", "--backend", "nftables", "--dry-run"]);
    out.ok();
    for want in [
        "--- /dev/null\n+++ b/etc/fail2ban/jail.d/50-f2b-sidecar.local\n",
        "+filter = f2b-sshd[mode=aggressive]\n",
        "+++ b/etc/ssh/sshd_config.d/00-f2b-sidecar.conf\n",
        "+MaxAuthTries 3\n",
        "new file /var/log/ssh-auth.log (mode 0640, owner 0:4)",
        "dry run: nothing was written",
    ] {
        assert!(out.stdout.contains(want), "lacks {want:?}:\n{}", out.stdout);
    }
    before.assert_same(&s.snapshot(), "dry run");
    s.f2b(&INSTALL).ok();
    let installed = s.snapshot();
    let out = s.f2b(&["remove", "--dry-run"]);
    out.ok();
    assert!(
        out.stdout.contains("+++ /dev/null") && out.stdout.contains("-MaxAuthTries 3"),
        "{}",
        out.stdout
    );
    installed.assert_same(&s.snapshot(), "remove --dry-run");
}

#[test]
fn status_reports_each_item() {
    let s = Stage::new();
    let out = s.f2b(&["status", "--json"]);
    assert_eq!(out.code, 1, "not installed is a FAIL: {}", out.stdout);
    s.f2b(&INSTALL).ok();
    let out = s.f2b(&["status", "--json"]);
    out.ok();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let items = v["items"].as_array().unwrap();
    let state = |name: &str| {
        items
            .iter()
            .find(|i| i["item"] == name)
            .map(|i| i["state"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no {name}: {}", out.stdout))
    };
    assert_eq!(state("manifest"), "ok");
    assert_eq!(state("files"), "ok");
    assert_eq!(state("journald MaxLevelStore"), "ok");
    assert_eq!(state("sshd MaxAuthTries"), "ok");
    assert_eq!(state("jail sshd"), "skip");
    assert_eq!(state("logger proxmox-auth-logger.service"), "skip");
    assert!(items.iter().any(|i| i["item"] == "filter proxmox"));
    // A user edit shows up as WARN.
    let p = "/etc/fail2ban/jail.d/50-f2b-sidecar.local";
    s.write(p, &(s.read(p) + "# mine\n"), 0o644, 0);
    let text = s.f2b(&["status"]);
    assert!(
        text.stdout.contains(
            "WARN  files: changed since install: /etc/fail2ban/jail.d/50-f2b-sidecar.local"
        ),
        "{}",
        text.stdout
    );
}

#[test]
fn self_ban_guard_adds_the_ssh_client_with_yes_and_keeps_it() {
    let s = Stage::new();
    let before = s.snapshot();
    let root = s.root_arg();
    let env = [("SSH_CONNECTION", "203.0.113.9 50000 192.0.2.1 22")];
    let out = f2b_env(&["install", "--backend", "nftables", "--root", &root], &env);
    out.ok();
    assert!(out.stderr.contains("203.0.113.9, not in ignoreip: --yes adds it"), "{}", out.stderr);
    assert!(!s.read("/etc/fail2ban/jail.d/50-f2b-sidecar.local").contains("203.0.113.9"));
    f2b_env(&["install", "--backend", "nftables", "--yes", "--root", &root], &env).ok();
    let jail = s.read("/etc/fail2ban/jail.d/50-f2b-sidecar.local");
    assert!(jail.contains("ignoreip = 127.0.0.1/8 ::1 203.0.113.9\n"), "{jail}");
    // Covered addresses are not proposed; a later run from elsewhere keeps the added one.
    let out = f2b_env(
        &["install", "--backend", "nftables", "--root", &root],
        &[("SSH_CONNECTION", "::ffff:127.0.0.5 1 ::1 22")],
    );
    out.ok();
    assert!(!out.stderr.contains("not in ignoreip"), "{}", out.stderr);
    assert!(s.read("/etc/fail2ban/jail.d/50-f2b-sidecar.local").contains("203.0.113.9"));
    s.f2b(&["remove"]).ok();
    before.assert_same(&s.snapshot(), "remove");
}

#[test]
fn ignoreip_flags_and_earlier_entries_are_kept() {
    let s = Stage::new();
    s.write(
        "/etc/fail2ban/jail.local",
        "[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 192.168.1.0/24\ndestemail = me@example.org\n",
        0o644,
        0,
    );
    let before = s.snapshot();
    s.f2b(&[
        "install",
        "--backend",
        "nftables",
        "--ignoreip",
        "10.0.0.0/8",
        "--ignoreip",
        "admin.example.org",
    ])
    .ok();
    let jail = s.read("/etc/fail2ban/jail.d/50-f2b-sidecar.local");
    assert!(
        jail.contains("ignoreip = 127.0.0.1/8 ::1 192.168.1.0/24 10.0.0.0/8 admin.example.org\n"),
        "{jail}"
    );
    // The admin's jail.local is never touched.
    assert_eq!(
        s.read("/etc/fail2ban/jail.local"),
        "[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 192.168.1.0/24\ndestemail = me@example.org\n"
    );
    s.f2b(&["remove"]).ok();
    before.assert_same(&s.snapshot(), "remove");
}

#[test]
fn sshd_on_another_port_is_banned_on_that_port() {
    let s = Stage::new();
    let main = s.read("/etc/ssh/sshd_config").replace("#Port 22", "Port 2222");
    s.write("/etc/ssh/sshd_config", &main, 0o644, 0);
    s.f2b(&INSTALL).ok();
    assert!(s.read("/etc/fail2ban/jail.d/50-f2b-sidecar.local").contains("[sshd]\nenabled = true\nfilter = f2b-sshd[mode=aggressive]\nbackend = auto\nlogpath = /var/log/ssh-auth.log\nport = 2222\n"));
}

#[test]
fn logs_with_lines_are_never_truncated_nor_deleted() {
    let s = Stage::new();
    s.f2b(&INSTALL).ok();
    s.write("/var/log/ssh-auth.log", "2026-01-01T00:00:00+0100 pve sshd[1]: Failed password for root from 192.0.2.1 port 1 ssh2\n", 0o640, 4);
    s.f2b(&INSTALL).ok();
    assert!(s.read("/var/log/ssh-auth.log").contains("Failed password"));
    let out = s.f2b(&["remove"]);
    out.ok();
    assert!(
        out.stdout.contains("note: keeping /var/log/ssh-auth.log: it has lines in it"),
        "{}",
        out.stdout
    );
    assert!(s.exists("/var/log/ssh-auth.log") && !s.exists("/var/log/proxmox-auth.log"));
}

#[test]
fn render_writes_the_profile_files() {
    let t = tempfile::tempdir().unwrap();
    let out = f2b(&[
        "render",
        "--profile",
        "strict",
        "--backend",
        "iptables",
        "--out",
        &t.path().display().to_string(),
    ]);
    out.ok();
    let jail =
        std::fs::read_to_string(t.path().join("etc/fail2ban/jail.d/50-f2b-sidecar.local")).unwrap();
    assert!(
        jail.contains("banaction = iptables-multiport\n") && jail.contains("[pam-generic]"),
        "{jail}"
    );
    for f in [
        "etc/fail2ban/filter.d/f2b-sshd.conf",
        "etc/fail2ban/filter.d/f2b-proxmox.conf",
        "etc/systemd/system/proxmox-auth-logger.service",
        "etc/systemd/system/ssh-auth-logger.service",
        "etc/logrotate.d/f2b-sidecar",
        "etc/tmpfiles.d/f2b-sidecar.conf",
    ] {
        assert!(t.path().join(f).is_file(), "{f}");
    }
    assert!(!t.path().join("etc/fail2ban/filter.d/f2b-proxmenux.conf").exists());
}
