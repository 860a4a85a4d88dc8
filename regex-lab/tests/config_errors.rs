//! Bad input for filter reading: each problem gives one clear line naming the file and line
//! (or option) and what to do, and no input makes the reader panic.
//! (Syntax, interpolation, tag-loop and spec errors are cases in `testdata/config_cases.toml`.)

use std::path::{Path, PathBuf};

use regex_lab::config::{load_filter, ConfigSource, ErrorKind, FilterSpec};
use regex_lab::tags;

fn base_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("filter.d")).expect("mkdir");
    for (rel, bytes) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }
    dir
}

fn load(
    base: &Path,
    spec: &str,
) -> Result<regex_lab::config::FilterDef, regex_lab::config::ConfigError> {
    load_filter(&ConfigSource::Dir(base.to_path_buf()), &FilterSpec::parse(spec)?)
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let dir = base_with(&[("filter.d/t.conf", b"[Definition]\nfailregex = caf\xe9 <HOST>\n")]);
    let e = load(dir.path(), "t").unwrap_err();
    let want = format!(
        "{}/filter.d/t.conf:2: not valid UTF-8 (byte offset 28); save the file as UTF-8",
        dir.path().display()
    );
    assert_eq!(e.message, want);
    assert_eq!(e.kind, ErrorKind::Unreadable);
}

#[test]
fn missing_config_dir() {
    let e = load(Path::new("/nonexistent/f2b"), "sshd").unwrap_err();
    assert_eq!(
        e.message,
        "unknown filter `sshd`: config directory /nonexistent/f2b does not exist; give an existing one (like /etc/fail2ban)"
    );
    assert_eq!(e.kind, ErrorKind::NotFound);
}

#[test]
fn unknown_builtin_filter_lists_what_exists() {
    let e = load_filter(&ConfigSource::Builtin, &FilterSpec::parse("nginx").unwrap()).unwrap_err();
    assert!(
        e.message.starts_with(
            "unknown filter `nginx`: not found among the built-in filters; available: "
        ),
        "{}",
        e.message
    );
    for n in regex_lab::builtin::names() {
        assert!(e.message.contains(n), "{}", e.message);
    }
}

#[test]
fn include_loop_through_different_paths_is_an_error() {
    // fail2ban only cuts loops between equal path strings; this one it follows until Python's
    // recursion limit.
    let dir = base_with(&[
        (
            "filter.d/t.conf",
            b"[INCLUDES]\nbefore = inc/a.conf\n[Definition]\nfailregex = x <HOST>\n",
        ),
        ("filter.d/inc/a.conf", b"[INCLUDES]\nbefore = ../t.conf\n"),
    ]);
    let e = load(dir.path(), "t").unwrap_err();
    assert!(e.message.contains("[INCLUDES] nest deeper than 64 files"), "{}", e.message);
    assert!(!e.message.contains('\n'));
}

#[test]
fn missing_include_is_skipped_like_fail2ban() {
    let dir = base_with(&[(
        "filter.d/t.conf",
        b"[INCLUDES]\nbefore = gone.conf\n[Definition]\nfailregex = x <HOST>\n",
    )]);
    let def = load(dir.path(), "t").unwrap();
    assert_eq!(def.failregex, vec!["x <HOST>".to_string()]);
    assert_eq!(def.files, vec![dir.path().join("filter.d/t.conf")]);
}

#[test]
fn multi_line_values_in_messages_stay_on_one_line() {
    let dir =
        base_with(&[("filter.d/t.conf", b"[Definition]\nfailregex = a <HOST>\n   50%\n   more\n")]);
    let e = load(dir.path(), "t").unwrap_err();
    assert!(!e.message.contains('\n'), "{}", e.message);
    assert!(
        e.message.contains("`%` must be followed by `%` or `(`, found `%\\nmore`"),
        "{}",
        e.message
    );
}

