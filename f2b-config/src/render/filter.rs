//! The project's filters, installed under names of our own (`filter.d/f2b-NAME.conf`).

use super::Rendered;
use crate::builtin;
use crate::error::{Error, Result};
use crate::profile::installed_filter_name;

/// Path of an installed built-in filter.
pub fn path(name: &str) -> String {
    format!("/etc/fail2ban/filter.d/{}.conf", installed_filter_name(name))
}

pub fn render(name: &str) -> Result<Rendered> {
    let text = builtin::filter_text(name).ok_or_else(|| Error::SelfTest {
        filter: name.into(),
        detail: "no such built-in filter".into(),
    })?;
    let installed = installed_filter_name(name);
    Ok(Rendered {
        path: path(name),
        content: format!(
            "# Managed by f2b-config (f2b-sidecar): the built-in filter `{name}` of regex-lab.\n\
             # Do not edit: override in /etc/fail2ban/filter.d/{installed}.local.\n\n{text}"
        ),
        mode: 0o644,
        why: format!("built-in filter {name}"),
    })
}
