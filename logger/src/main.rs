//! `f2b-logger`: parse arguments, set up logging, run the daemon, map errors to exit codes
//! (0 ok, 2 error). See the library for everything else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = f2b_logger::cli::Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("F2B_LOGGER_LOG")
                .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        // journald adds its own timestamps when we run as a service.
        .without_time()
        .with_ansi(false)
        .init();
    let result = args.into_config().and_then(f2b_logger::daemon::run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("f2b-logger: error: {e}");
            ExitCode::from(2)
        }
    }
}
