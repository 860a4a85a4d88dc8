//! Log input: plain files, gzip-compressed files (rotated logs), and `-` for stdin, read as a
//! stream of lines with fail2ban-regex's rules.
//!
//! The rules, each checked against the real fail2ban-regex (see the tests at the bottom and
//! `tests/replay_input.rs`):
//! - a line ends at `\n`; trailing `\r` and `\n` characters are stripped;
//! - empty lines and lines starting with `#` are skipped (not counted); whitespace-only lines
//!   are counted;
//! - a final line without `\n` is dropped (fail2ban waits for its end), unless it ends in
//!   `\r`, which already counts as a line end there;
//! - bytes that are not UTF-8 are decoded as U+FFFD, as Python's `decode('utf-8', 'replace')`.
//!
//! Memory is bounded by the longest line: nothing is loaded whole.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use crate::error::Error;

/// Where lines come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Stdin,
    Path(PathBuf),
}

impl Source {
    /// `-` is stdin; anything else a path.
    pub fn from_arg(arg: &Path) -> Source {
        if arg.as_os_str() == "-" {
            Source::Stdin
        } else {
            Source::Path(arg.to_path_buf())
        }
    }

    /// How the source is named in reports and errors.
    pub fn display(&self) -> String {
        match self {
            Source::Stdin => "<stdin>".to_string(),
            Source::Path(p) => p.display().to_string(),
        }
    }

    fn path(&self) -> PathBuf {
        match self {
            Source::Stdin => PathBuf::from("<stdin>"),
            Source::Path(p) => p.clone(),
        }
    }
}

/// gzip's magic bytes: compressed input is recognised by content, not by name.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Bounds of one read, in bytes: it is sized to what the batch still wants (see
/// [`LineReader::read_lines`]), so that little is read past the batch's last line.
const MIN_READ: usize = 8 << 10;
const MAX_READ: usize = 256 << 10;

/// Reads one [`Source`] line by line; see the module docs for the rules.
pub struct LineReader {
    source: Source,
    from: Feed,
    /// Bytes read but not made lines yet: the start of a line whose end is not read yet, and
    /// whole lines read past the last batch's limits.
    pending: Vec<u8>,
    /// Physical line number of the last line returned (1-based), for messages.
    line_no: u64,
    /// Bytes and lines made so far, to size the next read.
    seen: (u64, u64),
    /// The lines the last [`LineReader::read_lines`] appended are all ASCII.
    ascii: bool,
    compressed: bool,
}

/// Where a [`LineReader`]'s bytes come from.
enum Feed {
    /// A plain file or stdin, read straight into the batch's text: no buffer in between.
    /// Copying through a 64 KiB buffer took a pass over the input and a share of the cache
    /// the batches need: reading directly runs 1.6% fewer instructions with 8% fewer L1
    /// data misses (cachegrind, 100k sshd lines, one thread). A 256 KiB buffer cost 15%
    /// more time than a 64 KiB one.
    Fd(Option<File>),
    /// Anything else (gzip, tests): through its own buffer.
    Buffered(Box<dyn BufRead + Send>),
}

