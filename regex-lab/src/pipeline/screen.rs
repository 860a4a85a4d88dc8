//! Many filters, one literal pass per line: which filters need no search at all.
//!
//! Most filters of a many-filter replay cannot match most lines (postfix on an sshd log).
//! Each filter's searches are only ever *proposed* by its prefilter, whose rules each need
//! one of a few literals ([`Prefilter::needs`]). Per line, one [`Screen`] pass over the line
//! finds which of those needs occur; per filter, a bit test then decides:
//!
//! - **Quiet**: the need of everything searched first (the prefregex; without one, every
//!   failregex; and the ignoreregexes when they are searched first) is absent: the
//!   searches would find nothing, and are not made.
//! - **Prefregex only**: the failregexes' need (with the ignoreregexes searched first) is
//!   absent: only the prefregex can match (dovecot's and sendmail's match every syslog
//!   line); one PCRE2 search of it decides, nothing else is searched.
//! - Otherwise the filter's searcher runs as usual.
//!
//! Why this is exact: the screen scans the whole line (plus its `"\n"`), and is only used
//! when the text the regexes see is a suffix of it, i.e. the date, if any, starts the line
//! (`text0 = line[end..] + "\n"`). A literal absent from the line is absent from that
//! suffix, and from every part of it: the prefregex's `content` is a slice of it, or a copy
//! of a slice plus `"\n"` (needs with a `"\n"` are not screened). A regex matching a text
//! contains one of its need's literals ([`Prefilter::needs`], tested by `tests/prefilter.rs`
//! with the superset property), so an absent need means no match, which is what the
//! searcher would have found too (it searches nothing its prefilter rejects). A prefregex
//! search that PCRE2 aborts is left to the searcher, which records it.
//! `tests/pipeline.rs` compares screened and unscreened replays.

use crate::engine::Captures;
use crate::filter::Filter;
use crate::line::{BatchLine, LineMatches, Searcher};
use crate::prefilter::{screen_has, Prefilter, Screen};

/// Literal sets, as [`Prefilter::needs`] gives them.
type LitSet = Vec<Vec<u8>>;

/// The screen of a run and each job's plan.
pub(super) struct Screening {
    screen: Screen,
    /// Per job; `None`: always searched.
    plans: Vec<Option<Plan>>,
}

/// Which needs of the screen decide for one filter.
#[derive(Clone, Copy, Debug)]
struct Plan {
    /// Absent: the searches find nothing.
    quiet: Option<u32>,
    /// Absent: only the prefregex can match.
    pref_only: Option<u32>,
}

/// The union of the needs of patterns `0..n`, if each has one.
fn union(p: &Prefilter, n: usize) -> Option<LitSet> {
    let mut all = Vec::new();
    for i in 0..n {
        all.extend(p.needs(i)?);
    }
    Some(all)
}

/// (quiet need, prefregex-only need) of a filter searched by `s`.
fn needs_of(f: &Filter, s: &Searcher) -> (Option<LitSet>, Option<LitSet>) {
    if f.maxlines() > 1 {
        return (None, None);
    }
    // Ignoreregexes searched first are searched on every line.
    let ignore = if f.ignores_first() {
        match union(f.ignore_prefilter(), f.ignoreregex().len()) {
            Some(s) => s,
            None => return (None, None),
        }
    } else {
        Vec::new()
    };
    let with_ignore = |mut set: LitSet| {
        set.extend(ignore.iter().cloned());
        set
    };
    let fails = union(f.fail_prefilter(), f.failregex().len());
    let quiet = match f.prefregex() {
        Some(_) => f.pref_prefilter().needs(0),
        None => fails.clone(),
    }
    .map(with_ignore);
    // The failregexes see the prefregex's `content` (or its whole text): a slice of the
    // text, or a copy of one plus "\n". With `alt_`/`tuple_` merges it could be built from
    // several groups: not screened. Wanted prefregex groups need the search's spans.
    let plain_content = f.prefregex().is_some_and(|p| p.alt().is_empty() && p.tuple().is_empty());
    let pref_only = fails
        .filter(|_| plain_content && !s.keeps_prefregex_groups())
        .filter(|set| set.iter().all(|l| !l.contains(&b'\n')))
        .map(with_ignore);
    (quiet, pref_only)
}

