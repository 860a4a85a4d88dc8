//! `regex_lab`: fail2ban 1.0.2's filter engine, re-implemented for speed and exactness.
//!
//! # Brief overview
//!
//! A fail2ban *filter* is read from INI files ([`config`]): `[INCLUDES]`, `.conf` → `.d/` →
//! `.local` layering, `%(x)s` interpolation and `<tag>` substitution give a [`config::FilterDef`]
//! (regex text with fail2ban tags such as `<HOST>` still in it). [`tags`] turns those tags into
//! PCRE2 groups, and [`filter::Filter`] compiles the result with the [`engine`] (PCRE2 JIT, the
//! engine of record; [`prefilter`] only proposes candidates, it never decides).
//!
//! Each log line then flows through one pipeline, shared by every command:
//!
//! ```text
//!  input ──► date::DateDetector ──► line (prefregex → failregexes → ignoreregex)
//!   (files,    (template, time,        │
//!   .gz, -)     date cut out)          ▼
//!                                   multiline (maxlines buffer, MLFID cache)
//!                                      │
//!                                      ▼  Verdict per line
//!                          report (replay) · verify (samples) · explain (one line)
//! ```
//!
//! For a single line (`maxlines = 1`), [`line::Searcher`] runs every search (prefregex, the
//! failregexes the [`prefilter`] proposes, ignoreregexes) and [`line::LineProcessor`] applies
//! the result to the run's state. `replay` runs the searches of many lines and filters on
//! several threads and applies the state in log order ([`pipeline`]); [`progress`] shows a
//! bar on a terminal.
//!
//! The spec for every stage is fail2ban's own behaviour as described in
//! `notes/fail2ban-filter-semantics.md`; the tests compare against the real `fail2ban-regex`.

pub mod builtin;
pub mod config;
pub mod date;
pub mod engine;
pub mod error;
pub mod explain;
pub mod filter;
pub mod input;
pub mod line;
pub mod multiline;
pub mod pipeline;
pub mod prefilter;
pub mod progress;
pub mod replay;
pub mod report;
pub mod sample;
pub mod tags;
pub mod verify;

pub use error::Error;
