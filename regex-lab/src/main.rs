//! `regex-lab`: replay, verify and explain fail2ban filters (thin CLI over `regex_lab`).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit statuses, in one place.
mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// An error: bad filter, bad option, unreadable log... (one line on stderr says which).
    pub const ERROR: u8 = 2;
}

/// fail2ban's filter engine, re-implemented on PCRE2 JIT: replay logs, verify samples, explain lines.
#[derive(Debug, Parser)]
#[command(name = "regex-lab", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Replay logs through filters and count matches like fail2ban-regex.
    ///
    /// Every log line is fed to every filter; the report gives, per filter, the hits of each
    /// failregex and the line counts (ignored / matched / missed) that `fail2ban-regex --raw`
    /// prints for the same log and filter (host names are not resolved).
    ///
    /// Example: regex-lab replay /var/log/auth.log.1.gz /var/log/auth.log -c /etc/fail2ban -f sshd
    ///
    /// Exit status: 0 when every log was read, 2 on an error (bad filter, bad option,
    /// unreadable log); the error is one line on stderr.
    Replay(regex_lab::replay::ReplayArgs),
    // verify and explain: -h/--help text is the doc of their Args structs.
    Verify(regex_lab::verify::cli::VerifyArgs),
    Explain(regex_lab::explain::cli::ExplainArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::ERROR } else { exit::OK });
        }
    };
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("REGEX_LAB_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_ansi(io::stderr().is_terminal())
        .without_time()
        .with_target(false)
        .init();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("regex-lab: {}", message(&e));
            ExitCode::from(exit::ERROR)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Replay(args) => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            let outcome = regex_lab::replay::run(&args, &mut out)?;
            out.flush()?;
            Ok(match outcome {
                regex_lab::replay::Outcome::Complete => exit::OK,
                regex_lab::replay::Outcome::ReadErrors => exit::ERROR,
            })
        }
        // 0 all passed, 1 a sample failed, 2 a file or filter could not be used.
        Command::Verify(args) => Ok(regex_lab::verify::cli::run(&args)?),
        Command::Explain(args) => Ok(regex_lab::explain::cli::run(&args)?),
    }
}

/// The error and its causes, each cause only if its text is not already shown (library
/// errors often include their source in their own message).
fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !msg.contains(&text) {
            if !msg.is_empty() {
                msg.push_str(": ");
            }
            msg.push_str(&text);
        }
    }
    msg
}

/// A closed stdout (`regex-lab replay ... | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>().is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
