//! The generated files checked by the real tools: fail2ban-client -t, sshd -t / -T,
//! logrotate, systemd-analyze; and the rollback when sshd -t fails.

use crate::util::{Stage, INSTALL};

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "unshare")),
    ignore = "needs root, unshare and fail2ban (apt-get install fail2ban)"
)]
fn generated_configuration_passes_fail2ban_client_t() {
    for profile in ["proxmenux", "strict"] {
        for backend in ["nftables", "iptables"] {
            let s = Stage::new();
            s.f2b(&["install", "--profile", profile, "--backend", backend]).ok();
            let r = s.fail2ban_test();
            assert!(
                r.code == 0 && r.stdout.contains("OK: configuration test is successful"),
                "{profile}/{backend}: {r:?}"
            );
        }
    }
}

#[test]
#[cfg_attr(
    not(all(host_has = "sshd", host_has = "unshare")),
    ignore = "needs root, unshare and sshd (apt-get install openssh-server)"
)]
fn staged_sshd_config_passes_sshd_t_with_max_auth_tries_3() {
    let s = Stage::new();
    let out = s.f2b_ns(&INSTALL);
    out.ok();
    assert!(
        !out.stderr.contains("sshd -t not run") && !out.stderr.contains("sshd -T not run"),
        "sshd checks must have run: {}",
        out.stderr
    );
    let st = s.f2b_ns(&["status"]);
    assert!(
        st.stdout.contains("OK    sshd MaxAuthTries: 3 (sshd -T), original 6 (sshd -T)"),
        "{}",
        st.stdout
    );
}

#[test]
#[cfg_attr(
    not(all(host_has = "sshd", host_has = "unshare")),
    ignore = "needs root, unshare and sshd (apt-get install openssh-server)"
)]
fn failing_sshd_t_rolls_everything_back() {
    // install: the drop-in is written, sshd -t fails, everything goes back.
    let s = Stage::new();
    s.write("/etc/ssh/sshd_config.d/zz-broken.conf", "NoSuchOption yes\n", 0o644, 0);
    let before = s.snapshot();
    let r = s.f2b_ns(&INSTALL);
    r.fails_with(2, "`sshd -t` rejects the changed sshd configuration");
    assert!(
        r.stderr.contains("Every change was rolled back")
            && r.stderr.contains("fails on the original configuration too"),
        "{}",
        r.stderr
    );
    before.assert_same(&s.snapshot(), "install rolled back");

    // remove: restoring sshd's config fails sshd -t, so remove is undone and f2b-config stays installed.
    let s = Stage::new();
    s.f2b_ns(&INSTALL).ok();
    s.write("/etc/ssh/sshd_config.d/zz-broken.conf", "NoSuchOption yes\n", 0o644, 0);
    let installed = s.snapshot();
    s.f2b_ns(&["remove"]).fails_with(2, "`sshd -t` rejects the changed sshd configuration");
    installed.assert_same(&s.snapshot(), "remove rolled back");
}

#[test]
#[cfg_attr(not(host_has = "logrotate"), ignore = "needs logrotate (apt-get install logrotate)")]
fn logrotate_accepts_the_rotation_file() {
    let s = Stage::new();
    s.f2b(&INSTALL).ok();
    let state = s.dir().join("logrotate.state");
    let o = std::process::Command::new("logrotate")
        .arg("-d")
        .arg("-s")
        .arg(&state)
        .arg(s.path("/etc/logrotate.d/f2b-sidecar"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !err.contains("error"), "{err}");
    assert!(err.contains("considering log /var/log/proxmox-auth.log"), "{err}");
}

#[test]
#[cfg_attr(not(host_has = "journalctl"), ignore = "needs systemd's tools (systemd-analyze)")]
fn systemd_accepts_the_units_and_rates_them_well_hardened() {
    let s = Stage::new();
    s.f2b(&["install", "--backend", "nftables", "--logger", "/bin/true"]).ok();
    for unit in ["proxmox-auth-logger.service", "ssh-auth-logger.service"] {
        let p = s.path(&format!("/etc/systemd/system/{unit}"));
        let o =
            std::process::Command::new("systemd-analyze").arg("verify").arg(&p).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && err.trim().is_empty(), "{unit}: {err}");
        let o = std::process::Command::new("systemd-analyze")
            .args(["security", "--offline=true"])
            .arg(&p)
            .output()
            .unwrap();
        let text =
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        let score: f64 = text
            .lines()
            .find_map(|l| l.split_once("Overall exposure level for ").map(|(_, r)| r.to_string()))
            .and_then(|r| r.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            .unwrap_or_else(|| panic!("{unit}: no score in\n{text}"));
        assert!(score <= 2.0, "{unit}: exposure {score}\n{text}");
    }
}
