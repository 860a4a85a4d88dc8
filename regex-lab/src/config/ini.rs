//! One INI file, parsed the way Python's `configparser` (3.11, as fail2ban 1.0.2 configures
//! it) parses it: `=`/`:` delimiters, lower-cased option names, `#`/`;` full-line comments,
//! inline `;` comments only after whitespace, continuation lines indented deeper than their
//! option line, strict duplicates.

use std::sync::Arc;

use super::py;
use super::{ConfigError, ErrorKind};

/// An option value with where it was written, for error messages.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    pub text: String,
    pub file: Arc<str>,
    pub line: usize,
}

/// An insertion-ordered map, as Python dicts are. Sections hold tens of keys, so a vector
/// with linear lookups is the simplest thing that keeps the order.
#[derive(Clone, Debug, Default)]
pub(crate) struct OMap(Vec<(String, Value)>);

impl OMap {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Python `d[key] = value`: replaces in place (keeping the position) or appends.
    pub fn insert(&mut self, key: String, value: Value) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Python `d.update(other)`.
    pub fn update(&mut self, other: &OMap) {
        for (k, v) in other.iter() {
            self.insert(k.clone(), v.clone());
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

/// The sections of one file, in file order, plus its `[DEFAULT]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct IniFile {
    pub defaults: OMap,
    pub sections: Vec<(String, OMap)>,
}

impl IniFile {
    pub fn section(&self, name: &str) -> Option<&OMap> {
        self.sections.iter().find(|(n, _)| n == name).map(|(_, s)| s)
    }
}

const DEFAULT_SECTION: &str = "DEFAULT";

/// Which map the parser is filling.
#[derive(Clone, Copy, PartialEq)]
enum Cur {
    None,
    Defaults,
    Section(usize),
}

/// One option as read, before its lines are joined.
struct Pending {
    cur: Cur,
    name: String,
    lines: Vec<String>,
    lineno: usize,
}

/// Parses `text` (already decoded) of the file at `path`.
pub(crate) fn parse(path: &str, text: &str) -> Result<IniFile, ConfigError> {
    let file: Arc<str> = Arc::from(path);
    let mut out = IniFile::default();
    // Values are collected as lists of lines and joined at the end, as configparser does.
    let mut pending: Vec<Pending> = Vec::new();
    let mut added_sections: Vec<String> = Vec::new();
    let mut added_options: Vec<(String, String, usize)> = Vec::new();
    let mut cur = Cur::None;
    let mut sectname = String::new();
    // Index into `pending` of the option that continuation lines extend.
    let mut optidx: Option<usize> = None;
    let mut indent_level = 0usize;
    let mut first_error: Option<ConfigError> = None;

    for (lineno, line) in universal_lines(text).enumerate() {
        let lineno = lineno + 1;
        let cstart = comment_start(line);
        let value = py::strip(&line[..cstart.unwrap_or(line.len())]);
        if value.is_empty() {
            // A blank line inside a multi-line value survives as an empty line; a comment
            // line does not.
            if cstart.is_none() && cur != Cur::None {
                if let Some(i) = optidx {
                    pending[i].lines.push(String::new());
                }
            }
            continue;
        }
        let cur_indent = line.chars().position(|c| !py::is_space(c)).unwrap_or(0);
        if let (true, Some(i)) = (cur != Cur::None && cur_indent > indent_level, optidx) {
            pending[i].lines.push(value.to_string());
            continue;
        }
        indent_level = cur_indent;
        if let Some(header) = section_header(value) {
            if header == DEFAULT_SECTION {
                cur = Cur::Defaults;
            } else if let Some(i) = out.sections.iter().position(|(n, _)| n == header) {
                if added_sections.iter().any(|s| s == header) {
                    return Err(syntax(
                        &file,
                        lineno,
                        format!("section [{header}] appears twice in this file; merge the two"),
                    ));
                }
                cur = Cur::Section(i);
            } else {
                out.sections.push((header.to_string(), OMap::default()));
                added_sections.push(header.to_string());
                cur = Cur::Section(out.sections.len() - 1);
            }
            sectname = header.to_string();
            optidx = None;
            continue;
        }
        if cur == Cur::None {
            return Err(syntax(
                &file,
                lineno,
                format!(
                    "`{value}` comes before any [section] header; start the file with a header such as [Definition]"
                ),
            ));
        }
        let Some(delim) = value.find(['=', ':']) else {
            if first_error.is_none() {
                first_error = Some(syntax(
                    &file,
                    lineno,
                    format!(
                        "cannot parse `{value}`: expected `name = value`, a [section] header or a comment (indent continuation lines deeper than their option)"
                    ),
                ));
            }
            continue;
        };
        let raw_name = value[..delim].trim_end_matches(py::is_space);
        if raw_name.is_empty() && first_error.is_none() {
            first_error = Some(syntax(
                &file,
                lineno,
                format!("`{value}` has no option name before `{}`", &value[delim..delim + 1]),
            ));
        }
        let name = raw_name.to_lowercase();
        if let Some((_, _, first)) =
            added_options.iter().find(|(s, o, _)| *s == sectname && *o == name)
        {
            return Err(syntax(
                &file,
                lineno,
                format!("option `{name}` is set twice in [{sectname}] (first at line {first}); keep one"),
            ));
        }
        added_options.push((sectname.clone(), name.clone(), lineno));
        let val = py::strip(&value[delim + 1..]).to_string();
        pending.push(Pending { cur, name, lines: vec![val], lineno });
        optidx = Some(pending.len() - 1);
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    for p in pending {
        let joined = p.lines.join("\n");
        let text = joined.trim_end_matches(py::is_space).to_string();
        let value = Value { text, file: file.clone(), line: p.lineno };
        match p.cur {
            Cur::Defaults => out.defaults.insert(p.name, value),
            Cur::Section(i) => out.sections[i].1.insert(p.name, value),
            Cur::None => {}
        }
    }
    Ok(out)
}

fn syntax(file: &str, line: usize, what: String) -> ConfigError {
    ConfigError::new(ErrorKind::Syntax, format!("{file}:{line}: {what}"))
}

/// Lines as Python's text-mode file iteration yields them (universal newlines: `\r\n`, `\r`
/// and `\n` all end a line), with the terminator dropped.
fn universal_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        match rest.find(['\n', '\r']) {
            Some(i) => {
                let line = &rest[..i];
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
                Some(line)
            }
            None => {
                let line = rest;
                rest = "";
                Some(line)
            }
        }
    })
}

