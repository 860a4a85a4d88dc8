//! The twins `engine::Regex::search` picks because they are faster find exactly what the
//! pattern as written finds with the Unicode code: the same match or no match and the same
//! span for every group. The twins: the ASCII code (PCRE2 without UTF and Unicode
//! properties) for ASCII subjects, and the line-tail twin (`…(?P<content>.+)$` searched as
//! `…(?P<content>(?=.))`) for one-line subjects. Checked for every regex of every stock
//! filter (all sshd modes included) and of the default date templates' shapes, on every
//! ASCII line of fail2ban's sample logs, as fail2ban builds the texts (`line\n`, the line
//! with its date cut out, the prefregex `content`), and on crafted cases. So is the pruned
//! twin a filter's regex is searched with when a text lacks the literals of a group's first
//! branch (`FilterRegex::regex_for`), on every sample text (ASCII or not) where it is picked.

use std::collections::BTreeSet;

use regex_lab::config::{self, ConfigSource, FilterSpec};
use regex_lab::date::{Clock, DateDetector};
use regex_lab::engine::Regex;
use regex_lab::filter::{Filter, FilterOptions};

mod date_support;

/// What a search found: whether it matched, and every group's span.
type Found = (bool, Vec<Option<(usize, usize)>>);

/// `search` (with its twins) on one text, then the Unicode code of the pattern as written.
fn both(r: &Regex, text: &str) -> [Found; 2] {
    let run = |unicode: bool| {
        let mut caps = r.captures();
        let found =
            if unicode { r.search_unicode(text, &mut caps) } else { r.search(text, &mut caps) };
        let found = found.unwrap_or(false);
        (found, (0..caps.len()).map(|i| caps.get(i).filter(|_| found)).collect())
    };
    [run(false), run(true)]
}

/// Every stock filter (all sshd modes included), and the texts fail2ban would search on the
/// sample lines (`ascii`: only ASCII ones).
fn stock_filters_and_texts(ascii: bool) -> (Vec<(String, Filter)>, BTreeSet<String>) {
    let mut lines = BTreeSet::new();
    for path in date_support::sample_files() {
        lines.extend(date_support::lines_of(&path).into_iter().filter(|l| !ascii || l.is_ascii()));
    }
    let source = ConfigSource::Dir("/etc/fail2ban".into());
    let mut specs: Vec<String> = std::fs::read_dir("/etc/fail2ban/filter.d")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".conf").map(str::to_string))
        .filter(|n| !n.ends_with("common"))
        .collect();
    specs.extend(["normal", "ddos", "extra", "aggressive"].map(|m| format!("sshd[mode={m}]")));
    let mut dates = DateDetector::new(None, Clock::fail2ban_tests()).unwrap();
    let cut: Vec<String> = lines
        .iter()
        .filter_map(|l| dates.detect(l).map(|h| format!("{}{}\n", &l[..h.start], &l[h.end..])))
        .collect();
    let mut texts: BTreeSet<String> = lines.iter().map(|l| format!("{l}\n")).collect();
    texts.extend(cut);

    let mut filters = Vec::new();
    for spec in &specs {
        let Ok(def) = config::load_filter(&source, &FilterSpec::parse(spec).unwrap()) else {
            continue;
        };
        let Ok(filter) = Filter::new(&def, &FilterOptions::default()) else { continue };
        // The prefregexes' `content`, as the failregexes see it.
        if let Some(p) = filter.prefregex() {
            let g = p.regex().group_index("content");
            let mut caps = p.captures();
            let base: Vec<String> = texts.iter().cloned().collect();
            for t in &base {
                if let (Ok(true), Some(g)) = (p.regex().search(t, &mut caps), g) {
                    if let Some(c) = caps.text(t, g) {
                        texts.insert(format!("{c}\n"));
                    }
                }
            }
        }
        filters.push((spec.clone(), filter));
    }
    (filters, texts)
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban's stock filters and sample logs (apt-get install fail2ban)"
)]
fn twins_find_what_the_unicode_code_finds() {
    let (filters, texts) = stock_filters_and_texts(true);
    let (mut regexes, mut seen) = (Vec::new(), BTreeSet::new());
    for (spec, filter) in &filters {
        let all =
            filter.prefregex().into_iter().chain(filter.failregex()).chain(filter.ignoreregex());
        for r in all {
            if seen.insert((r.expanded().to_string(), filter.maxlines() > 1)) {
                regexes.push((spec.clone(), r.expanded().to_string(), filter.maxlines() > 1));
            }
        }
    }
    let (mut pairs, mut matches) = (0u64, 0u64);
    for (spec, pattern, multiline) in &regexes {
        let opts = regex_lab::engine::RegexOptions { multiline: *multiline, caseless: false };
        let r = Regex::new(pattern, opts).unwrap();
        for t in &texts {
            let [ascii, unicode] = both(&r, t);
            assert_eq!(ascii, unicode, "{spec}: {pattern}\n  on {t:?}");
            pairs += 1;
            matches += u64::from(ascii.0);
        }
    }
    eprintln!(
        "{} regexes x {} texts: {pairs} pairs identical, {matches} of them matches",
        regexes.len(),
        texts.len()
    );
    assert!(regexes.len() > 200 && matches > 2000, "{} regexes, {matches} matches", regexes.len());
    let tails = regexes
        .iter()
        .filter(|(_, p, _)| p.ends_with(".+)$") && p.contains("(?P<content>"))
        .count();
    assert!(tails >= 15, "only {tails} prefregexes end in (?P<content>.+)$");
}

