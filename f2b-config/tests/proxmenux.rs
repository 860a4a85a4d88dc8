//! Adopting a host where ProxMenux's Fail2Ban installer ran.

use crate::util::{Stage, INSTALL};
use f2b_config::proxmenux::{installer_files, installer_sshd_edit};

/// A Debian tree after ProxMenux's installer: its files, its sshd_config edit, and the
/// `MaxLevelStore=warning` its journald "optimisation" used to write.
fn proxmenux_tree(nftables: bool) -> Stage {
    let s = Stage::new();
    for (path, text, mode, group) in installer_files(nftables) {
        s.write(path, &text, mode, if group == "adm" { 4 } else { 0 });
    }
    let sshd = installer_sshd_edit(&s.read("/etc/ssh/sshd_config"));
    s.write("/etc/ssh/sshd_config", &sshd, 0o644, 0);
    let j = s
        .read("/etc/systemd/journald.conf")
        .replace("#MaxLevelStore=debug", "MaxLevelStore=warning");
    s.write("/etc/systemd/journald.conf", &j, 0o644, 0);
    s
}

#[test]
fn adopts_proxmenux_and_remove_gives_its_install_back() {
    for nft in [true, false] {
        let s = proxmenux_tree(nft);
        let before = s.snapshot();
        let out = s.f2b(&INSTALL);
        out.ok();
        assert!(out.stdout.contains("note: found a ProxMenux Fail2Ban install"), "{}", out.stdout);
        // Loggers switched to f2b-logger, log paths kept.
        let u = s.read("/etc/systemd/system/proxmox-auth-logger.service");
        assert!(
            u.contains("--route pvedaemon.service=/var/log/proxmox-auth.log")
                && !u.contains("journalctl"),
            "{u}"
        );
        assert!(!u.contains("PartOf="));
        // Its jail and filter files are moved aside; fail2ban >= 1.1.1's filter.d/proxmox.conf name is free.
        for p in [
            "/etc/fail2ban/jail.local",
            "/etc/fail2ban/jail.d/proxmox.conf",
            "/etc/fail2ban/jail.d/proxmenux.conf",
            "/etc/fail2ban/filter.d/proxmox.conf",
            "/etc/fail2ban/filter.d/proxmenux.conf",
        ] {
            assert!(!s.exists(p), "{p} should be moved aside");
        }
        // Its sshd edit and journald drop-in already do the job: untouched, no drop-ins of ours.
        assert!(!s.exists("/etc/ssh/sshd_config.d/00-f2b-sidecar.conf"));
        assert!(!s.exists("/etc/systemd/journald.conf.d/zz-f2b-sidecar.conf"));
        // Its saved original is the original, and its backup file stays.
        let m = s.read("/var/lib/f2b-config/manifest.json");
        assert!(m.contains("\"original_max_auth_tries\": 6") && m.contains("ProxMenux"), "{m}");
        assert!(s.exists("/usr/local/share/proxmenux/sshd_maxauthtries_backup"));
        // Existing logs are the admin's: not managed.
        assert!(!m.contains("/var/log/ssh-auth.log"), "{m}");
        assert!(m.contains("\"adopted\": true"), "{m}");

        let installed = s.snapshot();
        s.f2b(&INSTALL).ok();
        installed.assert_same(&s.snapshot(), "second install on the ProxMenux tree");
        s.f2b(&["remove"]).ok();
        before.assert_same(&s.snapshot(), "install + remove on the ProxMenux tree");
    }
}

#[test]
fn admin_addresses_in_proxmenux_jail_local_are_kept() {
    let s = proxmenux_tree(true);
    let jl = s.read("/etc/fail2ban/jail.local").replace(
        "ignoreip = 127.0.0.1/8 ::1",
        "ignoreip = 127.0.0.1/8 ::1 192.168.1.0/24 203.0.113.42",
    );
    s.write("/etc/fail2ban/jail.local", &jl, 0o644, 0);
    s.f2b(&INSTALL).ok();
    let jail = s.read("/etc/fail2ban/jail.d/50-f2b-sidecar.local");
    assert!(jail.contains("ignoreip = 127.0.0.1/8 ::1 192.168.1.0/24 203.0.113.42\n"), "{jail}");
}

#[test]
fn changed_proxmenux_jail_local_stays_in_place() {
    let s = proxmenux_tree(true);
    let jl = s.read("/etc/fail2ban/jail.local") + "\n[nginx-http-auth]\nenabled = true\n";
    s.write("/etc/fail2ban/jail.local", &jl, 0o644, 0);
    let out = s.f2b(&INSTALL);
    out.ok();
    assert_eq!(s.read("/etc/fail2ban/jail.local"), jl);
    assert!(
        out.stderr.contains("jail.local was written by ProxMenux and changed since: left in place"),
        "{}",
        out.stderr
    );
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "unshare")),
    ignore = "needs root, unshare and fail2ban (apt-get install fail2ban)"
)]
fn adopted_configuration_passes_fail2ban_client_t() {
    let s = proxmenux_tree(true);
    s.f2b(&INSTALL).ok();
    let r = s.fail2ban_test();
    assert!(r.code == 0 && r.stdout.contains("OK: configuration test is successful"), "{r:?}");
}
