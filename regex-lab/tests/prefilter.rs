//! The prefilter never hides a match: for every stock filter (every variant its sample file
//! names) and every line of every fail2ban sample log, whenever PCRE2 matches a failregex,
//! ignoreregex or prefregex on a text the line logic can give it (the line, the line with its date cut
//! out, the prefregex `content`), that regex is among the prefilter's candidates.
//!
//! Lines of *all* sample logs are used for every filter, so most pairs are non-matches that
//! exercise the pruning, and every match of the sample tests is a positive case.

use std::collections::BTreeSet;
use std::path::Path;

use regex_lab::config::{self, ConfigSource, FilterSpec};
use regex_lab::date::{Clock, DateDetector};
use regex_lab::filter::{Filter, FilterOptions, FilterRegex};
use regex_lab::prefilter::{Pattern, Prefilter};

const SAMPLES: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";
const CONFIG: &str = "/etc/fail2ban";

/// Filter specs: each stock filter with a sample log, plus the variants its sample names.
fn specs() -> Vec<String> {
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(Path::new(CONFIG).join("filter.d")).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".conf") else { continue };
        if stem.ends_with("common") {
            continue;
        }
        out.insert(stem.to_string());
        let Ok(text) = std::fs::read(Path::new(SAMPLES).join(stem)) else { continue };
        for line in String::from_utf8_lossy(&text).lines() {
            let Some((_, json)) = line.split_once("filterOptions:") else { continue };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(json.trim()) else { continue };
            let dicts = match v {
                serde_json::Value::Array(a) => a,
                other => vec![other],
            };
            for d in dicts.iter().filter_map(|d| d.as_object()) {
                let items: Vec<String> = d
                    .iter()
                    .filter(|(k, _)| !k.starts_with("test."))
                    .filter_map(|(k, v)| {
                        let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                        (!v.contains([',', '"', '\'', ']'])).then(|| format!("{k}={v}"))
                    })
                    .collect();
                if !items.is_empty() {
                    out.insert(format!("{stem}[{}]", items.join(", ")));
                }
            }
        }
    }
    for mode in ["normal", "ddos", "extra", "aggressive"] {
        out.insert(format!("sshd[mode={mode}]"));
    }
    out.into_iter().collect()
}

fn sample_lines() -> Vec<String> {
    let mut lines = BTreeSet::new();
    for e in std::fs::read_dir(SAMPLES).unwrap() {
        let path = e.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read(&path).unwrap();
        for l in String::from_utf8_lossy(&text).lines() {
            if !l.is_empty() && !l.starts_with('#') {
                lines.insert(l.to_string());
            }
        }
    }
    lines.into_iter().collect()
}

