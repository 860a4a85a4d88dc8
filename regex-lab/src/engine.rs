//! The engine of record: every fail2ban regex is matched here, through PCRE2 with JIT.
//!
//! Why PCRE2: it is the only engine measured to agree with Python `re` on every search
//! fail2ban's stock sample tests make (look-behind, conditionals on bare group names,
//! `$` before a final `\n`, named back-references). See `notes/regex-engines.md`.
//!
//! This is the only module that talks to PCRE2 (through `pcre2-sys`; see "The PCRE2 calls"
//! below for why not the `pcre2` crate). Everything else compiles a [`Regex`]
//! and searches with a reusable [`Captures`] buffer.

use std::ffi::c_void;
use std::ptr;
use std::sync::OnceLock;

use pcre2_sys::*;

mod line_tail;

/// Options that change how a pattern is compiled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegexOptions {
    /// Python `re.MULTILINE`: `^`/`$` match at every line. fail2ban sets it on failregexes
    /// only when `maxlines > 1` at the time the regex is added.
    pub multiline: bool,
    /// Python `re.IGNORECASE` for the whole pattern.
    pub caseless: bool,
}

/// A pattern that did not compile, with the PCRE2 message and the offset in the
/// translated pattern (which is the pattern as given, apart from `(?iu)` → `(?i)`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("regex does not compile: {message} at offset {offset}\n  {pattern}\n  {caret:>width$}", caret = "^", width = offset + 1)]
pub struct CompileError {
    pub pattern: String,
    pub message: String,
    pub offset: usize,
}

/// A search that PCRE2 gave up on (match limit, depth limit, JIT stack): a catastrophic
/// pattern on one line. Callers count it as "no match" for that line and report it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("regex search aborted by PCRE2 ({message}); the line is treated as not matching")]
pub struct SearchError {
    pub message: String,
}

/// Large alternations (sshd aggressive) overflow the 32 KiB default JIT stack.
const MAX_JIT_STACK: usize = 1 << 20;

/// A compiled regex with the group names fail2ban needs resolved to indices once.
#[derive(Debug)]
pub struct Regex {
    pattern: String,
    /// Compiled without JIT: it validates the pattern and answers questions about it.
    code: Code,
    /// The JIT code of the pattern as written (UTF and Unicode properties), for subjects
    /// that are not ASCII; compiled on first use (JIT compiling is most of a pattern's
    /// compile time, and nearly every log line is ASCII); `None` if JIT is not wanted or
    /// failed, then `code` is interpreted.
    unicode: OnceLock<Option<Code>>,
    /// The same pattern compiled without UTF and Unicode properties, for ASCII subjects;
    /// compiled on first use, `None` if the pattern is not ASCII (see [`Regex::search`]).
    ascii: OnceLock<Option<Code>>,
    /// The twin that does not walk a final `.+$` (see [`line_tail`]); compiled on first
    /// use, `None` if the pattern does not end that way.
    line_tail: OnceLock<Option<Box<LineTail>>>,
    translated: String,
    options: u32,
    jit: bool,
    names: Vec<Option<String>>,
}

/// Reusable capture buffer for one [`Regex`]; allocate once, search many lines.
pub struct Captures {
    data: MatchData,
}

impl Regex {
    /// Compiles `pattern` with Python-`re` semantics: UTF, Unicode properties (`\d`, `\w`,
    /// `\s`, `\b` are Unicode-aware as in Python 3 str patterns) and JIT.
    pub fn new(pattern: &str, opts: RegexOptions) -> Result<Regex, CompileError> {
        Regex::build(pattern, &translate(pattern), opts, true)
    }

    fn build(
        pattern: &str,
        translated: &str,
        opts: RegexOptions,
        jit: bool,
    ) -> Result<Regex, CompileError> {
        let mut options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
        if opts.multiline {
            options |= PCRE2_MULTILINE;
        }
        if opts.caseless {
            options |= PCRE2_CASELESS;
        }
        let code = Code::compile(translated, options, false).map_err(|(message, offset)| {
            CompileError { pattern: pattern.to_string(), message, offset }
        })?;
        let names = code.capture_names();
        Ok(Regex {
            pattern: pattern.to_string(),
            code,
            unicode: OnceLock::new(),
            ascii: OnceLock::new(),
            line_tail: OnceLock::new(),
            translated: translated.to_string(),
            options,
            jit,
            names,
        })
    }

