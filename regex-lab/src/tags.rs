//! fail2ban's host and field tags (`<HOST>`, `<ADDR>`, `<F-USER>`...) → PCRE2 groups (notes §2).
//!
//! OWNER: config helper.

/// Expands every fail2ban regex tag in `regex` exactly as fail2ban 1.0.2 does, and moves
/// global-flag groups inward. `usedns_no` selects `<HOST>` = `<ADDR>` (usedns = no).
pub fn expand(_regex: &str, _usedns_no: bool) -> Result<String, crate::config::ConfigError> {
    unimplemented!("config helper")
}
