//! `ignoreip`: the addresses fail2ban never bans, and the self-ban guard.
//!
//! The jail file f2b-config writes sets `ignoreip` in `[DEFAULT]`, which overrides what fail2ban
//! read before it. So every address already listed in an earlier `[DEFAULT]` (jail.local,
//! jail.d/*) is carried over: an admin who followed ProxMenux's advice and added their own IP to
//! jail.local keeps it. The client address of the SSH session running f2b-config is checked
//! against the result; if no entry covers it, it is proposed (and added with `--yes`).

use std::net::IpAddr;

use crate::error::Result;
use crate::ini;
use crate::view::Tree;

/// Always ignored, as in the seed.
pub const BASE: [&str; 2] = ["127.0.0.1/8", "::1"];

/// `ADDR` or `ADDR/PREFIX`, parsed; `None` for host names and anything else.
pub fn parse_net(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let addr: IpAddr = a.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match p {
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some((addr, prefix))
}

/// True when `net` (an ignoreip entry) covers `addr`. IPv4-mapped IPv6 addresses count as IPv4.
pub fn covers(net: &str, addr: IpAddr) -> bool {
    let Some((n, prefix)) = parse_net(net) else { return false };
    let addr = unmap(addr);
    match (unmap(n), addr) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix as u32) };
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix as u32) };
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn unmap(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        v4 => v4,
    }
}

/// The client address of `SSH_CONNECTION` ("client port server port").
pub fn ssh_client(ssh_connection: Option<&str>) -> Option<IpAddr> {
    ssh_connection?.split_whitespace().next()?.parse().ok().map(unmap)
}

/// The jail files fail2ban reads before `ours`, in its order.
pub fn earlier_jail_files(tree: &dyn Tree, ours: &str) -> Result<Vec<String>> {
    let ours_name = ours.rsplit('/').next().unwrap_or(ours);
    let d = tree.names("/etc/fail2ban/jail.d")?;
    let mut files = vec!["/etc/fail2ban/jail.conf".to_string()];
    files.extend(
        d.iter().filter(|n| n.ends_with(".conf")).map(|n| format!("/etc/fail2ban/jail.d/{n}")),
    );
    files.push("/etc/fail2ban/jail.local".into());
    files.extend(
        d.iter()
            .filter(|n| n.ends_with(".local") && n.as_str() < ours_name)
            .map(|n| format!("/etc/fail2ban/jail.d/{n}")),
    );
    Ok(files)
}

/// Every `[DEFAULT] ignoreip` entry of `files`, in order, without interpolations.
pub fn collect(tree: &dyn Tree, files: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for f in files {
        let Some(text) = tree.text(f)? else { continue };
        for s in ini::parse(&text).iter().filter(|s| s.name == "DEFAULT") {
            for (k, v) in &s.keys {
                if k == "ignoreip" {
                    for tok in
                        v.split(|c: char| c.is_whitespace() || c == ',').filter(|t| !t.is_empty())
                    {
                        if !tok.contains(['%', '<', '>']) {
                            out.push((tok.to_string(), f.clone()));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Appends `items` not yet in `list`.
pub fn merge(list: &mut Vec<String>, items: impl IntoIterator<Item = String>) {
    for i in items {
        if !list.contains(&i) {
            list.push(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::MemTree;

    #[test]
    fn coverage() {
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(covers("127.0.0.1/8", a("127.3.2.1")));
        assert!(covers("192.168.1.0/24", a("::ffff:192.168.1.9")));
        assert!(!covers("192.168.1.0/24", a("192.168.2.9")));
        assert!(covers("2001:db8::/32", a("2001:db8:1::5")));
        assert!(covers("203.0.113.7", a("203.0.113.7")));
        assert!(covers("0.0.0.0/0", a("8.8.8.8")));
        assert!(!covers("example.org", a("1.2.3.4")));
        assert!(!covers("10.0.0.0/33", a("10.0.0.1")));
    }

    #[test]
    fn ssh_connection_client() {
        assert_eq!(
            ssh_client(Some("203.0.113.9 51234 10.0.0.2 22")),
            Some("203.0.113.9".parse().unwrap())
        );
        assert_eq!(ssh_client(Some("::ffff:10.1.2.3 1 ::1 22")), Some("10.1.2.3".parse().unwrap()));
        assert_eq!(ssh_client(None), None);
    }

    #[test]
    fn earlier_defaults_are_collected_in_fail2ban_order() {
        let t = MemTree::new(&[
            ("/etc/fail2ban/jail.conf", "[DEFAULT]\n#ignoreip = 127.0.0.1/8 ::1\n"),
            (
                "/etc/fail2ban/jail.local",
                "[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 192.168.1.0/24, 203.0.113.42\n",
            ),
            ("/etc/fail2ban/jail.d/99-proxmenux-ignore.local", "[DEFAULT]\nignoreip = 10.9.9.9\n"),
            (
                "/etc/fail2ban/jail.d/10-a.local",
                "[DEFAULT]\nignoreip = %(known/ignoreip)s 10.1.1.1\n[sshd]\nignoreip = 9.9.9.9\n",
            ),
        ]);
        let files = earlier_jail_files(&t, "/etc/fail2ban/jail.d/50-f2b-sidecar.local").unwrap();
        let got: Vec<String> = collect(&t, &files).unwrap().into_iter().map(|(a, _)| a).collect();
        assert_eq!(got, ["127.0.0.1/8", "::1", "192.168.1.0/24", "203.0.113.42", "10.1.1.1"]);
    }
}
