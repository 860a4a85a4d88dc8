//! The jail file: `[DEFAULT]` with the profile's defaults, then one section per jail.

use super::{Context, Rendered, JAIL_FILE};
use crate::profile::Source;

pub fn render(ctx: &Context) -> Rendered {
    let (banaction, allports) = ctx.firewall.banactions();
    let mut s = format!(
        "# Managed by f2b-config (f2b-sidecar), profile {}. Do not edit: `f2b-config status` reports\n\
         # changes, and reinstall/remove keep a copy of them. Override in a file that sorts later,\n\
         # e.g. /etc/fail2ban/jail.d/zz-local.local.\n\n[DEFAULT]\n",
        ctx.profile.name
    );
    s.push_str(&format!("ignoreip = {}\n", ctx.ignoreip.join(" ")));
    for (k, v) in &ctx.profile.defaults {
        s.push_str(&format!("{k} = {v}\n"));
    }
    s.push_str(&format!("banaction = {banaction}\nbanaction_allports = {allports}\n"));
    for j in &ctx.profile.jails {
        s.push_str(&format!(
            "\n[{}]\nenabled = true\nfilter = {}\n",
            j.name,
            j.filter.jail_value()
        ));
        match j.source {
            // Set on every file jail: Debian's defaults-debian.conf (fail2ban >= 1.1.0-3) sets
            // `backend = systemd` in [DEFAULT], which would silently ignore logpath.
            Source::File(f) => {
                s.push_str(&format!("backend = auto\nlogpath = {}\n", ctx.log_path(f)))
            }
            Source::Journal => s.push_str("backend = systemd\n"),
        }
        if j.allports {
            s.push_str("banaction = %(banaction_allports)s\n");
        } else {
            let port = match j.port {
                Some(p) => p.to_string(),
                None if ctx.ssh_ports == ["22"] => "ssh".to_string(),
                None => ctx.ssh_ports.join(","),
            };
            s.push_str(&format!("port = {port}\n"));
        }
        s.push_str(&format!(
            "maxretry = {}\nfindtime = {}\nbantime = {}\n",
            j.maxretry, j.findtime, j.bantime
        ));
    }
    Rendered {
        path: JAIL_FILE.into(),
        content: s,
        mode: 0o644,
        why: format!("jails of profile {}", ctx.profile.name),
    }
}
