//! Read-only views of a target tree.
//!
//! Planning reads the tree *as it was before f2b-config touched it*: for a path f2b-config
//! manages, [`View`] returns the original kept in the manifest's backups (or nothing, if
//! f2b-config created the path). Reinstalling therefore computes exactly what the first
//! install computed, and switching profiles puts back what the old profile changed.
//! [`Overlay`] adds planned files on top of any tree, to check an edit before making it.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::fsx::{self, FileState, Node};
use crate::manifest::Manifest;
use crate::root::Root;

/// Something paths can be read from.
pub trait Tree {
    /// What is at `abs`.
    fn node(&self, abs: &str) -> Result<Node>;
    /// Sorted names of the entries of directory `abs` (empty when it does not exist).
    fn names(&self, dir: &str) -> Result<Vec<String>>;

    /// The file at `abs` as text, `None` if there is no regular file.
    fn text(&self, abs: &str) -> Result<Option<String>> {
        Ok(self.node(abs)?.file().map(FileState::text))
    }
}

/// The tree on disk, with managed paths shown as their originals.
pub struct View<'a> {
    root: &'a Root,
    /// Managed path → original (`None`: did not exist before).
    originals: BTreeMap<String, Option<FileState>>,
}

impl<'a> View<'a> {
    /// A view of `root` that undoes what `manifest` records.
    pub fn new(root: &'a Root, manifest: Option<&Manifest>) -> Result<View<'a>> {
        let mut originals = BTreeMap::new();
        if let Some(m) = manifest {
            for e in &m.files {
                originals.insert(e.path.clone(), m.original_state(root, e)?);
            }
        }
        Ok(View { root, originals })
    }

    /// The disk only, ignoring any manifest.
    pub fn disk(root: &'a Root) -> View<'a> {
        View { root, originals: BTreeMap::new() }
    }
}

impl Tree for View<'_> {
    fn node(&self, abs: &str) -> Result<Node> {
        match self.originals.get(abs) {
            Some(Some(f)) => Ok(Node::File(f.clone())),
            Some(None) => Ok(Node::Absent),
            None => fsx::read_node(&self.root.path(abs)),
        }
    }

    fn names(&self, dir: &str) -> Result<Vec<String>> {
        let mut names: BTreeSet<String> = list_dir(&self.root.path(dir))?.into_iter().collect();
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        for (path, orig) in &self.originals {
            if let Some(name) = path.strip_prefix(&prefix).filter(|n| !n.contains('/')) {
                if orig.is_some() {
                    names.insert(name.to_string());
                } else {
                    names.remove(name);
                }
            }
        }
        Ok(names.into_iter().collect())
    }
}

/// Sorted entry names of a directory; empty if it does not exist.
pub fn list_dir(dir: &std::path::Path) -> Result<Vec<String>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            return Ok(Vec::new())
        }
        Err(e) => return Err(Error::io(dir, e)),
    };
    let mut names = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(dir, e))?;
        names.push(ent.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

/// A tree with some files replaced, added (`Some`) or removed (`None`).
pub struct Overlay<'a> {
    pub base: &'a dyn Tree,
    pub files: BTreeMap<String, Option<String>>,
}

impl Tree for Overlay<'_> {
    fn node(&self, abs: &str) -> Result<Node> {
        match self.files.get(abs) {
            Some(Some(t)) => Ok(Node::File(FileState::new(t.as_bytes(), 0o644))),
            Some(None) => Ok(Node::Absent),
            None => self.base.node(abs),
        }
    }

    fn names(&self, dir: &str) -> Result<Vec<String>> {
        let mut names: BTreeSet<String> = self.base.names(dir)?.into_iter().collect();
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        for (path, t) in &self.files {
            if let Some(name) = path.strip_prefix(&prefix).filter(|n| !n.contains('/')) {
                if t.is_some() {
                    names.insert(name.to_string());
                } else {
                    names.remove(name);
                }
            }
        }
        Ok(names.into_iter().collect())
    }
}

/// An in-memory tree, for tests.
#[cfg(test)]
pub struct MemTree(pub BTreeMap<String, String>);

#[cfg(test)]
impl MemTree {
    pub fn new(files: &[(&str, &str)]) -> MemTree {
        MemTree(files.iter().map(|(p, t)| (p.to_string(), t.to_string())).collect())
    }
}

#[cfg(test)]
impl Tree for MemTree {
    fn node(&self, abs: &str) -> Result<Node> {
        Ok(self
            .0
            .get(abs)
            .map(|t| Node::File(FileState::new(t.as_bytes(), 0o644)))
            .unwrap_or(Node::Absent))
    }

    fn names(&self, dir: &str) -> Result<Vec<String>> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        Ok(self
            .0
            .keys()
            .filter_map(|p| {
                p.strip_prefix(&prefix).filter(|n| !n.contains('/')).map(str::to_string)
            })
            .collect())
    }
}
