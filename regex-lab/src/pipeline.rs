//! Feeding logs through many filters at once, on several threads, with results identical to
//! one thread.
//!
//! # Brief overview
//!
//! ```text
//!  every worker (--threads N, the calling thread is one), in a loop:
//!   1. take a free Batch           (fixed pool: memory does not grow with the input)
//!   2. fill it: LineReader         (in turn, under a lock; ~1024 lines, numbered in log order)
//!   3. search it: per date group a DateDetector (speculative, own state),
//!                 per filter a Searcher (prefregex, prefilter, PCRE2)
//!   4. hand it over; if nobody is sequencing, sequence every batch whose turn has come:
//!      per line confirm each date (or redo it), LineProcessor::process_found, Counts::add
//!   5. the sequenced batch goes back to the pool
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
//!   too. MLFID caches, `maxlines` buffers and counts live only in the sequencing, which one
//!   worker at a time does, batch after batch in log order.
//! - **No extra threads.** Reading and sequencing are done by the workers themselves, so
//!   `--threads 2` on two cores runs two threads, not four taking turns.
//! - **Bounded memory.** A fixed pool of batches circulates; a worker waits for a free one,
//!   so memory does not grow with the input, whatever its size.

mod screen;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::date::{Clock, DateDetector, DateHit, FastWin};
use crate::engine::Captures;
use crate::error::Error;
use crate::filter::Filter;
use crate::input::LineReader;
use crate::line::{BatchLine, LineMatches, LineProcessor, Searched, Searcher};
use crate::multiline::CoarseTime;
use crate::report::Counts;
use screen::Screening;

/// Lines per batch at most; [`POOL_BUDGET`] makes it about 1,490 for one filter on two
/// threads, fewer with more (see [`batch_lines`]). Each batch hands the sequencing state
/// (date detectors, MLFID caches, counts) to the core that sequences it, so fewer, larger
/// batches move it less often. Measured on the 1M-line sshd benchmark, runs interleaved, in
/// this VM's slow state (when what crosses between the two CPUs costs more): ~1,490 lines
/// take 4% less wall and CPU time than 512, 1024 lines 1-3% less, ~2,980 (a 16 MiB budget)
/// no less than ~1,490, 256 lines 6% more; in the fast state 512, 768 and 1024 measure the
/// same.
const BATCH_LINES: usize = 2048;
/// What the batches in circulation may hold in all, whatever the number of filters.
const POOL_BUDGET: usize = 8 << 20;
/// Rough bytes a batch holds per line: per date group, and per single-line filter (spans,
/// copies of the searched text).
const PER_LINE_GROUP: usize = 128;
const PER_LINE_JOB: usize = 512;
/// Bytes per batch, for logs with very long lines.
const BATCH_BYTES: usize = 256 * 1024;
/// How many lines ahead the sequencing asks for a line's matches (see
/// [`LineMatches::prefetch`]).
const PREFETCH_LINES: usize = 4;
/// Batches in circulation per worker.
const POOL_PER_WORKER: usize = 4;

/// Filters sharing one date detector (same `datepattern`).
pub struct DateGroup {
    datepattern: Option<Vec<String>>,
    /// The detector that sees every line in order (its hits are the report's).
    pub detector: DateDetector,
}

impl DateGroup {
    pub fn new(datepattern: Option<Vec<String>>, clock: Clock) -> Result<DateGroup, Error> {
        let detector = DateDetector::new(datepattern.as_deref(), clock)?;
        Ok(DateGroup { datepattern, detector })
    }