    /// The code that searches `haystack`. An ASCII pattern on an ASCII subject matches the
    /// same with or without UTF and UCP (every class, `\b`, case folding and `.` agree on
    /// ASCII characters; the Unicode-only differences need a non-ASCII character in the
    /// pattern or the subject), and PCRE2's byte mode is 25-37% faster on fail2ban's
    /// regexes. Nearly every log line is ASCII. `tests/engine_twins.rs` checks both codes
    /// give the same spans for every stock regex on every sample line.
    #[inline]
    fn code_for(&self, ascii_subject: bool) -> &Code {
        if !ascii_subject {
            return self.unicode_code();
        }
        let ascii = self.ascii.get_or_init(|| {
            if !self.translated.is_ascii() {
                return None;
            }
            let options = self.options & !(PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF);
            // A pattern byte mode refuses (e.g. `\x{100}`) keeps the UTF code.
            let code = Code::compile(&self.translated, options, self.jit).ok()?;
            (code.info::<u32>(PCRE2_INFO_CAPTURECOUNT)
                == self.code.info::<u32>(PCRE2_INFO_CAPTURECOUNT))
            .then_some(code)
        });
        ascii.as_ref().unwrap_or_else(|| self.unicode_code())
    }

    fn unicode_code(&self) -> &Code {
        self.unicode
            .get_or_init(|| {
                if !self.jit {
                    return None;
                }
                Code::compile(&self.translated, self.options, true).ok().filter(|c| c.jit)
            })
            .as_ref()
            .unwrap_or(&self.code)
    }

    fn line_tail(&self) -> Option<&LineTail> {
        self.line_tail
            .get_or_init(|| {
                let (pattern, name) = line_tail::twin(&self.translated)?;
                let opts = RegexOptions {
                    multiline: self.options & PCRE2_MULTILINE != 0,
                    caseless: self.options & PCRE2_CASELESS != 0,
                };
                if opts.multiline {
                    return None;
                }
                let twin = Regex::build(&pattern, &pattern, opts, self.jit).ok()?;
                let group = self.group_index(name)?;
                // The same groups, numbered the same: captures are interchangeable.
                (twin.names == self.names).then(|| Box::new(LineTail { twin, group }))
            })
            .as_deref()
    }

    /// The pattern as given to [`Regex::new`].
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Group names by index (index 0 is the whole match and has no name).
    pub fn group_names(&self) -> &[Option<String>] {
        &self.names
    }

    /// Index of the named group, if the pattern has it.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.as_deref() == Some(name))
    }

    /// A fresh capture buffer sized for this regex.
    pub fn captures(&self) -> Captures {
        Captures { data: MatchData::new(&self.code) }
    }

    /// `re.search(pattern, haystack)`: the leftmost match anywhere. Fills `caps`.
    pub fn search(&self, haystack: &str, caps: &mut Captures) -> Result<bool, SearchError> {
        // Only a line-tail twin needs to know where the line ends.
        if self.line_tail().is_none() {
            return caps.data.find(self.code_for(is_ascii(haystack.as_bytes())), haystack, 0);
        }
        self.search_subject(&Subject::new(haystack), caps)
    }

    /// [`Regex::search`] on a text whose facts were found once for all the regexes that
    /// search it.
    #[inline]
    pub fn search_subject(
        &self,
        subject: &Subject<'_>,
        caps: &mut Captures,
    ) -> Result<bool, SearchError> {
        if let (Some(tail), Some(line_end)) = (self.line_tail(), subject.line_end) {
            return tail.search(subject, line_end, caps);
        }
        caps.data.find(self.code_for(subject.ascii), subject.text, 0)
    }

    /// [`Regex::search`] with the Unicode (UTF + UCP) code of the pattern as written,
    /// whatever the subject: for tests that compare it with the twins `search` picks (the
    /// ASCII code for ASCII subjects, the line-tail twin for one-line subjects).
    pub fn search_unicode(&self, haystack: &str, caps: &mut Captures) -> Result<bool, SearchError> {
        caps.data.find(self.unicode_code(), haystack, 0)
    }

    /// `re.search(pattern, haystack, pos)`: the leftmost match starting at or after byte
    /// `start`. Look-behind and `\b` still see the text before `start`, and `^` does not
    /// match at `start` (unless it is 0), as in Python. For Python's `endpos`, pass
    /// `&haystack[..endpos]`.
    pub fn search_at(
        &self,
        haystack: &str,
        start: usize,
        caps: &mut Captures,
    ) -> Result<bool, SearchError> {
        assert!(start <= haystack.len(), "search_at: start {start} past the haystack end");
        caps.data.find(self.code_for(is_ascii(haystack.as_bytes())), haystack, start)
    }

    /// Like [`Regex::search`] without keeping the captures (a buffer per call: for
    /// configuration checks, not per-line work).
    pub fn is_match(&self, haystack: &str) -> Result<bool, SearchError> {
        self.search(haystack, &mut self.captures())
    }
}

