//! journald's effective `MaxLevelStore` / `MaxLevelSyslog`, computed the way systemd does.
//!
//! The main file (`/etc/systemd/journald.conf`, else the first of /run, /usr/local/lib,
//! /usr/lib) is read first, then every `journald.conf.d/*.conf` drop-in of /etc, /run,
//! /usr/local/lib, /usr/lib (and /lib) sorted by file name across all directories; a name in
//! /etc masks the same name further down. The last assignment in `[Journal]` wins; values are
//! syslog level names or 0-7. sshd's "Failed password" is logged at info, so anything below
//! info (notice included) loses it.

use std::collections::BTreeMap;

/// The drop-in f2b-config writes when a level must be raised; `zz-` so it sorts after the usual
/// `NN-name.conf` drop-ins.
pub const DROPIN: &str = "/etc/systemd/journald.conf.d/zz-f2b-sidecar.conf";

/// Main file candidates, first existing wins.
pub const MAIN_FILES: [&str; 4] = [
    "/etc/systemd/journald.conf",
    "/run/systemd/journald.conf",
    "/usr/local/lib/systemd/journald.conf",
    "/usr/lib/systemd/journald.conf",
];

/// Drop-in directories, highest precedence first.
pub const DROPIN_DIRS: [&str; 5] = [
    "/etc/systemd/journald.conf.d",
    "/run/systemd/journald.conf.d",
    "/usr/local/lib/systemd/journald.conf.d",
    "/usr/lib/systemd/journald.conf.d",
    "/lib/systemd/journald.conf.d",
];

/// `info`, the lowest level that keeps sshd's and PAM's failures.
pub const INFO: u8 = 6;
/// journald's compiled-in default for both options.
pub const DEBUG: u8 = 7;

/// Syslog level from a name or a number, as systemd's `log_level_from_string`.
pub fn parse_level(v: &str) -> Option<u8> {
    const NAMES: [&str; 8] =
        ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"];
    if let Some(i) = NAMES.iter().position(|n| *n == v) {
        return Some(i as u8);
    }
    v.parse::<u8>().ok().filter(|n| *n <= 7)
}

/// A level's name.
pub fn level_name(l: u8) -> &'static str {
    ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"][l.min(7) as usize]
}

/// Where an effective value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub level: u8,
    /// The file and line that set it, `None` for the compiled-in default.
    pub origin: Option<(String, usize)>,
}

/// The two levels that matter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Levels {
    pub store: Setting,
    pub syslog: Setting,
}

/// Files in reading order: the main file, then the drop-ins.
pub fn reading_order(main: Option<&str>, dropins: &[(String, Vec<String>)]) -> Vec<String> {
    let mut order: Vec<String> = main.map(|m| m.to_string()).into_iter().collect();
    // name → path of the highest-precedence directory holding it
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for (dir, names) in dropins {
        for n in names.iter().filter(|n| n.ends_with(".conf")) {
            by_name.entry(n.clone()).or_insert_with(|| format!("{dir}/{n}"));
        }
    }
    order.extend(by_name.into_values());
    order
}

/// Applies `files` (path, text) in order and returns the effective levels.
pub fn effective(files: &[(String, String)]) -> Levels {
    let mut levels = Levels {
        store: Setting { level: DEBUG, origin: None },
        syslog: Setting { level: DEBUG, origin: None },
    };
    for (path, text) in files {
        let mut section = String::new();
        for (no, line) in logical_lines(text) {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            if l.starts_with('[') && l.ends_with(']') {
                section = l[1..l.len() - 1].to_string();
                continue;
            }
            if section != "Journal" {
                continue;
            }
            let Some((k, v)) = l.split_once('=') else { continue };
            let slot = match k.trim() {
                "MaxLevelStore" => &mut levels.store,
                "MaxLevelSyslog" => &mut levels.syslog,
                _ => continue,
            };
            // An invalid value is ignored by journald (with a warning), so it keeps the old one.
            if let Some(level) = parse_level(v.trim()) {
                *slot = Setting { level, origin: Some((path.clone(), no)) };
            }
        }
    }
    levels
}

