//! The searches of `findFailure` for one line, apart from the state they feed.
//!
//! With `maxlines = 1` every regex search of a line depends on the line alone: the ignore
//! pre-check, the prefregex and its `content`, the failregexes the prefilter proposes, and
//! the ignoreregex check of each failregex hit. A [`Searcher`] runs them and records what
//! they found in [`LineMatches`]; [`super::LineProcessor`] then applies that to its state
//! (MLFID cache, failure ids, verdict) in log order. Parallel replay runs searchers on
//! worker threads; a single-threaded run uses the very same two steps, so both give the
//! same results by construction.

use std::sync::Arc;

use super::{groups_of, search, Aborted};
use crate::engine::{Captures, Subject};
use crate::filter::{key, Filter, FilterRegex, RegexKind};
use crate::prefilter::Scratch;

/// What a line's searches found (see the module docs). Reuse one across lines: it only
/// holds spans and copies of the searched text, so after a few lines it allocates nothing,
/// and the fail dicts are built where they are used (no allocation crosses threads).
#[derive(Clone, Debug, Default)]
pub struct LineMatches {
    /// The prefregex was searched (the ignore pre-check did not end the line first).
    pub(super) pref_searched: bool,
    pub(super) pref_matched: bool,
    /// The texts the groups refer to, kept only when a hit or the report needs them: the
    /// prefregex's (`text[..split]`, the line's `pre + post + "\n"`), and the failregexes'
    /// (`text[fail.0..fail.1]`): the prefregex's `content` (a suffix of the prefregex's text,
    /// or a copy after it), else the prefregex's text. `text` is a copy, or (`in_line`) the
    /// searched batch line from that byte on: the usual case, which spares a copy of every
    /// matched line that the sequencing would read back from another cache.
    pub(super) text: String,
    pub(super) in_line: Option<usize>,
    pub(super) split: usize,
    pub(super) fail: (usize, usize),
    /// The prefregex matched and its groups are reported (fail2ban-regex `-v`).
    pub(super) pref_groups_wanted: bool,
    /// Spans of the prefregex's named groups (when `text` is kept).
    pub(super) pref_spans: Vec<Span>,
    /// Failregex hits not discarded by an ignoreregex, in filter order.
    pub(super) hits: Vec<Hit>,
    /// Spans of every hit's named groups, back to back.
    pub(super) spans: Vec<Span>,
    /// Every ignoreregex hit, in search order.
    pub(super) ignore_hits: Vec<usize>,
    pub(super) line_ignored: bool,
    pub(super) aborted: Vec<Aborted>,
}

/// A group's span in its text (`u32`: a batch of lines is far smaller), `None` when the
/// group did not take part.
pub(super) type Span = Option<(u32, u32)>;

fn span32(s: Option<(usize, usize)>) -> Span {
    s.map(|(a, b)| (a as u32, b as u32))
}

/// One failregex hit: the spans of its named groups are `LineMatches::spans[from..]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Hit {
    pub regex: usize,
    pub from: usize,
}

fn widen(s: Span) -> Option<(usize, usize)> {
    s.map(|(a, b)| (a as usize, b as usize))
}

