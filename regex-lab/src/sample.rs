//! fail2ban's annotated sample format (`tests/files/logs/<filter>`; spec: notes §8).
//!
//! # Brief overview
//!
//! A sample file is a log with header comments:
//!
//! ```text
//! # filterOptions: [{}, {"mode": "aggressive"}]     variants for the lines below
//! # fileOptions: {"logtype": "journal"}             merged into every later variant
//! # addFILE: "sshd-journal"                         also run that file, same filter
//! # failJSON: { "time": "2005-08-14T10:00:00", "match": true, "host": "192.0.2.1" }
//! Aug 14 10:00:00 host sshd[1]: Failed password for root from 192.0.2.1 port 22 ssh2
//! ```
//!
//! [`SampleFile::parse`] reads one file into [`Item`]s without interpreting them;
//! [`plan::Plan`] then replays fail2ban's test loop over a file and the ones it adds, deciding
//! which filter variant judges which line (`test.condition`, `constraint`, journal lines);
//! [`judge`](mod@judge) holds the verdict rules as pure functions. `crate::verify` runs a plan through the
//! real filter engine.

pub mod expr;
pub mod judge;
pub mod plan;

pub use expr::{Expr, ExprError};
pub use judge::{judge, Field, Got, Id, Judgement, Mismatch};
pub use plan::{Plan, Run, Step, Variant};

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// A sample file that cannot be used: names the file and line and what is wrong.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SampleError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// A JSON object with its key order kept. Python dicts keep insertion order, and fail2ban
/// merges `fileOptions` into variants with `dict.update`, so order is part of the format.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options(Vec<(String, Value)>);

impl Options {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, Value)>) -> Options {
        let mut o = Options::default();
        for (k, v) in pairs {
            o.set(k, v);
        }
        o
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `dict[key] = value`: an existing key keeps its position.
    pub fn set(&mut self, key: String, value: Value) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// `dict.update(other)`.
    pub fn update(&mut self, other: &Options) {
        for (k, v) in &other.0 {
            self.set(k.clone(), v.clone());
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The string value of `key` if it is set and truthy (Python `if opts.get(key):`).
    pub fn truthy_str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// The options passed to the filter: everything but the `test.*` keys.
    pub fn filter_options(&self) -> Options {
        Options(self.0.iter().filter(|(k, _)| !k.starts_with("test.")).cloned().collect())
    }
}

impl<'de> Deserialize<'de> for Options {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Options, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Options;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Options, A::Error> {
                let mut o = Options::default();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    o.set(k, v);
                }
                Ok(o)
            }
        }
        d.deserialize_map(V)
    }
}

/// Python's `str(value)` for an option value passed to a filter (`True`, `1`, `abc`).
pub fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// What a `# failJSON:` line promises about the sample line below it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    /// `match` (Python truthiness; absent means false).
    pub matches: bool,
    /// `time` as written, local time in the test zone.
    pub time: Option<String>,
    /// `constraint`: the variant judges this line only when it holds.
    pub constraint: Option<Expr>,
    /// `desc`, informational.
    pub desc: Option<String>,
    /// Every other key, compared with the failure (`host`, `user`, `users`, `attempts`...).
    pub fields: Vec<(String, Value)>,
}

impl Expect {
    fn from_options(o: Options) -> Result<Expect, String> {
        let mut e = Expect::default();
        for (k, v) in o.0 {
            match k.as_str() {
                "match" => e.matches = truthy(&v),
                "time" => match v {
                    Value::String(s) => e.time = Some(s),
                    Value::Null => {}
                    other => return Err(format!("\"time\" must be a string, got {other}")),
                },
                "desc" => e.desc = Some(python_str(&v)),
                "constraint" => match v {
                    Value::String(s) if !s.is_empty() => {
                        e.constraint =
                            Some(Expr::parse(&s).map_err(|e| format!("constraint: {e}"))?)
                    }
                    v if !truthy(&v) => {}
                    other => return Err(format!("\"constraint\" must be a string, got {other}")),
                },
                _ => e.fields.push((k, v)),
            }
        }
        Ok(e)
    }
}

/// Python truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// One meaningful line of a sample file (comments and blank lines are dropped).
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// 1-based line number (of the sample text for [`ItemKind::Sample`]).
    pub line: usize,
    pub kind: ItemKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ItemKind {
    FileOptions(Options),
    FilterOptions(Vec<Options>),
    AddFile(String),
    /// A line to judge. Without a failJSON above it (`json_line` None) it must not match.
    Sample {
        json_line: Option<usize>,
        expect: Expect,
        text: String,
    },
}

/// A parsed sample file.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleFile {
    /// File name, which is also the filter's name for the file a test starts from.
    pub name: String,
    pub items: Vec<Item>,
}

const HEADERS: [&str; 4] = ["failJSON", "fileOptions", "filterOptions", "addFILE"];

