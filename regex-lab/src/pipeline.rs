//! Feeding logs through many filters at once, on several threads, with results identical to
//! one thread.
//!
//! # Brief overview
//!
//! ```text
//!  reader (calling thread)      workers (--threads N)                sequencer (one thread)
//!  LineReader → Batch ──────►  per date group: DateDetector   ──►   in batch order, per line:
//!  (1024 lines, from a          (speculative, own state)             confirm each date (or redo),
//!   fixed pool of batches)     per filter: Searcher                   LineProcessor::process_found,
//!        ▲                      (prefregex, prefilter, PCRE2)         Counts::add
//!        └──────────── the batch goes back to the pool ◄────────────────┘
//! ```
//!
//! - **Shared reading and dates.** Lines are read once. Filters with the same `datepattern`
//!   share one date detector (a *date group*): fail2ban's detector only depends on its
//!   templates and the lines it has seen, so one detector serves them all.
//! - **Parallel searches.** Every search of a single-line filter depends on the line alone
//!   ([`crate::line::Searcher`]), so workers run them on whole batches. Multi-line filters
//!   (`maxlines > 1`) search their buffer in the sequencer.
//! - **State in one place, in order.** Date detection is stateful (the last winner is tried
//!   first, templates move up the list). A worker detects with its own detector and records
//!   how each quick decision was made ([`crate::date::FastWin`]); the sequencer's detector,
//!   which sees every line in order, replays that decision if it is in the same state, and
//!   detects the line itself otherwise; when its date differs, the line's searches are redone
//!   too. MLFID caches, `maxlines` buffers and counts live only in the sequencer.
//! - **Bounded memory.** A fixed pool of batches circulates; the reader waits for a free one,
//!   so memory does not grow with the input, whatever its size.

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use crate::date::{Clock, DateDetector, DateHit, FastWin};
use crate::error::Error;
use crate::input::LineReader;
use crate::line::{LineMatches, LineProcessor, Searcher};
use crate::report::Counts;

/// Lines per batch: large enough to make channel traffic negligible, small enough for a
/// fine-grained balance between workers. Fewer with many filters (see [`batch_lines`]).
const BATCH_LINES: usize = 1024;
/// What the batches in circulation may hold in all, whatever the number of filters.
const POOL_BUDGET: usize = 8 << 20;
/// Rough bytes a batch holds per line: per date group, and per single-line filter (spans,
/// copies of the searched text).
const PER_LINE_GROUP: usize = 128;
const PER_LINE_JOB: usize = 512;
/// Bytes per batch, for logs with very long lines.
const BATCH_BYTES: usize = 256 * 1024;
/// Batches in circulation per worker.
const POOL_PER_WORKER: usize = 4;

/// Filters sharing one date detector (same `datepattern`).
pub struct DateGroup {
    datepattern: Option<Vec<String>>,
    clock: Clock,
    /// The detector that sees every line in order (its hits are the report's).
    pub detector: DateDetector,
}

impl DateGroup {
    pub fn new(datepattern: Option<Vec<String>>, clock: Clock) -> Result<DateGroup, Error> {
        let detector = DateDetector::new(datepattern.as_deref(), clock.clone())?;
        Ok(DateGroup { datepattern, clock, detector })
    }

    /// Whether filters with this `datepattern` belong here.
    pub fn serves(&self, datepattern: Option<&[String]>) -> bool {
        self.datepattern.as_deref() == datepattern
    }

    fn fresh(&self) -> DateDetector {
        DateDetector::new(self.datepattern.as_deref(), self.clock.clone())
            .expect("a datepattern that compiled once compiles again")
    }
}

/// One filter's run: its processor (built without a date detector: dates come from its
/// group) and its counters.
pub struct Job<'a> {
    pub proc: &'a mut LineProcessor,
    pub counts: &'a mut Counts,
    /// Index of its [`DateGroup`].
    pub group: usize,
}

/// How to run.
#[derive(Clone, Copy)]
pub struct Options<'a> {
    /// Worker threads for dates and searches; 1 runs everything on the calling thread.
    pub threads: usize,
    /// Called on the calling thread with (bytes, lines) read so far, after each batch
    /// (progress display).
    pub progress: Option<&'a dyn Fn(u64, u64)>,
}

/// What a run read.
#[derive(Debug, Default)]
pub struct Stats {
    pub lines: u64,
    /// Read errors (the rest of that log is skipped), as messages for the report.
    pub errors: Vec<String>,
}