/// What the screen decided for one job on one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    Search,
    Quiet,
    PrefOnly,
}

impl Screening {
    /// The screening of these jobs' searchers (`None` per multi-line job); `None` when no
    /// job can be screened.
    pub(super) fn new<'a>(
        jobs: impl Iterator<Item = (&'a Filter, Option<&'a Searcher>)>,
    ) -> Option<Screening> {
        let mut needs: Vec<LitSet> = Vec::new();
        let mut add = |set: Option<LitSet>| {
            set.map(|s| {
                needs.push(s);
                (needs.len() - 1) as u32
            })
        };
        let mut plans = Vec::new();
        for (f, s) in jobs {
            let plan = s.map(|s| needs_of(f, s)).and_then(|(q, p)| {
                let plan = Plan { quiet: add(q), pref_only: add(p) };
                (plan.quiet.is_some() || plan.pref_only.is_some()).then_some(plan)
            });
            plans.push(plan);
        }
        for (i, n) in needs.iter().enumerate() {
            tracing::debug!("screen need {i}: {} literals", n.len());
        }
        tracing::debug!("screen plans: {plans:?}");
        if plans.iter().all(Option::is_none) {
            return None;
        }
        Some(Screening { screen: Screen::new(&needs)?, plans })
    }

    /// A bitset for [`Screening::scan`].
    pub(super) fn bits(&self) -> Vec<u64> {
        vec![0; self.words()]
    }

    /// Its words.
    pub(super) fn words(&self) -> usize {
        self.screen.words()
    }

    /// Which needs occur in `line_nl` (a line and its `"\n"`).
    pub(super) fn scan(&self, line_nl: &str, present: &mut [u64]) {
        self.screen.scan(line_nl.as_bytes(), present);
    }

    /// The verdict for job `j` on a line whose date starts at `start`, from the line's
    /// [`Screening::scan`].
    #[inline]
    pub(super) fn verdict(&self, j: usize, present: &[u64], start: usize) -> Verdict {
        let Some(plan) = &self.plans[j] else { return Verdict::Search };
        // The regexes' text must be a suffix of the scanned line (see the module docs).
        if start != 0 {
            return Verdict::Search;
        }
        if plan.quiet.is_some_and(|n| !screen_has(present, n)) {
            return Verdict::Quiet;
        }
        if plan.pref_only.is_some_and(|n| !screen_has(present, n)) {
            return Verdict::PrefOnly;
        }
        Verdict::Search
    }
}

/// Runs job `f`'s searches on `line` as the verdict says (`None`: no screening, a plain
/// search): the same [`LineMatches`] as `searcher.run_line` (see the module docs).
#[inline]
pub(super) fn run_line(
    verdict: Option<Verdict>,
    f: &Filter,
    searcher: &mut Searcher,
    pref_caps: &mut Option<Captures>,
    line: BatchLine<'_>,
    out: &mut LineMatches,
) {
    match verdict {
        Some(Verdict::Quiet) => out.set_screened(f.prefregex().map(|_| false)),
        None | Some(Verdict::Search) => searcher.run_line(line, out),
        Some(Verdict::PrefOnly) => {
            // An aborted search is redone by the searcher, which records the abort.
            if !pref_only(f, pref_caps, &line.text_nl[line.date.1..], out) {
                searcher.run_line(line, out);
            }
        }
    }
}

