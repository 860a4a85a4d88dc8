//! A compiled filter: fail2ban's prefregex, failregexes and ignoreregexes on the [`engine`].
//!
//! Built from a [`FilterDef`] (regex text with fail2ban tags) by expanding the tags
//! ([`tags::expand`]) and compiling with PCRE2. Everything a line needs later is resolved here
//! once: group indices, group names interned as [`NameId`]s, `alt_`/`tuple_` merges,
//! `<SKIPLINES>` groups. Compiling never looks at a log line; the per-run state lives in
//! [`crate::line::LineProcessor`].
//!
//! [`engine`]: crate::engine

use std::sync::OnceLock;

use crate::config::FilterDef;
use crate::engine::{Captures, Regex, RegexOptions};
use crate::error::Error;
use crate::prefilter::{Pattern, Prefilter, Pruning};
use crate::tags::{self, GroupRole};

/// An interned group (or fail-dict key) name; see [`Names`].
pub type NameId = u16;

/// Names with a fixed [`NameId`]: the keys fail2ban's line logic reads or writes.
pub mod key {
    use super::NameId;
    pub const MLFID: NameId = 0;
    pub const CONTENT: NameId = 1;
    pub const NOFAIL: NameId = 2;
    pub const MLFGAINED: NameId = 3;
    pub const MLFFORGET: NameId = 4;
    pub const MLFPENDING: NameId = 5;
    pub const USER: NameId = 6;
    pub const USERS: NameId = 7;
    pub const FID: NameId = 8;
    pub const IP4: NameId = 9;
    pub const IP6: NameId = 10;
    pub const DNS: NameId = 11;
    pub const CIDR: NameId = 12;
    pub const MATCHES: NameId = 13;
    pub const NOFAIL_MATCHES: NameId = 14;
    pub const IP: NameId = 15;
    pub(super) const FIXED: [&str; 16] = [
        "mlfid",
        "content",
        "nofail",
        "mlfgained",
        "mlfforget",
        "mlfpending",
        "user",
        "users",
        "fid",
        "ip4",
        "ip6",
        "dns",
        "cidr",
        "matches",
        "nofail-matches",
        "ip",
    ];
}

/// Every group name of a filter's regexes, interned so fail dicts key on small integers.
#[derive(Clone, Debug)]
pub struct Names {
    names: Vec<String>,
}

impl Default for Names {
    fn default() -> Self {
        Names { names: key::FIXED.iter().map(|s| s.to_string()).collect() }
    }
}

impl Names {
    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> NameId {
        if let Some(i) = self.get(name) {
            return i;
        }
        self.names.push(name.to_string());
        (self.names.len() - 1) as NameId
    }

    /// The id of `name` if it is known.
    pub fn get(&self, name: &str) -> Option<NameId> {
        self.names.iter().position(|n| n == name).map(|i| i as NameId)
    }

    /// The text of an id.
    pub fn name(&self, id: NameId) -> &str {
        &self.names[id as usize]
    }
}

/// Which list of the filter a regex belongs to (for errors and reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexKind {
    Prefregex,
    Failregex,
    Ignoreregex,
}

impl RegexKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RegexKind::Prefregex => "prefregex",
            RegexKind::Failregex => "failregex",
            RegexKind::Ignoreregex => "ignoreregex",
        }
    }
}

/// One compiled regex with what the line logic needs about its groups.
#[derive(Debug)]
pub struct FilterRegex {
    /// As written in the filter, tags included (what fail2ban-regex prints for failregexes).
    source: String,
    /// After tag expansion (what fail2ban-regex prints for the prefregex).
    expanded: String,
    re: Regex,
    /// Named groups in group-number order (Python's `groupdict()` order).
    groups: Vec<(usize, NameId)>,
    /// `alt_X[_n]` → `X`: fill `X` when empty. Sorted as fail2ban sorts them.
    alt: Vec<(NameId, NameId)>,
    /// `tuple_X[_n]` → `X`: collect into a tuple.
    tuple: Vec<(NameId, NameId)>,
    /// Group indices of `skiplines0`, `skiplines1`, ... (from `<SKIPLINES>`).
    skiplines: Vec<usize>,
    /// Whether it has one of the failure-id groups (fid, ip4, ip6, dns, mlfid).
    has_id_group: bool,
    /// A twin for the texts where the first branch of one of its groups cannot match.
    pruned: Option<Box<Pruned>>,
}

