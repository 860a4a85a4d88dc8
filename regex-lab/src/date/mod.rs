//! Date detection as fail2ban 1.0.2's DateDetector (spec: notes §4 and
//! `notes/fail2ban-date-templates.txt`).
//!
//! OWNER: date helper. Stub API below is the contract other modules code against.

/// A date pattern that cannot be used, or a bad `--timezone`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct DateError {
    pub message: String,
}
