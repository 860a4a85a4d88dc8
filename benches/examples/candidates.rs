//! Average prefilter candidates per line on the benchmark corpus (a development aid).
use f2b_benches::SshdCorpus;
use regex_lab::config::{self, ConfigSource, FilterSpec};
use regex_lab::date::{Clock, DateDetector};
use regex_lab::filter::{Filter, FilterOptions};

fn main() {
    let src = ConfigSource::Dir("/etc/fail2ban".into());
    let def =
        config::load_filter(&src, &FilterSpec::parse("sshd[mode=aggressive]").unwrap()).unwrap();
    let f = Filter::new(&def, &FilterOptions::default()).unwrap();
    let mut d = DateDetector::new(None, Clock::system()).unwrap();
    let pref = f.prefregex().unwrap();
    let g = pref.regex().group_index("content").unwrap();
    let mut caps = pref.captures();
    let (mut lines, mut cands, mut hits) = (0u64, 0u64, 0u64);
    let mut out = Vec::new();
    let mut fcaps: Vec<_> = f.failregex().iter().map(|r| r.captures()).collect();
    for l in SshdCorpus::standard().take_lines(100_000) {
        let t = match d.detect(&l) {
            Some(h) => format!("{}{}\n", &l[..h.start], &l[h.end..]),
            None => format!("{l}\n"),
        };
        if !pref.regex().search(&t, &mut caps).unwrap() {
            continue;
        }
        let c = format!("{}\n", caps.text(&t, g).unwrap());
        f.fail_prefilter().candidates(&c, &mut out);
        lines += 1;
        cands += out.len() as u64;
        for &i in &out {
            if f.failregex()[i as usize].regex().search(&c, &mut fcaps[i as usize]).unwrap() {
                hits += 1;
            }
        }
    }
    println!(
        "{lines} lines: {:.2} candidates/line, {:.2} hits/line",
        cands as f64 / lines as f64,
        hits as f64 / lines as f64
    );
}