/// A pattern ending in `(?P<group>.+)$` (or `.*`, lazy or not) and its twin ending in
/// `(?P<group>(?=.))` (or `(?P<group>)`); see [`line_tail`].
#[derive(Debug)]
struct LineTail {
    twin: Regex,
    group: usize,
}

impl LineTail {
    /// The original pattern's search on a one-line subject whose line ends at `line_end`:
    /// the twin decides, and the tail group and the match end where the line does.
    fn search(
        &self,
        subject: &Subject<'_>,
        line_end: usize,
        caps: &mut Captures,
    ) -> Result<bool, SearchError> {
        let found = caps.data.find(self.twin.code_for(subject.ascii), subject.text, 0)?;
        if found {
            caps.data.set_end(self.group, line_end);
            caps.data.set_end(0, line_end);
        }
        Ok(found)
    }
}

/// A text to search, with the facts about it that choose the code searching it: whether it
/// is ASCII (the ASCII code) and, when it is one line, where that line ends (a line-tail
/// twin). A replay finds them once per line for the prefregex and every failregex, and a
/// suffix (the prefregex's `content`) inherits them without another pass.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    text: &'a str,
    ascii: bool,
    /// Before the final `\n`, if any; `None` if another `\n` makes it several lines.
    line_end: Option<usize>,
}

impl<'a> Subject<'a> {
    pub fn new(text: &'a str) -> Subject<'a> {
        let b = text.as_bytes();
        // The final `\n` is ASCII: the facts come from the line before it, in one pass.
        let end = b.len() - usize::from(b.last() == Some(&b'\n'));
        let (ascii, newline) = ascii_and_newline(&b[..end]);
        Subject { text, ascii, line_end: (!newline).then_some(end) }
    }

    /// An ASCII text with no `\n` but a final one, if any: the facts are known, no pass over
    /// it (a replay knows a whole batch of lines is ASCII).
    pub fn ascii_line(text: &'a str) -> Subject<'a> {
        let b = text.as_bytes();
        let end = b.len() - usize::from(b.last() == Some(&b'\n'));
        debug_assert_eq!(ascii_and_newline(&b[..end]), (true, false), "{text:?}");
        Subject { text, ascii: true, line_end: Some(end) }
    }

    /// The text from byte `from` on (a char boundary): a suffix of an ASCII text is ASCII
    /// and a suffix of one line is one line.
    pub fn suffix(&self, from: usize) -> Subject<'a> {
        let text = &self.text[from..];
        Subject {
            text,
            ascii: self.ascii || is_ascii(text.as_bytes()),
            line_end: match self.line_end {
                Some(end) => Some(end.saturating_sub(from)),
                None => Subject::new(text).line_end,
            },
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }
}

impl Captures {
    /// One buffer for regexes searched one after the other, each search filling the groups
    /// of the regex searched (read them before the next search): sized for the one with the
    /// most groups. A searcher going through a filter's failregexes keeps one buffer in the
    /// cache instead of one per regex.
    pub fn for_all<'r>(regexes: impl IntoIterator<Item = &'r Regex>) -> Captures {
        let pairs = regexes.into_iter().map(|r| r.names.len()).max().unwrap_or(1);
        Captures { data: MatchData::with_pairs(pairs) }
    }

    /// Span of group `i` in the last successful search, if it participated.
    pub fn get(&self, i: usize) -> Option<(usize, usize)> {
        self.data.group(i)
    }

    /// Text of group `i` in `haystack` (the same haystack given to the search).
    pub fn text<'h>(&self, haystack: &'h str, i: usize) -> Option<&'h str> {
        self.get(i).map(|(s, e)| &haystack[s..e])
    }

    /// Number of groups including group 0.
    pub fn len(&self) -> usize {
        self.data.groups
    }

    /// True when the regex has no groups at all (never: group 0 always exists).
    pub fn is_empty(&self) -> bool {
        self.data.groups == 0
    }
}

