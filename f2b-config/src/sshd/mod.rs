//! sshd's `MaxAuthTries`: what is effective, and the smallest edit that makes it 3.
//!
//! sshd reads its config top to bottom, expanding `Include` in place (relative paths are under
//! /etc/ssh, globs sorted), and for a single-valued option like `MaxAuthTries` the *first*
//! value outside a `Match` block wins. A `Match` block lasts until the next `Match` or the end
//! of the file it is in (an included file's `Match` does not leak back). Keywords are
//! case-insensitive and may be written `Keyword value` or `Keyword=value`.
//!
//! The edit, in order of preference (each checked by re-reading the edited tree):
//! 1. a drop-in `sshd_config.d/00-f2b-sidecar.conf` when the main file includes that directory
//!    outside any `Match` block and nothing read earlier sets the option;
//! 2. else the line that sets the effective value, replaced in place;
//! 3. else a new line after a commented `#MaxAuthTries` line, or before the first `Match`
//!    (never after it: that would scope the setting to the block), or at the end.
//!
//! The effective value is read with `sshd -T` where sshd runs (see [`run`]); this parser
//! decides where to edit, and is the fallback without sshd.

pub mod run;

use std::collections::BTreeMap;

use crate::error::Result;
use crate::view::{Overlay, Tree};

/// The main config file.
pub const MAIN: &str = "/etc/ssh/sshd_config";
/// The drop-in f2b-config writes when the main file includes sshd_config.d; `00-` because the
/// first value wins.
pub const DROPIN: &str = "/etc/ssh/sshd_config.d/00-f2b-sidecar.conf";
/// ProxMenux's saved original value.
pub const PROXMENUX_BACKUP: &str = "/usr/local/share/proxmenux/sshd_maxauthtries_backup";
/// sshd's compiled-in default.
pub const DEFAULT_MAX_AUTH_TRIES: u32 = 6;
/// What f2b-config sets (Lynis SSH-7408).
pub const WANT: u32 = 3;

/// One keyword line, in the order sshd processes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// Lower-cased.
    pub keyword: String,
    pub args: Vec<String>,
    /// Outside every `Match` block.
    pub global: bool,
}

/// Splits `Keyword value...` / `Keyword=value`; `None` for blank and comment lines.
pub fn split_line(line: &str) -> Option<(String, Vec<String>)> {
    let t = line.trim();
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    let end = t.find(|c: char| c.is_whitespace() || c == '=').unwrap_or(t.len());
    let keyword = t[..end].to_ascii_lowercase();
    let mut rest = t[end..].trim_start();
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start();
    }
    Some((keyword, rest.split_whitespace().map(|a| a.trim_matches('"').to_string()).collect()))
}

/// Every directive sshd would process, main file first, includes expanded in place.
pub fn directives(tree: &dyn Tree, main: &str) -> Result<Vec<Directive>> {
    let mut out = Vec::new();
    walk(tree, main, true, 0, &mut out)?;
    Ok(out)
}

fn walk(
    tree: &dyn Tree,
    file: &str,
    global_at_start: bool,
    depth: usize,
    out: &mut Vec<Directive>,
) -> Result<()> {
    // sshd stops at 16 levels; so do we (an include loop must not hang planning).
    if depth > 16 {
        return Ok(());
    }
    let Some(text) = tree.text(file)? else { return Ok(()) };
    let mut global = global_at_start;
    for (i, line) in text.lines().enumerate() {
        let Some((keyword, args)) = split_line(line) else { continue };
        if keyword == "match" {
            global = false;
        }
        out.push(Directive {
            file: file.to_string(),
            line: i + 1,
            keyword: keyword.clone(),
            args: args.clone(),
            global,
        });
        if keyword == "include" {
            for pattern in &args {
                for path in glob(tree, &resolve_include(pattern))? {
                    walk(tree, &path, global, depth + 1, out)?;
                }
            }
        }
    }
    Ok(())
}

/// Include paths without a leading `/` are under /etc/ssh.
pub fn resolve_include(pattern: &str) -> String {
    if pattern.starts_with('/') {
        pattern.to_string()
    } else {
        format!("/etc/ssh/{pattern}")
    }
}