impl LineMatches {
    /// Asks the CPU to start loading what applying these matches reads first (the hits and
    /// their spans: heap blocks last written by whichever worker searched the line), a few
    /// lines ahead. The sequencing waited on those loads: prefetching cut a
    /// parallel replay's CPU time by 2-5% (interleaved runs, 1M-line sshd benchmark).
    #[inline]
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            // SAFETY: a prefetch is a hint; it reads nothing and never faults, whatever the
            // address (and SSE is in every x86_64 CPU).
            let p = |ptr: *const u8| unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.cast()) };
            p(self.hits.as_ptr().cast());
            p(self.spans.as_ptr().cast());
            p(self.pref_spans.as_ptr().cast());
        }
    }

    fn clear(&mut self) {
        self.pref_searched = false;
        self.pref_matched = false;
        self.text.clear();
        self.in_line = None;
        self.split = 0;
        self.fail = (0, 0);
        self.pref_groups_wanted = false;
        self.pref_spans.clear();
        self.hits.clear();
        self.spans.clear();
        self.ignore_hits.clear();
        self.line_ignored = false;
        self.aborted.clear();
    }

    /// What the searches find on a text where no failregex or ignoreregex can match, the
    /// prefregex (`None` without one) giving `pref`: a replay's screen decides that from
    /// the line's literals (`pipeline/screen.rs`), only when the prefregex's groups are not
    /// wanted.
    pub fn set_screened(&mut self, pref: Option<bool>) {
        self.clear();
        self.pref_searched = pref.is_some();
        self.pref_matched = pref == Some(true);
    }

    /// No hit, no ignore hit, no aborted search, and no prefregex groups to record: the
    /// searches leave nothing but the prefregex's answer.
    #[inline]
    pub(super) fn found_nothing(&self) -> bool {
        self.hits.is_empty()
            && self.ignore_hits.is_empty()
            && self.aborted.is_empty()
            && !self.line_ignored
            && !(self.pref_matched && self.pref_groups_wanted)
    }

    /// The kept texts (see [`LineMatches::text`]); `line_nl` is the line the searches were
    /// made on, with its `"\n"` (see [`Searched`]).
    fn kept<'a>(&'a self, line_nl: &'a str) -> &'a str {
        match self.in_line {
            Some(from) => &line_nl[from..],
            None => &self.text,
        }
    }

    /// The prefregex's text.
    pub(super) fn pref_text<'a>(&'a self, line_nl: &'a str) -> &'a str {
        &self.kept(line_nl)[..self.split]
    }

    /// The failregexes' text.
    pub(super) fn fail_text<'a>(&'a self, line_nl: &'a str) -> &'a str {
        &self.kept(line_nl)[self.fail.0..self.fail.1]
    }

    /// Span of the `k`-th named group of the prefregex match.
    pub(super) fn pref_span(&self, k: usize) -> Option<(usize, usize)> {
        widen(self.pref_spans.get(k).copied().flatten())
    }

    /// Span of the `k`-th named group of the hit starting at `from`.
    pub(super) fn span(&self, from: usize, k: usize) -> Option<(usize, usize)> {
        widen(self.spans.get(from + k).copied().flatten())
    }
}

/// A line's searches as a replay made them ([`Searcher::run_line`]), and that line, with its
/// `"\n"`: the texts their groups refer to may be part of it.
pub struct Searched<'a> {
    pub matches: &'a mut LineMatches,
    pub line_nl: &'a str,
}

/// A line as a replay's batches hold it, for [`Searcher::run_line`].
#[derive(Clone, Copy, Debug)]
pub struct BatchLine<'a> {
    /// The line followed by `"\n"`, its only `"\n"`.
    pub text_nl: &'a str,
    /// Where its date is (`(0, 0)`: nowhere).
    pub date: (usize, usize),
    /// The line is known to be ASCII (its whole batch is); `false`: not known.
    pub ascii: bool,
}

/// Runs one filter's searches on lines (`maxlines = 1`); one per thread.
pub struct Searcher {
    filter: Arc<Filter>,
    pref_caps: Option<Captures>,
    /// One buffer for every failregex, one for every ignoreregex (see [`Captures::for_all`]).
    fail_caps: Captures,
    ign_caps: Captures,
    /// `pre + post + "\n"`: what the prefregex sees.
    text0: String,
    /// `content + "\n"` after the prefregex.
    text1: String,
    /// For the filter's three prefilters.
    pref_scratch: Scratch,
    fail_scratch: Scratch,
    ign_scratch: Scratch,
    keep_pref_groups: bool,
    /// The prefregex's prefilter, unless it accepts every text.
    pref_filtered: bool,
    /// The prefregex's `content` group, when `content` is that group's text (no `alt_` or
    /// `tuple_` groups to merge first).
    content_group: Option<usize>,
}