/// Lines joined at a trailing backslash, with the number of their first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut acc) = cur.take().unwrap_or((i + 1, String::new()));
        if let Some(stripped) = raw.strip_suffix('\\') {
            acc.push_str(stripped);
            acc.push(' ');
            cur = Some((start, acc));
        } else {
            acc.push_str(raw);
            out.push((start, acc));
        }
    }
    if let Some(c) = cur {
        out.push(c);
    }
    out
}

/// The drop-in that raises what is below info, or `None` when both are already at info or
/// above. Only the options that need it are set.
pub fn dropin_for(levels: &Levels) -> Option<String> {
    let mut body = String::new();
    for (key, s) in [("MaxLevelStore", &levels.store), ("MaxLevelSyslog", &levels.syslog)] {
        if s.level < INFO {
            let from = match &s.origin {
                Some((p, l)) => format!("{p}:{l}"),
                None => "the default".into(),
            };
            body.push_str(&format!("# was {} ({from})\n{key}=info\n", level_name(s.level)));
        }
    }
    if body.is_empty() {
        return None;
    }
    Some(format!(
        "# Managed by f2b-config (f2b-sidecar); removed by `f2b-config remove`.\n\
         # sshd and PAM log failed logins at info: journald must keep them for fail2ban.\n\
         [Journal]\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(p: &str, t: &str) -> (String, String) {
        (p.to_string(), t.to_string())
    }

    #[test]
    fn levels_by_name_and_number() {
        assert_eq!(parse_level("warning"), Some(4));
        assert_eq!(parse_level("5"), Some(5));
        assert_eq!(parse_level("8"), None);
        assert_eq!(parse_level("warn"), None);
    }

    #[test]
    fn last_assignment_wins_across_files() {
        let files = [
            f(
                "/etc/systemd/journald.conf",
                "[Journal]\n#MaxLevelStore=debug\nMaxLevelStore=warning\nMaxLevelSyslog=4\n",
            ),
            f("/usr/lib/systemd/journald.conf.d/10-x.conf", "[Journal]\nMaxLevelStore=notice\n"),
        ];
        let l = effective(&files);
        assert_eq!(l.store.level, 5);
        assert_eq!(l.store.origin, Some(("/usr/lib/systemd/journald.conf.d/10-x.conf".into(), 2)));
        assert_eq!(l.syslog.level, 4);
        let d = dropin_for(&l).unwrap();
        assert!(d.contains("MaxLevelStore=info") && d.contains("MaxLevelSyslog=info"), "{d}");
    }

    #[test]
    fn other_sections_and_bad_values_are_ignored() {
        let files = [f(
            "/etc/systemd/journald.conf",
            "[Other]\nMaxLevelStore=err\n[Journal]\nMaxLevelStore=bogus\n",
        )];
        let l = effective(&files);
        assert_eq!(l.store, Setting { level: DEBUG, origin: None });
        assert_eq!(dropin_for(&l), None);
    }

    #[test]
    fn only_what_is_below_info_is_raised() {
        let files = [f(
            "/etc/systemd/journald.conf",
            "[Journal]\nMaxLevelStore = notice\nMaxLevelSyslog=info\n",
        )];
        let d = dropin_for(&effective(&files)).unwrap();
        assert!(d.contains("MaxLevelStore=info") && !d.contains("MaxLevelSyslog"), "{d}");
    }

    #[test]
    fn etc_masks_same_name_and_names_sort_across_dirs() {
        let order = reading_order(
            Some("/etc/systemd/journald.conf"),
            &[
                ("/etc/systemd/journald.conf.d".into(), vec!["50-a.conf".into(), "readme".into()]),
                (
                    "/usr/lib/systemd/journald.conf.d".into(),
                    vec!["50-a.conf".into(), "10-b.conf".into()],
                ),
            ],
        );
        assert_eq!(
            order,
            [
                "/etc/systemd/journald.conf",
                "/usr/lib/systemd/journald.conf.d/10-b.conf",
                "/etc/systemd/journald.conf.d/50-a.conf"
            ]
        );
    }
}
