//! One literal pass for many literal sets: which sets have a literal in a text.
//!
//! A replay with many filters asks, per line and per filter, "can anything of this filter
//! match here?". Each filter gives a *need*: a literal set one of which any text it can
//! match contains ([`super::Prefilter::needs`]). [`Screen::scan`] finds, in one pass over
//! the line, every need with a literal in it; a filter whose need has none cannot match,
//! and is not searched at all.
//!
//! The pass is exact: one Aho-Corasick automaton of every literal, as a DFA whose state
//! after each byte lists every literal ending there, reports every occurrence of every
//! literal; each marks the needs it belongs to.
//!
//! Why not the `aho-corasick` crate, which the prefilter uses elsewhere: this pass needs
//! every occurrence (overlapping ones too) only to set bits, and its overlapping iterator
//! cost 1.8 times the instructions of this table walk on the 20-filter benchmark (Teddy
//! searches restarted after each match, 3.3 times).

/// Which of several literal sets ("needs") occur in a text. Build once, share between
/// threads.
#[derive(Debug)]
pub struct Screen {
    dfa: Dfa,
    needs: usize,
}

/// An Aho-Corasick automaton as a full DFA over byte classes: after each byte, the state
/// stands for the longest literal prefix ending there, and knows every literal ending there
/// (its own and its failure chain's). A plain table, walked with one lookup per byte.
#[derive(Debug)]
struct Dfa {
    /// Byte → class (0: a byte no literal has).
    classes: [u8; 256],
    stride: usize,
    /// `trans[state * stride + class]` = next state's `state * stride << 1`, low bit set when
    /// some literal ends in it.
    trans: Vec<u32>,
    /// Per state, the needs of the literals ending in it (sorted, deduplicated).
    ends: Vec<Vec<u32>>,
}

impl Dfa {
    fn new(lits: &[(Vec<u8>, u32)]) -> Dfa {
        let mut classes = [0u8; 256];
        let mut n = 1usize;
        for (l, _) in lits {
            for &b in l {
                if classes[b as usize] == 0 {
                    classes[b as usize] = n as u8;
                    n += 1;
                }
            }
        }
        let stride = n;
        // The trie (goto function); 0 = root, `NONE` = no edge yet.
        const NONE: u32 = u32::MAX;
        let mut go: Vec<u32> = vec![NONE; stride];
        let mut ends: Vec<Vec<u32>> = vec![Vec::new()];
        for (l, owner) in lits {
            let mut s = 0usize;
            for &b in l {
                let c = classes[b as usize] as usize;
                if go[s * stride + c] == NONE {
                    go[s * stride + c] = ends.len() as u32;
                    go.extend(std::iter::repeat_n(NONE, stride));
                    ends.push(Vec::new());
                }
                s = go[s * stride + c] as usize;
            }
            ends[s].push(*owner);
        }
        // Breadth first: failure links, inherited ends, and missing edges filled from the
        // failure state's (already complete) row.
        let states = ends.len();
        let mut fail = vec![0usize; states];
        let mut queue = std::collections::VecDeque::new();
        for t in &mut go[..stride] {
            match *t {
                NONE => *t = 0,
                child => queue.push_back(child as usize),
            }
        }
        while let Some(s) = queue.pop_front() {
            let inherited = ends[fail[s]].clone();
            ends[s].extend(inherited);
            ends[s].sort_unstable();
            ends[s].dedup();
            for c in 0..stride {
                let f = go[fail[s] * stride + c];
                match go[s * stride + c] {
                    NONE => go[s * stride + c] = f,
                    t => {
                        fail[t as usize] = f as usize;
                        queue.push_back(t as usize);
                    }
                }
            }
        }
        let trans = go
            .iter()
            .map(|&t| ((t as usize * stride) << 1) as u32 | u32::from(!ends[t as usize].is_empty()))
            .collect();
        Dfa { classes, stride, trans, ends }
    }
}

