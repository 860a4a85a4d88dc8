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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_with_signed_by_for_the_codename() {
        let r = render("trixie");
        assert!(
            r.content.contains("Suites: trixie trixie-updates\n")
                && r.content.contains("Suites: trixie-security\n")
        );
        assert_eq!(r.content.matches(&format!("Signed-By: {KEYRING}\n")).count(), 2);
        assert!(!r.content.contains("Suites:  "), "an empty codename must never get here");
    }
}
