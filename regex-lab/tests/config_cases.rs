//! Data-driven filter-reading cases (`testdata/config_cases.toml`): each case's expectations,
//! and, when fail2ban is installed, each case against fail2ban-regex's own loading of the
//! same files (`tests/oracle/filter_dump.py --regex-arg`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use regex_lab::config::{load_filter_with, ConfigSource, FilterDef, FilterSpec, LoadOptions};
use regex_lab::tags;
use serde::Deserialize;
use serde_json::Value;

mod oracle_support;
use oracle_support::strs;

#[derive(Deserialize)]
struct Cases {
    case: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    spec: String,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    journal: bool,
    #[serde(default)]
    expect: Expect,
    /// Why fail2ban is not the reference for this case (a deliberate difference).
    #[serde(default)]
    fail2ban_differs: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Expect {
    failregex: Option<Vec<String>>,
    ignoreregex: Option<Vec<String>>,
    /// `""` means no prefregex.
    prefregex: Option<String>,
    /// `0` means not set.
    maxlines: Option<usize>,
    datepattern: Option<String>,
    /// `[]` means the default templates.
    datepatterns: Option<Vec<String>>,
    journalmatch: Option<Vec<Vec<String>>>,
    journalmatch_groups: Option<Vec<Vec<String>>>,
    usedns: Option<String>,
    files: Option<Vec<String>>,
    init: Option<BTreeMap<String, String>>,
    header: Option<Vec<String>>,
    /// Each entry a substring of the warning at the same position.
    warnings: Option<Vec<String>>,
    error: Option<String>,
}

fn load_cases() -> Vec<Case> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/config_cases.toml");
    let text = std::fs::read_to_string(&path).expect("read config_cases.toml");
    toml::from_str::<Cases>(&text).expect("parse config_cases.toml").case
}

/// A case set up on disk.
struct Setup {
    _dir: tempfile::TempDir,
    base: String,
    spec_text: String,
}

fn setup(case: &Case) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().to_string_lossy().into_owned();
    for (rel, text) in &case.files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, text.replace("{base}", &base)).expect("write case file");
    }
    std::fs::create_dir_all(dir.path().join("filter.d")).expect("mkdir filter.d");
    let spec_text = case.spec.replace("{base}", &base);
    Setup { _dir: dir, base, spec_text }
}

/// Loads the case like regex-lab does: the filter, then every regex through tags::expand.
fn load(case: &Case, s: &Setup) -> Result<(FilterSpec, FilterDef), String> {
    let spec = FilterSpec::parse(&s.spec_text).map_err(|e| e.message)?;
    let def = load_filter_with(
        &ConfigSource::Dir(PathBuf::from(&s.base)),
        &spec,
        &LoadOptions { journal: case.journal },
    )
    .map_err(|e| e.message)?;
    for r in def.prefregex.iter().chain(&def.failregex).chain(&def.ignoreregex) {
        tags::expand(r, false).map_err(|e| e.message)?;
    }
    Ok((spec, def))
}

fn rel(base: &str, files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| {
            let p = p.to_string_lossy();
            p.strip_prefix(&format!("{base}/")).unwrap_or(&p).to_string()
        })
        .collect()
}

fn check_expectations(case: &Case) -> Vec<String> {
    let s = setup(case);
    let e = &case.expect;
    let sub = |t: &str| t.replace("{base}", &s.base);
    let mut bad = Vec::new();
    let mut eq = |field: &str, ours: String, want: String| {
        if ours != want {
            bad.push(format!("{}: {field}\n    got:  {ours}\n    want: {want}", case.name));
        }
    };
    let (spec, def) = match (load(case, &s), &e.error) {
        (Err(msg), Some(want)) => {
            let want = sub(want);
            if !msg.contains(&want) || msg.contains('\n') {
                eq("error", msg, format!("one line containing {want}"));
            }
            return bad;
        }
        (Err(msg), None) => {
            eq("result", format!("error: {msg}"), "success".into());
            return bad;
        }
        (Ok(_), Some(want)) => {
            eq("result", "success".into(), format!("error containing {}", sub(want)));
            return bad;
        }
        (Ok(x), None) => x,
    };
    let dbg = |v: &dyn std::fmt::Debug| format!("{v:?}");
    if let Some(w) = &e.failregex {
        eq("failregex", dbg(&def.failregex), dbg(w));
    }
    if let Some(w) = &e.ignoreregex {
        eq("ignoreregex", dbg(&def.ignoreregex), dbg(w));
    }
    if let Some(w) = &e.prefregex {
        let w = (!w.is_empty()).then(|| w.clone());
        eq("prefregex", dbg(&def.prefregex), dbg(&w));
    }
    if let Some(w) = e.maxlines {
        eq("maxlines", dbg(&def.maxlines), dbg(&(w > 0).then_some(w)));
    }
    if let Some(w) = &e.datepattern {
        eq("datepattern", dbg(&def.datepattern_raw), dbg(&Some(w)));
    }
    if let Some(w) = &e.datepatterns {
        eq("datepatterns", dbg(&def.datepattern), dbg(&(!w.is_empty()).then_some(w)));
    }
    if let Some(w) = &e.journalmatch {
        eq("journalmatch", dbg(&def.journalmatch_lines), dbg(w));
    }
    if let Some(w) = &e.journalmatch_groups {
        eq("journalmatch groups", dbg(&def.journalmatch), dbg(w));
    }
    if let Some(w) = &e.usedns {
        eq("usedns", dbg(&def.usedns), dbg(&Some(w)));
    }
    if let Some(w) = &e.files {
        eq("files", dbg(&rel(&s.base, &def.files)), dbg(w));
    }
    if let Some(w) = &e.init {
        eq("init", dbg(&def.init), dbg(w));
    }
    if let Some(w) = &e.warnings {
        let ok = w.len() == def.warnings.len()
            && w.iter()
                .zip(&def.warnings)
                .all(|(want, got)| got.contains(&sub(want)) && !got.contains('\n'));
        if !ok {
            eq("warnings", dbg(&def.warnings), dbg(w));
        }
    }
    if let Some(w) = &e.header {
        let w: Vec<String> = w.iter().map(|l| sub(l)).collect();
        eq("header", dbg(&def.header_lines(&spec)), dbg(&w));
    }
    bad
}

