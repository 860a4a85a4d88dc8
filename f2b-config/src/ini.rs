//! Just enough of fail2ban's INI reading to recognise files and collect `ignoreip`: sections,
//! `key = value` (or `key: value`), continuation lines indented under a key, `#`/`;` comments.
//! Interpolation is not done: callers only compare literal values.

/// One section with its keys in file order (keys lower-cased, as configparser does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub keys: Vec<(String, String)>,
}

impl Section {
    /// The last value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.keys.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Parses `text` into sections (keys before any header go to a nameless section).
pub fn parse(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // Continuation of the previous value.
            if let Some((_, v)) = out.last_mut().and_then(|s| s.keys.last_mut()) {
                v.push('\n');
                v.push_str(trimmed);
            }
            continue;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            out.push(Section {
                name: trimmed[1..trimmed.len() - 1].trim().to_string(),
                keys: Vec::new(),
            });
            continue;
        }
        let split = trimmed.find(['=', ':']);
        if let Some(i) = split {
            if out.is_empty() {
                out.push(Section::default());
            }
            let key = trimmed[..i].trim().to_ascii_lowercase();
            let value = trimmed[i + 1..].trim().to_string();
            out.last_mut().unwrap().keys.push((key, value));
        }
    }
    out
}

/// The section called `name`, merged if it appears twice.
pub fn section(sections: &[Section], name: &str) -> Option<Section> {
    let mut found: Option<Section> = None;
    for s in sections.iter().filter(|s| s.name == name) {
        found
            .get_or_insert_with(|| Section { name: name.into(), keys: vec![] })
            .keys
            .extend(s.keys.iter().cloned());
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_and_continuations() {
        let s = parse("# c\n[DEFAULT]\nignoreip = 127.0.0.1/8 ::1\n   10.0.0.0/8\nbantime: 3600\n\n[sshd]\nEnabled = true\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].get("ignoreip"), Some("127.0.0.1/8 ::1\n10.0.0.0/8"));
        assert_eq!(s[0].get("bantime"), Some("3600"));
        assert_eq!(section(&s, "sshd").unwrap().get("enabled"), Some("true"));
    }
}