/// Recognises `^#+ ?(failJSON|fileOptions|filterOptions|addFILE):(.+)$`.
fn header(line: &str) -> Option<(&'static str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start_matches('#');
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    HEADERS.iter().find_map(|h| {
        let value = rest.strip_prefix(h)?.strip_prefix(':')?;
        (!value.is_empty()).then_some((*h, value))
    })
}

/// Splits text into lines as fail2ban's FileContainer does for the samples: on `\n`,
/// trailing `\r`/`\n` stripped, a last line without newline kept.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let empty = text.is_empty();
    body.split('\n').filter(move |_| !empty).map(|l| l.trim_end_matches(['\r', '\n']))
}

impl SampleFile {
    /// Parses `text` (already decoded; see [`decode`]) named `name`.
    pub fn parse(name: &str, text: &str) -> Result<SampleFile, SampleError> {
        let err =
            |line: usize, message: String| SampleError { file: name.to_string(), line, message };
        let mut items = Vec::new();
        let mut it = lines(text).enumerate().map(|(i, l)| (i + 1, l));
        while let Some((n, line)) = it.next() {
            let Some((kind, value)) = header(line) else {
                // Comments and blank lines: `line.startswith("#") or not line.strip()`.
                if !(line.starts_with('#') || line.trim().is_empty()) {
                    let kind = ItemKind::Sample {
                        json_line: None,
                        expect: Expect::default(),
                        text: line.into(),
                    };
                    items.push(Item { line: n, kind });
                }
                continue;
            };
            let json: Value = serde_json::from_str(value)
                .map_err(|e| err(n, format!("{kind}: invalid JSON: {e}")))?;
            // serde_json's Value sorts keys; objects are read again from the text in order.
            let not_object = || err(n, format!("{kind}: expected a JSON object"));
            let object = || -> Result<Options, SampleError> {
                json.is_object()
                    .then(|| serde_json::from_str(value).ok())
                    .flatten()
                    .ok_or_else(not_object)
            };
            let kind = match kind {
                "fileOptions" => ItemKind::FileOptions(object()?),
                "filterOptions" => ItemKind::FilterOptions(match &json {
                    Value::Array(list) if list.iter().all(Value::is_object) => {
                        serde_json::from_str(value).map_err(|_| not_object())?
                    }
                    Value::Array(_) => return Err(not_object()),
                    _ => vec![object()?],
                }),
                "addFILE" => match json {
                    Value::String(f) => ItemKind::AddFile(f),
                    _ => {
                        return Err(err(n, "addFILE: expected a JSON string (a file name)".into()))
                    }
                },
                _ => {
                    let expect = Expect::from_options(object()?)
                        .map_err(|m| err(n, format!("failJSON: {m}")))?;
                    // The line right after a failJSON is the sample, whatever it looks like.
                    let Some((sn, text)) = it.next() else {
                        return Err(err(
                            n,
                            "failJSON is the last line: add the sample line after it".into(),
                        ));
                    };
                    items.push(Item {
                        line: sn,
                        kind: ItemKind::Sample { json_line: Some(n), expect, text: text.into() },
                    });
                    continue;
                }
            };
            items.push(Item { line: n, kind });
        }
        Ok(SampleFile { name: name.to_string(), items })
    }

    /// Names of the files this one adds with `addFILE`.
    pub fn added_files(&self) -> impl Iterator<Item = &str> {
        self.items.iter().filter_map(|i| match &i.kind {
            ItemKind::AddFile(f) => Some(f.as_str()),
            _ => None,
        })
    }

    /// Number of `failJSON` annotations.
    pub fn annotated(&self) -> usize {
        self.items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Sample { json_line: Some(_), .. }))
            .count()
    }
}

