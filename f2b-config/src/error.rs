//! The ways f2b-config refuses to go on. Every message names the file or flag concerned and
//! says what to do; when one of these is returned, nothing was changed (or everything that
//! was changed has been put back).

use std::path::PathBuf;

/// A failed `install`, `remove`, `status` or `render`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing one file failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// `--root` is not a usable directory.
    #[error("--root {}: {reason}", path.display())]
    BadRoot { path: PathBuf, reason: String },

    /// The manifest cannot be read; nothing is done rather than guessing what was installed.
    #[error(
        "manifest {} is unreadable: {detail}. Nothing was changed. The original files are kept in \
         {}/backup/; fix the manifest or move it away (then f2b-config no longer knows what it installed)",
        path.display(), state_dir.display()
    )]
    CorruptManifest { path: PathBuf, state_dir: PathBuf, detail: String },

    /// Files f2b-config manages were changed by someone else since they were installed.
    #[error(
        "changed since f2b-config installed them: {}. Nothing was changed. Re-run `f2b-config {command} --yes` \
         to go on: a copy of each changed file is kept in {}",
        paths.join(", "), saved_dir.display()
    )]
    ChangedSinceInstall { paths: Vec<String>, command: &'static str, saved_dir: PathBuf },

    /// A path f2b-config must write is a symlink, a directory or something else that is not a
    /// regular file (or one of its parent directories is a symlink).
    #[error("{}: {reason}; refusing to write there. Nothing was changed", path.display())]
    Refused { path: PathBuf, reason: String },

    /// Another f2b-config run holds the lock on this root.
    #[error("another f2b-config run is working on {} (lock held); wait for it to finish", root.display())]
    Locked { root: PathBuf },

    /// `remove` or `status` on a root where f2b-config installed nothing.
    #[error("f2b-config has not installed anything here: no manifest at {}", path.display())]
    NotInstalled { path: PathBuf },

    /// The SSH client address of this session is not in `ignoreip`.
    #[error(
        "you are connected over SSH from {addr}, which the new jails would ban after a few failed \
         logins: re-run with --yes to add {addr} to ignoreip, or pass --ignoreip with an address or \
         network that covers it. Nothing was changed"
    )]
    SelfBan { addr: String },

    /// `sshd -t` rejected the configuration; every change was rolled back.
    #[error(
        "`sshd -t` rejects the changed sshd configuration: {output}. Every change was rolled back{hint}"
    )]
    SshdCheck { output: String, hint: String },

    /// The effective `MaxAuthTries` did not become what was planned; rolled back.
    #[error("sshd's effective MaxAuthTries is {got} after the change, not {want}: {hint}. Every change was rolled back")]
    SshdNotEffective { got: u32, want: u32, hint: String },

    /// `fail2ban-client -t` rejected the configuration; every change was rolled back.
    #[error("`fail2ban-client -t` rejects the new configuration: {output}. Every change was rolled back")]
    Fail2banCheck { output: String },

    /// A built-in filter failed its corpus; it is not installed.
    #[error(
        "built-in filter {filter} fails its self-test against corpora/{filter}: {detail}. Nothing was \
         changed; this is a bug in f2b-sidecar, please report it"
    )]
    SelfTest { filter: String, detail: String },

    /// The f2b-logger binary the logger units run is not there.
    #[error(
        "f2b-logger not found (looked at {looked}). Install it first, e.g. \
         `install -m 0755 target/release/f2b-logger /usr/local/bin/`, or pass --logger PATH. Nothing was changed"
    )]
    LoggerMissing { looked: String },

    /// fail2ban is missing and cannot (or may not) be installed with apt.
    #[error("{0}")]
    Package(String),

    /// A command f2b-config ran failed.
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },

    /// A service step failed after the files were written; the files were put back.
    #[error(
        "{step} failed: {detail}. Every file was put back and the services reloaded as before"
    )]
    Activation { step: String, detail: String },

    /// Bad user input that is not a path problem (an `--ignoreip` value, a `--logger` path).
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
