//! The Debian source added when apt has no candidate for fail2ban: a deb822 file of our own
//! (never an existing one overwritten), with Signed-By.

use super::Rendered;

pub const APT_SOURCE: &str = "/etc/apt/sources.list.d/f2b-sidecar-debian.sources";
pub const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

/// The source for Debian `codename` (e.g. bookworm, trixie).
pub fn render(codename: &str) -> Rendered {
    let content = format!(
        "# Added by f2b-config (f2b-sidecar) because apt had no candidate for fail2ban;\n\
         # removed by `f2b-config remove`.\n\
         Types: deb\nURIs: http://deb.debian.org/debian\nSuites: {codename} {codename}-updates\nComponents: main\nSigned-By: {KEYRING}\n\n\
         Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: {codename}-security\nComponents: main\nSigned-By: {KEYRING}\n"
    );
    Rendered {
        path: APT_SOURCE.into(),
        content,
        mode: 0o644,
        why: "Debian repository for fail2ban".into(),
    }
}
