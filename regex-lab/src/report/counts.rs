//! fail2ban-regex's statistics, accumulated from [`LineResult`]s.

use crate::line::{FailData, LineClass, LineResult};

/// How many lines fail2ban-regex keeps for its "Missed line(s)" / "Ignored line(s)" lists.
pub const LIST_LIMIT: usize = 20;

/// One failregex hit, for the verbose report (fail2ban-regex `-v`).
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// Failure id; `None` for a pending MLFID match.
    pub id: Option<String>,
    pub time: Option<f64>,
    /// fail2ban-regex's "(multiple regex matched)" flag.
    pub multiple: bool,
}

/// Counters of one filter over a replay.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// Lines tested.
    pub lines: u64,
    pub ignored: i64,
    /// fail2ban-regex adds consumed multi-line lines here and takes them from `missed`, so
    /// both are signed, as in fail2ban-regex.
    pub matched: i64,
    pub missed: i64,
    /// "Prefregex: N total".
    pub prefregex: u64,
    /// Hits per failregex (nofail and pending entries included, as fail2ban-regex counts).
    pub failregex: Vec<u64>,
    pub ignoreregex: Vec<u64>,
    /// Searches PCRE2 gave up on, and on how many lines.
    pub aborted_searches: u64,
    pub aborted_lines: u64,
    /// The first aborted search: (line number, which regex, PCRE2's message).
    pub first_aborted: Option<(u64, String, String)>,
    /// The first missed / ignored lines, kept as fail2ban-regex keeps them (all of them with
    /// the `--print-all-*` flags), and the matched lines with `--print-all-matched`.
    pub missed_lines: Vec<String>,
    pub ignored_lines: Vec<String>,
    pub matched_lines: Vec<String>,
    pub keep: Keep,
    /// Per failregex, every hit (only when verbose).
    pub hits: Option<Vec<Vec<Hit>>>,
    /// The prefregex groups of the first 20 lines it matched, and whether there were more
    /// (only when verbose).
    pub prefregex_groups: Vec<FailData>,
    pub prefregex_groups_more: bool,
}

/// Which lines to keep for printing (fail2ban-regex's `--print-all-*` options). Keeping all
/// lines costs memory in proportion to the log; the default keeps at most 21 of each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keep {
    pub all_matched: bool,
    pub all_ignored: bool,
    pub all_missed: bool,
    /// Every hit's id and time (`-v`).
    pub hits: bool,
}

impl Counts {
    /// Zeroed counters for a filter with these regex counts.
    pub fn new(failregexes: usize, ignoreregexes: usize, keep: Keep) -> Counts {
        Counts {
            failregex: vec![0; failregexes],
            ignoreregex: vec![0; ignoreregexes],
            hits: keep.hits.then(|| vec![Vec::new(); failregexes]),
            keep,
            ..Counts::default()
        }
    }

    /// Adds one processed line; `line` is the line as read.
    #[inline]
    pub fn add(&mut self, r: &LineResult, line: &str) {
        // Most lines of most filters in a many-filter replay: missed, no hit of any kind.
        // What `add_any` does for them, without its call and loops.
        if r.class == LineClass::Missed
            && r.regex_hits.is_empty()
            && r.ignore_hits.is_empty()
            && r.aborted.is_empty()
            && r.consumed.is_empty()
            && self.hits.is_none()
            && !self.keep.hits
        {
            self.prefregex += u64::from(r.prefregex_matched);
            self.count_missed(line);
            self.lines += 1;
            return;
        }
        self.add_any(r, line);
    }