// ---------------------------------------------------------------------------------------
// The PCRE2 calls. Why not the `pcre2` crate: it searches through `pcre2_match`, which
// validates its arguments and dispatches to the JIT code on every call. Here a
// JIT-compiled pattern is searched with `pcre2_jit_match`, the documented fast path that
// skips those checks; its contract is that the arguments are valid, which they are by
// construction: the subject is a `&str` (valid UTF-8, and PCRE2_MATCH_INVALID_UTF would
// cope even if it were not), `start <= len` is asserted, and no match-time options are
// passed. Same compile options as the crate used (UTF, UCP, MATCH_INVALID_UTF; the JIT
// code with MATCH_INVALID_UTF measured faster than without). Measured on the sshd
// prefregex and failregexes, same process, best of 8: 165 → 147 ns and 198 → 184 ns per
// line (−11 %, −7 %). A pattern JIT cannot compile is interpreted by `pcre2_match`.
//
// Ownership: a `Code` owns its `pcre2_code` (freed on drop); PCRE2 never modifies a
// compiled pattern while matching, so it is shared between threads (`Send + Sync`).
// A `MatchData` owns its match data, match context and JIT stack and is used by one
// thread at a time (`&mut self`), so it is `Send` but not `Sync`.
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
struct Code {
    code: *mut pcre2_code_8,
    jit: bool,
}

// SAFETY: see the block comment above; the pointer is owned and never mutated after
// `compile` returns.
unsafe impl Send for Code {}
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        // SAFETY: `code` came from `pcre2_compile_8`, is non-null and freed once.
        unsafe { pcre2_code_free_8(self.code) }
    }
}

/// PCRE2's message for an error code.
fn error_message(code: i32) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are valid; PCRE2 writes at most `len` bytes.
    let n = unsafe { pcre2_get_error_message_8(code, buf.as_mut_ptr(), buf.len()) };
    match usize::try_from(n) {
        Ok(n) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        Err(_) => format!("PCRE2 error {code}"),
    }
}

impl Code {
    /// Compiles and JIT-compiles; on error, PCRE2's message (worded as the `pcre2` crate
    /// words it, which earlier reports used) and the offset.
    fn compile(pattern: &str, options: u32, jit: bool) -> Result<Code, (String, usize)> {
        let (mut err, mut offset) = (0i32, 0usize);
        // SAFETY: pattern pointer and length describe a valid buffer; no compile context.
        let code = unsafe {
            pcre2_compile_8(
                pattern.as_ptr(),
                pattern.len(),
                options,
                &mut err,
                &mut offset,
                ptr::null_mut(),
            )
        };
        if code.is_null() {
            let msg = error_message(err);
            return Err((
                format!("PCRE2: error compiling pattern at offset {offset}: {msg}"),
                offset,
            ));
        }
        // SAFETY: `code` is a valid compiled pattern.
        let jitted = jit && unsafe { pcre2_jit_compile_8(code, PCRE2_JIT_COMPLETE) } == 0;
        if jit && !jitted {
            tracing::debug!("JIT compilation failed for {pattern:?}; interpreting it");
        }
        Ok(Code { code, jit: jitted })
    }

    fn info<T: Default>(&self, what: u32) -> T {
        let mut out = T::default();
        // SAFETY: `what` is one of the PCRE2_INFO_* codes whose result type is `T`
        // (u32 for counts and sizes, a pointer for the name table).
        let rc =
            unsafe { pcre2_pattern_info_8(self.code, what, &mut out as *mut T as *mut c_void) };
        assert_eq!(rc, 0, "pcre2_pattern_info({what}) failed");
        out
    }

    /// Group names by index, from PCRE2's name table.
    fn capture_names(&self) -> Vec<Option<String>> {
        let groups = self.info::<u32>(PCRE2_INFO_CAPTURECOUNT) as usize + 1;
        let count = self.info::<u32>(PCRE2_INFO_NAMECOUNT) as usize;
        let size = self.info::<u32>(PCRE2_INFO_NAMEENTRYSIZE) as usize;
        let mut names = vec![None; groups];
        if count == 0 {
            return names;
        }
        let table = self.info::<usize>(PCRE2_INFO_NAMETABLE) as *const u8;
        // SAFETY: the name table holds `count` entries of `size` bytes (2-byte group number,
        // then the NUL-terminated name) and lives as long as the pattern.
        let table = unsafe { std::slice::from_raw_parts(table, count * size) };
        for entry in table.chunks_exact(size) {
            let group = usize::from(u16::from_be_bytes([entry[0], entry[1]]));
            let name = &entry[2..];
            let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
            names[group] = Some(String::from_utf8_lossy(&name[..end]).into_owned());
        }
        names
    }
}

struct MatchData {
    data: *mut pcre2_match_data_8,
    context: *mut pcre2_match_context_8,
    stack: *mut pcre2_jit_stack_8,
    /// `groups` (start, end) pairs.
    ovector: *mut usize,
    groups: usize,
}