/// glob(3) for patterns with wildcards in the last component only (what sshd configs use);
/// sorted, and `*` does not match a leading dot.
fn glob(tree: &dyn Tree, pattern: &str) -> Result<Vec<String>> {
    let (dir, name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if !name.contains(['*', '?']) {
        return Ok(if tree.node(pattern)?.file().is_some() {
            vec![pattern.to_string()]
        } else {
            vec![]
        });
    }
    let dir = if dir.is_empty() { "/" } else { dir };
    let mut hits: Vec<String> = tree
        .names(dir)?
        .into_iter()
        .filter(|n| !n.starts_with('.') && wildcard(name.as_bytes(), n.as_bytes()))
        .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
        .collect();
    hits.sort();
    let mut files = Vec::new();
    for h in hits {
        if tree.node(&h)?.file().is_some() {
            files.push(h);
        }
    }
    Ok(files)
}

fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], s) || (!s.is_empty() && wildcard(p, &s[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => wildcard(&p[1..], &s[1..]),
        _ => false,
    }
}

/// An effective value and the line that set it (`None`: sshd's default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Effective {
    pub value: u32,
    pub origin: Option<(String, usize)>,
}

/// The effective global `MaxAuthTries`: the first global value.
pub fn effective_max_auth_tries(dirs: &[Directive]) -> Effective {
    for d in dirs.iter().filter(|d| d.global && d.keyword == "maxauthtries") {
        if let Some(v) = d.args.first().and_then(|a| a.parse::<u32>().ok()) {
            return Effective { value: v, origin: Some((d.file.clone(), d.line)) };
        }
    }
    Effective { value: DEFAULT_MAX_AUTH_TRIES, origin: None }
}

/// The global `Port` values (sshd listens on all of them), 22 when none is set.
pub fn ports(dirs: &[Directive]) -> Vec<String> {
    let mut p: Vec<String> = dirs
        .iter()
        .filter(|d| d.global && d.keyword == "port")
        .flat_map(|d| d.args.iter().cloned())
        .collect();
    p.dedup();
    if p.is_empty() {
        p.push("22".into());
    }
    p
}

/// What to change so the effective value becomes [`WANT`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Already at or below 3: nothing to do.
    None { current: Effective },
    /// Write (create or replace) `path` with `text`.
    Write { path: String, text: String, current: Effective, how: String },
}

/// Plans the edit on `tree` (the tree as it was before f2b-config).
pub fn plan(tree: &dyn Tree) -> Result<std::result::Result<Edit, String>> {
    let current = effective_max_auth_tries(&directives(tree, MAIN)?);
    if current.value <= WANT {
        return Ok(Ok(Edit::None { current }));
    }
    if tree.text(MAIN)?.is_none() {
        return Ok(Err(format!("{MAIN} does not exist")));
    }
    let wanted_line = format!("MaxAuthTries {WANT}");

    // 1. A drop-in, if the main file includes it and it would win.
    let dropin = format!(
        "# Managed by f2b-config (f2b-sidecar); removed by `f2b-config remove`.\n\
         # Lynis SSH-7408; was {} ({}).\n{wanted_line}\n",
        current.value,
        origin_text(&current)
    );
    if works(tree, DROPIN, &dropin)? {
        return Ok(Ok(Edit::Write {
            path: DROPIN.into(),
            text: dropin,
            current,
            how: "drop-in".into(),
        }));
    }

    // 2. The line that sets the effective value.
    if let Some((file, line)) = current.origin.clone() {
        let text = tree.text(&file)?.unwrap_or_default();
        let edited = replace_line(&text, line, &wanted_line);
        if works(tree, &file, &edited)? {
            return Ok(Ok(Edit::Write {
                path: file,
                text: edited,
                current,
                how: format!("line {line} replaced"),
            }));
        }
        return Ok(Err(format!(
            "replacing {file}:{line} does not make MaxAuthTries {WANT} effective"
        )));
    }

    // 3. A new global line in the main file.
    let text = tree.text(MAIN)?.unwrap_or_default();
    let edited = insert_global(&text, &wanted_line);
    if works(tree, MAIN, &edited)? {
        return Ok(Ok(Edit::Write {
            path: MAIN.into(),
            text: edited,
            current,
            how: "line added".into(),
        }));
    }
    Ok(Err(format!("no edit of {MAIN} makes MaxAuthTries {WANT} effective")))
}