/// Feeds every line of `readers`, in order, to every job. See the module docs.
pub fn run(
    readers: &mut [LineReader],
    groups: &mut [DateGroup],
    jobs: &mut [Job],
    opts: &Options<'_>,
) -> Stats {
    if opts.threads <= 1 {
        run_inline(readers, groups, jobs, opts)
    } else {
        run_parallel(readers, groups, jobs, opts)
    }
}

/// Calls `each` with every line of the logs, in order; a read error is recorded and ends
/// that log. Stops early when `each` returns false.
fn for_each_line(
    readers: &mut [LineReader],
    errors: &mut Vec<String>,
    mut each: impl FnMut(&str) -> bool,
) {
    for reader in readers {
        loop {
            match reader.next_line() {
                Ok(Some(line)) => {
                    if !each(line) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    errors.push(format!(
                        "{e} (after line {}); the rest is skipped",
                        reader.line_no()
                    ));
                    break;
                }
            }
        }
    }
}

fn run_inline(
    readers: &mut [LineReader],
    groups: &mut [DateGroup],
    jobs: &mut [Job],
    opts: &Options<'_>,
) -> Stats {
    let mut hits: Vec<Option<DateHit>> = vec![None; groups.len()];
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut errors = Vec::new();
    for_each_line(readers, &mut errors, |line| {
        lines += 1;
        bytes += line.len() as u64 + 1;
        for (g, group) in groups.iter_mut().enumerate() {
            hits[g] = group.detector.detect(line);
        }
        for job in jobs.iter_mut() {
            let r = job.proc.process_found(line, hits[job.group].clone(), None);
            job.counts.add(r, line);
        }
        if lines % BATCH_LINES as u64 == 0 {
            if let Some(p) = opts.progress {
                p(bytes, lines);
            }
        }
        true
    });
    Stats { lines, errors }
}

/// A batch of lines and everything the workers found in it. Circulates: reader → worker →
/// sequencer → reader, keeping its allocations.
struct Batch {
    seq: u64,
    /// The lines, back to back.
    text: String,
    /// End of each line in `text` (the next starts there).
    ends: Vec<usize>,
    /// Per date group, per line.
    dates: Vec<Vec<DateOut>>,
    /// Per job, per line; empty for multi-line jobs.
    matches: Vec<Vec<LineMatches>>,
}

#[derive(Clone, Debug, Default)]
struct DateOut {
    hit: Option<DateHit>,
    fast: Option<FastWin>,
    /// The worker's date is the sequencer's (so are the searches made with it).
    same: bool,
}

/// A worker's tools: its own detector per date group, a searcher per single-line job.
struct Worker {
    detectors: Vec<DateDetector>,
    /// (group, searcher) per job; `None` for multi-line jobs.
    searchers: Vec<Option<(usize, Searcher)>>,
}

impl Worker {
    fn process(&mut self, b: &mut Batch) {
        let n = b.ends.len();
        for (g, d) in self.detectors.iter_mut().enumerate() {
            let out = &mut b.dates[g];
            out.clear();
            let mut start = 0;
            for &end in &b.ends {
                let line = &b.text[start..end];
                let hit = d.detect(line);
                out.push(DateOut { hit, fast: d.last_fast().cloned(), same: true });
                start = end;
            }
        }
        for (j, s) in self.searchers.iter_mut().enumerate() {
            let Some((g, searcher)) = s else { continue };
            let out = &mut b.matches[j];
            out.resize_with(n, LineMatches::default);
            let mut start = 0;
            for (k, &end) in b.ends.iter().enumerate() {
                let line = &b.text[start..end];
                let (s, e) = b.dates[*g][k].hit.as_ref().map_or((0, 0), |h| (h.start, h.end));
                searcher.run(&line[..s], &line[e..], &mut out[k]);
                start = end;
            }
        }
    }
}

/// Lines per batch so that `pool` batches stay within [`POOL_BUDGET`].
fn batch_lines(pool: usize, groups: usize, jobs: usize) -> usize {
    let per_line = PER_LINE_GROUP * groups + PER_LINE_JOB * jobs + 64;
    (POOL_BUDGET / (pool * per_line)).clamp(32, BATCH_LINES)
}