impl LineReader {
    /// Opens `source`; a missing, unreadable or non-regular path is an error naming it.
    pub fn open(source: &Source) -> Result<LineReader, Error> {
        let io_err = |e: io::Error| Error::Io { path: source.path(), source: e };
        let file = match source {
            Source::Stdin => None,
            Source::Path(p) => {
                let file = File::open(p).map_err(io_err)?;
                if file.metadata().map_err(io_err)?.is_dir() {
                    return Err(io_err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "is a directory; give the log files in it",
                    )));
                }
                Some(file)
            }
        };
        let mut r = LineReader {
            source: source.clone(),
            from: Feed::Fd(file),
            pending: Vec::new(),
            line_no: 0,
            seen: (0, 0),
            ascii: true,
            compressed: false,
        };
        // The first bytes say whether it is gzip.
        let mut head = Vec::with_capacity(MIN_READ);
        while head.len() < GZIP_MAGIC.len() {
            if r.read_more(&mut head, MIN_READ).map_err(io_err)? == 0 {
                break;
            }
        }
        r.compressed = head.starts_with(&GZIP_MAGIC);
        if r.compressed {
            let Feed::Fd(file) = std::mem::replace(&mut r.from, Feed::Fd(None)) else {
                unreachable!("opened as a file descriptor")
            };
            let rest: Box<dyn Read + Send> = match file {
                Some(f) => Box::new(f),
                None => Box::new(io::stdin()),
            };
            let raw = BufReader::with_capacity(1 << 16, io::Cursor::new(head).chain(rest));
            r.from = Feed::Buffered(Box::new(BufReader::with_capacity(
                1 << 16,
                MultiGzDecoder::new(raw),
            )));
        } else {
            r.pending = head;
        }
        Ok(r)
    }

    /// Reads from any reader (tests, embedded data).
    pub fn from_reader(name: &str, r: impl Read + Send + 'static) -> LineReader {
        LineReader {
            source: Source::Path(PathBuf::from(name)),
            from: Feed::Buffered(Box::new(BufReader::new(r))),
            pending: Vec::new(),
            line_no: 0,
            seen: (0, 0),
            ascii: true,
            compressed: false,
        }
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Whether the input was gzip-compressed.
    pub fn is_compressed(&self) -> bool {
        self.compressed
    }

    /// Physical line number (1-based) of the line last returned.
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Whether the lines the last [`LineReader::read_lines`] appended are all ASCII (found
    /// while checking them for UTF-8, so that a batch's searches need no pass of their own).
    pub fn appended_ascii(&self) -> bool {
        self.ascii
    }

    /// Appends up to about `want` bytes of input to `v`; returns how many (0: the end).
    fn read_more(&mut self, v: &mut Vec<u8>, want: usize) -> io::Result<usize> {
        match &mut self.from {
            Feed::Fd(file) => {
                let fd = file.as_ref().map_or(libc::STDIN_FILENO, |f| f.as_raw_fd());
                v.reserve(want);
                loop {
                    // SAFETY: `read(2)` writes at most `want` bytes into the reserved, unused
                    // capacity of `v`; exactly the `n` it reports are then made part of `v`.
                    let n = unsafe { libc::read(fd, v.as_mut_ptr().add(v.len()).cast(), want) };
                    if n >= 0 {
                        let n = n as usize;
                        // SAFETY: the `n` bytes past the old length were just written.
                        unsafe { v.set_len(v.len() + n) };
                        return Ok(n);
                    }
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
            Feed::Buffered(inner) => loop {
                match inner.fill_buf() {
                    Ok(buf) => {
                        let n = buf.len().min(want);
                        v.extend_from_slice(&buf[..n]);
                        inner.consume(n);
                        return Ok(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            },
        }
    }

    /// Appends the next lines to `text`, each followed by `"\n"`, and the end of each (where
    /// its `"\n"` is; the next line starts after it) to `ends`, until `ends` holds `max_lines`
    /// or `text` at least `max_bytes`. Returns false once the input is exhausted.
    ///
    /// Why the `"\n"`: the regexes see a line's text followed by `"\n"`, which is then a
    /// slice of `text` rather than a copy (see [`crate::line::Searcher::run_line`]).
    ///
    /// The input is read into `text` itself, sized to what the batch still wants; lines kept
    /// as they are (the common case: no `\r`, not empty, no `#`, UTF-8) stay where they
    /// landed and are checked for UTF-8 in one pass per read.
    pub fn read_lines(
        &mut self,
        text: &mut String,
        ends: &mut Vec<usize>,
        max_lines: usize,
        max_bytes: usize,
    ) -> Result<bool, Error> {
        // Worked on as bytes: `v[..valid]` is always UTF-8, and only that part goes back into
        // `text`, so that `text` stays a `String` even if this returns early.
        let mut v = std::mem::take(text).into_bytes();
        let mut valid = v.len();
        self.ascii = true;
        let (lines_before, bytes_before) = (ends.len(), valid);
        v.append(&mut self.pending);
        // Where a `\n` may be: not in the start of a line read before.
        let mut unseen = valid;
        let result = loop {
            if self.take_lines(&mut v, &mut valid, unseen, ends, max_lines, max_bytes) {
                break Ok(true);
            }
            unseen = v.len();
            // `v[valid..]` is the start of a line: read on.
            let (bytes, lines) = self.seen;
            let per_line = bytes.checked_div(lines).map_or(128, |b| b as usize + 1);
            let left = max_lines.saturating_sub(ends.len()).max(1);
            let want = (left * per_line).clamp(MIN_READ, MAX_READ);
            match self.read_more(&mut v, want) {
                Ok(0) => {
                    // A last line ending in `\r` counts; one without any line end is dropped.
                    if v.len() > valid && v.last() == Some(&b'\r') {
                        self.line_no += 1;
                        if let Some(end) = tested(&v[valid..]).map(<[u8]>::len) {
                            v.truncate(valid + end);
                            v.push(b'\n');
                            ends.push(v.len() - 1);
                            let to = v.len();
                            valid = self.checked(&mut v, valid, to, ends, ends.len() - 1);
                        }
                    }
                    v.truncate(valid);
                    break Ok(false);
                }
                Ok(_) => {}
                Err(e) => break Err(Error::Io { path: self.source.path(), source: e }),
            }
        };
        self.pending.extend_from_slice(&v[valid..]);
        v.truncate(valid);
        self.seen.0 += (valid - bytes_before) as u64;
        self.seen.1 += (ends.len() - lines_before) as u64;
        // SAFETY: `v[..valid]` is UTF-8 (see `take_lines` and `LineReader::checked`).
        *text = unsafe { String::from_utf8_unchecked(v) };
        result
    }

    /// Makes lines of the whole lines in `v[*valid..]`, in place, until the limits of
    /// [`LineReader::read_lines`]; returns true if a limit stopped it. After it, `v[..*valid]`
    /// holds the lines (UTF-8, each with its `\n`) and `v[*valid..]` what is left. There is
    /// no `\n` before `unseen` (a long line is not searched again after each read).
    fn take_lines(
        &mut self,
        v: &mut Vec<u8>,
        valid: &mut usize,
        unseen: usize,
        ends: &mut Vec<usize>,
        max_lines: usize,
        max_bytes: usize,
    ) -> bool {
        let first = ends.len();
        // Lines are read at `r` and written at `w`: the same place until one is dropped or
        // shortened.
        let (mut r, mut w) = (*valid, *valid);
        let mut full = false;
        let mut from = unseen.max(r);
        while let Some(i) = memchr::memchr(b'\n', &v[from..]) {
            if ends.len() >= max_lines || w >= max_bytes {
                full = true;
                break;
            }
            let nl = from + i;
            self.line_no += 1;
            let line = &v[r..nl];
            let len = if !line.is_empty() && line[0] != b'#' && line[line.len() - 1] != b'\r' {
                Some(line.len())
            } else {
                tested(&v[r..=nl]).map(<[u8]>::len)
            };
            if let Some(len) = len {
                if w != r {
                    v.copy_within(r..r + len, w);
                }
                v[w + len] = b'\n';
                ends.push(w + len);
                w += len + 1;
            }
            r = nl + 1;
            from = r;
        }
        if w != r {
            v.copy_within(r.., w);
            v.truncate(w + (v.len() - r));
        }
        // Everything from the old `valid` to `w` is lines: one UTF-8 check for all of them.
        *valid = self.checked(v, *valid, w, ends, first);
        full
    }

    /// Checks that `v[from..to]` (lines whose ends are `ends[first..]`) is UTF-8; if not,
    /// decodes each of those lines as Python's `decode('utf-8', 'replace')` does, which
    /// changes the lengths, and fixes their ends (what follows them moves along). Returns
    /// where the lines end now. ASCII is checked first (the common case, and ASCII is
    /// UTF-8), and recorded for [`LineReader::appended_ascii`].
    fn checked(
        &mut self,
        v: &mut Vec<u8>,
        from: usize,
        to: usize,
        ends: &mut Vec<usize>,
        first: usize,
    ) -> usize {
        if v[from..to].is_ascii() {
            return to;
        }
        self.ascii = false;
        if std::str::from_utf8(&v[from..to]).is_ok() {
            return to;
        }
        let rest = v.split_off(to);
        let lines = v.split_off(from);
        ends.truncate(first);
        // `\n` never belongs to an invalid sequence: decoding line by line is decoding
        // the whole.
        for line in lines.split_inclusive(|&b| b == b'\n') {
            v.extend_from_slice(String::from_utf8_lossy(&line[..line.len() - 1]).as_bytes());
            ends.push(v.len());
            v.push(b'\n');
        }
        let to = v.len();
        v.extend_from_slice(&rest);
        to
    }
}

/// A raw line (with its line end) as fail2ban-regex tests it: trailing `\r` and `\n`
/// stripped; `None` for the lines it skips (empty, or a `#` comment).
fn tested(raw: &[u8]) -> Option<&[u8]> {
    let end = raw.iter().rposition(|&b| b != b'\n' && b != b'\r').map_or(0, |i| i + 1);
    let bytes = &raw[..end];
    (!bytes.is_empty() && bytes[0] != b'#').then_some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line `r` gives, read `max_lines` (and about `max_bytes`) at a time.
    fn read_all(mut r: LineReader, max_lines: usize, max_bytes: usize) -> Vec<String> {
        let (mut text, mut ends, mut got) = (String::new(), Vec::new(), Vec::new());
        loop {
            let more = r.read_lines(&mut text, &mut ends, max_lines, max_bytes).unwrap();
            let mut start = 0;
            for &e in &ends {
                got.push(text[start..e].to_string());
                assert_eq!(text.as_bytes()[e], b'\n', "every line is followed by its \\n");
                start = e + 1;
            }
            assert_eq!(start, text.len(), "nothing but lines");
            text.clear();
            ends.clear();
            if !more {
                return got;
            }
        }
    }

    fn lines(data: &[u8]) -> Vec<String> {
        read_all(LineReader::from_reader("t", io::Cursor::new(data.to_vec())), 1000, 1 << 20)
    }

    #[test]
    fn fail2ban_regex_reading_rules() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"a\nb\n", &["a", "b"]),
            (b"a\r\n\r\nb\r\r\n", &["a", "b"]),
            (b"a\n\n# comment\n  \nb\n", &["a", "  ", "b"]),
            (b"a\nlast", &["a"]),
            (b"a\nlast\r", &["a", "last"]),
            (b" # not a comment\n", &[" # not a comment"]),
            (b"bad \xff\xfe byte\n", &["bad \u{fffd}\u{fffd} byte"]),
            (b"cut \xe2\x82\n", &["cut \u{fffd}"]),
            (
                b"ok\nbad \xff\nok \xc3\xa9\n\xe2\x82\nok\n",
                &["ok", "bad \u{fffd}", "ok \u{e9}", "\u{fffd}", "ok"],
            ),
            (b"", &[]),
        ];
        for (data, want) in cases {
            assert_eq!(lines(data), *want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    /// A reader that returns at most `.1` bytes per read, so lines straddle buffer refills.
    struct Chunked(io::Cursor<Vec<u8>>, usize);

    impl Read for Chunked {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.1);
            self.0.read(&mut buf[..n])
        }
    }

    /// Whatever the batch and read sizes, the same lines.
    #[test]
    fn batches_give_the_same_lines() {
        let data: &[u8] =
            b"a\r\n\r\nb\r\r\n# c\n  \nbad \xff\nx\n\nlong line \xc3\xa9 here\ny\nz\nlast\r";
        let want = lines(data);
        for cap in [1, 2, 3, 7, 64] {
            for (max_lines, max_bytes) in [(1, 1 << 20), (2, 1 << 20), (100, 1 << 20), (100, 5)] {
                let r = LineReader::from_reader("t", Chunked(io::Cursor::new(data.to_vec()), cap));
                let got = read_all(r, max_lines, max_bytes);
                assert_eq!(got, want, "buffer {cap}, {max_lines} lines or {max_bytes} bytes");
            }
        }
        let mut r = LineReader::from_reader("t", io::Cursor::new(b"a\nno end".to_vec()));
        let (mut text, mut ends) = (String::new(), Vec::new());
        assert!(!r.read_lines(&mut text, &mut ends, 10, 1 << 20).unwrap());
        assert_eq!((text.as_str(), ends.as_slice()), ("a\n", &[1][..]));
    }

    /// A file read straight into the batches (reads sized to the batch, lines straddling
    /// reads, a line longer than any read) gives the lines a buffered reader gives.
    #[test]
    fn direct_reads_give_the_same_lines() {
        let mut data = Vec::new();
        let mut seed = 7u64;
        for i in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let line: &[u8] = match seed % 16 {
                0 => b"",
                1 => b"# comment",
                2 => b"crlf\r",
                3 => b"bad \xff\xfe byte",
                4 => b"  ",
                _ => b"Nov 25 20:44:19 host sshd[1234]: Failed password for root from 192.0.2.1",
            };
            data.extend_from_slice(line);
            data.extend(std::iter::repeat_n(b'x', (seed % 300) as usize));
            if i == 10_000 {
                data.extend(std::iter::repeat_n(b'y', 3 * MAX_READ));
            }
            data.push(b'\n');
        }
        data.extend_from_slice(b"last\r");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, &data).unwrap();
        let want = read_all(
            LineReader::from_reader("t", Chunked(io::Cursor::new(data), 999)),
            512,
            1 << 18,
        );
        assert!((15_000..20_000).contains(&want.len()), "most lines kept: {}", want.len());
        for (max_lines, max_bytes) in [(1, 1 << 20), (512, 1 << 18), (100_000, 1 << 30), (512, 100)]
        {
            let r = LineReader::open(&Source::Path(path.clone())).unwrap();
            assert!(!r.is_compressed());
            let got = read_all(r, max_lines, max_bytes);
            assert!(got == want, "{max_lines} lines or {max_bytes} bytes");
        }
    }

    /// Whether a read's lines are all ASCII is reported per call, for every source.
    #[test]
    fn reads_say_whether_their_lines_are_ascii() {
        let data = b"plain\nalso plain\nbad \xff\nok\n\xc3\xa9t\xc3\xa9\nlast\n";
        let want = [true, true, false, true, false, true];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, data).unwrap();
        let readers = [
            LineReader::open(&Source::Path(path)).unwrap(),
            LineReader::from_reader("t", Chunked(io::Cursor::new(data.to_vec()), 3)),
        ];
        for mut r in readers {
            let mut got = Vec::new();
            let (mut text, mut ends) = (String::new(), Vec::new());
            while r.read_lines(&mut text, &mut ends, 1, 1 << 20).unwrap() || !ends.is_empty() {
                got.push(r.appended_ascii());
                assert_eq!(r.appended_ascii(), text.is_ascii(), "{text:?}");
                text.clear();
                ends.clear();
            }
            assert_eq!(got, want);
        }
    }

    #[test]
    fn gzip_is_detected_by_content() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.1");
        let mut gz = GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
        gz.write_all(b"x 1\ny 2\n").unwrap();
        gz.finish().unwrap();
        let r = LineReader::open(&Source::Path(path)).unwrap();
        assert!(r.is_compressed());
        assert_eq!(read_all(r, 1, 1 << 20), ["x 1", "y 2"]);
    }

    #[test]
    fn missing_file_and_directory_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.log");
        let e = LineReader::open(&Source::Path(missing.clone())).err().unwrap().to_string();
        assert!(e.contains("nope.log") && e.contains("No such file"), "{e}");
        let e = LineReader::open(&Source::Path(dir.path().into())).err().unwrap().to_string();
        assert!(e.contains("is a directory"), "{e}");
    }
}
