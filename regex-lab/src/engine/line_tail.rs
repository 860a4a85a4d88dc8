//! Patterns that end by taking the rest of the line, `…(?P<content>.+)$`, searched without
//! walking that rest.
//!
//! fail2ban's prefregexes end this way (`<F-CONTENT>.+</F-CONTENT>$`), and the prefregex
//! is searched on every line. On a subject whose only `\n` is its last byte, `.+$` can do
//! one thing only: take every character up to that `\n` (or the end), and it succeeds iff
//! at least one character is left. So `(?=.)` decides the same match, through the same
//! path of everything before it (the backtracking order of the prefix is unchanged: each
//! of its candidate paths is accepted or rejected by the same condition), and the group
//! ends where the line does. PCRE2 stepping over the rest byte by byte was half the
//! prefregex's time on the sshd corpus (140 → 71 ns per line).
//!
//! The rewrite is refused whenever "the tail only sees the rest of this line" might not
//! hold: an alternation at the top level (the tail would belong to one branch only), any
//! inline flag (`(?s)` lets `.` match `\n`, `(?m)` moves `$`, `(?x)` changes the syntax),
//! backtracking verbs, `\Q…\E` quoting, recursion, or a prefix the scanner cannot read.

/// What follows the group's name in the tails we rewrite, and what replaces it: `.+` needs
/// one more character, `.*` needs nothing.
const TAILS: [(&str, &str); 4] =
    [(".+)$", "(?=.))"), (".+?)$", "(?=.))"), (".*)$", ")"), (".*?)$", ")")];

/// The twin of `translated` (a pattern already in PCRE2 syntax) ending in `(?=.)` or an
/// empty group instead of `.+$` / `.*$`, and the tail group's name; `None` when the
/// pattern does not end that way or the rewrite might not be exact (see the module docs).
pub(super) fn twin(translated: &str) -> Option<(String, &str)> {
    let (body, replacement) =
        TAILS.iter().find_map(|(tail, with)| Some((translated.strip_suffix(tail)?, *with)))?;
    let body = body.strip_suffix('>')?;
    let open = body.rfind("(?P<")?;
    let name = &body[open + 4..];
    let mut chars = name.chars();
    let name_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !name_ok || !plain_sequence(&body[..open]) {
        return None;
    }
    Some((format!("{}(?P<{name}>{replacement}", &body[..open]), name))
}

/// True when `prefix` is a sequence at the top level (no `|` outside groups), with
/// balanced groups and only the group kinds whose meaning does not reach the tail.
fn plain_sequence(prefix: &str) -> bool {
    let b = prefix.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                // `\Q…\E` quotes everything up to `\E`: not worth reading.
                if matches!(b.get(i + 1), None | Some(b'Q')) {
                    return false;
                }
                i += 2;
                continue;
            }
            b'[' => match class_end(b, i) {
                Some(end) => {
                    i = end + 1;
                    continue;
                }
                None => return false,
            },
            b'(' => {
                if !allowed_group(&b[i + 1..]) {
                    return false;
                }
                depth += 1;
            }
            b')' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            b'|' if depth == 0 => return false,
            _ => {}
        }
        i += 1;
    }
    depth == 0
}

/// A group opening (the text after its `(`) that cannot change how the tail matches:
/// capturing, non-capturing, look-around, atomic, conditional, named.
fn allowed_group(after: &[u8]) -> bool {
    match after {
        [b'?', rest @ ..] => matches!(
            rest,
            [b':' | b'=' | b'!' | b'>' | b'(', ..]
                | [b'<', b'=' | b'!', ..]
                | [b'P', b'<', ..]
                | [b'<', b'A'..=b'Z' | b'a'..=b'z' | b'_', ..]
        ),
        // `(*VERB)`: backtracking control.
        [b'*', ..] => false,
        _ => true,
    }
}

/// The index of the `]` closing the class opened at `open`; `]` right after `[` or `[^`
/// is a literal, escapes and POSIX classes (`[:alpha:]`) are skipped.
fn class_end(b: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if b.get(i) == Some(&b'^') {
        i += 1;
    }
    if b.get(i) == Some(&b']') {
        i += 1;
    }
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'[' if b.get(i + 1) == Some(&b':') => {
                let close = b[i + 2..].windows(2).position(|w| w == b":]")?;
                i += 2 + close + 2;
            }
            b']' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_the_prefregex_tails() {
        let p = r"^(?P<mlfid>\s*\S+ d\[\d+\]:\s)(?:(?:error|fatal): )?(?P<content>.+)$";
        let (t, name) = twin(p).unwrap();
        assert_eq!(name, "content");
        assert_eq!(t, r"^(?P<mlfid>\s*\S+ d\[\d+\]:\s)(?:(?:error|fatal): )?(?P<content>(?=.))");
        assert_eq!(twin("^a (?P<c>.*?)$").unwrap().0, "^a (?P<c>)");
        assert_eq!(twin("^[|(](?P<c>.+?)$").unwrap().0, "^[|(](?P<c>(?=.))");
        assert_eq!(
            twin(r"^[]|\]][[:alpha:]|](?P<c>.*)$").unwrap().0,
            r"^[]|\]][[:alpha:]|](?P<c>)"
        );
    }

    #[test]
    fn refuses_what_might_not_be_exact() {
        for p in [
            "^a|b(?P<c>.+)$",          // the tail belongs to one branch
            "(?s)^a(?P<c>.+)$",        // `.` matches `\n`
            "(?m)^a(?P<c>.+)$",        // `$` at every line
            "^a(?i:x)(?P<c>.+)$",      // any inline flag
            "^a(*COMMIT)(?P<c>.+)$",   // verbs
            r"^\Q)|\E(?P<c>.+)$",      // quoting
            r"^a\(?P<c>.+)$",          // the group's `(` is escaped
            "^(a(?P<c>.+)$",           // unbalanced
            "^a)(?P<c>.+)$",           // unbalanced
            "^a(?P<c>.+) $",           // not the tail
            "^a(?P<c>.+)",             // no `$`
            "^a(?P<c>x.+)$",           // more than the tail in the group
            "^a(?P<1c>.+)$",           // not a name
            "^a(?|(x)|(y))(?P<c>.+)$", // branch reset
            "^[a(?P<c>.+)$",           // unterminated class
        ] {
            assert_eq!(twin(p), None, "{p}");
        }
    }
}
