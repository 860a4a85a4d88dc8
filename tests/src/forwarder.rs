//! The journal → file forwarders a stack runs: our f2b-logger (with the command lines of the units
//! f2b-config installed, or both routes in one process for a hand-written stage), or the seed's
//! `journalctl -f … >> file` shell loggers for contrast.

use crate::stage::{ConfigSource, Stage, ROUTES};
use anyhow::{bail, Result};
use std::path::Path;

/// What forwards the journal into the log files fail2ban reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forwarder {
    /// Our f2b-logger (Type=notify; the stack waits for READY=1).
    F2bLogger,
    /// The seed's `journalctl -f _SYSTEMD_UNIT=… -o short-iso >> file` shell loggers, for contrast.
    Journalctl,
}

/// (name, argv) of each forwarder process; `journal_dir` replaces the local journal.
pub fn command_lines(
    forwarder: Forwarder,
    stage: &Stage,
    config: ConfigSource,
    bin_dir: &Path,
    journal_dir: Option<&str>,
) -> Result<Vec<(String, Vec<String>)>> {
    let mut out = Vec::new();
    match forwarder {
        Forwarder::F2bLogger => {
            let prog = bin_dir.join("f2b-logger").display().to_string();
            let units = stage.logger_units()?;
            if units.is_empty() {
                if config == ConfigSource::F2bConfig {
                    bail!("f2b-config installed no unit running f2b-logger in etc/systemd/system");
                }
                let mut argv = vec![prog];
                for (unit, file) in ROUTES {
                    argv.extend(["--route".into(), format!("{unit}={file}")]);
                }
                argv.extend(["--state-dir".into(), "/var/lib/f2b-logger".into()]);
                argv.extend(["--format".into(), "short-iso".into()]);
                out.push(("f2b-logger".to_owned(), argv));
            } else {
                // The unit's own command line, with our build in place of /usr/local/bin.
                for (unit, args) in units {
                    let mut argv = vec![prog.clone()];
                    argv.extend(args);
                    out.push((unit, argv));
                }
            }
            if let Some(dir) = journal_dir {
                for (_, argv) in &mut out {
                    argv.extend(["--journal-dir".into(), dir.into()]);
                }
            }
        }
        Forwarder::Journalctl => {
            let dir = journal_dir.map(|d| format!("-D {d} ")).unwrap_or_default();
            for (unit, file) in ROUTES {
                let script = format!(
                    "exec journalctl {dir}-f _SYSTEMD_UNIT={unit} -o short-iso --no-pager >> {file}"
                );
                out.push((
                    format!("journalctl-{unit}"),
                    vec!["/bin/sh".into(), "-c".into(), script],
                ));
            }
        }
    }
    Ok(out)
}
