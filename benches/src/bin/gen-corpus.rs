//! `gen-corpus`: writes the deterministic sshd benchmark corpus (see `f2b_benches`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use f2b_benches::{sshd_sample_lines, SshdCorpus, DEFAULT_SEED};

/// Write a deterministic sshd log built from fail2ban's sample lines (perturbed addresses and pids).
///
/// Example: gen-corpus --lines 1000000 /tmp/sshd-1M.log
#[derive(Debug, Parser)]
struct Args {
    /// Stop after this many lines.
    #[arg(long, value_name = "N")]
    lines: Option<u64>,

    /// Stop once this many bytes are written (suffixes K, M, G: powers of 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    bytes: Option<u64>,

    /// Seed of the perturbation.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SEED)]
    seed: u64,

    /// Output file (`-`: stdout).
    #[arg(value_name = "OUT")]
    out: PathBuf,
}

fn parse_size(s: &str) -> Result<u64, String> {
    let (num, mult) = match s.chars().last() {
        Some('K' | 'k') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('G' | 'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.parse::<u64>().map(|n| n * mult).map_err(|e| format!("{s:?}: {e} (e.g. 2G, 500M)"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.lines.is_none() && args.bytes.is_none() {
        eprintln!("gen-corpus: give --lines N or --bytes SIZE");
        return ExitCode::from(2);
    }
    let mut corpus = SshdCorpus::new(sshd_sample_lines(), args.seed);
    let result = if args.out.as_os_str() == "-" {
        let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
        corpus.write(&mut out, args.lines, args.bytes).and_then(|r| out.flush().map(|_| r))
    } else {
        File::create(&args.out).and_then(|f| {
            let mut out = BufWriter::with_capacity(1 << 20, f);
            let r = corpus.write(&mut out, args.lines, args.bytes)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            Ok(r)
        })
    };
    match result {
        Ok((lines, bytes)) => {
            eprintln!("gen-corpus: {} lines, {} bytes -> {}", lines, bytes, args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gen-corpus: {}: {e}", args.out.display());
            ExitCode::from(2)
        }
    }
}