    /// Whether filters with this `datepattern` belong here.
    pub fn serves(&self, datepattern: Option<&[String]>) -> bool {
        self.datepattern.as_deref() == datepattern
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
    pub progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
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
    let stats = if opts.threads <= 1 {
        run_inline(readers, groups, jobs, opts)
    } else {
        run_parallel(readers, groups, jobs, opts)
    };
    // Whoever uses a job next reads the clock again.
    hold_time(jobs, None);
    stats
}

/// Every job's time for the lines of the batch about to be applied (`None`: none held); see
/// [`LineProcessor::hold_time`].
fn hold_time(jobs: &mut [Job], now: Option<CoarseTime>) {
    for job in jobs {
        job.proc.hold_time(now);
    }
}

fn run_inline(
    readers: &mut [LineReader],
    groups: &mut [DateGroup],
    jobs: &mut [Job],
    opts: &Options<'_>,
) -> Stats {
    let mut hits: Vec<Option<DateHit>> = vec![None; groups.len()];
    // The same two steps as the workers and the sequencer, line by line: a single-line job's
    // searches (on the batch's text, see `Searcher::run_line`), then its state.
    let mut searchers: Vec<Option<(Searcher, LineMatches)>> =
        jobs.iter().map(|j| j.proc.new_searcher().map(|s| (s, LineMatches::default()))).collect();
    let screening = screening(jobs, searchers.iter().map(|s| s.as_ref().map(|(s, _)| s)));
    let mut present = screening.as_ref().map_or_else(Vec::new, Screening::bits);
    let mut pref_caps: Vec<Option<Captures>> = (0..jobs.len()).map(|_| None).collect();
    let mut input = Input::new(readers);
    let (mut text, mut ends) = (String::with_capacity(BATCH_BYTES + 4096), Vec::new());
    while input.fill(&mut text, &mut ends, BATCH_LINES) {
        let ascii = input.ascii;
        hold_time(jobs, Some(CoarseTime::now()));
        let mut start = 0;
        for &end in &ends {
            let line_nl = &text[start..=end];
            let line = &text[start..end];
            start = end + 1;
            for (g, group) in groups.iter_mut().enumerate() {
                hits[g] = group.detector.detect(line);
            }
            if let Some(sc) = &screening {
                sc.scan(line_nl, &mut present);
            }
            for (j, (job, s)) in jobs.iter_mut().zip(&mut searchers).enumerate() {
                let hit = hits[job.group].clone();
                let searched = s.as_mut().map(|(searcher, m)| {
                    let date = hit.as_ref().map_or((0, 0), |h| (h.start, h.end));
                    let v = screening.as_ref().map(|sc| sc.verdict(j, &present, date.0));
                    let f = job.proc.filter();
                    let line = BatchLine { text_nl: line_nl, date, ascii };
                    screen::run_line(v, f, searcher, &mut pref_caps[j], line, m);
                    Searched { matches: m, line_nl }
                });
                let r = job.proc.process_found(line, hit, searched);
                job.counts.add(r, line);
            }
        }
        if let Some(p) = opts.progress {
            p(input.bytes, input.stats.lines);
        }
    }
    input.stats
}

/// A batch of lines and everything the workers found in it. Circulates: free pool → a worker
/// (fill, search) → the sequencing → free pool, keeping its allocations.
struct Batch {
    seq: u64,
    /// The lines, each followed by `"\n"` (see [`LineReader::read_lines`]).
    text: String,
    /// End of each line in `text` (where its `"\n"` is; the next starts after it).
    ends: Vec<usize>,
    /// Every line is ASCII (see [`Input::ascii`]).
    ascii: bool,
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
struct Worker<'s> {
    detectors: Vec<DateDetector>,
    /// (group, searcher) per job; `None` for multi-line jobs.
    searchers: Vec<Option<(usize, Searcher)>>,
    /// The run's screening (see [`screen`]), and per line of a batch its scan.
    screening: Option<&'s Screening>,
    present: Vec<u64>,
    /// Per job, its filter and captures for a prefregex-only search.
    filters: Vec<Arc<Filter>>,
    pref_caps: Vec<Option<Captures>>,
}

/// The screening of `jobs` with these searchers (see [`screen`]); none with fewer than two
/// single-line jobs: one filter's own prefilter already does what it would.
fn screening<'a>(
    jobs: &'a [Job],
    searchers: impl Iterator<Item = Option<&'a Searcher>>,
) -> Option<Screening> {
    let searchers: Vec<Option<&Searcher>> = searchers.collect();
    if searchers.iter().filter(|s| s.is_some()).count() < 2 {
        return None;
    }
    Screening::new(jobs.iter().map(|j| &**j.proc.filter()).zip(searchers))
}

