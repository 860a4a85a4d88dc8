//! Running host commands (systemctl, apt, fail2ban-client, nft) with their output captured.

use std::process::{Command, Stdio};

use crate::error::{Error, Result};

/// The command line as shown in messages.
pub fn show(program: &str, args: &[&str]) -> String {
    std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ")
}

/// Runs a command; `Ok(stdout)` when it exits 0, else an error with its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String> {
    run_env(program, args, &[])
}

/// [`run`] with extra environment variables.
pub fn run_env(program: &str, args: &[&str], env: &[(&str, &str)]) -> Result<String> {
    tracing::debug!("running {}", show(program, args));
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .env("LC_ALL", "C")
        .envs(env.iter().copied())
        .output()
        .map_err(|e| Error::Command { command: show(program, args), detail: e.to_string() })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let detail: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    let detail =
        if detail.is_empty() { format!("exit status {}", out.status) } else { detail.join("; ") };
    Err(Error::Command { command: show(program, args), detail })
}

/// True when the command runs and exits 0 (output discarded).
pub fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