impl Searcher {
    pub fn new(filter: Arc<Filter>) -> Searcher {
        Searcher {
            pref_caps: filter.prefregex().map(FilterRegex::captures),
            fail_caps: Captures::for_all(filter.failregex().iter().map(FilterRegex::regex)),
            ign_caps: Captures::for_all(filter.ignoreregex().iter().map(FilterRegex::regex)),
            text0: String::new(),
            text1: String::new(),
            pref_scratch: filter.pref_prefilter().scratch(),
            fail_scratch: filter.fail_prefilter().scratch(),
            ign_scratch: filter.ignore_prefilter().scratch(),
            keep_pref_groups: false,
            pref_filtered: filter.prefregex().is_some() && !filter.pref_prefilter().always(0),
            content_group: filter
                .prefregex()
                .filter(|p| p.alt().is_empty() && p.tuple().is_empty())
                .and_then(|p| p.group_of(key::CONTENT)),
            filter,
        }
    }

    /// Also record the prefregex's groups (fail2ban-regex `-v`).
    pub fn keep_prefregex_groups(&mut self, yes: bool) {
        self.keep_pref_groups = yes;
    }

    /// Whether the prefregex's groups are recorded.
    pub fn keeps_prefregex_groups(&self) -> bool {
        self.keep_pref_groups
    }

    /// Searches the line whose regex text is `pre + post` (the line with its date cut out).
    pub fn run(&mut self, pre: &str, post: &str, out: &mut LineMatches) {
        self.run_cut(pre, post, false, out);
    }

    /// [`Searcher::run`]; `ascii`: `pre` and `post` are one line known to be ASCII.
    fn run_cut(&mut self, pre: &str, post: &str, ascii: bool, out: &mut LineMatches) {
        self.text0.clear();
        self.text0.push_str(pre);
        self.text0.push_str(post);
        self.text0.push('\n');
        let text0 = std::mem::take(&mut self.text0);
        self.search(&text0, ascii.then(|| Subject::ascii_line(&text0)), None, out);
        self.text0 = text0;
    }

    /// [`Searcher::run`] on the line with its date cut out. When the date starts the line
    /// (syslog, ISO 8601), the prefregex's text `post + "\n"` is the end of `line.text_nl`
    /// itself, and no copy is made: PCRE2 sees the very same bytes either way. An ASCII
    /// line's facts for PCRE2 ([`Subject`]) are known without a pass over it.
    pub fn run_line(&mut self, line: BatchLine<'_>, out: &mut LineMatches) {
        let BatchLine { text_nl, date: (start, end), ascii } = line;
        debug_assert!(text_nl.ends_with('\n'));
        if start == 0 {
            let text0 = &text_nl[end..];
            self.search(text0, ascii.then(|| Subject::ascii_line(text0)), Some(end), out);
        } else {
            let line = &text_nl[..text_nl.len() - 1];
            self.run_cut(&line[..start], &line[end..], ascii, out);
        }
    }

