//! Shared inputs for the criterion benchmarks and the compare scripts (seeded, deterministic).
//!
//! # Brief overview
//!
//! Every benchmark input is derived from fail2ban's own sshd sample log (the non-comment,
//! non-empty lines of `tests/files/logs/sshd`), so the lines are real sshd messages in the
//! formats fail2ban's filters are written for. [`SshdCorpus`] repeats them, perturbing each
//! repetition with a seeded generator so the benchmark does not replay one connection forever:
//! IPv4 addresses get new last two octets and `sshd[pid]` a new pid (which changes the MLFID
//! connection key, so the multi-line cache sees fresh and repeated connections). Everything
//! else (dates, message text) is kept, so fail2ban-regex and regex-lab see exactly what the
//! sample tests cover.
//!
//! The same seed and line count give the same bytes on every machine: the generator is a
//! fixed SplitMix64, not a library RNG whose stream may change between versions.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where Debian's fail2ban package keeps its sample logs.
pub const FAIL2BAN_LOGS: &str = "/usr/lib/python3/dist-packages/fail2ban/tests/files/logs";

/// The seed every benchmark and compare script uses unless told otherwise.
pub const DEFAULT_SEED: u64 = 0x5eed_f2b0;

/// SplitMix64: tiny, fixed, good enough to scatter addresses.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// The path of one of fail2ban's sample logs (`sshd`, `pam-generic`...).
pub fn fail2ban_sample(name: &str) -> PathBuf {
    Path::new(FAIL2BAN_LOGS).join(name)
}

/// The lines fail2ban-regex tests in a sample log: non-empty, not starting with `#`.
pub fn sample_lines(path: &Path) -> io::Result<Vec<String>> {
    let text = std::fs::read(path)?;
    Ok(String::from_utf8_lossy(&text)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// fail2ban's sshd sample lines; panics with what to install when they are missing
/// (benchmarks only).
pub fn sshd_sample_lines() -> Vec<String> {
    let path = fail2ban_sample("sshd");
    sample_lines(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the benchmarks need fail2ban's samples (apt-get install fail2ban)",
            path.display()
        )
    })
}

/// An endless, deterministic stream of perturbed sample lines; see the module docs.
#[derive(Clone, Debug)]
pub struct SshdCorpus {
    base: Vec<String>,
    rng: SplitMix64,
    next: usize,
    /// Per repetition: the last-two-octet offsets and the pid offset.
    shift: (u8, u8, u32),
}

impl SshdCorpus {
    pub fn new(base: Vec<String>, seed: u64) -> Self {
        assert!(!base.is_empty(), "no sample lines to build a corpus from");
        // The first repetition is the sample log as it is.
        SshdCorpus { base, rng: SplitMix64::new(seed), next: 0, shift: (0, 0, 0) }
    }

    /// The corpus from fail2ban's sshd samples with the default seed.
    pub fn standard() -> Self {
        SshdCorpus::new(sshd_sample_lines(), DEFAULT_SEED)
    }

    /// The next line (without its `\n`).
    pub fn next_line(&mut self) -> String {
        if self.next == self.base.len() {
            self.next = 0;
            let r = self.rng.next_u64();
            self.shift = (r as u8, (r >> 8) as u8, (r >> 16) as u32 % 100_000);
        }
        let line = perturb(&self.base[self.next], self.shift);
        self.next += 1;
        line
    }

    /// The first `n` lines.
    pub fn take_lines(mut self, n: usize) -> Vec<String> {
        (0..n).map(|_| self.next_line()).collect()
    }

    /// Writes lines (each ended by `\n`) until `lines` lines or `bytes` bytes are written,
    /// whichever limit is given and reached first. Returns (lines, bytes) written.
    pub fn write(
        &mut self,
        out: &mut impl Write,
        lines: Option<u64>,
        bytes: Option<u64>,
    ) -> io::Result<(u64, u64)> {
        let (mut n, mut size) = (0u64, 0u64);
        while lines.is_none_or(|l| n < l) && bytes.is_none_or(|b| size < b) {
            let mut line = self.next_line();
            line.push('\n');
            out.write_all(line.as_bytes())?;
            n += 1;
            size += line.len() as u64;
        }
        Ok((n, size))
    }
}