/// A [`Pruning`] and its twin, compiled on first use.
#[derive(Debug)]
struct Pruned {
    test: Pruning,
    opts: RegexOptions,
    /// `None` inside: the twin did not compile to the same groups (never used then).
    twin: OnceLock<Option<Regex>>,
}

impl Pruned {
    fn twin(&self, re: &Regex) -> Option<&Regex> {
        self.twin
            .get_or_init(|| {
                let twin = Regex::new(&self.test.twin, self.opts).ok()?;
                (twin.group_names() == re.group_names()).then_some(twin)
            })
            .as_ref()
    }
}

impl FilterRegex {
    fn compile(
        source: &str,
        expanded: String,
        multiline: bool,
        names: &mut Names,
    ) -> Result<FilterRegex, crate::engine::CompileError> {
        let opts = RegexOptions { multiline, caseless: false };
        let re = Regex::new(&expanded, opts)?;
        let pruned = Pruning::of(&expanded, multiline, false)
            .map(|test| Box::new(Pruned { test, opts, twin: OnceLock::new() }));
        let mut groups = Vec::new();
        let mut alt = Vec::new();
        let mut tuple = Vec::new();
        let mut skip = Vec::new();
        let mut has_id_group = false;
        for (i, name) in re.group_names().iter().enumerate() {
            let Some(name) = name else { continue };
            let id = names.intern(name);
            groups.push((i, id));
            if matches!(name.as_str(), "fid" | "ip4" | "ip6" | "dns" | "mlfid") {
                has_id_group = true;
            }
            if let Some(n) = name.strip_prefix("skiplines").and_then(|n| n.parse::<usize>().ok()) {
                skip.push((n, i));
            }
            match tags::field_of_group(name) {
                GroupRole::Alt(target) => alt.push((name.clone(), target)),
                GroupRole::Tuple(target) => tuple.push((name.clone(), target)),
                GroupRole::Plain => {}
            }
        }
        // fail2ban stops at the first missing `skiplinesN`.
        skip.sort_unstable();
        let skiplines = skip
            .iter()
            .enumerate()
            .take_while(|(k, (n, _))| k == n)
            .map(|(_, (_, i))| *i)
            .collect();
        alt.sort();
        tuple.sort();
        let mut intern_pairs = |v: Vec<(String, String)>| {
            v.into_iter().map(|(k, n)| (names.intern(&k), names.intern(&n))).collect::<Vec<_>>()
        };
        let alt = intern_pairs(alt);
        let tuple = intern_pairs(tuple);
        Ok(FilterRegex {
            source: source.to_string(),
            expanded,
            re,
            groups,
            alt,
            tuple,
            skiplines,
            has_id_group,
            pruned,
        })
    }

    /// The regex as written in the filter (tags included).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The regex after tag expansion, as given to PCRE2.
    pub fn expanded(&self) -> &str {
        &self.expanded
    }

    /// The compiled regex.
    pub fn regex(&self) -> &Regex {
        &self.re
    }

    /// The regex to search `text` with (from its start): the compiled regex, or its pruned
    /// twin when `text` cannot hold a match through the pruned branch. Both find the same
    /// match with the same groups (see [`Pruning`]); `tests/engine_twins.rs` checks it.
    #[inline]
    pub fn regex_for(&self, text: &str) -> &Regex {
        match &self.pruned {
            Some(p) if !p.test.branch_may_match(text) => p.twin(&self.re).unwrap_or(&self.re),
            _ => &self.re,
        }
    }

    /// The pruned twin, if the regex has one (for tests).
    pub fn pruned_twin(&self) -> Option<&Regex> {
        self.pruned.as_ref().and_then(|p| p.twin(&self.re))
    }

