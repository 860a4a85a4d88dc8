//! Criterion benchmarks of each stage a log line goes through in `regex-lab replay`, on the
//! seeded sshd corpus (`f2b_benches::SshdCorpus`, 10,000 lines) with `sshd[mode=aggressive]`
//! from /etc/fail2ban: date detection, prefregex, prefilter, failregex confirm (candidates
//! only, and fail2ban's way: every failregex), the whole line on one thread (dates,
//! searches, then the state: MLFID merges, failure ids, verdict), and the state alone.
//!
//! Throughput is reported in lines (elements) per second. Run: `cargo bench -p f2b-benches`.

use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use f2b_benches::SshdCorpus;
use regex_lab::config::{self, ConfigSource, FilterSpec};
use regex_lab::date::{Clock, DateDetector};
use regex_lab::filter::{Filter, FilterOptions};
use regex_lab::line::{LineMatches, LineProcessor, Now, Searched, Searcher};
use regex_lab::prefilter::{Pattern, Prefilter};

const LINES: usize = 10_000;
const FILTER: &str = "sshd[mode=aggressive]";

struct Inputs {
    filter: Arc<Filter>,
    prefilter: Prefilter,
    lines: Vec<String>,
    /// Lines with the date cut out, plus the `\n` fail2ban appends (what the prefregex sees).
    cut: Vec<String>,
    /// The prefregex `content` of each line that has one, plus `\n` (what failregexes see).
    content: Vec<String>,
}

fn clock() -> Clock {
    Clock::fail2ban_tests()
}

fn inputs() -> Inputs {
    let source = ConfigSource::Dir("/etc/fail2ban".into());
    let def = config::load_filter(&source, &FilterSpec::parse(FILTER).unwrap())
        .expect("the benchmarks need fail2ban's stock filters (apt-get install fail2ban)");
    let filter = Arc::new(Filter::new(&def, &FilterOptions::default()).unwrap());
    let lines = SshdCorpus::standard().take_lines(LINES);
    let mut dates = DateDetector::new(None, clock()).unwrap();
    let cut: Vec<String> = lines
        .iter()
        .map(|l| match dates.detect(l) {
            Some(h) => format!("{}{}\n", &l[..h.start], &l[h.end..]),
            None => format!("{l}\n"),
        })
        .collect();
    let pref = filter.prefregex().unwrap();
    let g = pref.regex().group_index("content").unwrap();
    let mut caps = pref.captures();
    let mut content = Vec::new();
    for t in &cut {
        if pref.regex().search(t, &mut caps).unwrap() {
            content.push(format!("{}\n", caps.text(t, g).unwrap()));
        }
    }
    let patterns: Vec<Pattern> = filter
        .failregex()
        .iter()
        .map(|r| Pattern { text: r.expanded(), multiline: false, caseless: false })
        .collect();
    let prefilter = Prefilter::new(&patterns);
    Inputs { filter, prefilter, lines, cut, content }
}

fn stages(c: &mut Criterion) {
    let inp = inputs();
    let f = &inp.filter;
    let mut g = c.benchmark_group("stage");
    g.throughput(Throughput::Elements(LINES as u64));

    g.bench_function("date", |b| {
        let mut d = DateDetector::new(None, clock()).unwrap();
        b.iter(|| {
            for l in &inp.lines {
                black_box(d.detect(l));
            }
        })
    });

    // What the parallel replay's sequencer does per line: replay the worker's quick
    // decision (`confirm_fast`), detecting only where it does not hold.
    g.bench_function("date-confirm", |b| {
        let mut w = DateDetector::new(None, clock()).unwrap();
        let fast: Vec<_> = inp
            .lines
            .iter()
            .map(|l| {
                w.detect(l);
                w.last_fast().cloned()
            })
            .collect();
        let mut d = DateDetector::new(None, clock()).unwrap();
        b.iter(|| {
            for (l, fw) in inp.lines.iter().zip(&fast) {
                if !fw.as_ref().is_some_and(|fw| d.confirm_fast(l, fw)) {
                    black_box(d.detect(l));
                }
            }
        })
    });

    g.bench_function("prefregex", |b| {
        let pref = f.prefregex().unwrap();
        let mut caps = pref.captures();
        b.iter(|| {
            for t in &inp.cut {
                black_box(pref.regex().search(t, &mut caps).unwrap());
            }
        })
    });

    g.throughput(Throughput::Elements(inp.content.len() as u64));
    g.bench_function("prefilter", |b| {
        let mut scratch = inp.prefilter.scratch();
        b.iter(|| {
            for t in &inp.content {
                black_box(inp.prefilter.candidates(t, &mut scratch).len());
            }
        })
    });

    g.bench_function("failregex-confirm", |b| {
        let mut caps: Vec<_> = f.failregex().iter().map(|r| r.captures()).collect();
        let mut scratch = inp.prefilter.scratch();
        b.iter(|| {
            for t in &inp.content {
                for &i in inp.prefilter.candidates(t, &mut scratch) {
                    let (i, r) = (i as usize, &f.failregex()[i as usize]);
                    black_box(r.regex_for(t).search(t, &mut caps[i]).unwrap());
                }
            }
        })
    });

    g.bench_function("failregex-all", |b| {
        let mut caps: Vec<_> = f.failregex().iter().map(|r| r.captures()).collect();
        b.iter(|| {
            for t in &inp.content {
                for (i, r) in f.failregex().iter().enumerate() {
                    black_box(r.regex().search(t, &mut caps[i]).unwrap());
                }
            }
        })
    });

    g.throughput(Throughput::Elements(LINES as u64));
    g.bench_function("whole-line", |b| {
        let dates = DateDetector::new(None, clock()).unwrap();
        let mut p = LineProcessor::new(Arc::clone(f), Some(dates), Now::Fixed(clock().now));
        // As replay runs it: failures do not carry their lines.
        p.keep_matches(false);
        p.count_only(true);
        b.iter(|| {
            for l in &inp.lines {
                black_box(p.process(l).class);
            }
        })
    });
    // The serial part of a replay alone: the sequencer's state work per line (MLFID merges,
    // ids, verdict), from dates and searches made beforehand, count-only as `replay` runs
    // it and through the general path (`-v`, explain, verify).
    let pre: Vec<_> = {
        let mut d = DateDetector::new(None, clock()).unwrap();
        let mut s = Searcher::new(Arc::clone(f));
        inp.lines
            .iter()
            .map(|l| {
                let h = d.detect(l);
                let (a, e) = h.as_ref().map_or((0, 0), |h| (h.start, h.end));
                let mut m = LineMatches::default();
                s.run(&l[..a], &l[e..], &mut m);
                (h, m)
            })
            .collect()
    };
    for (name, count_only) in [("state", true), ("state-general", false)] {
        g.bench_function(name, |b| {
            let mut p = LineProcessor::new(Arc::clone(f), None, Now::Fixed(clock().now));
            p.keep_matches(false);
            p.count_only(count_only);
            // Applying moves the (rare) ignoreregex hits out of the matches; sshd has none.
            let mut work = pre.clone();
            b.iter(|| {
                for (l, (h, m)) in inp.lines.iter().zip(work.iter_mut()) {
                    // `run` copies the texts its matches keep: no line is needed.
                    let found = Searched { matches: m, line_nl: "" };
                    black_box(p.process_found(l, h.clone(), Some(found)).class);
                }
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_secs(1));
    targets = stages
}
criterion_main!(benches);