    fn add_any(&mut self, r: &LineResult, line: &str) {
        for h in &r.regex_hits {
            self.failregex[h.regex] += 1;
        }
        if let Some(h) = &mut self.hits {
            // The ids are in the failures: a processor that only counts has none, so it
            // cannot feed verbose counts.
            debug_assert_eq!(r.failures.len(), r.regex_hits.len(), "verbose counts need failures");
            let mut failing = 0usize;
            for f in &r.failures {
                h[f.regex].push(Hit { id: f.id.clone(), time: f.time, multiple: failing > 1 });
                if !f.is_nofail() {
                    failing += 1;
                }
            }
        }
        for &i in &r.ignore_hits {
            self.ignoreregex[i] += 1;
        }
        if r.prefregex_matched {
            self.prefregex += 1;
            if let (true, Some(g)) = (self.keep.hits, &r.prefregex_groups) {
                if self.prefregex_groups.len() < LIST_LIMIT {
                    self.prefregex_groups.push(g.clone());
                } else {
                    self.prefregex_groups_more = true;
                }
            }
        }
        if !r.aborted.is_empty() {
            self.aborted_lines += 1;
            self.aborted_searches += r.aborted.len() as u64;
            if self.first_aborted.is_none() {
                let a = &r.aborted[0];
                self.first_aborted = Some((
                    r.serial,
                    format!("{} {}", a.kind.as_str(), a.index + 1),
                    a.message.clone(),
                ));
            }
        }
        for l in &r.consumed {
            if let Some(i) = self.missed_lines.iter().position(|m| m == l.full()) {
                self.missed_lines.remove(i);
            }
            if self.keep.all_matched {
                self.matched_lines.push(l.full().to_string());
            }
            self.matched += 1;
            self.missed -= 1;
        }
        match r.class {
            LineClass::Ignored => {
                self.ignored += 1;
                if self.keep.all_ignored || self.ignored <= LIST_LIMIT as i64 + 1 {
                    self.ignored_lines.push(line.to_string());
                }
            }
            LineClass::Matched => {
                self.matched += 1;
                if self.keep.all_matched {
                    self.matched_lines.push(line.to_string());
                }
            }
            LineClass::Missed => self.count_missed(line),
        }
        self.lines += 1;
    }

    /// A missed line: counted, and kept for the report's list while it is short.
    #[inline]
    fn count_missed(&mut self, line: &str) {
        self.missed += 1;
        if self.keep.all_missed || self.missed <= LIST_LIMIT as i64 + 1 {
            self.missed_lines.push(line.to_string());
        }
    }

    /// Sum of all failregex hits ("Failregex: N total").
    pub fn failregex_total(&self) -> u64 {
        self.failregex.iter().sum()
    }

    pub fn ignoreregex_total(&self) -> u64 {
        self.ignoreregex.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(class: LineClass) -> LineResult {
        LineResult { class, ..LineResult::empty() }
    }

    /// `add`'s shortcut for lines without any hit counts what the general path does.
    #[test]
    fn the_missed_line_shortcut_equals_the_general_path() {
        use LineClass::*;
        let results = [
            result(Missed),
            LineResult { prefregex_matched: true, ..result(Missed) },
            result(Matched),
            LineResult { ignore_hits: vec![0], ..result(Ignored) },
            LineResult { prefregex_matched: true, ..result(Ignored) },
        ];
        for keep in [Keep::default(), Keep { all_missed: true, ..Keep::default() }] {
            let (mut fast, mut general) = (Counts::new(1, 1, keep), Counts::new(1, 1, keep));
            for i in 0..60 {
                let (r, line) = (&results[i * 7 % results.len()], format!("l{i}"));
                fast.add(r, &line);
                general.add_any(r, &line);
            }
            assert_eq!(format!("{fast:?}"), format!("{general:?}"));
            assert!(fast.missed > 21 && fast.prefregex > 0, "{fast:?}");
        }
    }

    #[test]
    fn classes_count_and_keep_their_lines() {
        use LineClass::*;
        // (keep, lines kept per class (ignored, matched, missed)) after 30 lines of each.
        let cases = [
            (Keep::default(), (21, 0, 21)),
            (Keep { all_matched: true, ..Keep::default() }, (21, 30, 21)),
            (Keep { all_ignored: true, all_missed: true, ..Keep::default() }, (30, 0, 30)),
        ];
        for (keep, want) in cases {
            let mut c = Counts::new(0, 0, keep);
            for i in 0..90 {
                let class = [Ignored, Matched, Missed][i % 3];
                c.add(&result(class), &format!("l{i}"));
            }
            assert_eq!((c.ignored, c.matched, c.missed, c.lines), (30, 30, 30, 90));
            let kept = (c.ignored_lines.len(), c.matched_lines.len(), c.missed_lines.len());
            assert_eq!(kept, want, "{keep:?}");
            assert_eq!(c.missed_lines[0], "l2");
        }
    }
}