impl Worker<'_> {
    fn process(&mut self, b: &mut Batch) {
        let n = b.ends.len();
        let ascii = b.ascii;
        for (g, d) in self.detectors.iter_mut().enumerate() {
            // Written field by field in place: a `DateOut` is 160 bytes, and building one
            // to push it cost three calls to `memcpy` per line.
            let out = &mut b.dates[g];
            out.resize_with(n, DateOut::default);
            let mut start = 0;
            for (o, &end) in out.iter_mut().zip(&b.ends) {
                let line = &b.text[start..end];
                o.hit = d.detect(line);
                o.fast = d.last_fast().copied();
                o.same = true;
                start = end + 1;
            }
        }
        let words = self.screening.map_or(0, Screening::words);
        if let Some(sc) = self.screening {
            self.present.resize(n * words, 0);
            let mut start = 0;
            for (k, &end) in b.ends.iter().enumerate() {
                sc.scan(&b.text[start..=end], &mut self.present[k * words..(k + 1) * words]);
                start = end + 1;
            }
        }
        for (j, s) in self.searchers.iter_mut().enumerate() {
            let Some((g, searcher)) = s else { continue };
            let out = &mut b.matches[j];
            out.resize_with(n, LineMatches::default);
            let mut start = 0;
            for (k, &end) in b.ends.iter().enumerate() {
                let text_nl = &b.text[start..=end];
                let date = b.dates[*g][k].hit.as_ref().map_or((0, 0), |h| (h.start, h.end));
                let present = &self.present[k * words..(k + 1) * words];
                let v = self.screening.map(|sc| sc.verdict(j, present, date.0));
                let (f, caps) = (&self.filters[j], &mut self.pref_caps[j]);
                let line = BatchLine { text_nl, date, ascii };
                screen::run_line(v, f, searcher, caps, line, &mut out[k]);
                start = end + 1;
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
    let free: Vec<Batch> = (0..pool)
        .map(|_| Batch {
            seq: 0,
            ascii: false,
            text: String::with_capacity(BATCH_BYTES + 4096),
            ends: Vec::with_capacity(lines_per_batch),
            dates: vec![Vec::new(); groups.len()],
            matches: vec![Vec::new(); jobs.len()],
        })
        .collect();
    let mut tools: Vec<Worker> = (0..workers)
        .map(|_| Worker {
            detectors: groups.iter().map(|g| g.detector.fresh()).collect(),
            searchers: jobs.iter().map(|j| j.proc.new_searcher().map(|s| (j.group, s))).collect(),
            screening: None,
            present: Vec::new(),
            filters: jobs.iter().map(|j| Arc::clone(j.proc.filter())).collect(),
            pref_caps: (0..jobs.len()).map(|_| None).collect(),
        })
        .collect();
    let screening = screening(jobs, tools[0].searchers.iter().map(|s| s.as_ref().map(|(_, s)| s)));
    for t in &mut tools {
        t.screening = screening.as_ref();
    }
    let shared = Shared {
        input: Mutex::new(Input::new(readers)),
        free: Mutex::new(free),
        freed: Condvar::new(),
        waiting: Mutex::new(BTreeMap::new()),
        next: AtomicU64::new(0),
        state: Mutex::new(State { groups, jobs }),
        lines_per_batch,
        progress: opts.progress,
    };
    std::thread::scope(|scope| {
        let mut tools = tools.into_iter();
        let mine = tools.next().expect("at least one worker");
        for worker in tools {
            let shared = &shared;
            scope.spawn(move || shared.work(worker));
        }
        shared.work(mine);
    });
    let input = shared.input.into_inner().unwrap_or_else(PoisonError::into_inner);
    debug_assert!(shared.waiting.lock().map_or(true, |w| w.is_empty()), "every batch sequenced");
    input.stats
}

/// What every worker shares in a parallel run. There is no reader or sequencer thread: on a
/// machine with as many cores as workers, extra threads only take turns with the workers. A
/// worker takes a free batch, fills it from the logs (in turn, under `input`), searches it,
/// then hands it over to the sequencing; whichever worker finds the sequencing free applies
/// every batch that is next in log order.
struct Shared<'a, 'r, 'j> {
    input: Mutex<Input<'r>>,
    /// Batches not in use (a fixed pool: memory does not grow with the input).
    free: Mutex<Vec<Batch>>,
    freed: Condvar,
    /// Searched batches waiting for their turn, by sequence number.
    waiting: Mutex<BTreeMap<u64, Batch>>,
    /// Sequence number of the batch to apply next (read outside `state`, see `deliver`).
    next: AtomicU64,
    state: Mutex<State<'a, 'j>>,
    lines_per_batch: usize,
    progress: Option<&'a (dyn Fn(u64, u64) + Sync)>,
}

/// The logs being read, and what was read so far.
struct Input<'r> {
    readers: &'r mut [LineReader],
    current: usize,
    seq: u64,
    bytes: u64,
    /// The lines of the last fill are all ASCII: the searches' subjects need no check of
    /// their own (found by the readers' UTF-8 check).
    ascii: bool,
    stats: Stats,
}

