//! Prints a filter's expanded regexes (a development aid for the prefilter).
use regex_lab::config::{self, ConfigSource, FilterSpec};
use regex_lab::filter::{Filter, FilterOptions};

fn main() {
    let spec = std::env::args().nth(1).unwrap_or_else(|| "sshd[mode=aggressive]".into());
    let src = ConfigSource::Dir("/etc/fail2ban".into());
    let def = config::load_filter(&src, &FilterSpec::parse(&spec).unwrap()).unwrap();
    let f = Filter::new(&def, &FilterOptions::default()).unwrap();
    if let Some(p) = f.prefregex() {
        println!("PREF {}", p.expanded());
    }
    for (i, r) in f.failregex().iter().enumerate() {
        println!("FAIL {}\n     prefilter: {}", r.expanded(), f.fail_prefilter().describe(i));
    }
    for r in f.ignoreregex() {
        println!("IGN  {}", r.expanded());
    }
}