#[test]
#[cfg_attr(
    not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
    ignore = "needs fail2ban's stock filters and sample logs (apt-get install fail2ban)"
)]
fn pruned_twins_find_what_the_regex_finds() {
    let (filters, mut texts) = stock_filters_and_texts(false);
    // Lines built to go deep into sshd's pruned `Failed` branches, with and without `: `.
    for user in ["root", "in valid", "x: y", "invalid user bob"] {
        for tail in ["", " port 22", " port 22 ssh2", " port 22 ssh2: RSA x", " on eth0: z"] {
            for host in ["192.0.2.1", "2001:db8::1", "[192.0.2.1]", "host.example"] {
                texts.insert(format!("Failed password for {user} from {host}{tail}\n"));
                texts.insert(format!("Failed publickey for {user} from {host}{tail}\n"));
            }
        }
    }
    let (mut pruned, mut picked, mut matches) = (BTreeSet::new(), 0u64, 0u64);
    for (spec, filter) in &filters {
        for r in filter.failregex().iter().chain(filter.ignoreregex()).chain(filter.prefregex()) {
            let Some(twin) = r.pruned_twin() else { continue };
            pruned.insert(r.expanded().to_string());
            for t in &texts {
                if !std::ptr::eq(r.regex_for(t), twin) {
                    continue;
                }
                let [want, _] = both(r.regex(), t);
                let [got, _] = both(twin, t);
                assert_eq!(got, want, "{spec}: {}\n  on {t:?}", r.expanded());
                picked += 1;
                matches += u64::from(got.0);
            }
        }
    }
    eprintln!(
        "{} pruned regexes: the twin was picked for {picked} texts, {matches} matches",
        pruned.len()
    );
    // sshd's `Failed ...` regexes (publickey=nofail and =invalid forms).
    assert!(pruned.len() >= 2, "{pruned:?}");
    assert!(picked > 1000 && matches > 100, "{picked} texts, {matches} matches");
}

/// Patterns where Unicode matters keep the Unicode code, and ASCII subjects of an ASCII
/// pattern the ASCII one: crafted edge cases of classes, case folding and boundaries.
#[test]
fn ascii_and_unicode_codes_agree_on_crafted_cases() {
    let cases: &[(&str, &[&str])] = &[
        (r"^\w+\s\d+\b", &["abc 123 x", "a_b\t9", "é 1", "ab\x1c12"]),
        (r"(?i)^user (?P<u>[a-z]+)$", &["USER Bob\n", "user ſam\n", "user KELVIN\n"]),
        (r"[[:alpha:]]+[[:punct:]]+[[:space:]]*$", &["ab!?\x0b\n", "x$+<=>^`|~ \n"]),
        (r"^.{3}(?<=b.)c", &["abxc", "abcc", "äbcc"]),
        (r"\p{Lu}\X\R", &["Ab\r\n", "Éb\n"]),
        (r"^\x{e9}", &["\u{e9}", "e"]),
        (r"^é+$", &["ééé", "e"]),
        // The line-tail twin: the rest of the line, whatever it holds, and subjects of
        // several lines (the pattern as written searches those).
        (
            r"^(?P<mlfid>\S+ d\[\d+\]:\s)(?:error: )?(?P<content>.+)$",
            &[
                "h d[1]: x\n",
                "h d[1]: x",
                "h d[1]: \n",
                "h d[1]: ",
                "h d[1]: error: \n",
                "h d[1]: error: ",
                "h d[1]:  \r\n",
                "h d[1]: a\rb\x0bc\x0c\n",
                "h d[1]: é\u{85}\u{2028}z\n",
                "h d[1]: a\nb\n",
                "h d[1]: a\n\n",
                "\n",
                "",
            ],
        ),
        (r"^a(?P<c>.+?)$", &["ab\n", "a\n", "a", "ab\nc", "a\u{2029}\n"]),
        (r"^(?:a|b)+(?<=b)(?P<c>.*)$", &["ab\n", "abb", "ba\n", "b\n", "b", "ab\nc\n"]),
        (r"^x(?P<c>.*?)$", &["x\n", "x", "xyz\n", "x\ny"]),
    ];
    for (pattern, texts) in cases {
        for caseless in [false, true] {
            let opts = regex_lab::engine::RegexOptions { multiline: false, caseless };
            let r = Regex::new(pattern, opts).unwrap();
            for t in *texts {
                let [ascii, unicode] = both(&r, t);
                assert_eq!(ascii, unicode, "{pattern} (caseless {caseless}) on {t:?}");
            }
        }
    }
}
