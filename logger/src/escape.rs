//! What bytes of an entry may reach the file, and how the rest is escaped.
//!
//! Two paths, decided per MESSAGE:
//!
//! * **journalctl path.** If journalctl 252 (without `--all`) would print the message as one
//!   printable line, we print exactly what it prints: trailing CRs before a line end are
//!   dropped, one final LF is dropped, ANSI colour (`ESC [ digits ; m`) and OSC
//!   (`ESC ] … BEL`) sequences are removed and each TAB becomes eight spaces.
//! * **escape path.** Everything journalctl would print as `[NB blob data]` or as indented
//!   continuation lines (LF, CR, other control bytes, lone ESC, C1 controls, invalid UTF-8)
//!   is written as one line: trailing CR/LF bytes are dropped, then every byte that is not
//!   part of printable UTF-8 becomes `#` plus three octal digits (`#012` for LF, `#033` for
//!   ESC, `#377` for a stray 0xFF). Nothing is stripped on this path, so no sequence can hide.
//!
//! Either way the output holds no LF, so no attacker byte can start a line of its own.
//! Messages longer than the limit are cut at a character (or escape) boundary and end with
//! [`CUT_MARKER`].

/// Appended to a message that was cut at the length limit.
pub const CUT_MARKER: &[u8] = b"#[truncated]";

/// Default limit, in bytes, of the message text written for one entry (before the marker).
pub const DEFAULT_MAX_MESSAGE: usize = 16 * 1024;

/// journalctl's test for "printable": valid UTF-8 with no control character other than TAB
/// and LF (C0 except TAB/LF, DEL and the C1 range U+0080..U+009F are controls).
pub fn is_printable(bytes: &[u8]) -> bool {
    // Fast path: plain ASCII without controls is by far the common case.
    if bytes.iter().all(|&b| (0x20..0x7f).contains(&b) || b == b'\t' || b == b'\n') {
        return true;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => !s.chars().any(is_control),
        Err(_) => false,
    }
}

fn is_control(c: char) -> bool {
    (c < ' ' && c != '\t' && c != '\n') || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// Writes a header field (hostname, identifier, pid) as journalctl does, except that a LF,
/// which journalctl prints raw, becomes `#012`. The caller has checked [`is_printable`].
pub fn push_header_field(out: &mut Vec<u8>, field: &[u8]) {
    let mut rest = field;
    while let Some(i) = memchr::memchr(b'\n', rest) {
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(b"#012");
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Appends the message text for one entry (never containing LF) and tells which path it took.
/// `max` caps the appended text (the marker comes on top); `scratch` is reused between calls.
pub fn push_message(out: &mut Vec<u8>, raw: &[u8], max: usize, scratch: &mut Vec<u8>) -> Path {
    scratch.clear();
    if journalctl_single_line(raw, scratch) {
        if scratch.len() <= max {
            out.extend_from_slice(scratch);
        } else {
            let cut = floor_char_boundary(scratch, max);
            out.extend_from_slice(&scratch[..cut]);
            out.extend_from_slice(CUT_MARKER);
        }
        Path::Journalctl
    } else {
        push_escaped(out, raw, max);
        Path::Escaped
    }
}

/// Which rule produced a message's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// Byte-identical to journalctl's line.
    Journalctl,
    /// journalctl would print a blob marker or several lines; we escaped it into one.
    Escaped,
}

/// Fills `out` with what journalctl prints for `raw` and returns true when that is a single
/// printable line. On false, `out` holds garbage.
fn journalctl_single_line(raw: &[u8], out: &mut Vec<u8>) -> bool {
    // Fast path: printable ASCII without ESC/TAB/CR/LF prints as is.
    if raw.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        out.extend_from_slice(raw);
        return true;
    }
    let no_cr = drop_cr_before_line_end(raw);
    strip_tab_ansi(&no_cr, out);
    if !is_printable(out) {
        return false;
    }
    if out.last() == Some(&b'\n') {
        out.pop();
    }
    memchr::memchr(b'\n', out).is_none()
}

/// journalctl treats a run of CRs right before a LF (or at the very end) as part of the line
/// end.
fn drop_cr_before_line_end(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if memchr::memchr(b'\r', raw).is_none() {
        return raw.into();
    }
    let mut v = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\r' {
            let run_end = raw[i..].iter().position(|&b| b != b'\r').map_or(raw.len(), |p| i + p);
            let at_line_end = run_end == raw.len() || raw[run_end] == b'\n';
            if !at_line_end {
                v.extend_from_slice(&raw[i..run_end]);
            }
            i = run_end;
        } else {
            v.push(raw[i]);
            i += 1;
        }
    }
    v.into()
}

