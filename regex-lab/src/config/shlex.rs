//! Python's `shlex.split(s)` (POSIX mode, no comments), which fail2ban applies to each
//! `journalmatch` line. Hand-written because the `shlex` crate follows the POSIX shell
//! (`#` comments, more escapes inside double quotes), which Python's does not.

/// Splits like `shlex.split`; `Err` carries Python's message.
pub(crate) fn split(s: &str) -> Result<Vec<String>, &'static str> {
    #[derive(PartialEq)]
    enum St {
        Space,
        Word,
        Single,
        Double,
    }
    let is_ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
    let mut out = Vec::new();
    let mut tok = String::new();
    let mut st = St::Space;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match st {
            St::Space | St::Word => {
                if is_ws(c) {
                    if st == St::Word {
                        out.push(std::mem::take(&mut tok));
                        st = St::Space;
                    }
                } else if c == '\\' {
                    tok.push(chars.next().ok_or("No escaped character")?);
                    st = St::Word;
                } else if c == '\'' {
                    st = St::Single;
                } else if c == '"' {
                    st = St::Double;
                } else {
                    tok.push(c);
                    st = St::Word;
                }
            }
            St::Single => {
                if c == '\'' {
                    st = St::Word;
                } else {
                    tok.push(c);
                }
            }
            St::Double => {
                if c == '"' {
                    st = St::Word;
                } else if c == '\\' {
                    match chars.next() {
                        Some(n @ ('"' | '\\')) => tok.push(n),
                        Some(n) => {
                            tok.push('\\');
                            tok.push(n);
                        }
                        None => return Err("No closing quotation"),
                    }
                } else {
                    tok.push(c);
                }
            }
        }
    }
    match st {
        St::Single | St::Double => Err("No closing quotation"),
        St::Word => {
            out.push(tok);
            Ok(out)
        }
        St::Space => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn like_python_shlex() {
        let ok = |s: &str, v: &[&str]| assert_eq!(split(s).unwrap(), v, "{s:?}");
        ok("a b", &["a", "b"]);
        ok("a\"b c\"d", &["ab cd"]);
        ok("'x y' z", &["x y", "z"]);
        ok(r"a\ b", &["a b"]);
        ok(r#""a\"b\\c\d""#, &[r#"a"b\c\d"#]);
        ok("''", &[""]);
        ok("a # b", &["a", "#", "b"]);
        ok("x\"\"", &["x"]);
        ok(
            "_SYSTEMD_UNIT=sshd.service + _COMM=sshd",
            &["_SYSTEMD_UNIT=sshd.service", "+", "_COMM=sshd"],
        );
        assert_eq!(split("\"abc"), Err("No closing quotation"));
        assert_eq!(split("a\\"), Err("No escaped character"));
    }
}