/// Shifts the last two octets of every IPv4 address (written without leading zeros, so the
/// result is still an address fail2ban accepts) and every `sshd[pid]`.
fn perturb(line: &str, (c, d, pid): (u8, u8, u32)) -> String {
    let b = line.as_bytes();
    let mut out = String::with_capacity(line.len() + 8);
    let mut i = 0;
    while i < b.len() {
        if let Some((end, octets)) = ipv4_at(b, i) {
            let c2 = (octets[2] as u16 + c as u16) % 256;
            let d2 = (octets[3] as u16 + d as u16) % 256;
            let first_two = &line[i..];
            let second_dot = first_two.match_indices('.').nth(1).map(|(p, _)| p).unwrap_or(0);
            out.push_str(&first_two[..=second_dot]);
            out.push_str(&format!("{c2}.{d2}"));
            i = end;
            continue;
        }
        if line[i..].starts_with("sshd[") {
            let digits = line[i + 5..].bytes().take_while(u8::is_ascii_digit).count();
            if digits > 0 && line[i + 5 + digits..].starts_with(']') {
                let p: u64 = line[i + 5..i + 5 + digits].parse().unwrap_or(0);
                out.push_str(&format!("sshd[{}]", p + pid as u64));
                i += 5 + digits + 1;
                continue;
            }
        }
        let ch = line[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// An IPv4 address `a.b.c.d` starting at `i` (not preceded by a digit or dot, not followed
/// by a digit or `.digit`): its end and octets.
fn ipv4_at(b: &[u8], i: usize) -> Option<(usize, [u8; 4])> {
    if i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.') {
        return None;
    }
    let mut j = i;
    let mut octets = [0u8; 4];
    for (k, o) in octets.iter_mut().enumerate() {
        let start = j;
        while j < b.len() && b[j].is_ascii_digit() && j - start < 3 {
            j += 1;
        }
        if j == start {
            return None;
        }
        let v: u16 = std::str::from_utf8(&b[start..j]).ok()?.parse().ok()?;
        *o = u8::try_from(v).ok()?;
        if k < 3 {
            if b.get(j) != Some(&b'.') {
                return None;
            }
            j += 1;
        }
    }
    let followed = b.get(j).is_some_and(u8::is_ascii_digit)
        || (b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit));
    (!followed).then_some((j, octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perturbs_addresses_and_pids_only() {
        let l = "Feb 25 14:34:10 belka sshd[31602]: Failed password for invalid user ROOT from 194.117.26.69 port 50273 ssh2";
        assert_eq!(perturb(l, (0, 0, 0)), l);
        assert_eq!(
            perturb(l, (1, 200, 5)),
            "Feb 25 14:34:10 belka sshd[31607]: Failed password for invalid user ROOT from 194.117.27.13 port 50273 ssh2"
        );
        // Not addresses: versions, times, a 5-part dotted number.
        for s in ["v1.2.3", "14:34:10", "1.2.3.4.5", "1.2.3.400", "2.0;"] {
            assert_eq!(perturb(s, (9, 9, 9)), s);
        }
        assert_eq!(perturb("from 192.030.0.6", (1, 1, 0)), "from 192.030.1.7");
        assert_eq!(perturb("::ffff:1.2.3.4)", (1, 1, 0)), "::ffff:1.2.4.5)");
    }

    #[test]
    fn corpus_is_deterministic() {
        let base = vec!["a 1.2.3.4".to_string(), "sshd[1]: b".to_string()];
        let a = SshdCorpus::new(base.clone(), 7).take_lines(10);
        let b = SshdCorpus::new(base, 7).take_lines(10);
        assert_eq!(a, b);
        assert_eq!(a[0], "a 1.2.3.4");
        assert_ne!(a[2], a[0]);
    }
}