fn prefilter_for(regexes: &[FilterRegex], multiline: bool) -> Prefilter {
    let ps: Vec<Pattern> = regexes
        .iter()
        .map(|r| Pattern { text: r.expanded(), multiline, caseless: false })
        .collect();
    Prefilter::new(&ps)
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban's stock filters and sample logs (apt-get install fail2ban)"
)]
fn prefilter_proposes_every_match_of_every_stock_filter() {
    let lines = sample_lines();
    let source = ConfigSource::Dir(CONFIG.into());
    let (mut filters, mut positives, mut pruned, mut searched) = (0, 0u64, 0u64, 0u64);
    let mut unfiltered = Vec::new();
    for spec in specs() {
        let Ok(parsed) = FilterSpec::parse(&spec) else { continue };
        let Ok(def) = config::load_filter(&source, &parsed) else { continue };
        let Ok(filter) = Filter::new(&def, &FilterOptions::default()) else { continue };
        filters += 1;
        let multi = filter.maxlines() > 1;
        let fail_pf = prefilter_for(filter.failregex(), multi);
        let ign_pf = prefilter_for(filter.ignoreregex(), false);
        for i in 0..fail_pf.len() {
            if fail_pf.describe(i).starts_with("always") {
                unfiltered.push(format!("{spec} #{}: {}", i + 1, fail_pf.describe(i)));
            }
        }
        let mut dates = DateDetector::new(def.datepattern.as_deref(), Clock::fail2ban_tests()).ok();
        for line in &lines {
            let mut texts = vec![format!("{line}\n")];
            if let Some(hit) = dates.as_mut().and_then(|d| d.detect(line)) {
                texts.push(format!("{}{}\n", &line[..hit.start], &line[hit.end..]));
            }
            if let Some(p) = filter.prefregex() {
                let content = p.regex().group_index("content");
                for t in texts.clone() {
                    let mut caps = p.captures();
                    if let (Ok(true), Some(g)) = (p.regex().search(&t, &mut caps), content) {
                        if let Some(c) = caps.text(&t, g) {
                            texts.push(format!("{c}\n"));
                        }
                    }
                }
            }
            let pref = filter.prefregex().map(std::slice::from_ref).unwrap_or(&[]);
            for t in &texts {
                for (pf, regexes) in [
                    (&fail_pf, filter.failregex()),
                    (&ign_pf, filter.ignoreregex()),
                    (filter.pref_prefilter(), pref),
                ] {
                    // Fresh scratches: no tail check has been rested yet.
                    let cands = pf.candidates(t, &mut pf.scratch()).to_vec();
                    let mut scratch = pf.scratch();
                    for (i, r) in regexes.iter().enumerate() {
                        searched += 1;
                        let proposed = cands.contains(&(i as u32));
                        assert_eq!(proposed, pf.may_match(i, t, &mut scratch));
                        if r.regex().is_match(t).unwrap_or(true) {
                            positives += 1;
                            assert!(
                                proposed,
                                "{spec}: regex #{} ({}) matches {t:?} but the prefilter ({}) \
                                 did not propose it",
                                i + 1,
                                r.expanded(),
                                pf.describe(i)
                            );
                        } else if !proposed {
                            pruned += 1;
                        }
                    }
                }
            }
        }
    }
    eprintln!(
        "{filters} filters, {searched} (regex, text) pairs: {positives} matches all proposed, \
         {pruned} non-matches pruned; {} regexes unfiltered",
        unfiltered.len()
    );
    for u in &unfiltered {
        eprintln!("  {u}");
    }
    assert!(filters > 90, "only {filters} stock filters loaded");
    assert!(positives > 1000);
    assert!(pruned * 10 > searched * 8, "the prefilter prunes too little: {pruned}/{searched}");
}

/// One prefilter over the failregexes of every stock filter at once: hundreds of rules (the
/// rule bitset spans many words, the gate holds more literals than one Teddy searcher takes)
/// and every match on every sample line (and the line with its date cut out) is still proposed.
#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban's stock filters and sample logs (apt-get install fail2ban)"
)]
fn one_prefilter_over_all_stock_failregexes_proposes_every_match() {
    let lines = sample_lines();
    let source = ConfigSource::Dir(CONFIG.into());
    let mut seen = BTreeSet::new();
    let mut filters = Vec::new();
    for spec in specs() {
        let Ok(parsed) = FilterSpec::parse(&spec) else { continue };
        let Ok(def) = config::load_filter(&source, &parsed) else { continue };
        let Ok(filter) = Filter::new(&def, &FilterOptions::default()) else { continue };
        if filter.maxlines() == 1 {
            filters.push(filter);
        }
    }
    let regexes: Vec<&FilterRegex> = filters
        .iter()
        .flat_map(|f| f.failregex())
        .filter(|r| seen.insert(r.expanded().to_string()))
        .collect();
    let ps: Vec<Pattern> = regexes
        .iter()
        .map(|r| Pattern { text: r.expanded(), multiline: false, caseless: false })
        .collect();
    let pf = Prefilter::new(&ps);
    assert!(pf.len() > 200, "only {} distinct failregexes", pf.len());
    let mut dates = DateDetector::new(None, Clock::fail2ban_tests()).unwrap();
    let mut positives = 0u64;
    for line in &lines {
        let mut texts = vec![format!("{line}\n")];
        if let Some(hit) = dates.detect(line) {
            texts.push(format!("{}{}\n", &line[..hit.start], &line[hit.end..]));
        }
        for t in &texts {
            // Fresh scratches: no tail check has been rested yet.
            let cands = pf.candidates(t, &mut pf.scratch()).to_vec();
            let mut scratch = pf.scratch();
            for (i, r) in regexes.iter().enumerate() {
                let proposed = cands.binary_search(&(i as u32)).is_ok();
                assert_eq!(proposed, pf.may_match(i, t, &mut scratch), "regex #{i} on {t:?}");
                if !proposed && r.regex().is_match(t).unwrap_or(true) {
                    panic!(
                        "{} matches {t:?} but was not proposed ({})",
                        r.expanded(),
                        pf.describe(i)
                    );
                }
                positives += u64::from(proposed);
            }
        }
    }
    eprintln!("{} rules, {} lines: {positives} proposals", pf.len(), lines.len());
}