/// journalctl's cosmetic pass without `--all`: TAB → 8 spaces, `ESC [ [0-9;]* m` and
/// `ESC ] … BEL` removed. An unterminated or otherwise invalid sequence keeps its two
/// introducing bytes, and scanning resumes right after them.
fn strip_tab_ansi(raw: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < raw.len() {
        let run = memchr::memchr2(b'\t', 0x1b, &raw[i..]).unwrap_or(raw.len() - i);
        out.extend_from_slice(&raw[i..i + run]);
        i += run;
        if i == raw.len() {
            break;
        }
        match raw[i] {
            b'\t' => {
                out.extend_from_slice(b"        ");
                i += 1;
            }
            0x1b if i + 1 < raw.len() && (raw[i + 1] == b'[' || raw[i + 1] == b']') => {
                let body = &raw[i + 2..];
                let end = if raw[i + 1] == b'[' {
                    body.iter()
                        .position(|&b| !(b.is_ascii_digit() || b == b';'))
                        .filter(|&p| body[p] == b'm')
                } else {
                    body.iter()
                        .position(|&b| b == 0x07 || b < 0x20 || b == 0x7f)
                        .filter(|&p| body[p] == 0x07)
                };
                match end {
                    Some(p) => i += 2 + p + 1,
                    None => {
                        out.extend_from_slice(&raw[i..i + 2]);
                        i += 2;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// The escape path: see the module documentation.
fn push_escaped(out: &mut Vec<u8>, raw: &[u8], max: usize) {
    let end = raw.iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(0, |p| p + 1);
    let raw = &raw[..end];
    let start = out.len();
    let mut i = 0;
    while i < raw.len() {
        // Runs of printable ASCII, the bulk of any message, are copied in one go.
        let run =
            raw[i..].iter().position(|&b| !(0x20..0x7f).contains(&b)).unwrap_or(raw.len() - i);
        if run > 0 {
            let room = max.saturating_sub(out.len() - start);
            if run > room {
                out.extend_from_slice(&raw[i..i + room]);
                out.extend_from_slice(CUT_MARKER);
                return;
            }
            out.extend_from_slice(&raw[i..i + run]);
            i += run;
            continue;
        }
        let (piece_len, escaped) = next_piece(&raw[i..]);
        let added = if escaped { 4 * piece_len } else { piece_len };
        if out.len() - start + added > max {
            out.extend_from_slice(CUT_MARKER);
            return;
        }
        if escaped {
            for &b in &raw[i..i + piece_len] {
                out.extend_from_slice(&[
                    b'#',
                    b'0' + (b >> 6),
                    b'0' + ((b >> 3) & 7),
                    b'0' + (b & 7),
                ]);
            }
        } else {
            out.extend_from_slice(&raw[i..i + piece_len]);
        }
        i += piece_len;
    }
}

/// Length of the next piece of `s` (one character, or one invalid byte) and whether it has to
/// be escaped.
fn next_piece(s: &[u8]) -> (usize, bool) {
    let b = s[0];
    if b < 0x80 {
        return (1, !(0x20..0x7f).contains(&b));
    }
    let len = match b {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return (1, true),
    };
    match s.get(..len).map(std::str::from_utf8) {
        Some(Ok(c)) => (len, c.chars().any(is_control)),
        _ => (1, true),
    }
}

/// Largest index ≤ `max` that does not split a UTF-8 character of `s` (which is valid UTF-8).
fn floor_char_boundary(s: &[u8], max: usize) -> usize {
    let mut i = max.min(s.len());
    while i > 0 && i < s.len() && (s[i] & 0xc0) == 0x80 {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(raw: &[u8]) -> (String, Path) {
        let mut out = Vec::new();
        let p = push_message(&mut out, raw, DEFAULT_MAX_MESSAGE, &mut Vec::new());
        (String::from_utf8(out).unwrap(), p)
    }

    // Expected values of the journalctl path were printed by journalctl 252 on this machine.
    #[test]
    fn journalctl_path() {
        use Path::Journalctl as J;
        let cases: &[(&[u8], &str)] = &[
            (b"plain", "plain"),
            (b"tab\there", "tab        here"),
            (b"esc \x1b[31mred\x1b[0m done", "esc red done"),
            (b"trail\n", "trail"),
            (b"utf8 \xc3\xa9", "utf8 é"),
            (b"", ""),
            (b"\x1b[1;2m", ""),
            (b"esc ] \x1b]0;title\x07 x", "esc ]  x"),
            (b"\t", "        "),
            (b"trailing cr\r", "trailing cr"),
            (b"crlf\r\n", "crlf"),
            (b"a\n\r", "a"),
            (b"a \r", "a "),
            (b"\r", ""),
            (b"\n", ""),
            (b"a\t\r", "a        "),
            (b"a\x1b[1m\r", "a"),
            (b"u2028 \xe2\x80\xa8 x", "u2028 \u{2028} x"),
            (b"nbsp \xc2\xa0 x", "nbsp \u{a0} x"),
            (b"osc with bad utf8 \x1b]\xff\x07!", "osc with bad utf8 !"),
        ];
        for (raw, want) in cases {
            assert_eq!(msg(raw), (want.to_string(), J), "{raw:?}");
        }
    }

    #[test]
    fn escape_path() {
        use Path::Escaped as E;
        let cases: &[(&[u8], &str)] = &[
            (b"cr\rhere", "cr#015here"),
            (b"nl\nsecond", "nl#012second"),
            (b"two trailing\n\n", "two trailing"),
            (b"bel\x07", "bel#007"),
            (b"bad utf8 \xff\xfe", "bad utf8 #377#376"),
            (b"esc alone \x1b x", "esc alone #033 x"),
            (b"del \x7f x", "del #177 x"),
            (b"c1 \xc2\x85 x", "c1 #302#205 x"),
            (b"csi \x1b[?25h x", "csi #033[?25h x"),
            (b"csi incomplete \x1b[12", "csi incomplete #033[12"),
            (b"surrogate \xed\xa0\x80 x", "surrogate #355#240#200 x"),
            (b"overlong \xc0\xaf", "overlong #300#257"),
            (b"tab\tand\nnl", "tab#011and#012nl"),
            (b"a\r\x1b[1m", "a#015#033[1m"),
            (b"\x00nul", "#000nul"),
            (
                b"x\n2024-01-01T00:00:00+0000 h sshd[1]: Failed",
                "x#0122024-01-01T00:00:00+0000 h sshd[1]: Failed",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(msg(raw), (want.to_string(), E), "{raw:?}");
        }
    }

    #[test]
    fn cut_at_limit() {
        let mut out = Vec::new();
        let long = "é".repeat(10);
        assert_eq!(push_message(&mut out, long.as_bytes(), 5, &mut Vec::new()), Path::Journalctl);
        assert_eq!(out, b"\xc3\xa9\xc3\xa9#[truncated]");
        out.clear();
        push_message(&mut out, b"ab\ncdef", 5, &mut Vec::new());
        assert_eq!(out, b"ab#[truncated]");
        out.clear();
        push_message(&mut out, b"ab\ncdef", 9, &mut Vec::new());
        assert_eq!(out, b"ab#012cde#[truncated]");
        out.clear();
        push_message(&mut out, b"ab\ncd", 9, &mut Vec::new());
        assert_eq!(out, b"ab#012cd");
    }

    #[test]
    fn header_fields() {
        assert!(is_printable(b"id\tx"));
        assert!(is_printable(b"id\nx"));
        assert!(!is_printable(b"id\x1b[1m"));
        assert!(!is_printable(b"id\xff"));
        assert!(!is_printable(b"a\xc2\x85b"));
        let mut out = Vec::new();
        push_header_field(&mut out, b"a\nb\n");
        assert_eq!(out, b"a#012b#012");
    }

    /// No input, however hostile, yields a LF or CR.
    #[test]
    fn never_a_line_break() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let alphabet = b"\n\r\t\x1b[]m;07\x07\xc2\x85\xe2\x80\xa8\xffab ";
        for _ in 0..20_000 {
            let n = rng.gen_range(0..24);
            let raw: Vec<u8> = (0..n).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect();
            let mut out = Vec::new();
            push_message(&mut out, &raw, 16, &mut Vec::new());
            assert!(!out.contains(&b'\n') && !out.contains(&b'\r'), "{raw:?} -> {out:?}");
            assert!(out.len() <= 16 + CUT_MARKER.len());
        }
    }
}