// SAFETY: see the block comment above: owned pointers, used through `&mut self` only.
unsafe impl Send for MatchData {}

impl Drop for MatchData {
    fn drop(&mut self) {
        // SAFETY: each pointer was created in `new`, is owned and freed once (null ones are
        // accepted by PCRE2's free functions).
        unsafe {
            pcre2_match_data_free_8(self.data);
            pcre2_jit_stack_free_8(self.stack);
            pcre2_match_context_free_8(self.context);
        }
    }
}

impl MatchData {
    fn new(code: &Code) -> MatchData {
        // SAFETY: `code` is a live pattern.
        MatchData::from_raw(unsafe {
            pcre2_match_data_create_from_pattern_8(code.code, ptr::null_mut())
        })
    }

    /// Room for `pairs` groups (group 0 included).
    fn with_pairs(pairs: usize) -> MatchData {
        let pairs = u32::try_from(pairs.max(1)).unwrap_or(u32::MAX);
        // SAFETY: a plain allocation.
        MatchData::from_raw(unsafe { pcre2_match_data_create_8(pairs, ptr::null_mut()) })
    }

    fn from_raw(data: *mut pcre2_match_data_8) -> MatchData {
        // SAFETY: plain allocations; results checked for null before use.
        unsafe {
            let context = pcre2_match_context_create_8(ptr::null_mut());
            assert!(!data.is_null() && !context.is_null(), "PCRE2 match data allocation failed");
            let ovector = pcre2_get_ovector_pointer_8(data);
            let groups = pcre2_get_ovector_count_8(data) as usize;
            // No JIT stack yet: PCRE2's default (32 KiB on the thread's stack) is enough for
            // nearly every search, and a dedicated one costs an mmap per buffer (a replay has
            // a buffer per regex per thread). See `grow_jit_stack`.
            MatchData { data, context, stack: ptr::null_mut(), ovector, groups }
        }
    }

    /// Gives JIT searches a stack of up to [`MAX_JIT_STACK`] after one ran out of the
    /// default; false if it already has it.
    #[cold]
    fn grow_jit_stack(&mut self) -> bool {
        if !self.stack.is_null() {
            return false;
        }
        // SAFETY: a plain allocation, checked for null, owned by `self` (freed in `drop`)
        // and assigned to `self.context` only.
        unsafe {
            self.stack = pcre2_jit_stack_create_8(32 << 10, MAX_JIT_STACK, ptr::null_mut());
            assert!(!self.stack.is_null(), "PCRE2 JIT stack allocation failed");
            pcre2_jit_stack_assign_8(self.context, None, self.stack as *mut c_void);
        }
        true
    }

    #[inline]
    fn find(&mut self, code: &Code, subject: &str, start: usize) -> Result<bool, SearchError> {
        // An empty `&str` may have a dangling pointer; PCRE2 only needs a readable one.
        static EMPTY: &[u8] = &[0];
        let (ptr, len) = if subject.is_empty() {
            (EMPTY.as_ptr(), 0)
        } else {
            (subject.as_ptr(), subject.len())
        };
        // SAFETY: `ptr..ptr+len` is a valid UTF-8 buffer (a `&str`), `start <= len` (asserted
        // by the callers), the match data and context are this buffer's own (`&mut self`),
        // and `code` is a live pattern, JIT-compiled when `code.jit` says so.
        let search = |md: &mut MatchData| unsafe {
            if code.jit {
                pcre2_jit_match_8(code.code, ptr, len, start, 0, md.data, md.context)
            } else {
                pcre2_match_8(code.code, ptr, len, start, 0, md.data, md.context)
            }
        };
        let mut rc = search(self);
        // Out of JIT stack: nothing was matched yet, so the search is redone from scratch
        // with the large stack, and gives what it would have given with it from the start.
        if rc == PCRE2_ERROR_JIT_STACKLIMIT && self.grow_jit_stack() {
            rc = search(self);
        }
        match rc {
            PCRE2_ERROR_NOMATCH => Ok(false),
            // 0: the ovector was too small for every group (a buffer made for another
            // regex); the groups it has are set.
            rc if rc >= 0 => Ok(true),
            rc => Err(SearchError {
                message: format!("PCRE2: error matching: {}", error_message(rc)),
            }),
        }
    }

    /// Moves the end of group `i`, which took part in the match that just succeeded (if
    /// the buffer has that group: one made for another regex may not).
    fn set_end(&mut self, i: usize, end: usize) {
        if i >= self.groups {
            return;
        }
        // SAFETY: the ovector has `groups` pairs, lives as long as `data`, and is only
        // read or written through `&self`/`&mut self` between searches.
        unsafe { *self.ovector.add(2 * i + 1) = end };
    }