    /// A capture buffer to reuse across searches.
    pub fn captures(&self) -> Captures {
        self.re.captures()
    }

    /// Named groups as (group index, name id), in group-number order.
    pub fn groups(&self) -> &[(usize, NameId)] {
        &self.groups
    }

    /// `alt_` merges (source group, target key).
    pub fn alt(&self) -> &[(NameId, NameId)] {
        &self.alt
    }

    /// `tuple_` merges (source group, target key).
    pub fn tuple(&self) -> &[(NameId, NameId)] {
        &self.tuple
    }

    /// Group indices of the `<SKIPLINES>` captures, in order.
    pub fn skiplines(&self) -> &[usize] {
        &self.skiplines
    }

    /// Group index of a name id, if this regex has it.
    pub fn group_of(&self, id: NameId) -> Option<usize> {
        self.groups.iter().find(|(_, n)| *n == id).map(|(i, _)| *i)
    }
}

/// The last `n` characters of `s` before byte `offset` (PCRE2's error position), with `…` when
/// cut, to point at the error in one line.
fn tail_before(s: &str, offset: usize, n: usize) -> String {
    let mut end = offset.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let head = &s[..end];
    match head.char_indices().rev().nth(n) {
        Some((i, c)) => format!("…{}", &head[i + c.len_utf8()..]),
        None => head.to_string(),
    }
}

/// Options that change how a [`FilterDef`] is compiled.
#[derive(Clone, Debug, Default)]
pub struct FilterOptions {
    /// `usedns = no`: `<HOST>` matches addresses only. fail2ban-regex ignores the filter's own
    /// `usedns` and defaults to `warn`, so replay leaves this off.
    pub usedns_no: bool,
    /// Overrides the filter's `maxlines` (fail2ban-regex `-L`).
    pub maxlines: Option<usize>,
}

/// A filter ready to process lines: shared, read-only, one per filter variant.
#[derive(Debug)]
pub struct Filter {
    name: String,
    def: FilterDef,
    maxlines: usize,
    prefregex: Option<FilterRegex>,
    failregex: Vec<FilterRegex>,
    ignoreregex: Vec<FilterRegex>,
    names: Names,
    /// Candidate failregexes / ignoreregexes for a text, and whether the prefregex may
    /// match one; PCRE2 still decides.
    fail_prefilter: Prefilter,
    ignore_prefilter: Prefilter,
    pref_prefilter: Prefilter,
}

/// Compiles one list of a filter's regexes (`texts` as written, `expanded` their tags
/// expanded); an error names the filter, the regex and how far it compiled.
fn compile_all(
    def: &FilterDef,
    kind: RegexKind,
    texts: &[String],
    expanded: &[String],
    multiline: bool,
    names: &mut Names,
) -> Result<Vec<FilterRegex>, Error> {
    texts
        .iter()
        .zip(expanded)
        .map(|(text, expanded)| {
            FilterRegex::compile(text, expanded.clone(), multiline, names).map_err(|e| {
                Error::Other(format!(
                    "filter {}: {} {:?} does not compile: {} (expanded regex up to there: \
                     {:?}); fix the regex in the filter",
                    def.name,
                    kind.as_str(),
                    text,
                    e.message,
                    tail_before(&e.pattern, e.offset, 40),
                ))
            })
        })
        .collect()
}

/// The prefilter over `expanded`, compiled as they are (MULTILINE or not, case-sensitive).
fn prefilter(expanded: &[String], multiline: bool) -> Prefilter {
    let patterns: Vec<Pattern> =
        expanded.iter().map(|text| Pattern { text, multiline, caseless: false }).collect();
    Prefilter::new(&patterns)
}

impl Filter {
    /// Compiles `def` as fail2ban does when a filter is loaded.
    pub fn new(def: &FilterDef, opts: &FilterOptions) -> Result<Filter, Error> {
        let expand = |kind: RegexKind, text: &str| -> Result<String, Error> {
            tags::expand(text, opts.usedns_no).map_err(|e| {
                Error::Other(format!("filter {}: {} {:?}: {}", def.name, kind.as_str(), text, e))
            })
        };
        Filter::build(def, opts, expand)
    }

