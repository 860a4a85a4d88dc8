//! The project's filters and their annotated corpora, embedded in the binary.

// TODO(lead): once regex-lab's builtin.rs lands (branch `config`), replace these
// `include_str!` with `regex_lab::builtin::file(name)`: same files, one copy.
const FILTERS: [(&str, &str); 3] = [
    ("proxmox", include_str!("../../regex-lab/filters/proxmox.conf")),
    ("sshd", include_str!("../../regex-lab/filters/sshd.conf")),
    ("proxmenux", include_str!("../../regex-lab/filters/proxmenux.conf")),
];

// `CORPORA`: corpora/<name>, embedded by build.rs (missing ones are `None`).
include!(concat!(env!("OUT_DIR"), "/corpora.rs"));

/// The text of built-in filter `name` (`proxmox`, `sshd`, `proxmenux`).
pub fn filter_text(name: &str) -> Option<&'static str> {
    FILTERS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The annotated corpus of built-in filter `name`, if it was there at build time.
pub fn corpus(name: &str) -> Option<&'static str> {
    CORPORA.iter().find(|(n, _)| *n == name).and_then(|(_, c)| *c)
}

/// Names of all built-in filters.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILTERS.iter().map(|(n, _)| *n)
}
