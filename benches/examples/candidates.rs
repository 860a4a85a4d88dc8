//! Prefilter candidates per line on the benchmark corpus, per stock filter (a development aid).
//! Usage: candidates [FILTER...] (default: sshd[mode=aggressive])
use f2b_benches::SshdCorpus;
use regex_lab::config::{self, ConfigSource, FilterSpec};
use regex_lab::date::{Clock, DateDetector};
use regex_lab::filter::{Filter, FilterOptions};

fn main() {
    let mut names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() {
        names.push("sshd[mode=aggressive]".into());
    }
    let lines = SshdCorpus::standard().take_lines(20_000);
    let src = ConfigSource::Dir("/etc/fail2ban".into());
    for name in names {
        let def = config::load_filter(&src, &FilterSpec::parse(&name).unwrap()).unwrap();
        let f = Filter::new(&def, &FilterOptions::default()).unwrap();
        let mut d = DateDetector::new(def.datepattern.as_deref(), Clock::system()).unwrap();
        let mut pcaps = f.prefregex().map(|p| p.captures());
        let mut fcaps: Vec<_> = f.failregex().iter().map(|r| r.captures()).collect();
        let (mut pref_searched, mut cands, mut hits) = (0u64, 0u64, 0u64);
        let (mut pref_scratch, mut fail_scratch) =
            (f.pref_prefilter().scratch(), f.fail_prefilter().scratch());
        for l in &lines {
            let t = match d.detect(l) {
                Some(h) => format!("{}{}\n", &l[..h.start], &l[h.end..]),
                None => format!("{l}\n"),
            };
            let text = match (f.prefregex(), pcaps.as_mut()) {
                (Some(p), Some(caps)) => {
                    if !f.pref_prefilter().may_match(0, &t, &mut pref_scratch) {
                        continue;
                    }
                    pref_searched += 1;
                    if !p.regex().search(&t, caps).unwrap() {
                        continue;
                    }
                    match p.regex().group_index("content").and_then(|g| caps.text(&t, g)) {
                        Some(c) if !c.is_empty() => format!("{c}\n"),
                        _ => t.clone(),
                    }
                }
                _ => t.clone(),
            };
            let out = f.fail_prefilter().candidates(&text, &mut fail_scratch);
            cands += out.len() as u64;
            for &i in out {
                let r = &f.failregex()[i as usize];
                if r.regex_for(&text).search(&text, &mut fcaps[i as usize]).unwrap() {
                    hits += 1;
                }
            }
        }
        let n = lines.len() as f64;
        println!(
            "{name:28} prefregex searched {:5.2}/line, failregex candidates {:5.2}/line, hits {:5.2}/line",
            pref_searched as f64 / n,
            cands as f64 / n,
            hits as f64 / n
        );
    }
}