impl Screen {
    /// A screen for `needs` (need `i` = `needs[i]`). An empty set never occurs; `None` if a
    /// literal is empty or the automaton would be too large.
    pub fn new(needs: &[Vec<Vec<u8>>]) -> Option<Screen> {
        let mut all: Vec<(Vec<u8>, u32)> = Vec::new();
        for (i, set) in needs.iter().enumerate() {
            for lit in set {
                if lit.is_empty() {
                    return None;
                }
                all.push((lit.clone(), i as u32));
            }
        }
        all.sort();
        all.dedup();
        let bytes: usize = all.iter().map(|(l, _)| l.len()).sum();
        // Classes fit a byte (at most 255 distinct bytes, plus class 0); states times
        // classes bounds the table.
        let distinct = {
            let mut seen = [false; 256];
            all.iter().flat_map(|(l, _)| l.iter()).for_each(|&b| seen[b as usize] = true);
            seen.iter().filter(|&&x| x).count()
        };
        if distinct > 254 || (bytes + 1) * (distinct + 1) > (1 << 24) {
            return None;
        }
        Some(Screen { dfa: Dfa::new(&all), needs: needs.len() })
    }

    /// Words of a bitset over the needs.
    pub fn words(&self) -> usize {
        self.needs.div_ceil(64)
    }

    /// Sets bit `i` of `present` (of [`Screen::words`] words, cleared first) for each need
    /// `i` with a literal in `text`.
    pub fn scan(&self, text: &[u8], present: &mut [u64]) {
        present.fill(0);
        let d = &self.dfa;
        let mut t = 0u32;
        for &b in text {
            t = d.trans[(t >> 1) as usize + d.classes[b as usize] as usize];
            if t & 1 != 0 {
                for &o in &d.ends[(t >> 1) as usize / d.stride] {
                    present[o as usize / 64] |= 1 << (o % 64);
                }
            }
        }
    }
}

/// Whether bit `i` of a [`Screen::scan`] result is set.
#[inline]
pub fn has(present: &[u64], i: u32) -> bool {
    present[i as usize / 64] & (1 << (i % 64)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(needs: &[Vec<Vec<u8>>], text: &[u8]) -> Vec<bool> {
        needs
            .iter()
            .map(|set| set.iter().any(|l| text.windows(l.len()).any(|w| w == l.as_slice())))
            .collect()
    }

    fn lits(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// Overlapping literals, literals sharing a start, a literal inside another, shared
    /// literals, more than one searcher's worth: the scan marks what a naive search finds.
    #[test]
    fn marks_exactly_the_needs_with_an_occurring_literal() {
        let mut needs = vec![
            lits(&["sshd", "sshd["]),
            lits(&["hd[", "Failed"]),
            lits(&["sshd[1"]),
            lits(&["d[12", "zzz"]),
            lits(&["abc"]),
            lits(&[]),
            lits(&["abc", "bcd"]),
        ];
        // 70 more literals: several Teddy searchers.
        for i in 0..70 {
            needs.push(vec![format!("w{i:02}x").into_bytes()]);
        }
        let s = Screen::new(&needs).unwrap();
        let texts = [
            "host sshd[123]: Failed password\n",
            "abcd w05x w69x\n",
            "bcd\n",
            "",
            "s",
            "d[12sshd[1 zz\n",
        ];
        // Every literal at every place of a short text (start, middle, end).
        let mut placed: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
        for lit in needs.iter().flatten().take(12) {
            let lit = String::from_utf8(lit.clone()).unwrap();
            for len in [0, 1, 5, 12, 25] {
                for at in 0..=len {
                    placed.push(format!("{}{lit}{}", "-".repeat(at), "-".repeat(len - at)));
                }
            }
        }
        let mut present = vec![0u64; s.words()];
        for t in &placed {
            s.scan(t.as_bytes(), &mut present);
            let got: Vec<bool> = (0..needs.len()).map(|i| has(&present, i as u32)).collect();
            assert_eq!(got, naive(&needs, t.as_bytes()), "{t:?}");
        }
    }
}
