//! One route (unit → file): its thread reads the journal, formats and appends lines; its
//! `Shared` hands what was written to the committer, which fdatasyncs the file and then
//! saves the state.
//!
//! Ordering that makes exactly-once hold: (1) lines are appended, (2) the position after them
//! is published as *pending*, (3) a commit takes the pending snapshot, fdatasyncs the file it
//! names, then saves it atomically. A crash anywhere leaves a saved state whose lines are on
//! disk, plus possibly lines past it that [`crate::recover`] recognises on restart.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::checkpoint::{Checkpoint, Position, State};
use crate::entry::Entry;
use crate::error::Result;
use crate::format::Formatter;
use crate::reader::{Reader, Seeked, Source};
use crate::recover::{Recovery, Verdict};
use crate::writer::{Output, Rotation};

/// Entries per write (and so at most this many lines between two pending updates).
pub const BATCH_ENTRIES: usize = 1000;
/// Uncommitted lines that make the route kick the committer before its 100 ms tick.
pub const COMMIT_LINES: u64 = 1000;
/// Longest time a read entry may wait in the batch before it is written.
const BATCH_AGE: Duration = Duration::from_millis(20);
const BATCH_BYTES: usize = 1 << 20;
/// How long to wait for the journal to change before looking again anyway. journald tells
/// inotify watchers about appends only through a timer that coalesces them for 250 ms, so
/// waiting for inotify alone puts up to a quarter second between an entry and its line. After
/// entries arrived we look every `POLL_MIN` and back off to `POLL_MAX` once the journal was
/// quiet for `QUIET` (a look is one `sd_journal_next`, cheap); inotify still wakes us at once for new
/// or deleted files.
const POLL_MIN: Duration = Duration::from_millis(4);
const POLL_MAX: Duration = Duration::from_millis(256);
/// Time without entries after which polling backs off.
const QUIET: Duration = Duration::from_secs(2);

/// What the route thread, the committer and the status reporter share.
pub struct Shared {
    pub unit: String,
    pub path: PathBuf,
    checkpoint: Mutex<Checkpoint>,
    pending: Mutex<Pending>,
    pub kick: tokio::sync::Notify,
    stop: AtomicBool,
    reopen: AtomicBool,
    wake_tx: UnixStream,
    fsync: bool,
    /// Lines written since start.
    pub lines: AtomicU64,
    /// Realtime (µs) of the last entry read.
    pub last_entry_usec: AtomicU64,
    pub caught_up: AtomicBool,
    /// Milliseconds since `epoch` at the route thread's last loop turn.
    pub heartbeat_ms: AtomicU64,
    epoch: Instant,
}

struct Pending {
    state: State,
    file: Option<Arc<std::fs::File>>,
    dirty: bool,
    lines: u64,
}

impl Shared {
    pub fn new(
        checkpoint: Checkpoint,
        state: State,
        fsync: bool,
    ) -> io::Result<(Arc<Self>, UnixStream)> {
        let (wake_tx, wake_rx) = UnixStream::pair()?;
        wake_tx.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        let s = Shared {
            unit: state.unit.clone(),
            path: state.path.clone(),
            checkpoint: Mutex::new(checkpoint),
            pending: Mutex::new(Pending { state, file: None, dirty: false, lines: 0 }),
            kick: tokio::sync::Notify::new(),
            stop: AtomicBool::new(false),
            reopen: AtomicBool::new(false),
            wake_tx,
            fsync,
            lines: AtomicU64::new(0),
            last_entry_usec: AtomicU64::new(0),
            caught_up: AtomicBool::new(false),
            heartbeat_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        };
        Ok((Arc::new(s), wake_rx))
    }

    pub fn name(&self) -> String {
        format!("{}={}", self.unit, self.path.display())
    }

