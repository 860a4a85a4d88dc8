//! Journal entries in the two wire forms the tests speak: journald's native datagram protocol
//! (what the senders use) and the export format (what `systemd-journal-remote` reads, for the
//! fallback without a running journald). Both encode a field the same way: `NAME=value\n`, or,
//! when the value holds a newline, `NAME\n` + little-endian u64 length + raw bytes + `\n`.

/// One journal entry as an ordered list of fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entry {
    fields: Vec<(String, Vec<u8>)>,
}

impl Entry {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a field (builder style).
    pub fn field(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.fields.push((name.to_owned(), value.as_ref().to_vec()));
        self
    }

    /// The entry as one native-protocol datagram for `/run/systemd/journal/socket`.
    pub fn native(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.fields {
            encode_field(&mut out, name, value);
        }
        out
    }

    /// The entry in journal export format (fields, then the empty line ending the entry).
    pub fn export(&self) -> Vec<u8> {
        let mut out = self.native();
        out.push(b'\n');
        out
    }
}

fn encode_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_use_the_text_form() {
        let e = Entry::new().field("MESSAGE", "hello").field("PRIORITY", "3");
        assert_eq!(e.native(), b"MESSAGE=hello\nPRIORITY=3\n");
        assert_eq!(e.export(), b"MESSAGE=hello\nPRIORITY=3\n\n");
    }

    #[test]
    fn a_newline_switches_to_the_binary_form() {
        let e = Entry::new().field("MESSAGE", "a\nb");
        let mut want = b"MESSAGE\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n");
        assert_eq!(e.native(), want);
    }
}
