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

/// Reads one [`Source`] line by line; see the module docs for the rules.
pub struct LineReader {
    source: Source,
    inner: Box<dyn BufRead + Send>,
    /// The start of a line whose end is not read yet.
    raw: Vec<u8>,
    /// Physical line number of the last line returned (1-based), for messages.
    line_no: u64,
    compressed: bool,
}

impl LineReader {
    /// Opens `source`; a missing, unreadable or non-regular path is an error naming it.
    pub fn open(source: &Source) -> Result<LineReader, Error> {
        let io_err = |e: io::Error| Error::Io { path: source.path(), source: e };
        let mut inner: Box<dyn BufRead + Send> = match source {
            Source::Stdin => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
            Source::Path(p) => {
                let file = File::open(p).map_err(io_err)?;
                if file.metadata().map_err(io_err)?.is_dir() {
                    return Err(io_err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "is a directory; give the log files in it",
                    )));
                }
                Box::new(BufReader::with_capacity(1 << 16, file))
            }
        };
        let compressed = inner.fill_buf().map_err(io_err)?.starts_with(&GZIP_MAGIC);
        if compressed {
            inner = Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(inner)));
        }
        Ok(LineReader {
            source: source.clone(),
            inner,
            raw: Vec::with_capacity(256),
            line_no: 0,
            compressed,
        })
    }

    /// Reads from any reader (tests, embedded data).
    pub fn from_reader(name: &str, r: impl Read + Send + 'static) -> LineReader {
        LineReader {
            source: Source::Path(PathBuf::from(name)),
            inner: Box::new(BufReader::new(r)),
            raw: Vec::new(),
            line_no: 0,
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

    /// Appends the next lines to `text`, each followed by `"\n"`, and the end of each (where
    /// its `"\n"` is; the next line starts after it) to `ends`, until `ends` holds `max_lines`
    /// or `text` at least `max_bytes`. Returns false once the input is exhausted.
    ///
    /// Why the `"\n"`: the regexes see a line's text followed by `"\n"`, which is then a
    /// slice of `text` rather than a copy (see [`crate::line::Searcher::run_line`]).
    pub fn read_lines(
        &mut self,
        text: &mut String,
        ends: &mut Vec<usize>,
        max_lines: usize,
        max_bytes: usize,
    ) -> Result<bool, Error> {
        let io_err = |e: io::Error, s: &Source| Error::Io { path: s.path(), source: e };
        while ends.len() < max_lines && text.len() < max_bytes {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(e, &self.source)),
            };
            if buf.is_empty() {
                // A last line ending in `\r` counts; one without any line end is dropped.
                if matches!(self.raw.last(), Some(b'\r')) {
                    self.line_no += 1;
                    if let Some(bytes) = tested(&self.raw) {
                        push_line(text, ends, bytes);
                    }
                }
                self.raw.clear();
                return Ok(false);
            }
            if self.raw.is_empty() {
                // The whole lines at the head of the buffer, in one go.
                let n = bulk(buf, &mut self.line_no, text, ends, max_lines, max_bytes);
                if n > 0 {
                    self.inner.consume(n);
                    continue;
                }
            }
            let Some(i) = memchr::memchr(b'\n', buf) else {
                // Part of a line: kept until its end arrives.
                self.raw.extend_from_slice(buf);
                let n = buf.len();
                self.inner.consume(n);
                continue;
            };
            self.line_no += 1;
            let line: &[u8] = if self.raw.is_empty() {
                &buf[..=i]
            } else {
                self.raw.extend_from_slice(&buf[..=i]);
                &self.raw
            };
            if let Some(bytes) = tested(line) {
                push_line(text, ends, bytes);
            }
            self.raw.clear();
            self.inner.consume(i + 1);
        }
        Ok(true)
    }
}

/// Appends the whole lines at the start of `buf` (within the limits of
/// [`LineReader::read_lines`], counting them in `line_no`) and returns how many bytes they took. Lines kept as they
/// are (the common case: no `\r`, not empty, no `#`) are copied together with their
/// `\n`s, one copy and one UTF-8 check per run of them, instead of one per line.
fn bulk(
    buf: &[u8],
    line_no: &mut u64,
    text: &mut String,
    ends: &mut Vec<usize>,
    max_lines: usize,
    max_bytes: usize,
) -> usize {
    // `buf[seg..pos]` holds kept lines not copied yet, the first of them `ends[first]`.
    let (mut seg, mut pos, mut first) = (0, 0, ends.len());
    for nl in memchr::memchr_iter(b'\n', buf) {
        if ends.len() >= max_lines || text.len() + (pos - seg) >= max_bytes {
            break;
        }
        *line_no += 1;
        let line = &buf[pos..nl];
        if !line.is_empty() && line[0] != b'#' && line[line.len() - 1] != b'\r' {
            ends.push(text.len() + (nl - seg));
        } else {
            flush(text, ends, first, &buf[seg..pos]);
            if let Some(bytes) = tested(&buf[pos..=nl]) {
                push_line(text, ends, bytes);
            }
            (seg, first) = (nl + 1, ends.len());
        }
        pos = nl + 1;
    }
    flush(text, ends, first, &buf[seg..pos]);
    pos
}

/// Appends `run` (kept lines, each with its `\n`, whose ends from `ends[first..]` assume it
/// is copied as is). Bytes that are not UTF-8 change the lengths: those lines are then
/// appended one by one, decoded.
fn flush(text: &mut String, ends: &mut Vec<usize>, first: usize, run: &[u8]) {
    match std::str::from_utf8(run) {
        Ok(s) => text.push_str(s),
        Err(_) => {
            ends.truncate(first);
            // `\n` never belongs to an invalid sequence: decoding line by line is decoding
            // the whole.
            for line in run.split_inclusive(|&b| b == b'\n') {
                push_line(text, ends, &line[..line.len() - 1]);
            }
        }
    }
}

/// A raw line (with its line end) as fail2ban-regex tests it: trailing `\r` and `\n`
/// stripped; `None` for the lines it skips (empty, or a `#` comment).
fn tested(raw: &[u8]) -> Option<&[u8]> {
    let end = raw.iter().rposition(|&b| b != b'\n' && b != b'\r').map_or(0, |i| i + 1);
    let bytes = &raw[..end];
    (!bytes.is_empty() && bytes[0] != b'#').then_some(bytes)
}

/// Appends a line (`bytes` decoded as Python's `decode('utf-8', 'replace')` does) and its
/// `\n`, and records its end.
fn push_line(text: &mut String, ends: &mut Vec<usize>, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => text.push_str(s),
        Err(_) => text.push_str(&String::from_utf8_lossy(bytes)),
    }
    ends.push(text.len());
    text.push('\n');
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