fn origin_text(e: &Effective) -> String {
    match &e.origin {
        Some((f, l)) => format!("{f}:{l}"),
        None => "sshd's default".into(),
    }
}

fn works(tree: &dyn Tree, path: &str, text: &str) -> Result<bool> {
    let ov =
        Overlay { base: tree, files: BTreeMap::from([(path.to_string(), Some(text.to_string()))]) };
    Ok(effective_max_auth_tries(&directives(&ov, MAIN)?).value == WANT)
}

/// Replaces 1-based line `no` with `new`, keeping its indentation and line ending.
fn replace_line(text: &str, no: usize, new: &str) -> String {
    let mut out = String::with_capacity(text.len() + new.len());
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i + 1 == no {
            let indent: String = l.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            let ending = if l.ends_with("\r\n") {
                "\r\n"
            } else if l.ends_with('\n') {
                "\n"
            } else {
                ""
            };
            out.push_str(&indent);
            out.push_str(new);
            out.push_str(ending);
        } else {
            out.push_str(l);
        }
    }
    out
}

/// Adds `new` as a global line: after the last commented-out `#MaxAuthTries` before the first
/// `Match`, else just before the first `Match`, else at the end.
fn insert_global(text: &str, new: &str) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let first_match = lines.iter().position(|l| split_line(l).is_some_and(|(k, _)| k == "match"));
    let limit = first_match.unwrap_or(lines.len());
    let commented = lines[..limit].iter().rposition(|l| {
        let t = l.trim_start().trim_start_matches('#').trim_start();
        l.trim_start().starts_with('#')
            && t.len() >= 12
            && t[..12].eq_ignore_ascii_case("maxauthtries")
    });
    let at = match (commented, first_match) {
        (Some(c), _) => c + 1,
        (None, Some(m)) => m,
        (None, None) => lines.len(),
    };
    let mut out = String::new();
    for l in &lines[..at] {
        out.push_str(l);
    }
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(new);
    out.push('\n');
    for l in &lines[at..] {
        out.push_str(l);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::MemTree;

    const DEBIAN_HEAD: &str = "Include /etc/ssh/sshd_config.d/*.conf\n\n#LoginGraceTime 2m\n#MaxAuthTries 6\n#MaxSessions 10\n";

    fn edit(files: &[(&str, &str)]) -> Edit {
        plan(&MemTree::new(files)).unwrap().unwrap()
    }

    fn written(e: &Edit) -> (&str, &str) {
        match e {
            Edit::Write { path, text, .. } => (path, text),
            Edit::None { .. } => panic!("no edit"),
        }
    }

    #[test]
    fn splits_keyword_forms() {
        assert_eq!(split_line("  MaxAuthTries 4"), Some(("maxauthtries".into(), vec!["4".into()])));
        assert_eq!(split_line("MAXAUTHTRIES=5"), Some(("maxauthtries".into(), vec!["5".into()])));
        assert_eq!(split_line("maxauthtries = 7"), Some(("maxauthtries".into(), vec!["7".into()])));
        assert_eq!(split_line("   # MaxAuthTries 2"), None);
    }

    #[test]
    fn debian_default_gets_a_dropin() {
        let e = edit(&[(MAIN, DEBIAN_HEAD)]);
        let (p, t) = written(&e);
        assert_eq!(p, DROPIN);
        assert!(t.ends_with("MaxAuthTries 3\n") && t.contains("was 6 (sshd's default)"), "{t}");
    }

    #[test]
    fn first_value_wins_and_match_blocks_do_not_count() {
        let t = MemTree::new(&[
            (MAIN, "Include /etc/ssh/sshd_config.d/*.conf\nMatch User bob\n  MaxAuthTries 1\n"),
            ("/etc/ssh/sshd_config.d/10-a.conf", "MaxAuthTries 5\n"),
            ("/etc/ssh/sshd_config.d/20-b.conf", "MaxAuthTries 2\n"),
        ]);
        let e = effective_max_auth_tries(&directives(&t, MAIN).unwrap());
        assert_eq!(
            e,
            Effective { value: 5, origin: Some(("/etc/ssh/sshd_config.d/10-a.conf".into(), 1)) }
        );
        // Our 00- drop-in sorts first and wins.
        assert_eq!(
            written(&edit(&[
                (MAIN, "Include sshd_config.d/*.conf\n"),
                ("/etc/ssh/sshd_config.d/10-a.conf", "MaxAuthTries 5\n")
            ]))
            .0,
            DROPIN
        );
    }

    #[test]
    fn a_value_before_the_include_is_edited_in_place() {
        let main = "MaxAuthTries 6\nInclude /etc/ssh/sshd_config.d/*.conf\n";
        let e = edit(&[(MAIN, main)]);
        assert_eq!(written(&e), (MAIN, "MaxAuthTries 3\nInclude /etc/ssh/sshd_config.d/*.conf\n"));
    }

    #[test]
    fn an_earlier_dropin_is_edited_in_place() {
        let e = edit(&[
            (MAIN, DEBIAN_HEAD),
            ("/etc/ssh/sshd_config.d/00-aaa.conf", "# x\n\tmaxauthtries=10\n"),
        ]);
        assert_eq!(written(&e), ("/etc/ssh/sshd_config.d/00-aaa.conf", "# x\n\tMaxAuthTries 3\n"));
    }

    #[test]
    fn without_include_indented_mixed_case_line_is_replaced() {
        let e = edit(&[(MAIN, "Port 22\n   maxAuthTries   8\nMatch User x\n  MaxAuthTries 2\n")]);
        assert_eq!(written(&e).1, "Port 22\n   MaxAuthTries 3\nMatch User x\n  MaxAuthTries 2\n");
    }

    #[test]
    fn commented_line_gets_a_line_after_it() {
        let e = edit(&[(MAIN, "#MaxAuthTries 6\nUsePAM yes\n")]);
        assert_eq!(written(&e).1, "#MaxAuthTries 6\nMaxAuthTries 3\nUsePAM yes\n");
    }

    #[test]
    fn new_line_goes_before_the_first_match_never_after() {
        let e = edit(&[(MAIN, "UsePAM yes\nMatch User a\n\tX11Forwarding no\nMatch all\n")]);
        assert_eq!(
            written(&e).1,
            "UsePAM yes\nMaxAuthTries 3\nMatch User a\n\tX11Forwarding no\nMatch all\n"
        );
        // A commented line inside a Match block is not a place to add it.
        let e = edit(&[(MAIN, "UsePAM yes\nMatch User a\n#MaxAuthTries 6\n")]);
        assert_eq!(written(&e).1, "UsePAM yes\nMaxAuthTries 3\nMatch User a\n#MaxAuthTries 6\n");
        // No newline at the end, no Match: appended on its own line.
        assert_eq!(written(&edit(&[(MAIN, "UsePAM yes")])).1, "UsePAM yes\nMaxAuthTries 3\n");
    }

    #[test]
    fn include_inside_match_is_not_global() {
        let e =
            edit(&[(MAIN, "UsePAM yes\nMatch User a\nInclude /etc/ssh/sshd_config.d/*.conf\n")]);
        assert_eq!(
            written(&e),
            (
                MAIN,
                "UsePAM yes\nMaxAuthTries 3\nMatch User a\nInclude /etc/ssh/sshd_config.d/*.conf\n"
            )
        );
    }

    #[test]
    fn low_values_are_left_alone() {
        assert!(matches!(edit(&[(MAIN, "MaxAuthTries 2\n")]), Edit::None { .. }));
        assert!(matches!(edit(&[(MAIN, "MaxAuthTries 3\n")]), Edit::None { .. }));
    }

    #[test]
    fn match_in_an_included_file_ends_with_it() {
        let t = MemTree::new(&[
            (MAIN, "Include /etc/ssh/a.conf\nMaxAuthTries 4\n"),
            ("/etc/ssh/a.conf", "Match User z\nX11Forwarding no\n"),
        ]);
        assert_eq!(effective_max_auth_tries(&directives(&t, MAIN).unwrap()).value, 4);
    }

    #[test]
    fn ports_default_to_22() {
        let t = MemTree::new(&[(MAIN, "Port 2222\nPort 22\nMatch all\nPort 9\n")]);
        assert_eq!(ports(&directives(&t, MAIN).unwrap()), ["2222", "22"]);
        assert_eq!(ports(&[]), ["22"]);
    }
}
