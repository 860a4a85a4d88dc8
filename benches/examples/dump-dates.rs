//! Prints the default date templates' regexes (a development aid).
use regex_lab::date::{Clock, DateDetector};
fn main() {
    let d = DateDetector::new(None, Clock::system()).unwrap();
    for t in d.templates().iter().take(3) {
        println!("{}\n  {}\n  {}", t.name, t.regex, t.flags);
    }
}