    /// Compiles regexes that are already PCRE2 text (no fail2ban tags): for tests and tools
    /// that build a filter by hand.
    pub fn from_expanded(def: &FilterDef, opts: &FilterOptions) -> Result<Filter, Error> {
        Filter::build(def, opts, |_, text| Ok(text.to_string()))
    }

    fn build(
        def: &FilterDef,
        opts: &FilterOptions,
        expand: impl Fn(RegexKind, &str) -> Result<String, Error>,
    ) -> Result<Filter, Error> {
        let maxlines = opts.maxlines.or(def.maxlines).unwrap_or(1);
        if maxlines == 0 {
            return Err(Error::Other(format!(
                "filter {}: maxlines must be an integer greater than zero",
                def.name
            )));
        }
        // Tags expanded first: the prefilters need only the texts, so they are built on a
        // second thread while PCRE2 compiles (each is a few milliseconds of a replay's
        // start-up, which no other thread shares).
        let expand_all = |kind: RegexKind, texts: &[String]| -> Result<Vec<String>, Error> {
            texts
                .iter()
                .map(|text| {
                    let expanded = expand(kind, text)?;
                    if expanded.trim_start().is_empty() {
                        return Err(Error::Other(format!(
                            "filter {}: empty {} (remove the empty line or give a regex)",
                            def.name,
                            kind.as_str()
                        )));
                    }
                    Ok(expanded)
                })
                .collect()
        };
        let pref_text: Vec<String> =
            def.prefregex.iter().filter(|p| !p.trim().is_empty()).cloned().collect();
        let pref_expanded = expand_all(RegexKind::Prefregex, &pref_text)?;
        let fail_expanded = expand_all(RegexKind::Failregex, &def.failregex)?;
        let ignore_expanded = expand_all(RegexKind::Ignoreregex, &def.ignoreregex)?;

        let mut names = Names::default();
        let (prefilters, compiled) = std::thread::scope(|scope| {
            let prefilters = scope.spawn(|| {
                [
                    prefilter(&pref_expanded, false),
                    prefilter(&fail_expanded, maxlines > 1),
                    prefilter(&ignore_expanded, false),
                ]
            });
            let mut compile = |kind, texts: &[String], expanded: &[String], multiline| {
                compile_all(def, kind, texts, expanded, multiline, &mut names)
            };
            let compiled = compile(RegexKind::Prefregex, &pref_text, &pref_expanded, false)
                .and_then(|pref| {
                    let fail = compile(
                        RegexKind::Failregex,
                        &def.failregex,
                        &fail_expanded,
                        maxlines > 1,
                    )?;
                    let ignore =
                        compile(RegexKind::Ignoreregex, &def.ignoreregex, &ignore_expanded, false)?;
                    Ok((pref, fail, ignore))
                });
            (prefilters.join().expect("building a prefilter panicked"), compiled)
        });
        let (prefregex, failregex, ignoreregex) = compiled?;
        let prefregex = prefregex.into_iter().next();
        let [pref_prefilter, fail_prefilter, ignore_prefilter] = prefilters;
        let pref_has_id = prefregex.as_ref().is_some_and(|p| p.has_id_group);
        if let Some(bad) = failregex.iter().find(|r| !r.has_id_group && !pref_has_id) {
            return Err(Error::Other(format!(
                "filter {}: no failure-id group in failregex {:?}: use <HOST>, <ADDR>, <F-ID>…</F-ID> \
                 or <F-MLFID>…</F-MLFID>",
                def.name,
                bad.expanded()
            )));
        }
        Ok(Filter {
            fail_prefilter,
            ignore_prefilter,
            pref_prefilter,
            name: def.name.clone(),
            def: def.clone(),
            maxlines,
            prefregex,
            failregex,
            ignoreregex,
            names,
        })
    }

    /// The filter's name as given (`sshd`, `sshd[mode=aggressive]`, a path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The definition this filter was compiled from.
    pub fn def(&self) -> &FilterDef {
        &self.def
    }