    /// Span of group `i` after a match.
    fn group(&self, i: usize) -> Option<(usize, usize)> {
        if i >= self.groups {
            return None;
        }
        // SAFETY: the ovector has `groups` pairs and lives as long as `data`.
        let (s, e) = unsafe { (*self.ovector.add(2 * i), *self.ovector.add(2 * i + 1)) };
        (s != PCRE2_UNSET && e != PCRE2_UNSET).then_some((s, e))
    }
}

/// Whether `b` is ASCII and whether it holds a `\n`, eight bytes at a time (the last word
/// overlaps the one before): one pass for the two facts of a [`Subject`] (the `\n` test is
/// a few more operations per word where only ASCII-ness is wanted).
#[inline]
fn ascii_and_newline(b: &[u8]) -> (bool, bool) {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const NL: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    if b.len() < 8 {
        return (b.is_ascii(), b.contains(&b'\n'));
    }
    let word = |i: usize| u64::from_ne_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    // A byte of `w ^ NL` is zero where `w` has a `\n`; `(v - ONES) & !v & HIGH` is non-zero
    // exactly when `v` has a zero byte.
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let last = word(b.len() - 8);
    let (mut high, mut nl) = (last, zero_byte(last ^ NL));
    let mut i = 0;
    while i + 8 <= b.len() {
        let w = word(i);
        high |= w;
        nl |= zero_byte(w ^ NL);
        i += 8;
    }
    (high & HIGH == 0, nl != 0)
}

/// `str::is_ascii`, a word at a time (see [`ascii_and_newline`]): the standard one
/// finishes byte by byte, which showed in profiles.
#[inline]
fn is_ascii(b: &[u8]) -> bool {
    ascii_and_newline(b).0
}

