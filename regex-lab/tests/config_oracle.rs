//! Differential test of filter reading against the real fail2ban.
//!
//! `tests/oracle/filter_dump.py` asks the installed fail2ban how it reads every stock filter
//! in `/etc/fail2ban/filter.d` in every variant (modes, publickey, logging, logtypes, systemd
//! backend); this test reads the same with `load_filter_with` + `tags::expand` and compares
//! field by field. Every field of every variant must be identical.

use std::path::{Path, PathBuf};

use regex_lab::config::{load_filter_with, ConfigSource, FilterDef, FilterSpec, LoadOptions};
use regex_lab::tags;
use serde_json::Value;

mod oracle_support;
use oracle_support::strs;

fn oracle(basedir: &str, names: &[&str]) -> Vec<Value> {
    let args: Vec<&str> = std::iter::once(basedir).chain(names.iter().copied()).collect();
    oracle_support::run("filter_dump.py", &args, &[])
}

fn opt_str(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Compares one variant; returns (mismatch descriptions, number of compiled patterns compared).
fn compare(expected: &Value, basedir: &str) -> (Vec<String>, usize) {
    let name = expected["filter"].as_str().unwrap_or_default();
    let options: Vec<(String, String)> = expected["options"]
        .as_object()
        .map(|m| {
            m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect()
        })
        .unwrap_or_default();
    let journal = expected["backend"].as_str() == Some("systemd");
    let label = format!("{name}{options:?}{}", if journal { " (systemd)" } else { "" });
    let spec = FilterSpec { name: name.to_string(), options };
    let got = load_filter_with(
        &ConfigSource::Dir(PathBuf::from(basedir)),
        &spec,
        &LoadOptions { journal },
    );
    let mut bad = Vec::new();
    let (def, r): (FilterDef, &Value) = match (got, expected.get("result")) {
        (Ok(def), Some(r)) => (def, r),
        (Err(e), None) => {
            let _ = e;
            return (bad, 0);
        }
        (Ok(_), None) => {
            bad.push(format!("{label}: fail2ban fails ({}) but we load it", expected["error"]));
            return (bad, 0);
        }
        (Err(e), Some(_)) => {
            bad.push(format!("{label}: we fail: {e}"));
            return (bad, 0);
        }
    };
    let mut check = |field: &str, ours: String, theirs: String| {
        if ours != theirs {
            bad.push(format!("{label}: {field}\n    ours:   {ours}\n    theirs: {theirs}"));
        }
    };
    check("prefregex", format!("{:?}", def.prefregex), format!("{:?}", opt_str(&r["prefregex"])));
    check("failregex", format!("{:?}", def.failregex), format!("{:?}", strs(&r["failregex"])));
    check(
        "ignoreregex",
        format!("{:?}", def.ignoreregex),
        format!("{:?}", strs(&r["ignoreregex"])),
    );
    check(
        "maxlines",
        format!("{:?}", def.maxlines),
        format!("{:?}", r["maxlines"].as_u64().map(|n| n as usize)),
    );
    check(
        "datepattern",
        format!("{:?}", def.datepattern_raw),
        format!("{:?}", opt_str(&r["datepattern"])),
    );
    let jm: Vec<Vec<String>> =
        r["journalmatch"].as_array().map(|a| a.iter().map(strs).collect()).unwrap_or_default();
    check("journalmatch", format!("{:?}", def.journalmatch_lines), format!("{jm:?}"));
    check("usedns", format!("{:?}", def.usedns), format!("{:?}", opt_str(&r["usedns"])));
    let files: Vec<String> = def.files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    check("files", format!("{files:?}"), format!("{:?}", strs(&r["files"])));
    check(
        "real options",
        def.real_options_repr(),
        r["real_options"].as_str().unwrap_or_default().to_string(),
    );

    // Compiled patterns.
    let mut n = 0;
    let mut cmp = |what: String, regex: &str, exp: &Value| {
        for (dns, no) in [("yes", false), ("no", true)] {
            n += 1;
            let ours = match tags::expand(regex, no) {
                Ok(s) => s,
                Err(e) => format!("ERROR: {e}"),
            };
            let theirs = exp[dns].as_str().unwrap_or_default();
            if ours != theirs {
                bad.push(format!("{label}: compiled {what} (usedns={dns})\n    ours:   {ours}\n    theirs: {theirs}"));
            }
        }
    };
    let c = &r["compiled"];
    if let Some(p) = &def.prefregex {
        cmp("prefregex".into(), p, &c["prefregex"]);
    }
    for (i, f) in def.failregex.iter().enumerate() {
        cmp(format!("failregex {i}"), f, &c["failregex"][i]);
    }
    for (i, f) in def.ignoreregex.iter().enumerate() {
        cmp(format!("ignoreregex {i}"), f, &c["ignoreregex"][i]);
    }
    (bad, n)
}

fn run(basedir: &str, names: &[&str]) -> (usize, usize, Vec<String>) {
    let variants = oracle(basedir, names);
    let mut bad = Vec::new();
    let mut patterns = 0;
    for v in &variants {
        let (b, n) = compare(v, basedir);
        bad.extend(b);
        patterns += n;
    }
    (variants.len(), patterns, bad)
}

#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs fail2ban (apt-get install fail2ban)")]
fn stock_filters_read_like_fail2ban() {
    let (variants, patterns, bad) = run("/etc/fail2ban", &[]);
    let filters = std::fs::read_dir("/etc/fail2ban/filter.d")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.ends_with(".conf") && !n.ends_with("common.conf")
                })
                .count()
        })
        .unwrap_or(0);
    eprintln!(
        "compared {variants} variants of {filters} stock filters, {patterns} compiled patterns: {} identical variants",
        variants - bad.len().min(variants)
    );
    assert!(variants >= filters, "the oracle returned fewer variants than filters");
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

/// The project's own filters: fail2ban reads the files in `regex-lab/filters/` (copied into a
/// config dir) exactly as we do, and the embedded copies give the same result.
#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs fail2ban (apt-get install fail2ban)")]
fn builtin_filters_read_like_fail2ban() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fd = dir.path().join("filter.d");
    std::fs::create_dir_all(&fd).expect("mkdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("filters");
    for e in std::fs::read_dir(&src).expect("filters dir").filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().ends_with(".conf") {
            std::fs::copy(e.path(), fd.join(e.file_name())).expect("copy filter");
        }
    }
    let base = dir.path().to_string_lossy().into_owned();
    let names = regex_lab::builtin::names();
    let (variants, patterns, bad) = run(&base, names);
    eprintln!(
        "compared {variants} variants of {} built-in filters, {patterns} compiled patterns",
        names.len()
    );
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
    for name in names {
        let spec = FilterSpec::parse(name).expect("spec");
        let disk = load_filter_with(
            &ConfigSource::Dir(dir.path().to_path_buf()),
            &spec,
            &LoadOptions::default(),
        )
        .expect("load from disk");
        let embedded = load_filter_with(&ConfigSource::Builtin, &spec, &LoadOptions::default())
            .expect("load embedded");
        assert_eq!(embedded.failregex, disk.failregex, "{name}");
        assert_eq!(embedded.ignoreregex, disk.ignoreregex, "{name}");
        assert_eq!(embedded.prefregex, disk.prefregex, "{name}");
        assert_eq!(embedded.datepattern, disk.datepattern, "{name}");
        assert_eq!(embedded.maxlines, disk.maxlines, "{name}");
    }
}