    /// The effective `maxlines` (line buffer size).
    pub fn maxlines(&self) -> usize {
        self.maxlines
    }

    pub fn prefregex(&self) -> Option<&FilterRegex> {
        self.prefregex.as_ref()
    }

    pub fn failregex(&self) -> &[FilterRegex] {
        &self.failregex
    }

    pub fn ignoreregex(&self) -> &[FilterRegex] {
        &self.ignoreregex
    }

    /// fail2ban's `findFailure` rule: with many more failregexes than ignoreregexes, the
    /// ignoreregexes are searched first, on every line (a hit ends the line's searches).
    pub fn ignores_first(&self) -> bool {
        !self.ignoreregex.is_empty() && self.ignoreregex.len() + 2 < self.failregex.len()
    }

    /// Which failregexes may match a text (index = failregex index).
    pub fn fail_prefilter(&self) -> &Prefilter {
        &self.fail_prefilter
    }

    /// Whether the prefregex may match a text (pattern 0; no patterns without a prefregex).
    pub fn pref_prefilter(&self) -> &Prefilter {
        &self.pref_prefilter
    }

    /// Which ignoreregexes may match a text (index = ignoreregex index).
    pub fn ignore_prefilter(&self) -> &Prefilter {
        &self.ignore_prefilter
    }

    /// The interned group names of all regexes.
    pub fn names(&self) -> &Names {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(pref: Option<&str>, fail: &[&str], ignore: &[&str], maxlines: usize) -> FilterDef {
        FilterDef {
            name: "t".into(),
            prefregex: pref.map(str::to_string),
            failregex: fail.iter().map(|s| s.to_string()).collect(),
            ignoreregex: ignore.iter().map(|s| s.to_string()).collect(),
            maxlines: Some(maxlines),
            ..Default::default()
        }
    }

    #[test]
    fn groups_and_skiplines_are_resolved() {
        let f = Filter::from_expanded(
            &def(
                None,
                &[r"^a (?P<ip4>\S+)\n(?P<skiplines0>(?:.*\n)*?)b(?P<alt_user_2>\w+)(?P<skiplines1>x)?"],
                &[],
                3,
            ),
            &FilterOptions::default(),
        )
        .unwrap();
        let r = &f.failregex()[0];
        assert_eq!(r.skiplines(), &[2, 4]);
        assert_eq!(r.alt().len(), 1);
        assert_eq!(f.names().name(r.alt()[0].1), "user");
        assert_eq!(f.maxlines(), 3);
    }

    #[test]
    fn failure_id_group_is_required() {
        let err = Filter::from_expanded(&def(None, &["^no id here$"], &[], 1), &Default::default())
            .unwrap_err();
        assert!(err.to_string().contains("no failure-id group"), "{err}");
        // ...unless the prefregex has one.
        Filter::from_expanded(&def(Some("^(?P<mlfid>x)"), &["^y$"], &[], 1), &Default::default())
            .unwrap();
    }

    #[test]
    fn empty_and_broken_regexes_are_errors() {
        let err =
            Filter::from_expanded(&def(None, &["   "], &[], 1), &Default::default()).unwrap_err();
        assert!(err.to_string().contains("empty failregex"), "{err}");
        let err = Filter::from_expanded(&def(None, &["(?P<ip4>x"], &[], 1), &Default::default())
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("missing closing parenthesis") && !msg.contains('\n'), "{msg}");
        assert_eq!(tail_before("abcdef", 4, 2), "…cd");
        assert_eq!(tail_before("ab", 9, 5), "ab");
    }

    #[test]
    fn multiline_flag_only_for_failregex_with_maxlines() {
        for (maxlines, want) in [(1, false), (2, true)] {
            let f = Filter::from_expanded(
                &def(None, &["^x (?P<ip4>\\S+)$\\n^y"], &["^z$\\n^w"], maxlines),
                &Default::default(),
            )
            .unwrap();
            assert_eq!(f.failregex()[0].regex().is_match("x 1\ny\n").unwrap(), want);
            assert!(!f.ignoreregex()[0].regex().is_match("z\nw\n").unwrap());
        }
    }
}
