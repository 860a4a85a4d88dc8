//! The handful of journal fields a line is made of, copied out of the current entry.

use systemd::journal::JournalRef;

/// The fields `journalctl -o short*` prints. Raw bytes: nothing here is trusted to be UTF-8.
#[derive(Debug, Default, Clone)]
pub struct Entry {
    /// `__REALTIME_TIMESTAMP`, µs since the epoch.
    pub realtime: u64,
    pub source_realtime: Option<Vec<u8>>,
    pub hostname: Option<Vec<u8>>,
    pub identifier: Option<Vec<u8>>,
    pub comm: Option<Vec<u8>>,
    pub pid: Option<Vec<u8>>,
    pub syslog_pid: Option<Vec<u8>>,
    pub message: Option<Vec<u8>>,
}

impl Entry {
    /// Reads the fields of the journal's current entry into `self`, reusing its buffers.
    ///
    /// All data of the entry are enumerated once (cheaper than seven `get_data` look-ups, each
    /// of which walks the entry) and, as in journalctl, a field that occurs twice keeps its
    /// last value. Values are copied up to `cap` bytes: libsystemd's data threshold bounds
    /// compressed fields only, and an uncompressed one may be huge.
    pub fn read_from(&mut self, j: &mut JournalRef, cap: usize) -> std::io::Result<()> {
        self.realtime = j.timestamp_usec()?;
        let mut seen = 0u8;
        j.restart_data();
        while let Some(field) = j.enumerate_data()? {
            let Some(value) = field.value() else { continue };
            let (slot, bit) = match field.name() {
                b"MESSAGE" => (&mut self.message, 1),
                b"_HOSTNAME" => (&mut self.hostname, 2),
                b"SYSLOG_IDENTIFIER" => (&mut self.identifier, 4),
                b"_COMM" => (&mut self.comm, 8),
                b"_PID" => (&mut self.pid, 16),
                b"SYSLOG_PID" => (&mut self.syslog_pid, 32),
                b"_SOURCE_REALTIME_TIMESTAMP" => (&mut self.source_realtime, 64),
                _ => continue,
            };
            let buf = slot.get_or_insert_with(Vec::new);
            buf.clear();
            buf.extend_from_slice(&value[..value.len().min(cap)]);
            seen |= bit;
        }
        // Fields absent from this entry must not keep a previous entry's value.
        for (f, bit) in [
            (&mut self.message, 1),
            (&mut self.hostname, 2),
            (&mut self.identifier, 4),
            (&mut self.comm, 8),
            (&mut self.pid, 16),
            (&mut self.syslog_pid, 32),
            (&mut self.source_realtime, 64),
        ] {
            if seen & bit == 0 {
                *f = None;
            }
        }
        Ok(())
    }
}