impl<'r> Input<'r> {
    fn new(readers: &'r mut [LineReader]) -> Input<'r> {
        Input { readers, current: 0, seq: 0, bytes: 0, ascii: true, stats: Stats::default() }
    }

    /// Replaces `text` and `ends` with the next lines (at most `max_lines`, or about
    /// [`BATCH_BYTES`]), moving from one log to the next; false when no line is left. A read
    /// error is recorded and ends that log.
    fn fill(&mut self, text: &mut String, ends: &mut Vec<usize>, max_lines: usize) -> bool {
        text.clear();
        ends.clear();
        self.ascii = true;
        while self.current < self.readers.len() && ends.is_empty() {
            let reader = &mut self.readers[self.current];
            let read = reader.read_lines(text, ends, max_lines, BATCH_BYTES);
            self.ascii &= reader.appended_ascii();
            match read {
                Ok(true) => {}
                Ok(false) => self.current += 1,
                Err(e) => {
                    let msg = format!("{e} (after line {}); the rest is skipped", reader.line_no());
                    self.stats.errors.push(msg);
                    self.current += 1;
                }
            }
        }
        self.bytes += text.len() as u64;
        self.stats.lines += ends.len() as u64;
        !ends.is_empty()
    }
}

/// What lives only in log order: the dates' order and every filter's state and counts.
struct State<'a, 'j> {
    groups: &'a mut [DateGroup],
    jobs: &'a mut [Job<'j>],
}

impl Shared<'_, '_, '_> {
    fn work(&self, mut worker: Worker) {
        loop {
            let mut batch = self.take_free();
            let read = self.fill(&mut batch);
            if batch.ends.is_empty() {
                self.give_back(batch);
                break;
            }
            if let (Some(p), Some((bytes, lines))) = (self.progress, read) {
                p(bytes, lines);
            }
            worker.process(&mut batch);
            self.deliver(batch);
        }
    }

    fn take_free(&self) -> Batch {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(b) = free.pop() {
                return b;
            }
            free = self.freed.wait(free).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give_back(&self, batch: Batch) {
        self.free.lock().unwrap_or_else(PoisonError::into_inner).push(batch);
        self.freed.notify_one();
    }

    /// Fills `batch` with the next lines and numbers it; returns (bytes, lines) read so far.
    fn fill(&self, batch: &mut Batch) -> Option<(u64, u64)> {
        let mut input = self.input.lock().unwrap_or_else(PoisonError::into_inner);
        if !input.fill(&mut batch.text, &mut batch.ends, self.lines_per_batch) {
            return None;
        }
        batch.seq = input.seq;
        batch.ascii = input.ascii;
        input.seq += 1;
        Some((input.bytes, input.stats.lines))
    }

    /// Hands a searched batch over to the sequencing, and applies every batch whose turn has
    /// come if no other worker is doing it. No batch is left behind: a worker that finds the
    /// sequencing busy has already queued its batch, and the busy one looks at the queue
    /// again after letting go.
    fn deliver(&self, batch: Batch) {
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner).insert(batch.seq, batch);
        loop {
            let Ok(mut state) = self.state.try_lock() else { return };
            loop {
                let next = self.next.load(Ordering::Acquire);
                let b = self.waiting.lock().unwrap_or_else(PoisonError::into_inner).remove(&next);
                let Some(mut b) = b else { break };
                state.apply(&mut b);
                self.next.store(next + 1, Ordering::Release);
                self.give_back(b);
            }
            drop(state);
            let next = self.next.load(Ordering::Acquire);
            if !self.waiting.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&next) {
                return;
            }
        }
    }
}

impl State<'_, '_> {
    /// Per line: dates confirmed (or redone), then each filter's state and counts.
    fn apply(&mut self, b: &mut Batch) {
        let Batch { text, ends, dates, matches, .. } = b;
        // Dates first, group by group, then each filter over the whole batch: the order
        // within a filter (and within a detector) is the log's; filters are independent.
        for (g, group) in self.groups.iter_mut().enumerate() {
            let mut start = 0;
            for (k, &end) in ends.iter().enumerate() {
                let line = &text[start..end];
                start = end + 1;
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
        hold_time(self.jobs, Some(CoarseTime::now()));
        for (j, job) in self.jobs.iter_mut().enumerate() {
            let mut start = 0;
            for (k, &end) in ends.iter().enumerate() {
                let (line, line_nl) = (&text[start..end], &text[start..=end]);
                start = end + 1;
                let date = &dates[job.group][k];
                if let Some(m) = matches[j].get(k + PREFETCH_LINES) {
                    m.prefetch();
                }
                let searched = match matches[j].get_mut(k) {
                    Some(m) if date.same => Some(Searched { matches: m, line_nl }),
                    _ => None,
                };
                let r = job.proc.process_found(line, date.hit.clone(), searched);
                job.counts.add(r, line);
            }
        }
    }
}
