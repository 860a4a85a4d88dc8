//! Recognises lines that reached the output after the last saved state (a crash between
//! writing and saving), so that a restart does not write them again.
//!
//! On restart the entries after the saved cursor are formatted again; the output bytes past
//! the saved size (the "tail") are read in order, and each regenerated line is looked up in
//! the rest of the tail. Lines of other writers may sit in between and are passed over. The
//! first regenerated line not found ends recovery: it and everything after it are written.
//! A partial last line of the current file that is a prefix of the next regenerated line is
//! ours, torn by the crash, and only its missing rest is written.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

/// What to do with a regenerated line.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Already in the output: skip it.
    Present,
    /// The output ends in the first `n` bytes of it: write only the rest.
    Complete(usize),
    /// Not there: write it (and, recovery being over, every later line).
    Absent,
}

pub struct Recovery {
    /// Tail readers, oldest first; the last one reads the current output file.
    sources: Vec<BufReader<File>>,
    line: Vec<u8>,
    done: bool,
    pub present: u64,
    /// Offset in the current output file just past the last line found there.
    current_end: u64,
}

impl Recovery {
    /// Nothing to recover.
    pub fn none() -> Self {
        Recovery { sources: Vec::new(), line: Vec::new(), done: true, present: 0, current_end: 0 }
    }

    /// Tail = each file from its offset to its end; `files` oldest first, the current output
    /// last (only its partial last line can be completed).
    pub fn new(files: &[(&Path, u64)]) -> io::Result<Self> {
        let mut sources = Vec::new();
        let current_end = files.last().map_or(0, |f| f.1);
        for (path, from) in files {
            let mut f = File::open(path)?;
            f.seek(SeekFrom::Start(*from))?;
            sources.push(BufReader::with_capacity(64 * 1024, f));
        }
        let done = sources.is_empty();
        Ok(Recovery { sources, line: Vec::new(), done, present: 0, current_end })
    }

    pub fn active(&self) -> bool {
        !self.done
    }

    /// How far the current output file is covered by lines found so far: the size a state
    /// may claim while recovery runs (the file's real size may include lines not yet
    /// matched to entries).
    pub fn current_end(&self) -> u64 {
        self.current_end
    }

    pub fn check(&mut self, line: &[u8]) -> io::Result<Verdict> {
        if self.done {
            return Ok(Verdict::Absent);
        }
        while !self.sources.is_empty() {
            self.line.clear();
            let n = self.sources[0].read_until(b'\n', &mut self.line)?;
            if n == 0 {
                self.sources.remove(0);
                continue;
            }
            if self.sources.len() == 1 {
                self.current_end += n as u64;
            }
            if self.line == line {
                self.present += 1;
                return Ok(Verdict::Present);
            }
            let torn = self.line.last() != Some(&b'\n');
            if torn && self.sources.len() == 1 && line.starts_with(&self.line) {
                self.done = true;
                self.present += 1;
                self.current_end -= n as u64;
                return Ok(Verdict::Complete(self.line.len()));
            }
        }
        self.done = true;
        Ok(Verdict::Absent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&[u8], u64)], lines: &[&str]) -> Vec<Verdict> {
        let d = tempfile::tempdir().unwrap();
        let paths: Vec<_> = (0..files.len()).map(|i| d.path().join(i.to_string())).collect();
        for (p, (content, _)) in paths.iter().zip(files) {
            std::fs::write(p, content).unwrap();
        }
        let spec: Vec<(&Path, u64)> =
            paths.iter().zip(files).map(|(p, f)| (p.as_path(), f.1)).collect();
        let mut r = Recovery::new(&spec).unwrap();
        let v = lines.iter().map(|l| r.check(l.as_bytes()).unwrap()).collect();
        v
    }

    #[test]
    fn covered_size_follows_matches_in_the_current_file() {
        let d = tempfile::tempdir().unwrap();
        let (old, cur) = (d.path().join("old"), d.path().join("cur"));
        std::fs::write(&old, b"x\na\n").unwrap();
        std::fs::write(&cur, b"zz\nb\nc\nd").unwrap();
        let mut r = Recovery::new(&[(&old, 2), (&cur, 3)]).unwrap();
        assert_eq!(r.current_end(), 3);
        assert_eq!(r.check(b"a\n").unwrap(), Verdict::Present);
        assert_eq!(r.current_end(), 3);
        assert_eq!(r.check(b"b\n").unwrap(), Verdict::Present);
        assert_eq!(r.current_end(), 5);
        assert_eq!(r.check(b"c\n").unwrap(), Verdict::Present);
        assert_eq!(r.current_end(), 7);
        assert_eq!(r.check(b"de\n").unwrap(), Verdict::Complete(1));
        assert_eq!(r.current_end(), 7);
    }

    use Verdict::*;

    #[test]
    fn skips_our_lines_after_the_saved_size() {
        assert_eq!(
            run(&[(b"old\na\nb\n", 4)], &["a\n", "b\n", "c\n", "d\n"]),
            [Present, Present, Absent, Absent]
        );
    }

    #[test]
    fn passes_over_foreign_lines_and_completes_a_torn_line() {
        assert_eq!(
            run(&[(b"a\nforeign\nb\nc", 0)], &["a\n", "b\n", "cde\n", "f\n"]),
            [Present, Present, Complete(1), Absent]
        );
    }

    #[test]
    fn torn_line_of_a_rotated_file_is_not_completed() {
        assert_eq!(run(&[(b"a\nb", 0), (b"", 0)], &["a\n", "bc\n"]), [Present, Absent]);
        assert_eq!(run(&[(b"a\nb", 0), (b"b\n", 0)], &["a\n", "b\n"]), [Present, Present]);
    }

    #[test]
    fn a_missing_line_ends_recovery() {
        assert_eq!(run(&[(b"a\nc\n", 0)], &["b\n", "c\n"]), [Absent, Absent]);
    }
}
