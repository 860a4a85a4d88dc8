//! The compiled template lists equal fail2ban's, name for name and regex for regex
//! (`testdata/date-templates.txt` is fail2ban 1.0.2's own dump).

use regex_lab::date::{Clock, DateDetector};

struct Expected {
    name: String,
    flags: String,
    weight: f64,
    regex: String,
}

/// Parses the `#### <title>: N templates` sections of the dump.
fn sections() -> Vec<(String, Vec<Expected>)> {
    let text = include_str!("../testdata/date-templates.txt");
    let mut out: Vec<(String, Vec<Expected>)> = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(title) = line.strip_prefix("#### ") {
            out.push((title.to_string(), Vec::new()));
        } else if let Some(rest) = line.strip_prefix('[').filter(|l| l.contains("] name:  ")) {
            let name = rest.split_once("] name:  ").unwrap().1.to_string();
            let flags_line = lines.next().unwrap().trim();
            let (flags, weight) =
                flags_line.strip_prefix("flags: ").unwrap().split_once(" weight: ").unwrap();
            let regex = lines.next().unwrap().trim().strip_prefix("regex: ").unwrap().to_string();
            out.last_mut().unwrap().1.push(Expected {
                name,
                flags: flags.to_string(),
                weight: weight.parse().unwrap(),
                regex,
            });
        }
    }
    out
}

fn check(title: &str, datepattern: Option<&[String]>) {
    let all = sections();
    let (_, expected) = all.iter().find(|(t, _)| t.starts_with(title)).expect("section");
    let dd = DateDetector::new(datepattern, Clock::fail2ban_tests()).unwrap();
    let got = dd.templates();
    assert_eq!(got.len(), expected.len(), "{title}: template count");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_eq!(g.name, e.name, "{title} [{i}] name");
        assert_eq!(g.regex, e.regex, "{title} [{i}] regex");
        assert_eq!(g.flags, e.flags, "{title} [{i}] flags");
        assert_eq!(g.weight, e.weight, "{title} [{i}] weight");
    }
}

#[test]
fn default_templates_equal_fail2ban() {
    check("DEFAULT (no datepattern)", None);
    check("DEFAULT (no datepattern)", Some(&["{DEFAULT}".to_string()]));
}

#[test]
fn line_begin_templates_equal_fail2ban() {
    check("datepattern = {^LN-BEG}", Some(&["{^LN-BEG}".to_string()]));
}

#[test]
fn describe_like_fail2ban_regex() {
    let dd = DateDetector::new(Some(&["{^LN-BEG}".into()]), Clock::fail2ban_tests()).unwrap();
    assert_eq!(dd.describe(), "Default Detectors");
    let dd = DateDetector::new(Some(&["^%Y-%m-%d".into()]), Clock::fail2ban_tests()).unwrap();
    assert_eq!(dd.describe(), "^Year-Month-Day");
}