#[test]
fn config_cases_expectations() {
    let cases = load_cases();
    let bad: Vec<String> = cases.iter().flat_map(check_expectations).collect();
    eprintln!("{} config cases, {} failures", cases.len(), bad.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn fail2ban_regex_loads(items: &[Value]) -> Vec<Value> {
    oracle_support::run("filter_dump.py", &["--regex-arg"], items)
}

#[test]
#[cfg_attr(not(host_has = "fail2ban"), ignore = "needs fail2ban (apt-get install fail2ban)")]
fn config_cases_match_fail2ban_regex() {
    let cases: Vec<Case> =
        load_cases().into_iter().filter(|c| c.fail2ban_differs.is_none()).collect();
    let setups: Vec<Setup> = cases.iter().map(setup).collect();
    let items: Vec<Value> = cases
        .iter()
        .zip(&setups)
        .map(|(c, s)| {
            serde_json::json!({
                "config": s.base,
                "value": s.spec_text,
                "backend": if c.journal { "systemd" } else { "auto" },
            })
        })
        .collect();
    let theirs = fail2ban_regex_loads(&items);
    assert_eq!(theirs.len(), cases.len());
    let mut bad = Vec::new();
    for ((case, s), t) in cases.iter().zip(&setups).zip(&theirs) {
        let mut eq = |field: &str, ours: String, theirs: String| {
            if ours != theirs {
                bad.push(format!(
                    "{}: {field}\n    ours:   {ours}\n    theirs: {theirs}",
                    case.name
                ));
            }
        };
        let r = &t["result"];
        let their_ok = t.get("error").is_none() && r["ok"].as_bool() == Some(true);
        let (spec, def) = match (load(case, s), their_ok) {
            (Ok(x), true) => x,
            (Err(_), false) => continue,
            (ours, _) => {
                let ours = ours.map(|_| "loaded".to_string()).unwrap_or_else(|e| e);
                eq("outcome", ours, format!("{}", t.get("error").unwrap_or(&r["output"])));
                continue;
            }
        };
        let out = strs(&r["output"]);
        let header = def.header_lines(&spec);
        eq("header", format!("{header:?}"), format!("{:?}", &out[..header.len().min(out.len())]));
        eq("failregex", format!("{:?}", def.failregex), format!("{:?}", strs(&r["failregex"])));
        eq(
            "ignoreregex",
            format!("{:?}", def.ignoreregex),
            format!("{:?}", strs(&r["ignoreregex"])),
        );
        let pref = def.prefregex.as_deref().map(|p| tags::expand(p, false).unwrap_or_default());
        eq("prefregex", format!("{pref:?}"), format!("{:?}", r["prefregex"].as_str()));
        eq("maxlines", format!("{}", def.maxlines.unwrap_or(1)), format!("{}", r["maxlines"]));
        let jm = def.journalmatch_lines.last().cloned();
        let their_jm = r["journalmatch"].as_array().map(|_| strs(&r["journalmatch"]));
        eq("journalmatch", format!("{jm:?}"), format!("{their_jm:?}"));
        let files: Vec<String> =
            def.files.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        eq("files", format!("{files:?}"), format!("{:?}", strs(&r["files"])));
        let dp_line = out.iter().find(|l| l.starts_with("Use      datepattern : "));
        match (&def.datepattern_raw, dp_line) {
            (Some(raw), Some(line))
                if line.starts_with(&format!("Use      datepattern : {raw} : ")) => {}
            (None, None) => {}
            (ours, theirs) => eq("datepattern", format!("{ours:?}"), format!("{theirs:?}")),
        }
    }
    eprintln!(
        "{} config cases compared with fail2ban-regex, {} mismatches",
        cases.len(),
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