    /// Asks the route thread to finish its batch and return.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// SIGHUP: reopen the output file at the next turn.
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::SeqCst);
        self.wake();
    }

    fn wake(&self) {
        let _ = (&self.wake_tx).write_all_nonblocking();
    }

    pub fn millis_since_heartbeat(&self) -> u64 {
        (self.epoch.elapsed().as_millis() as u64)
            .saturating_sub(self.heartbeat_ms.load(Ordering::Relaxed))
    }

    fn beat(&self) {
        self.heartbeat_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// The last position published by the route thread.
    fn pending_position(&self) -> Position {
        self.pending.lock().unwrap().state.position.clone()
    }

    fn publish(&self, state: State, file: &Arc<std::fs::File>, lines: u64) {
        let mut p = self.pending.lock().unwrap();
        p.state = state;
        p.file = Some(file.clone());
        p.dirty = true;
        p.lines += lines;
        if p.lines >= COMMIT_LINES {
            self.kick.notify_one();
        }
    }

    /// Saves the state now, without waiting for lines (only for positions that cover no
    /// line, such as the start position).
    fn save_now(&self, state: State) -> Result<()> {
        let ck = self.checkpoint.lock().unwrap();
        ck.save(&state)?;
        self.pending.lock().unwrap().state = state;
        Ok(())
    }

    /// fdatasync the file the pending state refers to, then save that state. Returns whether
    /// there was anything to commit.
    pub fn commit(&self) -> Result<bool> {
        let ck = self.checkpoint.lock().unwrap();
        let (state, file) = {
            let mut p = self.pending.lock().unwrap();
            if !p.dirty {
                return Ok(false);
            }
            p.dirty = false;
            p.lines = 0;
            (p.state.clone(), p.file.clone())
        };
        let res = (|| {
            if let (true, Some(f)) = (self.fsync, &file) {
                f.sync_data().map_err(|source| crate::error::Error::Output {
                    path: self.path.clone(),
                    source,
                })?;
            }
            ck.save(&state)
        })();
        if res.is_err() {
            self.pending.lock().unwrap().dirty = true;
        }
        res.map(|()| true)
    }
}

/// An entry whose fields could not be read, with its cursor when that was still readable.
#[derive(Debug)]
struct Unreadable(io::Error, Option<String>);

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "reading an entry's fields: {}", self.0)
    }
}

impl std::error::Error for Unreadable {}

impl From<Unreadable> for io::Error {
    fn from(u: Unreadable) -> Self {
        io::Error::other(u)
    }
}

fn unreadable_cursor(e: &io::Error) -> Option<String> {
    e.get_ref().and_then(|i| i.downcast_ref::<Unreadable>()).and_then(|u| u.1.clone())
}

fn is_repeat(e: &io::Error, last_bad: &Option<String>) -> bool {
    last_bad.is_some() && unreadable_cursor(e) == *last_bad
}

trait WakeWrite {
    fn write_all_nonblocking(self) -> io::Result<()>;
}
impl WakeWrite for &UnixStream {
    fn write_all_nonblocking(self) -> io::Result<()> {
        use std::io::Write;
        match { self }.write(&[1]) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            r => r.map(|_| ()),
        }
    }
}

/// Everything a route thread needs, built on the main thread.
pub struct RouteSetup {
    pub shared: Arc<Shared>,
    pub wake_rx: UnixStream,
    pub output: Output,
    pub recovery: Recovery,
    /// The saved position, or None to start at `start_at`.
    pub resume: Option<Position>,
    pub start_at_head: bool,
    pub source: Source,
    pub formatter: Formatter,
    /// Bytes of a field that are read at all (libsystemd data threshold and copy cap).
    pub threshold: usize,
    pub once: bool,
}