    /// The searches, on the prefregex's text `text0` (`pre + post + "\n"`), whose facts for
    /// PCRE2 may be `known`; `in_line`: `text0` is the searched line from that byte on.
    fn search<'t>(
        &mut self,
        text0: &'t str,
        known: Option<Subject<'t>>,
        in_line: Option<usize>,
        out: &mut LineMatches,
    ) {
        out.clear();
        // Fields apart: the filter is borrowed, never cloned per line (its `Arc` counter is
        // shared with other threads).
        let Searcher {
            filter,
            pref_caps,
            fail_caps,
            ign_caps,
            text0: _,
            text1,
            pref_scratch,
            fail_scratch,
            ign_scratch,
            keep_pref_groups,
            pref_filtered,
            content_group,
        } = self;
        let f: &Filter = filter;

        // What PCRE2 needs to know about `text0`, found once, and only if a search is made
        // (with many filters, most lines are searched by few of them).
        let mut subject0: Option<Subject<'t>> = known;
        if f.ignores_first() && ignore(f, ign_caps, ign_scratch, &facts(&mut subject0, text0), out)
        {
            return;
        }

        // The prefregex; a non-empty `content` is what the failregexes see: `content + "\n"`,
        // a slice of `text0` when `content` ends where the line does (`...(.+)$`, the usual
        // case), else a copy in `text1`.
        let mut content: Option<Subject<'_>> = None;
        if let (Some(pref), Some(caps)) = (f.prefregex(), pref_caps.as_mut()) {
            out.pref_searched = true;
            // A prefregex that cannot match this text (a literal it needs is missing) is not
            // searched: the answer is the same.
            out.pref_matched = (!*pref_filtered
                || f.pref_prefilter().may_match(0, text0, pref_scratch))
                && search(
                    pref,
                    &facts(&mut subject0, text0),
                    caps,
                    RegexKind::Prefregex,
                    0,
                    &mut out.aborted,
                );
            if !out.pref_matched {
                return;
            }
            out.pref_groups_wanted = *keep_pref_groups;
            // `content` as fail2ban pops it from the groups (after `alt_`/`tuple_` merges).
            if pref.alt().is_empty() && pref.tuple().is_empty() {
                let span = content_group.and_then(|g| caps.get(g));
                match span {
                    Some((s, e)) if s < e && e + 1 == text0.len() => {
                        content = Some(facts(&mut subject0, text0).suffix(s))
                    }
                    Some((s, e)) if s < e => {
                        text1.clear();
                        text1.push_str(&text0[s..e]);
                        text1.push('\n');
                        content = Some(Subject::new(text1));
                    }
                    _ => {}
                }
            } else if let Some(super::Value::Str(c)) =
                groups_of(pref, caps, text0).pop(key::CONTENT)
            {
                if !c.is_empty() {
                    text1.clear();
                    text1.push_str(&c);
                    text1.push('\n');
                    content = Some(Subject::new(text1));
                }
            }
        }

        // The failregexes the prefilter proposes, in order (the others cannot match).
        let text = content.map_or(text0, |c| c.text());
        let candidates = f.fail_prefilter().candidates(text, fail_scratch);
        if !candidates.is_empty() {
            let subject = content.unwrap_or_else(|| facts(&mut subject0, text0));
            for &i in candidates {
                let i = i as usize;
                let fr = &f.failregex()[i];
                let caps = &mut *fail_caps;
                if !search(fr, &subject, caps, RegexKind::Failregex, i, &mut out.aborted) {
                    continue;
                }
                let from = out.spans.len();
                out.spans.extend(fr.groups().iter().map(|&(g, _)| span32(caps.get(g))));
                if !f.ignoreregex().is_empty() && ignore(f, ign_caps, ign_scratch, &subject, out) {
                    out.spans.truncate(from);
                    continue;
                }
                out.hits.push(Hit { regex: i, from });
            }
        }

        // Keep what the groups refer to: `text0`, the searched line itself or a copy, and
        // `content`, usually a suffix of `text0` (the same memory, not copied again).
        if !out.hits.is_empty() || out.pref_groups_wanted {
            let t0 = text0.as_bytes().as_ptr_range();
            let is_suffix = |c: &str| {
                let ct = c.as_bytes().as_ptr_range();
                ct.end == t0.end && t0.start <= ct.start
            };
            // `content` when it must be copied after `text0` (it is not its end).
            let content_copy = content.map(|c| c.text()).filter(|c| !is_suffix(c));
            out.split = text0.len();
            out.fail = match content {
                Some(c) if content_copy.is_none() => (text0.len() - c.text().len(), text0.len()),
                _ => (0, text0.len()),
            };
            match (in_line, content_copy) {
                (Some(from), None) => out.in_line = Some(from),
                (_, copy) => {
                    out.text.push_str(text0);
                    if let Some(c) = copy {
                        out.text.push_str(c);
                        out.fail = (text0.len(), out.text.len());
                    }
                }
            }
            if let (Some(pref), Some(caps)) = (f.prefregex(), pref_caps.as_ref()) {
                out.pref_spans.extend(pref.groups().iter().map(|&(g, _)| span32(caps.get(g))));
            }
        }
    }
}

