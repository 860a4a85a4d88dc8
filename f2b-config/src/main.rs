//! `f2b-config`: install, remove, status and render of the f2b-sidecar fail2ban setup.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use f2b_config::commands::{self, InstallRequest, Output};
use f2b_config::probe::BackendChoice;
use f2b_config::profile::ProfileName;
use f2b_config::root::Root;

/// Installs, removes and checks fail2ban for Proxmox VE (f2b-sidecar), byte-exactly reversibly.
#[derive(Parser)]
#[command(version, propagate_version = true)]
struct Cli {
    /// Log what is done in detail (to stderr); RUST_LOG overrides.
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Installs (or updates) jails, filters, f2b-logger units, journald and sshd settings.
    ///
    /// Example: `f2b-config install --dry-run` shows the diff; `f2b-config install --yes` applies
    /// it and adds the address of your SSH session to ignoreip.
    Install {
        /// The setup to install.
        #[arg(long, value_enum, default_value_t)]
        profile: ProfileName,
        /// Work on a staged tree instead of the host: nothing is started, reloaded or installed.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Print a unified diff of every change and write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Add your SSH client address to ignoreip; replace files changed since install (keeping copies).
        #[arg(long)]
        yes: bool,
        /// The firewall fail2ban bans with.
        #[arg(long, value_enum, default_value_t)]
        backend: BackendChoice,
        /// An address, network or host name fail2ban must never ban (repeatable).
        #[arg(long, value_name = "ADDR")]
        ignoreip: Vec<String>,
        /// Never run apt: fail if fail2ban is not installed.
        #[arg(long)]
        no_apt: bool,
        /// f2b-logger as the units run it (default: /usr/local/bin, /usr/bin, next to f2b-config).
        #[arg(long, value_name = "PATH")]
        logger: Option<String>,
    },
    /// Restores every original file and deletes what install created.
    Remove {
        /// Work on a staged tree instead of the host.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Go on although files were changed since install (a copy of each is kept).
        #[arg(long)]
        yes: bool,
        /// Print a unified diff of every change and write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Reports OK/WARN/FAIL per item: fail2ban, jails, loggers, journald, sshd, filters.
    Status {
        /// Check a staged tree instead of the host.
        #[arg(long, value_name = "DIR")]
        root: Option<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Writes the profile's files under DIR (DIR/etc/...), for review.
    Render {
        /// The setup to render.
        #[arg(long, value_enum, default_value_t)]
        profile: ProfileName,
        /// The firewall fail2ban bans with.
        #[arg(long, value_enum, default_value_t)]
        backend: BackendChoice,
        /// f2b-logger as the units run it.
        #[arg(long, value_name = "PATH")]
        logger: Option<String>,
        /// An address fail2ban must never ban (repeatable).
        #[arg(long, value_name = "ADDR")]
        ignoreip: Vec<String>,
        /// Where to write.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

fn print(out: Output) {
    print!("{}", out.text);
    for w in out.warnings {
        eprintln!("warning: {w}");
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Install { profile, root, dry_run, yes, backend, ignoreip, no_apt, logger } => {
            let req =
                InstallRequest { root, profile, dry_run, yes, backend, ignoreip, no_apt, logger };
            print(commands::install(&req)?);
        }
        Command::Remove { root, yes, dry_run } => {
            print(commands::remove(root.as_deref(), yes, dry_run)?)
        }
        Command::Status { root, json } => {
            let st = f2b_config::status::check(&Root::open(root.as_deref())?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                print!("{}", st.render());
            }
            return Ok(if st.ok { ExitCode::SUCCESS } else { ExitCode::from(1) });
        }
        Command::Render { profile, backend, logger, ignoreip, out } => {
            print(commands::render(profile, backend, logger.as_deref(), &ignoreip, &out)?)
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = if cli.verbose { "f2b_config=debug" } else { "f2b_config=warn" };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Our errors already carry their cause in one line; the chain would repeat it.
            eprintln!("f2b-config: error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