/// Opens the journal and positions it (reporting the outcome through `ready`), then forwards
/// until stopped (or, with `once`, until the end of the journal).
pub fn run(setup: RouteSetup, ready: std::sync::mpsc::Sender<Result<()>>) {
    let shared = setup.shared.clone();
    let name = shared.name();
    let mut reader = match start(&setup) {
        Ok(r) => {
            let _ = ready.send(Ok(()));
            r
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let mut output = setup.output;
    if setup.recovery.active() {
        output.set_covered_size(setup.recovery.current_end());
    }
    let mut r = RouteLoop {
        shared,
        wake_rx: setup.wake_rx,
        output,
        recovery: setup.recovery,
        formatter: setup.formatter,
        once: setup.once,
        field_cap: setup.threshold,
        batch: Vec::with_capacity(256 * 1024),
        batch_entries: 0,
        batch_lines: 0,
        batch_started: Instant::now(),
    };
    r.forward(&mut reader);
    tracing::debug!(route = %name, "route thread done");
}

fn start(setup: &RouteSetup) -> Result<Reader> {
    let shared = &setup.shared;
    let name = shared.name();
    let mut reader = Reader::open(&setup.source, &shared.unit, setup.threshold)?;
    let jerr =
        |source| crate::error::Error::Journal { what: format!("route {name}: seek"), source };
    if let Some(pos) = &setup.resume {
        match reader.seek(pos) {
            Ok(Seeked::Exact | Seeked::AtEnd) => {
                tracing::info!(route = %name, "resuming after the saved position");
                return Ok(reader);
            }
            Ok(Seeked::Gap) => {
                tracing::warn!(route = %name, "the saved cursor's entry is no longer in the journal (vacuumed); continuing with the oldest entry after it; entries vacuumed before they were forwarded are lost");
                return Ok(reader);
            }
            // seek_cursor only parses; EINVAL means the saved cursor is garbage.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                let kept = shared.checkpoint.lock().unwrap().keep_copy()?;
                tracing::warn!(route = %name, error = %e, kept = %kept.display(), "saved cursor is invalid (corrupt state); kept a copy; starting at the tail");
            }
            Err(e) => return Err(jerr(e)),
        }
    }
    // A corrupt state never leads to a backfill from the head, whatever --start-at says.
    let position = if setup.start_at_head && setup.resume.is_none() {
        reader.seek(&Position::Head).map_err(jerr)?;
        tracing::info!(route = %name, "no saved state: starting at the head of the journal (--start-at head)");
        Position::Head
    } else {
        let p = reader.seek_tail().map_err(jerr)?;
        tracing::info!(route = %name, "no saved state: starting at the tail (only new entries are forwarded)");
        p
    };
    // Saved before anything is written, so a crash from here on resumes from this point
    // instead of starting at the tail again.
    let state = State {
        version: crate::checkpoint::VERSION,
        unit: shared.unit.clone(),
        path: shared.path.clone(),
        position,
        output: setup.output.mark(),
    };
    shared.save_now(state)?;
    Ok(reader)
}

struct RouteLoop {
    shared: Arc<Shared>,
    wake_rx: UnixStream,
    output: Output,
    recovery: Recovery,
    formatter: Formatter,
    once: bool,
    field_cap: usize,
    batch: Vec<u8>,
    batch_entries: usize,
    batch_lines: u64,
    batch_started: Instant,
}

impl RouteLoop {
    fn forward(&mut self, reader: &mut Reader) {
        let mut entry = Entry::default();
        let mut backoff = Duration::from_millis(100);
        let mut poll = POLL_MIN;
        let mut last_entry = Instant::now();
        let mut last_bad: Option<String> = None;
        let name = self.shared.name();
        loop {
            self.shared.beat();
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            if self.shared.reopen.swap(false, Ordering::SeqCst) {
                self.follow_rotation(Rotation::Reopen);
            }
            let step = reader.advance().and_then(|more| {
                if more {
                    if let Err(e) = entry.read_from(reader.journal(), self.field_cap) {
                        return Err(Unreadable(e, reader.cursor().ok()).into());
                    }
                }
                Ok(more)
            });
            match step {
                Err(e) if is_repeat(&e, &last_bad) => {
                    // The same entry failed again after reopening: it is damaged, not moved.
                    tracing::warn!(route = %name, error = %e, "skipping an unreadable journal entry");
                    self.batch_entries += 1;
                    last_bad = None;
                }
                Err(e) => {
                    last_bad = unreadable_cursor(&e);
                    self.journal_trouble(reader, e, &mut backoff);
                }
                Ok(true) => {
                    last_entry = Instant::now();
                    self.add(&entry);
                    if self.batch_entries >= BATCH_ENTRIES
                        || self.batch.len() >= BATCH_BYTES
                        || (self.batch_entries & 63 == 0
                            && self.batch_started.elapsed() >= BATCH_AGE)
                    {
                        if let Err(e) = self.flush(reader) {
                            self.journal_trouble(reader, e, &mut backoff);
                        }
                    }
                }
                Ok(false) => {
                    if self.batch_entries > 0 {
                        if let Err(e) = self.flush(reader) {
                            self.journal_trouble(reader, e, &mut backoff);
                            continue;
                        }
                    }
                    self.shared.caught_up.store(true, Ordering::Relaxed);
                    if self.once {
                        break;
                    }
                    poll = if last_entry.elapsed() < QUIET {
                        POLL_MIN
                    } else {
                        (poll * 2).min(POLL_MAX)
                    };
                    if let Err(e) = reader.wait(self.wake_rx.as_raw_fd(), poll) {
                        self.journal_trouble(reader, e, &mut backoff);
                        continue;
                    }
                    let mut sink = [0u8; 64];
                    while matches!((&self.wake_rx).read(&mut sink), Ok(n) if n > 0) {}
                    backoff = Duration::from_millis(100);
                }
            }
        }
        if self.batch_entries > 0 {
            if let Err(e) = self.flush(reader) {
                tracing::warn!(route = %name, error = %e, "could not take the cursor of the last batch; it will be read again at the next start");
            }
        }
    }

    fn add(&mut self, entry: &Entry) {
        if self.batch_entries == 0 {
            self.batch_started = Instant::now();
        }
        self.batch_entries += 1;
        self.shared.caught_up.store(false, Ordering::Relaxed);
        self.shared.last_entry_usec.store(entry.realtime, Ordering::Relaxed);
        let start = self.batch.len();
        if self.formatter.push_line(entry, &mut self.batch).is_none() {
            return;
        }
        if self.recovery.active() {
            match self.recovery.check(&self.batch[start..]) {
                Ok(Verdict::Present) => {
                    self.batch.truncate(start);
                    self.output.set_covered_size(self.recovery.current_end());
                    return;
                }
                Ok(Verdict::Complete(n)) => {
                    self.batch.drain(start..start + n);
                    self.output.adopt_partial_line();
                    tracing::info!(route = %self.shared.name(), "completed a line torn by a crash");
                }
                Ok(Verdict::Absent) => {}
                Err(e) => {
                    tracing::warn!(route = %self.shared.name(), error = %e, "reading the output tail failed; writing from here on")
                }
            }
            if !self.recovery.active() && self.recovery.present > 0 {
                tracing::info!(route = %self.shared.name(), lines = self.recovery.present, "recognised lines written before a crash; not writing them again");
            }
        }
        self.batch_lines += 1;
    }

    /// Writes the batch and publishes the position after it. Only a journal error (no
    /// cursor) is returned; output trouble is retried here until it clears or we are stopped.
    fn flush(&mut self, reader: &mut Reader) -> io::Result<()> {
        let cursor = reader.cursor()?;
        match self.output.rotation() {
            Ok(Rotation::Same) => {}
            Ok(r) => self.follow_rotation(r),
            Err(e) => {
                tracing::warn!(path = %self.output.path().display(), error = %e, "cannot check the output for rotation")
            }
        }
        let batch = std::mem::take(&mut self.batch);
        let mut rest: &[u8] = &batch;
        let mut delay = Duration::from_millis(100);
        while let Err(e) = self.output.write(&mut rest) {
            tracing::error!(path = %self.output.path().display(), error = %e, "cannot write the output; retrying");
            if self.shared.stop.load(Ordering::SeqCst) {
                // Not published: these entries are read again at the next start, and a line
                // torn here is completed by recovery.
                self.batch = batch;
                self.clear_batch();
                return Ok(());
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
            if let Ok(r @ (Rotation::Replaced | Rotation::Gone)) = self.output.rotation() {
                self.follow_rotation(r);
            }
        }
        let state = State {
            version: crate::checkpoint::VERSION,
            unit: self.shared.unit.clone(),
            path: self.shared.path.clone(),
            position: Position::Cursor { cursor },
            output: self.output.mark(),
        };
        self.shared.publish(state, self.output.file(), self.batch_lines);
        self.shared.lines.fetch_add(self.batch_lines, Ordering::Relaxed);
        self.batch = batch;
        self.clear_batch();
        Ok(())
    }

    fn clear_batch(&mut self) {
        self.batch.clear();
        self.batch_entries = 0;
        self.batch_lines = 0;
    }

    fn follow_rotation(&mut self, r: Rotation) {
        let mut delay = Duration::from_millis(100);
        while let Err(e) = self.output.follow(r, self.shared.fsync) {
            tracing::error!(error = %e, "cannot reopen the output; retrying");
            if self.shared.stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// A read error: keep what can be kept, reopen the journal and continue after the last
    /// written entry, pausing so that a persistent error cannot spin.
    fn journal_trouble(&mut self, reader: &mut Reader, e: io::Error, backoff: &mut Duration) {
        let name = self.shared.name();
        tracing::warn!(route = %name, error = %e, "journal read error; reopening and resuming after the last written entry");
        // The batch is written up to the entry before the failing one. When the journal sits
        // on an entry it could not read, step back first so its cursor is not taken as done.
        let on_bad_entry = unreadable_cursor(&e).is_some();
        let positioned = !on_bad_entry || matches!(reader.journal().previous(), Ok(n) if n > 0);
        if self.batch_entries > 0 && (!positioned || self.flush(reader).is_err()) {
            // Not written, not published: read again after the reopen.
            self.clear_batch();
        }
        loop {
            let mut fds =
                [libc::pollfd { fd: self.wake_rx.as_raw_fd(), events: libc::POLLIN, revents: 0 }];
            unsafe { libc::poll(fds.as_mut_ptr(), 1, backoff.as_millis() as i32) };
            *backoff = (*backoff * 2).min(Duration::from_secs(5));
            if self.shared.stop.load(Ordering::SeqCst) {
                return;
            }
            let pos = self.shared.pending_position();
            match reader
                .reopen()
                .map_err(|e| io::Error::other(e.to_string()))
                .and_then(|()| reader.seek(&pos))
            {
                Ok(Seeked::Gap) => {
                    tracing::warn!(route = %name, "the last written entry is gone from the journal (vacuumed); continuing with the oldest entry after it");
                    return;
                }
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(route = %name, error = %e, "reopening the journal failed; retrying")
                }
            }
        }
    }
}
