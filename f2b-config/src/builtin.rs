//! The project's filters (regex-lab embeds them: one copy) and their annotated corpora
//! (embedded here by build.rs).

// `CORPORA`: corpora/<name>, embedded by build.rs (missing ones are `None`).
include!(concat!(env!("OUT_DIR"), "/corpora.rs"));

/// The text of built-in filter `name` (`proxmox`, `sshd`, `proxmenux`).
pub fn filter_text(name: &str) -> Option<&'static str> {
    regex_lab::builtin::names().contains(&name).then(|| regex_lab::builtin::file(name)).flatten()
}

/// The annotated corpus of built-in filter `name`, if it was there at build time.
pub fn corpus(name: &str) -> Option<&'static str> {
    CORPORA.iter().find(|(n, _)| *n == name).and_then(|(_, c)| *c)
}

/// Names of all built-in filters.
pub fn names() -> impl Iterator<Item = &'static str> {
    regex_lab::builtin::names().iter().copied()
}