/// [`Verdict::PrefOnly`]: one PCRE2 search of the prefregex on `text` (the line after its
/// date); false if PCRE2 gave up on it (nothing recorded then).
#[inline(never)]
fn pref_only(
    f: &Filter,
    pref_caps: &mut Option<Captures>,
    text: &str,
    out: &mut LineMatches,
) -> bool {
    let pref = f.prefregex().expect("a prefregex-only plan has a prefregex");
    let caps = pref_caps.get_or_insert_with(|| pref.captures());
    match pref.regex().search(text, caps) {
        Ok(m) => {
            out.set_screened(Some(m));
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::{self, ConfigSource, FilterSpec};
    use crate::date::{Clock, DateDetector};
    use crate::filter::FilterOptions;

    const SAMPLES: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

    /// Every stock filter (default options, plus a few modes).
    fn stock_filters() -> Vec<Arc<Filter>> {
        let source = ConfigSource::Dir("/etc/fail2ban".into());
        let mut names: Vec<String> = std::fs::read_dir("/etc/fail2ban/filter.d")
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".conf").map(String::from))
            .collect();
        names.sort();
        names.extend(["sshd[mode=aggressive]", "postfix[mode=aggressive]"].map(String::from));
        names
            .iter()
            .filter_map(|n| {
                let def = config::load_filter(&source, &FilterSpec::parse(n).ok()?).ok()?;
                Filter::new(&def, &FilterOptions::default()).ok().map(Arc::new)
            })
            .collect()
    }

    /// Every line of every fail2ban sample log.
    fn sample_lines() -> Vec<String> {
        let mut lines = Vec::new();
        for e in std::fs::read_dir(SAMPLES).unwrap() {
            let Ok(text) = std::fs::read(e.unwrap().path()) else { continue };
            for l in String::from_utf8_lossy(&text).lines() {
                if !l.starts_with("# ") {
                    lines.push(l.to_string());
                }
            }
        }
        lines.sort();
        lines
    }

    /// The screened searches (quiet, prefregex only) give exactly the [`LineMatches`] of the
    /// searcher's own, for every stock filter on every sample line, with the date cut out
    /// (when it starts the line the screen decides) or not, with and without the prefregex's
    /// groups wanted; and the screen does skip most searches.
    #[test]
    #[cfg_attr(
        not(all(host_has = "fail2ban", host_has = "fail2ban_samples")),
        ignore = "needs fail2ban's filters and sample logs (apt-get install fail2ban)"
    )]
    fn screened_searches_equal_the_searchers() {
        let filters = stock_filters();
        assert!(filters.len() > 80, "{}", filters.len());
        let lines = sample_lines();
        assert!(lines.len() > 1500, "{}", lines.len());
        for groups_wanted in [false, true] {
            let mut searchers: Vec<Searcher> = filters
                .iter()
                .map(|f| {
                    let mut s = Searcher::new(Arc::clone(f));
                    s.keep_prefregex_groups(groups_wanted);
                    s
                })
                .collect();
            let sc = Screening::new(filters.iter().map(|f| &**f).zip(searchers.iter().map(Some)))
                .expect("a screening");
            let mut caps: Vec<Option<Captures>> = filters.iter().map(|_| None).collect();
            let mut dates = DateDetector::new(None, Clock::system()).unwrap();
            let mut present = sc.bits();
            let mut seen = [0usize; 3];
            for line in &lines {
                let line_nl = format!("{line}\n");
                let hit = dates.detect(line);
                sc.scan(&line_nl, &mut present);
                for cut in [(0, 0), hit.as_ref().map_or((0, 0), |h| (h.start, h.end))] {
                    let (s, e) = cut;
                    for (j, (f, searcher)) in filters.iter().zip(&mut searchers).enumerate() {
                        let v = sc.verdict(j, &present, s);
                        seen[v as usize] += 1;
                        let (mut want, mut got) = (LineMatches::default(), LineMatches::default());
                        let bl = BatchLine { text_nl: &line_nl, date: cut, ascii: line.is_ascii() };
                        searcher.run_line(bl, &mut want);
                        run_line(Some(v), f, searcher, &mut caps[j], bl, &mut got);
                        assert_eq!(
                            format!("{got:?}"),
                            format!("{want:?}"),
                            "{} on {line:?} ({v:?}, date {s}..{e})",
                            f.name()
                        );
                    }
                }
            }
            // Most filters cannot match most lines; some prefregexes match nearly all.
            let [search, quiet, pref_only] = seen;
            assert!(quiet > 4 * search, "{seen:?}");
            if !groups_wanted {
                assert!(pref_only > 1000, "{seen:?}");
            }
        }
    }
}