fn run_parallel(
    readers: &mut [LineReader],
    groups: &mut [DateGroup],
    jobs: &mut [Job],
    opts: &Options<'_>,
) -> Stats {
    let workers = opts.threads;
    let pool = workers * POOL_PER_WORKER;
    let lines_per_batch = batch_lines(pool, groups.len(), jobs.len());
    let (free_tx, free_rx) = mpsc::sync_channel::<Batch>(pool);
    let (work_tx, work_rx) = mpsc::sync_channel::<Batch>(pool);
    let (done_tx, done_rx) = mpsc::sync_channel::<Batch>(pool);
    for _ in 0..pool {
        free_tx
            .send(Batch {
                seq: 0,
                text: String::with_capacity(BATCH_BYTES + 4096),
                ends: Vec::with_capacity(lines_per_batch),
                dates: vec![Vec::new(); groups.len()],
                matches: vec![Vec::new(); jobs.len()],
            })
            .expect("the pool channel holds the whole pool");
    }
    let tools: Vec<Worker> = (0..workers)
        .map(|_| Worker {
            detectors: groups.iter().map(DateGroup::fresh).collect(),
            searchers: jobs.iter().map(|j| j.proc.new_searcher().map(|s| (j.group, s))).collect(),
        })
        .collect();
    let work_rx = Arc::new(Mutex::new(work_rx));
    let mut stats = Stats::default();

    std::thread::scope(|scope| {
        for mut worker in tools {
            let (work_rx, done_tx) = (Arc::clone(&work_rx), done_tx.clone());
            scope.spawn(move || loop {
                let batch = work_rx.lock().map(|rx| rx.recv());
                let Ok(Ok(mut batch)) = batch else { break };
                worker.process(&mut batch);
                if done_tx.send(batch).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let sequencer = scope.spawn(move || sequence(done_rx, free_tx, groups, jobs));
        read(readers, &free_rx, work_tx, &mut stats, opts, lines_per_batch);
        sequencer.join().expect("the sequencer does not panic");
    });
    stats
}

/// The reader: fills free batches with lines and hands them to the workers.
fn read(
    readers: &mut [LineReader],
    free_rx: &Receiver<Batch>,
    work_tx: SyncSender<Batch>,
    stats: &mut Stats,
    opts: &Options<'_>,
    lines_per_batch: usize,
) {
    let (mut bytes, mut seq) = (0u64, 0u64);
    let mut errors = Vec::new();
    let Ok(mut batch) = free_rx.recv() else { return };
    let send = |batch: Batch, stats: &mut Stats| -> bool {
        stats.lines += batch.ends.len() as u64;
        work_tx.send(batch).is_ok()
    };
    batch.text.clear();
    batch.ends.clear();
    for_each_line(readers, &mut errors, |line| {
        batch.text.push_str(line);
        batch.ends.push(batch.text.len());
        bytes += line.len() as u64 + 1;
        if batch.ends.len() < lines_per_batch && batch.text.len() < BATCH_BYTES {
            return true;
        }
        batch.seq = seq;
        seq += 1;
        let Ok(mut fresh) = free_rx.recv() else { return false };
        fresh.text.clear();
        fresh.ends.clear();
        if !send(std::mem::replace(&mut batch, fresh), stats) {
            return false;
        }
        if let Some(p) = opts.progress {
            p(bytes, stats.lines);
        }
        true
    });
    if !batch.ends.is_empty() {
        batch.seq = seq;
        send(batch, stats);
    }
    stats.errors = errors;
}

/// The sequencer: batches in order; per line, dates confirmed and state applied.
fn sequence(
    done_rx: Receiver<Batch>,
    free_tx: SyncSender<Batch>,
    groups: &mut [DateGroup],
    jobs: &mut [Job],
) {
    let mut waiting: std::collections::BTreeMap<u64, Batch> = Default::default();
    let mut next = 0u64;
    for batch in done_rx {
        waiting.insert(batch.seq, batch);
        while let Some(mut b) = waiting.remove(&next) {
            let Batch { text, ends, dates, matches, .. } = &mut b;
            // Dates first, group by group, then each filter over the whole batch: the order
            // within a filter (and within a detector) is the log's; filters are independent.
            for (g, group) in groups.iter_mut().enumerate() {
                let mut start = 0;
                for (k, &end) in ends.iter().enumerate() {
                    let line = &text[start..end];
                    start = end;
                    let out = &mut dates[g][k];
                    let confirmed =
                        out.fast.as_ref().is_some_and(|fw| group.detector.confirm_fast(line, fw));
                    if !confirmed {
                        let hit = group.detector.detect(line);
                        out.same = hit == out.hit;
                        out.hit = hit;
                    }
                }
            }
            for (j, job) in jobs.iter_mut().enumerate() {
                let mut start = 0;
                for (k, &end) in ends.iter().enumerate() {
                    let line = &text[start..end];
                    start = end;
                    let date = &dates[job.group][k];
                    let searched = match matches[j].get_mut(k) {
                        Some(m) if date.same => Some(m),
                        _ => None,
                    };
                    let r = job.proc.process_found(line, date.hit.clone(), searched);
                    job.counts.add(r, line);
                }
            }
            next += 1;
            if free_tx.send(b).is_err() {
                return;
            }
        }
    }
}