/// Byte offset where a comment starts: the whole line for `#`/`;` full-line comments,
/// otherwise the first `;` at the start or after whitespace.
fn comment_start(line: &str) -> Option<usize> {
    let trimmed = py::strip(line);
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Some(0);
    }
    let mut prev: Option<char> = None;
    for (i, c) in line.char_indices() {
        let after_space = match prev {
            None => true,
            Some(p) => py::is_space(p),
        };
        if c == ';' && after_space {
            return Some(i);
        }
        prev = Some(c);
    }
    None
}

/// configparser's `\[(?P<header>.+)\]` matched at the start: the text between the first `[`
/// and the last `]`, which must not be empty; anything after the last `]` is ignored.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    if end == 0 {
        return None;
    }
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(f: &'a IniFile, sec: &str, key: &str) -> Option<&'a str> {
        if sec == "DEFAULT" {
            return f.defaults.get(key).map(|v| v.text.as_str());
        }
        f.section(sec)?.get(key).map(|v| v.text.as_str())
    }

    #[test]
    fn configparser_rules() {
        let text = "[Definition]\nMyVar = a ; c\nb: x # y\nc = a;b\n  cont ; cc\n\n  # comment\n  more\n\n[a]b] tail\nk=v\n[DEFAULT]\nd = 1\n";
        let f = parse("t.conf", text).unwrap();
        assert_eq!(get(&f, "Definition", "myvar"), Some("a"));
        assert_eq!(get(&f, "Definition", "b"), Some("x # y"));
        assert_eq!(get(&f, "Definition", "c"), Some("a;b\ncont\n\nmore"));
        assert_eq!(get(&f, "a]b", "k"), Some("v"));
        assert_eq!(get(&f, "DEFAULT", "d"), Some("1"));
    }

    #[test]
    fn delimiter_is_first_of_eq_or_colon() {
        let f = parse("t", "[s]\na:b = c\nx = y:z\n").unwrap();
        assert_eq!(get(&f, "s", "a"), Some("b = c"));
        assert_eq!(get(&f, "s", "x"), Some("y:z"));
    }

    #[test]
    fn continuation_needs_deeper_indent() {
        let f = parse("t", "[s]\n  a = 1\n  b = 2\n   c\n").unwrap();
        assert_eq!(get(&f, "s", "a"), Some("1"));
        assert_eq!(get(&f, "s", "b"), Some("2\nc"));
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("f.conf", "[s]\na = 1\nbogus\n").unwrap_err();
        assert!(e.message.starts_with("f.conf:3: cannot parse `bogus`"), "{}", e.message);
        let e = parse("f.conf", "a = 1\n").unwrap_err();
        assert!(e.message.starts_with("f.conf:1: `a = 1` comes before"), "{}", e.message);
        let e = parse("f.conf", "[s]\na = 1\nA = 2\n").unwrap_err();
        assert!(e.message.contains("f.conf:3: option `a` is set twice"), "{}", e.message);
        let e = parse("f.conf", "[s]\n[s]\n").unwrap_err();
        assert!(e.message.contains("f.conf:2: section [s] appears twice"), "{}", e.message);
        // [DEFAULT] may be reopened.
        assert!(parse("f.conf", "[DEFAULT]\na=1\n[DEFAULT]\nb=2\n").is_ok());
    }
}