/// The facts of `text`, found on first use.
fn facts<'t>(found: &mut Option<Subject<'t>>, text: &'t str) -> Subject<'t> {
    *found.get_or_insert_with(|| Subject::new(text))
}

/// fail2ban's `_ignoreLine` for one line: every ignoreregex the prefilter proposes.
fn ignore(
    f: &Filter,
    ign_caps: &mut Captures,
    scratch: &mut Scratch,
    text: &Subject<'_>,
    out: &mut LineMatches,
) -> bool {
    let mut found = false;
    for &j in f.ignore_prefilter().candidates(text.text(), scratch) {
        let j = j as usize;
        let ir = &f.ignoreregex()[j];
        if search(ir, text, ign_caps, RegexKind::Ignoreregex, j, &mut out.aborted) {
            found = true;
            out.line_ignored = true;
            out.ignore_hits.push(j);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FilterDef;

    fn searcher(pref: &str, fail: &[&str], ignore: &[&str]) -> Searcher {
        let def = FilterDef {
            name: "t".into(),
            prefregex: Some(pref.to_string()),
            failregex: fail.iter().map(|s| s.to_string()).collect(),
            ignoreregex: ignore.iter().map(|s| s.to_string()).collect(),
            maxlines: Some(1),
            ..Default::default()
        };
        let mut s =
            Searcher::new(Arc::new(Filter::from_expanded(&def, &Default::default()).unwrap()));
        s.keep_prefregex_groups(true);
        s
    }

    /// `run_line` (subjects sliced from the line when they can be) finds what `run` (subjects
    /// copied) finds: same spans, same texts, whether `content` ends the line or not and
    /// whether the date starts it or not.
    #[test]
    fn slices_and_copies_give_the_same_matches() {
        let mut s = searcher(
            r"^(?P<mlfid>\s*\S+ d\[\d+\]: )(?:pre: )?(?P<content>.+?)(?: tail)?$",
            &[
                r"^fail from (?P<ip4>[\d.]+)$",
                r"^fail from (?P<ip4>[\d.]+) x",
                r"^(?P<user>\w+) from (?P<ip4>[\d.]+)",
            ],
            &[r"ignored"],
        );
        let lines = [
            ("D h d[1]: fail from 1.2.3.4", 0, 1),
            ("D h d[1]: pre: fail from 1.2.3.4 tail", 0, 1),
            ("D h d[1]: fail from 1.2.3.4 x tail", 0, 1),
            ("h d[1]: Dfail from 1.2.3.4", 8, 9),
            ("h d[1]: bob from 1.2.3.4 ignored", 0, 0),
            ("D h d[1]: ", 0, 1),
            ("no match at all", 0, 1),
        ];
        let (mut hit, mut in_line) = (0, 0);
        for (line, start, end) in lines {
            let (mut a, mut b) = (LineMatches::default(), LineMatches::default());
            s.run(&line[..start], &line[end..], &mut a);
            let text_nl = format!("{line}\n");
            let ascii = text_nl.is_ascii();
            s.run_line(BatchLine { text_nl: &text_nl, date: (start, end), ascii }, &mut b);
            // The same texts, copied or in the line; then the same everything.
            assert_eq!(a.in_line, None);
            assert_eq!(a.pref_text(""), b.pref_text(&text_nl), "{line:?}");
            assert_eq!(a.fail_text(""), b.fail_text(&text_nl), "{line:?}");
            in_line += usize::from(b.in_line.is_some());
            (b.text, b.in_line) = (a.text.clone(), None);
            assert_eq!(format!("{a:?}"), format!("{b:?}"), "{line:?}");
            assert!(a.pref_searched, "{line:?}");
            hit += usize::from(!a.hits.is_empty());
        }
        assert_eq!(hit, 4, "the lines above are meant to hit four times");
        assert_eq!(in_line, 2, "two lines kept without a copy (date first, content to the end)");
    }
}