/// A small deterministic generator (xorshift), so the fuzz test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "%",
    "%%",
    "%(",
    ")s",
    "%(known/failregex)s",
    "%(default/x)s",
    "%(a/b)s",
    "<",
    ">",
    "<mode>",
    "<mdre-<mode>>",
    "<known/failregex>",
    "[",
    "]",
    "[Definition]",
    "[Init]",
    "[DEFAULT]",
    "[INCLUDES]",
    "\nbefore = t.conf\n",
    "\nafter = ../filter.d/t.conf\n",
    "=",
    ":",
    ";",
    "#",
    "\n",
    "\n  ",
    "\t",
    " ",
    "é",
    "\u{2028}",
    "\r",
    "<F-USER>",
    "</F-USER>",
    "<HOST>",
    "((?i)",
    "\\",
    "\"",
    "'",
    "?x=1",
    "mode",
    "failregex = ",
    "maxlines = ",
    "journalmatch = \"",
];

fn mutate(rng: &mut Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if !chars.is_empty() => {
                let end = (at + rng.below(20)).min(chars.len());
                chars.drain(at.min(chars.len())..end);
            }
            _ => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (i, c) in piece.chars().enumerate() {
                    chars.insert(at + i, c);
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// Mutated filters per run (each is written to disk and loaded).
const ROUNDS: usize = 800;

#[test]
fn no_input_makes_the_reader_panic() {
    let stock: Vec<(String, String)> = std::fs::read_dir("/etc/fail2ban/filter.d")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    name.ends_with(".conf").then_some((name, text))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut seeds: Vec<String> = stock.iter().map(|(_, t)| t.clone()).take(40).collect();
    for name in regex_lab::builtin::names() {
        seeds.push(regex_lab::builtin::file(name).unwrap_or_default().to_string());
    }
    seeds.push("[Definition]\nfailregex = <mdre-<mode>>\nmode = a\nmdre-a = x <HOST>\n".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let fd = dir.path().join("filter.d");
    std::fs::create_dir_all(&fd).expect("mkdir");
    let common =
        stock.iter().find(|(n, _)| n == "common.conf").map(|(_, t)| t.clone()).unwrap_or_default();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut loaded = 0;
    let mut errors = 0;
    for round in 0..ROUNDS {
        let seed = &seeds[round % seeds.len()];
        std::fs::write(fd.join("t.conf"), mutate(&mut rng, seed)).expect("write");
        std::fs::write(fd.join("common.conf"), mutate(&mut rng, &common)).expect("write");
        let spec_text = mutate(&mut rng, "t[mode=aggressive, logtype=\"journal\"]");
        let spec = match FilterSpec::parse(&spec_text) {
            Ok(s) => FilterSpec { name: "t".into(), options: s.options },
            Err(e) => {
                assert!(!e.message.contains('\n'), "{}", e.message);
                FilterSpec { name: "t".into(), options: Vec::new() }
            }
        };
        match load_filter(&ConfigSource::Dir(PathBuf::from(dir.path())), &spec) {
            Ok(def) => {
                loaded += 1;
                for r in def.prefregex.iter().chain(&def.failregex).chain(&def.ignoreregex) {
                    let _ = tags::expand(r, round % 2 == 0);
                    let _ = tags::expand(&mutate(&mut rng, r), false);
                }
            }
            Err(e) => {
                errors += 1;
                assert!(!e.message.is_empty() && !e.message.contains('\n'), "{:?}", e.message);
            }
        }
    }
    eprintln!("fuzzed {ROUNDS} filters: {loaded} loaded, {errors} clean errors");
}

#[test]
fn misspelled_mode_value_is_a_warning() {
    // fail2ban keeps `<modelines-aggresive>` as literal text and silently loses that mode's
    // regexes; we load the same filter but say so.
    let spec = FilterSpec::parse("sshd[mode=aggresive]").unwrap();
    let def = load_filter(&ConfigSource::Builtin, &spec).unwrap();
    assert!(
        def.warnings
            .iter()
            .any(|w| w.contains("mode=aggresive") && w.contains("check the spelling")),
        "{:?}",
        def.warnings
    );
    let spec = FilterSpec::parse("sshd[mode=aggressive]").unwrap();
    let def = load_filter(&ConfigSource::Builtin, &spec).unwrap();
    assert!(def.warnings.is_empty(), "{:?}", def.warnings);
}
