//! Errors of the library. Each names the file or option involved and, where there is one,
//! what the admin can do about it.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("--route {0:?}: expected UNIT=PATH with an absolute PATH, e.g. --route pvedaemon.service=/var/log/proxmox-auth.log")]
    RouteSyntax(String),
    #[error("--route {0}: {1}")]
    RouteInvalid(String, &'static str),
    #[error("state directory {path}: {source} (create it or pass --state-dir)")]
    StateDir { path: PathBuf, source: io::Error },
    #[error("state file {path}: {source}")]
    StateFile { path: PathBuf, source: io::Error },
    #[error("state file {path} is locked: another f2b-logger serves this route")]
    Locked { path: PathBuf },
    #[error("output {path}: is a symlink; refusing to write through it (replace it with a regular file)")]
    OutputSymlink { path: PathBuf },
    #[error("output {path}: not a regular file")]
    OutputNotRegular { path: PathBuf },
    #[error("output {path}: {source}")]
    Output { path: PathBuf, source: io::Error },
    #[error("journal {what}: {source}")]
    Journal { what: String, source: io::Error },
    #[error("--file-owner/--file-group {0:?}: no such user or group")]
    NoSuchOwner(String),
    #[error("{0}")]
    Runtime(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
