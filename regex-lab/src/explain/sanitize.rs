//! Making attacker-controlled text safe to print on a terminal.
//!
//! Log lines are written by whoever connects to the service: a user name can carry an escape
//! sequence that recolours or clears the terminal, a right-to-left override that makes
//! `192.0.2.1` read as something else, or zero-width characters that hide text. Every line
//! `verify` and `explain` print goes through [`sanitize`], which replaces such characters with
//! a visible escape (`\x1b`, `\u{202e}`) and leaves everything else, backslashes included, as is.

use std::borrow::Cow;

/// True for characters that must not reach a terminal raw.
fn is_hostile(c: char) -> bool {
    matches!(c,
        // C0 controls (tab included: it can realign columns), DEL and C1 controls.
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        // Bidirectional formatting: embeddings, overrides, isolates, marks.
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        // Zero-width and invisible: spaces, joiners, word joiner, invisible operators, BOM.
        | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{180e}'
        // Line and paragraph separators, which some terminals and editors treat as newlines.
        | '\u{2028}' | '\u{2029}'
        // Interlinear annotation and tag characters (invisible, used to smuggle text).
        | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}')
}

/// `text` with every hostile character replaced by a visible escape.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hostile) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_hostile(c) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn table() {
        let cases: &[(&str, &str)] = &[
            ("plain sshd[1]: Failed password for root", "plain sshd[1]: Failed password for root"),
            ("back\\slash and ünïcode 日本", "back\\slash and ünïcode 日本"),
            ("user \x1b[31mred\x1b[0m", "user \\x1b[31mred\\x1b[0m"),
            ("a\rb\nc\td\0", "a\\x0db\\x0ac\\x09d\\x00"),
            ("del\x7f c1\u{9b}", "del\\x7f c1\\x9b"),
            ("from 1.2.3.4\u{202e}9.9.9.9", "from 1.2.3.4\\u{202e}9.9.9.9"),
            ("iso\u{2066}late\u{2069}", "iso\\u{2066}late\\u{2069}"),
            ("zero\u{200b}width\u{feff}", "zero\\u{200b}width\\u{feff}"),
            ("line\u{2028}sep", "line\\u{2028}sep"),
            ("tag\u{e0041}", "tag\\u{e0041}"),
            ("replacement \u{fffd} stays", "replacement \u{fffd} stays"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), *want, "{input:?}");
        }
    }

    #[test]
    fn output_never_contains_hostile_characters() {
        let all: String =
            (0u32..0x3000).chain(0xe0000..0xe0080).filter_map(char::from_u32).collect();
        let out = sanitize(&all);
        assert!(out.chars().all(|c| !super::is_hostile(c)));
        assert!(!out.contains('\n') && !out.contains('\x1b'));
    }
}
