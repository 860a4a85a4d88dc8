//! The library's error type: one line that names the file/line/regex and what to do.

use std::path::PathBuf;

/// Everything the library can fail with. Binaries print it once and exit with status 2.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Date(#[from] crate::date::DateError),
    #[error(transparent)]
    Regex(#[from] crate::engine::CompileError),
    #[error(transparent)]
    Sample(#[from] crate::sample::SampleError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}