/// Decodes file bytes as fail2ban reads the samples: UTF-8, invalid bytes become U+FFFD.
pub fn decode(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn header_recognition() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("# failJSON: {}", Some(("failJSON", " {}"))),
            ("#failJSON: {}", Some(("failJSON", " {}"))),
            ("### failJSON:{}", Some(("failJSON", "{}"))),
            ("# addFILE: \"x\"", Some(("addFILE", " \"x\""))),
            ("# fileOptions: {}", Some(("fileOptions", " {}"))),
            ("# filterOptions: []", Some(("filterOptions", " []"))),
            ("# failJSON:", None),
            ("#  failJSON: {}", None),
            ("# #_dis_failJSON: {}", None),
            ("failJSON: {}", None),
            ("# FailJSON: {}", None),
        ];
        for (line, want) in cases {
            assert_eq!(header(line), *want, "{line}");
        }
    }

    #[test]
    fn lines_like_filecontainer() {
        assert_eq!(lines("a\r\nb\n").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(lines("a\n\nb").collect::<Vec<_>>(), ["a", "", "b"]);
        assert_eq!(lines("a\r\r\n").collect::<Vec<_>>(), ["a"]);
        assert_eq!(lines("").count(), 0);
        assert_eq!(lines("\n").collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn parse_items() {
        let text = "\
# comment
# filterOptions: [{}, {\"mode\": \"aggressive\"}]

# failJSON: { \"time\": \"2005-08-14T10:00:00\", \"match\": true, \"host\": \"192.0.2.1\", \"desc\": \"d\" }
Aug 14 10:00:00 h sshd[1]: x from 192.0.2.1
plain line
# failJSON: { \"match\": false, \"constraint\": \"name == 'sshd'\" }
# taken as the sample even though it starts with #
# addFILE: \"other\"
# fileOptions: {\"logtype\": \"journal\", \"a\": 1}
";
        let f = SampleFile::parse("sshd", text).unwrap();
        assert_eq!(f.items.len(), 6);
        assert_eq!(f.items[0].line, 2);
        match &f.items[0].kind {
            ItemKind::FilterOptions(v) => {
                assert_eq!(v.len(), 2);
                assert!(v[0].is_empty());
                assert_eq!(v[1].get("mode"), Some(&json!("aggressive")));
            }
            k => panic!("{k:?}"),
        }
        match &f.items[1].kind {
            ItemKind::Sample { json_line, expect, text } => {
                assert_eq!((f.items[1].line, *json_line), (5, Some(4)));
                assert!(expect.matches);
                assert_eq!(expect.time.as_deref(), Some("2005-08-14T10:00:00"));
                assert_eq!(expect.desc.as_deref(), Some("d"));
                assert_eq!(expect.fields, vec![("host".to_string(), json!("192.0.2.1"))]);
                assert!(text.ends_with("192.0.2.1"));
            }
            k => panic!("{k:?}"),
        }
        assert!(
            matches!(&f.items[2].kind, ItemKind::Sample { json_line: None, text, .. } if text == "plain line")
        );
        match &f.items[3].kind {
            ItemKind::Sample { json_line: Some(7), expect, text } => {
                assert!(!expect.matches);
                assert_eq!(expect.constraint.as_ref().unwrap().source(), "name == 'sshd'");
                assert!(text.starts_with("# taken"));
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(f.added_files().collect::<Vec<_>>(), ["other"]);
        match &f.items[5].kind {
            ItemKind::FileOptions(o) => {
                assert_eq!(o.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["logtype", "a"]);
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(f.annotated(), 2);
    }

    #[test]
    fn bad_input_names_file_and_line() {
        let cases: &[(&str, &str)] = &[
            ("x\n# failJSON: {not json}\ny\n", "f:2: failJSON: invalid JSON"),
            ("# failJSON: [1]\ny\n", "f:1: failJSON: expected a JSON object"),
            ("# failJSON: {\"match\": true}\n", "f:1: failJSON is the last line"),
            ("# addFILE: 3\n", "f:1: addFILE: expected a JSON string"),
            ("# filterOptions: [{}, 2]\n", "f:1: filterOptions: expected a JSON object"),
            (
                "# failJSON: {\"constraint\": \"os.system('x')\"}\ny\n",
                "f:1: failJSON: constraint: unsupported name `os`",
            ),
            ("# failJSON: {\"time\": 5}\ny\n", "f:1: failJSON: \"time\" must be a string"),
        ];
        for (text, want) in cases {
            let e = SampleFile::parse("f", text).unwrap_err().to_string();
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn options_update_keeps_python_order() {
        let mut common: Options =
            serde_json::from_str(r#"{"logtype": "journal", "test.condition": "x"}"#).unwrap();
        let v: Options =
            serde_json::from_str(r#"{"mode": "aggressive", "logtype": "file"}"#).unwrap();
        common.update(&v);
        let keys: Vec<_> = common.iter().map(|(k, v)| format!("{k}={}", python_str(v))).collect();
        assert_eq!(keys, ["logtype=file", "test.condition=x", "mode=aggressive"]);
        assert_eq!(common.filter_options().iter().count(), 2);
        let dup: Options = serde_json::from_str(r#"{"a": 1, "b": 2, "a": 3}"#).unwrap();
        assert_eq!(dup, Options::from_pairs([("a".into(), json!(3)), ("b".into(), json!(2))]));
    }

    #[test]
    #[cfg_attr(
        not(host_has = "fail2ban_samples"),
        ignore = "needs fail2ban's sample logs (apt-get install fail2ban)"
    )]
    fn stock_sample_files_parse() {
        let dir = std::path::Path::new("/usr/lib/python3/dist-packages/fail2ban/tests/files/logs");
        let mut annotated = 0;
        for e in std::fs::read_dir(dir).unwrap().flatten().filter(|e| e.path().is_file()) {
            let bytes = std::fs::read(e.path()).unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            annotated += SampleFile::parse(&name, &decode(&bytes)).unwrap().annotated();
        }
        // notes §8: 1,067 failJSON lines across the stock sample files.
        assert_eq!(annotated, 1067);
    }
}
