//! Reading what fail2ban did: the elements of nftables sets (`nft -j list ruleset`) and the
//! counters of `fail2ban-client status <jail>`.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;

/// Elements of every nftables set, keyed by set name (`addr-set-proxmox`, …).
pub fn nft_sets(json: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let v: Value = serde_json::from_str(json).context("parsing `nft -j list ruleset`")?;
    let mut sets = BTreeMap::new();
    for obj in v["nftables"].as_array().into_iter().flatten() {
        let Some(set) = obj.get("set") else { continue };
        let name = set["name"].as_str().unwrap_or_default().to_owned();
        let elems = set["elem"].as_array().into_iter().flatten().filter_map(element).collect();
        sets.insert(name, elems);
    }
    Ok(sets)
}

/// An element is a string, or an object like `{"elem": {"val": …, "timeout": …}}` or a prefix.
fn element(e: &Value) -> Option<String> {
    match e {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => {
            if let Some(inner) = o.get("elem") {
                return element(&inner["val"]);
            }
            let p = o.get("prefix")?;
            Some(format!("{}/{}", p["addr"].as_str()?, p["len"]))
        }
        _ => None,
    }
}

/// The counters of `fail2ban-client status <jail>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JailStatus {
    pub currently_failed: u64,
    pub total_failed: u64,
    pub currently_banned: u64,
    pub total_banned: u64,
    pub banned: Vec<String>,
}

impl JailStatus {
    pub fn parse(text: &str) -> Self {
        let mut s = Self::default();
        for line in text.lines() {
            let Some((key, val)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim_start_matches(['|', '`', '-', ' ']).trim();
            let val = val.trim();
            let num = || val.parse().unwrap_or(0);
            match key {
                "Currently failed" => s.currently_failed = num(),
                "Total failed" => s.total_failed = num(),
                "Currently banned" => s.currently_banned = num(),
                "Total banned" => s.total_banned = num(),
                "Banned IP list" => s.banned = val.split_whitespace().map(str::to_owned).collect(),
                _ => {}
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_their_elements() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
          {"table": {"family": "inet", "name": "f2b-table", "handle": 1}},
          {"set": {"family": "inet", "name": "addr-set-proxmox", "table": "f2b-table", "type": "ipv4_addr", "handle": 2, "elem": ["192.0.2.7", {"elem": {"val": "192.0.2.8", "timeout": 60}}, {"prefix": {"addr": "10.0.0.0", "len": 8}}]}},
          {"set": {"family": "inet", "name": "addr-set-sshd", "table": "f2b-table", "type": "ipv4_addr", "handle": 3}}]}"#;
        let sets = nft_sets(json).unwrap();
        assert_eq!(sets["addr-set-proxmox"], ["192.0.2.7", "192.0.2.8", "10.0.0.0/8"]);
        assert!(sets["addr-set-sshd"].is_empty());
    }

    #[test]
    fn jail_status_counters() {
        let text = "Status for the jail: proxmox\n|- Filter\n|  |- Currently failed:\t0\n|  |- Total failed:\t3\n|  `- File list:\t/var/log/proxmox-auth.log\n`- Actions\n   |- Currently banned:\t1\n   |- Total banned:\t1\n   `- Banned IP list:\t192.0.2.7 192.0.2.9\n";
        let s = JailStatus::parse(text);
        assert_eq!(
            s,
            JailStatus {
                currently_failed: 0,
                total_failed: 3,
                currently_banned: 1,
                total_banned: 1,
                banned: vec!["192.0.2.7".into(), "192.0.2.9".into()],
            }
        );
    }
}