/// The only syntax change Python → PCRE2 that the stock filters and date templates need:
/// PCRE2 has no `u` flag (UTF/UCP are always on here), so `(?iu)` / `(?u)` lose the `u`.
/// `\Z` is Python's absolute end; PCRE2's `\z` is that.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let bytes = pattern.as_bytes();
    let mut i = 0;
    let mut in_class = false;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'\\' && i + 1 < bytes.len() {
            if !in_class && bytes[i + 1] == b'Z' {
                out.push_str("\\z");
            } else {
                // Copy the escape and the (possibly multi-byte) char after it.
                let ch_len = utf8_len(bytes[i + 1]);
                out.push_str(&pattern[i..i + 1 + ch_len]);
                i += 1 + ch_len;
                continue;
            }
            i += 2;
            continue;
        }
        if in_class {
            if c == b']' {
                in_class = false;
            }
        } else if c == b'[' {
            in_class = true;
            // `[]...]` and `[^]...]`: a leading `]` is literal in Python and PCRE2 alike.
            let mut j = i + 1;
            if j < bytes.len() && bytes[j] == b'^' {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b']' {
                out.push_str(&pattern[i..=j]);
                i = j + 1;
                continue;
            }
        } else if c == b'(' && bytes.get(i + 1) == Some(&b'?') {
            // Inline global flags: `(?iu)`, `(?u)`, `(?iu:` ... drop `u`.
            let mut j = i + 2;
            while j < bytes.len() && bytes[j].is_ascii_alphabetic() {
                j += 1;
            }
            if j > i + 2 && j < bytes.len() && (bytes[j] == b')' || bytes[j] == b':') {
                let flags: String =
                    pattern[i + 2..j].chars().filter(|&f| f != 'u' && f != 'L').collect();
                if flags.is_empty() && bytes[j] == b')' {
                    // `(?u)` alone: nothing left to say.
                } else {
                    out.push_str("(?");
                    out.push_str(&flags);
                    out.push(bytes[j] as char);
                }
                i = j + 1;
                continue;
            }
        }
        let ch_len = utf8_len(c);
        out.push_str(&pattern[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translate_drops_u_flag_only() {
        assert_eq!(translate("(?iu)^abc"), "(?i)^abc");
        assert_eq!(translate("(?u)x"), "x");
        assert_eq!(translate(r"a\Z"), r"a\z");
        assert_eq!(translate(r"[\Z]"), r"[\Z]");
        assert_eq!(translate("(?P<u>x)"), "(?P<u>x)");
        assert_eq!(translate("(?:u)"), "(?:u)");
    }

    #[test]
    fn line_tail_twin_searches_one_line_subjects() {
        let re = Regex::new(r"^(?P<m>\S+ )(?P<content>.+)$", RegexOptions::default()).unwrap();
        assert!(re.line_tail().is_some());
        let mut caps = re.captures();
        assert!(re.search("h x y\n", &mut caps).unwrap());
        assert_eq!(
            (caps.get(0), caps.get(1), caps.get(2)),
            (Some((0, 5)), Some((0, 2)), Some((2, 5)))
        );
        assert!(!re.search("h \n", &mut caps).unwrap());
        let multiline = RegexOptions { multiline: true, caseless: false };
        assert!(Regex::new("^a(?P<c>.+)$", multiline).unwrap().line_tail().is_none());
        assert!(Regex::new("^a|(?P<c>.+)$", RegexOptions::default())
            .unwrap()
            .line_tail()
            .is_none());
    }

    #[test]
    fn ascii_and_newline_in_one_pass() {
        let texts = [
            "",
            "a",
            "\n",
            "abcdefg",
            "abcdefgh",
            "abcdefg\n",
            "\nbcdefghijklmnop",
            "é",
            "abcdefghé",
            "abcdefghijklmno\n",
        ];
        for t in texts {
            for cut in 0..=t.len() {
                let b = &t.as_bytes()[cut..];
                assert_eq!(
                    ascii_and_newline(b),
                    (b.is_ascii(), b.contains(&b'\n')),
                    "{t:?} from {cut}"
                );
            }
        }
        // A byte next to `\n` in value (0x0b, 0x09) or with the high bit is no `\n`.
        for v in [0x09u8, 0x0b, 0x8a, 0xff, 0x00] {
            let b = [v; 17];
            assert_eq!(ascii_and_newline(&b), (v < 0x80, false), "{v:#x}");
        }
    }

    #[test]
    fn suffixes_inherit_the_facts_a_new_subject_finds() {
        fn facts<'a>(s: &Subject<'a>) -> (&'a str, bool, Option<usize>) {
            (s.text, s.ascii, s.line_end)
        }
        for text in ["", "\n", "a", "ab\n", "a\nb\n", "é a\n", "a é\n", "\na", "x\n\n"] {
            let whole = Subject::new(text);
            for from in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                let (got, want) = (whole.suffix(from), Subject::new(&text[from..]));
                // A non-ASCII text's suffix may be found ASCII or not; the rest must agree.
                assert_eq!(facts(&got), facts(&want), "{text:?} from {from}");
            }
        }
    }

    #[test]
    fn dollar_matches_before_final_newline_like_python() {
        let re = Regex::new("abc$", RegexOptions::default()).unwrap();
        assert!(re.is_match("xabc\n").unwrap());
        assert!(!re.is_match("abc\nd").unwrap());
    }

    #[test]
    fn bare_name_conditional_and_lookbehind() {
        let re = Regex::new(
            r"^(?P<cond_inv>invalid user )?(?P<user>\S+)(?(cond_inv) x| y)(?<=[xy])$",
            RegexOptions::default(),
        )
        .unwrap();
        assert!(re.is_match("invalid user bob x\n").unwrap());
        assert!(re.is_match("bob y\n").unwrap());
        assert!(!re.is_match("bob x\n").unwrap());
    }

    #[test]
    fn unicode_classes() {
        let re = Regex::new(r"^\w+$", RegexOptions::default()).unwrap();
        assert!(re.is_match("üñí").unwrap());
    }

    #[test]
    fn ascii_check_agrees_with_std() {
        let base = b"Failed password for root from 192.0.2.1 port 22 ssh2\n";
        for len in 0..base.len() {
            for pos in 0..len {
                let mut t = base[..len].to_vec();
                assert_eq!(is_ascii(&t), t.is_ascii());
                t[pos] = 0xc3;
                assert!(!is_ascii(&t), "{len} {pos}");
            }
        }
    }

    #[test]
    fn deep_searches_get_a_larger_jit_stack() {
        // Each repetition of a group with a capture inside keeps a backtracking frame: a few
        // thousand overflow PCRE2's default 32 KiB JIT stack, not the 1 MiB one.
        let re = Regex::new(r"^(?:(a)|b)*c$", RegexOptions::default()).unwrap();
        let mut caps = re.captures();
        let subject = format!("{}c", "ab".repeat(3000));
        assert_eq!(re.search(&subject, &mut caps).map_err(|e| e.message), Ok(true));
        assert_eq!(caps.get(1), Some((5998, 5999)));
        // The same buffer keeps its stack for the next searches.
        assert_eq!(re.search(&subject, &mut caps).map_err(|e| e.message), Ok(true));
        assert_eq!(re.search("bc", &mut caps).map_err(|e| e.message), Ok(true));
        // Beyond 1 MiB the search is still an error (counted as no match), not a crash.
        let huge = format!("{}c", "ab".repeat(400_000));
        assert!(re.search(&huge, &mut caps).is_err());
    }

    #[test]
    fn catastrophic_pattern_is_an_error_not_a_hang() {
        let re = Regex::new(r"^(a+)+$", RegexOptions::default()).unwrap();
        let subject = format!("{}b", "a".repeat(40));
        assert!(re.is_match(&subject).is_err());
    }

    /// The JIT fast path (`pcre2_jit_match`) and PCRE2's interpreter agree on matches and
    /// every group span, including `search_at`, empty subjects, multi-byte text and unset
    /// groups.
    #[test]
    fn jit_fast_path_agrees_with_the_interpreter() {
        let patterns = [
            r"^(?P<a>\w+) (?P<b>\d+)?(?:x|(?P<c>y))$",
            r"(?<=é)(?P<w>\w)",
            r"\bfrom (?P<ip4>\S+)(?: port (?P<port>\d+))?",
            r"^$",
            r"(?P<u>invalid user )?(?P<user>\S+)(?(u) x| y)",
        ];
        let subjects = [
            "abc 12x\n",
            "abc y",
            "éa éb",
            "",
            "from 1.2.3.4 port 22",
            "x from ü",
            "invalid user bob x",
            "bob y",
        ];
        for p in patterns {
            for opts in [RegexOptions::default(), RegexOptions { multiline: true, caseless: true }]
            {
                let jit = Regex::build(p, &translate(p), opts, true).unwrap();
                let interp = Regex::build(p, &translate(p), opts, false).unwrap();
                assert!(jit.unicode_code().jit && !interp.unicode_code().jit);
                assert_eq!(jit.group_names(), interp.group_names());
                let (mut a, mut b) = (jit.captures(), interp.captures());
                for s in subjects {
                    for start in (0..=s.len()).filter(|&i| s.is_char_boundary(i)) {
                        let m = jit.search_at(s, start, &mut a).unwrap();
                        assert_eq!(
                            m,
                            interp.search_at(s, start, &mut b).unwrap(),
                            "{p} {s:?} {start}"
                        );
                        if m {
                            let spans =
                                |c: &Captures| (0..c.len()).map(|i| c.get(i)).collect::<Vec<_>>();
                            assert_eq!(spans(&a), spans(&b), "{p} {s:?} {start}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn group_names_spans_and_unset_groups() {
        let re = Regex::new(r"(?P<x>a)(b)?(?P<y>ü+)?(?P<z>c)", RegexOptions::default()).unwrap();
        assert_eq!(
            re.group_names(),
            &[None, Some("x".to_string()), None, Some("y".to_string()), Some("z".to_string())]
        );
        assert_eq!(re.group_index("z"), Some(4));
        let mut caps = re.captures();
        assert_eq!(caps.len(), 5);
        assert!(re.search("üüacx", &mut caps).unwrap());
        assert_eq!(caps.get(0), Some((4, 6)));
        assert_eq!((caps.get(2), caps.get(3)), (None, None));
        assert_eq!(caps.text("üüacx", 4), Some("c"));
        assert_eq!(caps.get(9), None);
        assert!(re.search("aüc", &mut caps).unwrap());
        assert_eq!(caps.get(3), Some((1, 3)));
        // `^` does not match at a later start; look-behind sees the text before it.
        let re = Regex::new(r"^b|(?<=a)c", RegexOptions::default()).unwrap();
        let mut caps = re.captures();
        assert!(!re.search_at("ab", 1, &mut caps).unwrap());
        assert!(re.search_at("ac", 1, &mut caps).unwrap());
        assert!(!re.is_match("").unwrap());
    }

    #[test]
    fn one_regex_searched_from_many_threads() {
        let re = std::sync::Arc::new(
            Regex::new(r"from (?P<ip4>\d+\.\d+\.\d+\.\d+)", RegexOptions::default()).unwrap(),
        );
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let re = std::sync::Arc::clone(&re);
                std::thread::spawn(move || {
                    let mut caps = re.captures();
                    for i in 0..2000 {
                        let s = format!("x from 10.0.{t}.{i} port 22");
                        assert!(re.search(&s, &mut caps).unwrap());
                        assert_eq!(caps.text(&s, 1), Some(&s[7..s.len() - 8]));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn compile_error_names_offset() {
        let err = Regex::new("(abc", RegexOptions::default()).unwrap_err();
        assert!(err.to_string().contains("offset"));
    }
}
