//! Command line → [`Config`]. Parsing only validates syntax; resolving users and groups is
//! the only look-up done here.

use std::path::PathBuf;

use clap::Parser;

use crate::error::{Error, Result};
use crate::format::Format;
use crate::reader::Source;
use crate::writer::CreateMode;

/// Forward journal entries of systemd units to log files, journalctl-identical and exactly-once.
///
/// Replaces `journalctl -f _SYSTEMD_UNIT=UNIT -o short-iso >> FILE` services: reads the journal
/// through libsystemd, writes the lines journalctl would print (one line per entry, control
/// bytes escaped as #ooo), and keeps a per-route state so that nothing is lost or written twice
/// across restarts, crashes, journal vacuum and logrotate.
#[derive(Debug, Parser)]
#[command(name = "f2b-logger", version, about, long_about, after_long_help = EXAMPLES)]
pub struct Args {
    /// Forward entries with _SYSTEMD_UNIT=UNIT to the file PATH (repeatable).
    ///
    /// PATH must be absolute. Each route keeps its own state, named after unit and path.
    #[arg(long = "route", value_name = "UNIT=PATH", required = true)]
    pub routes: Vec<String>,

    /// Directory holding the per-route state (cursor and output size).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/f2b-logger")]
    pub state_dir: PathBuf,

    /// Line format, as journalctl's --output.
    ///
    /// short-iso prints `2026-11-24T02:04:08+0100 host ident[pid]: message`; all four are
    /// understood by fail2ban's default date detection.
    #[arg(long, value_enum, value_name = "FORMAT", default_value = "short-iso")]
    pub format: Format,

    /// Read the journal files in DIR instead of the local journal.
    #[arg(long, value_name = "DIR", conflicts_with = "journal_file")]
    pub journal_dir: Option<PathBuf>,

    /// Read these journal files instead of the local journal (repeatable).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub journal_file: Vec<PathBuf>,

    /// Forward what the journal holds now, save the state and exit (no following).
    #[arg(long)]
    pub once: bool,

    /// Where a route without saved state starts: tail (only new entries) or head (backfill).
    ///
    /// tail is the default because replaying history into fail2ban bans again for old
    /// failures. A route with saved state always resumes from it.
    #[arg(long, value_enum, value_name = "WHERE", default_value = "tail")]
    pub start_at: StartAt,

    /// Permission bits (octal) of an output file f2b-logger creates.
    #[arg(long, value_name = "MODE", default_value = "0640", value_parser = parse_mode)]
    pub file_mode: u32,

    /// Owner of an output file f2b-logger creates.
    #[arg(long, value_name = "USER", default_value = "root")]
    pub file_owner: String,

    /// Group of an output file f2b-logger creates (left as is if the default group is missing).
    #[arg(long, value_name = "GROUP", default_value = "adm")]
    pub file_group: String,

    /// Do not fsync (faster; exactly-once then survives process crashes but not power loss).
    #[arg(long)]
    pub no_fsync: bool,

    /// Longest message text written per entry, in bytes; longer ones are cut and end in
    /// `#[truncated]`.
    #[arg(long, value_name = "BYTES", default_value_t = crate::escape::DEFAULT_MAX_MESSAGE,
          value_parser = clap::value_parser!(usize))]
    pub max_message_bytes: usize,
}

const EXAMPLES: &str = "\
Examples:
  f2b-logger --route pvedaemon.service=/var/log/proxmox-auth.log \\
             --route ssh.service=/var/log/ssh-auth.log
  f2b-logger --once --start-at head --journal-dir /var/log/journal --route ssh.service=/tmp/ssh.log

Exit status: 0 after a clean stop (SIGTERM, SIGINT, or --once done), 2 on errors.
Logs go to stderr; set F2B_LOGGER_LOG=debug (or RUST_LOG) for more.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StartAt {
    Tail,
    Head,
}

fn parse_mode(s: &str) -> std::result::Result<u32, String> {
    u32::from_str_radix(s.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("{s:?} is not an octal mode such as 0640"))
}

/// One unit → file mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub unit: String,
    pub path: PathBuf,
}

/// Everything [`crate::daemon::run`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub routes: Vec<Route>,
    pub state_dir: PathBuf,
    pub format: Format,
    pub source: Source,
    pub once: bool,
    pub start_at: StartAt,
    pub create: CreateMode,
    pub fsync: bool,
    pub max_message: usize,
}

pub fn parse_route(s: &str) -> Result<Route> {
    let (unit, path) = s.split_once('=').ok_or_else(|| Error::RouteSyntax(s.to_owned()))?;
    let path = PathBuf::from(path);
    if unit.is_empty() || !path.is_absolute() || path.file_name().is_none() {
        return Err(Error::RouteSyntax(s.to_owned()));
    }
    if unit.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'/') {
        return Err(Error::RouteInvalid(
            s.to_owned(),
            "the unit name contains white space, a control character or '/'",
        ));
    }
    if crate::checkpoint::stem(unit, &path).len() > 240 {
        return Err(Error::RouteInvalid(
            s.to_owned(),
            "unit and path are too long for a state file name",
        ));
    }
    Ok(Route { unit: unit.to_owned(), path })
}

impl Args {
    pub fn into_config(self) -> Result<Config> {
        let routes = self.routes.iter().map(|r| parse_route(r)).collect::<Result<Vec<_>>>()?;
        for (i, a) in routes.iter().enumerate() {
            if routes[..i].iter().any(|b| b.path == a.path) {
                return Err(Error::RouteInvalid(
                    format!("{}={}", a.unit, a.path.display()),
                    "another route writes to the same file; give each route its own file",
                ));
            }
        }
        let source = match (self.journal_dir, self.journal_file.is_empty()) {
            (Some(d), _) => Source::Directory(d),
            (None, false) => Source::Files(self.journal_file),
            (None, true) => Source::Local,
        };
        if self.max_message_bytes < 64 {
            return Err(Error::Runtime("--max-message-bytes: at least 64".into()));
        }
        let uid = resolve(&self.file_owner, "root", |n| {
            nix::unistd::User::from_name(n).ok().flatten().map(|u| u.uid.as_raw())
        })?;
        let gid = resolve(&self.file_group, "adm", |n| {
            nix::unistd::Group::from_name(n).ok().flatten().map(|g| g.gid.as_raw())
        })?;
        Ok(Config {
            routes,
            state_dir: self.state_dir,
            format: self.format,
            source,
            once: self.once,
            start_at: self.start_at,
            create: CreateMode { mode: self.file_mode, uid, gid },
            fsync: !self.no_fsync,
            max_message: self.max_message_bytes,
        })
    }
}

/// A name or number; the default name may be missing on the host (then: leave as created).
fn resolve(name: &str, default: &str, lookup: impl Fn(&str) -> Option<u32>) -> Result<Option<u32>> {
    if let Ok(n) = name.parse::<u32>() {
        return Ok(Some(n));
    }
    match lookup(name) {
        Some(id) => Ok(Some(id)),
        None if name == default => {
            tracing::warn!(
                "{name:?} does not exist here; new output files keep the creator's owner/group"
            );
            Ok(None)
        }
        None => Err(Error::NoSuchOwner(name.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_valid() {
        use clap::CommandFactory;
        Args::command().debug_assert();
    }

    #[test]
    fn routes() {
        assert_eq!(
            parse_route("pvedaemon.service=/var/log/proxmox-auth.log").unwrap(),
            Route { unit: "pvedaemon.service".into(), path: "/var/log/proxmox-auth.log".into() }
        );
        // The first '=' separates: unit names cannot contain one, paths may.
        assert_eq!(parse_route("a.service=/x=y").unwrap().path, PathBuf::from("/x=y"));
        for bad in [
            "ssh.service",
            "=/x",
            "ssh.service=relative.log",
            "ssh.service=",
            "ssh.service=/",
            "a b=/x",
        ] {
            assert!(parse_route(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn config_defaults_and_conflicts() {
        let c =
            Args::try_parse_from(["f2b-logger", "--route", "ssh.service=/var/log/ssh-auth.log"])
                .unwrap()
                .into_config()
                .unwrap();
        assert_eq!(c.format, Format::ShortIso);
        assert_eq!(c.state_dir, PathBuf::from("/var/lib/f2b-logger"));
        assert_eq!(c.source, Source::Local);
        assert_eq!(c.create.mode, 0o640);
        assert!(c.fsync && !c.once && c.start_at == StartAt::Tail);
        assert!(Args::try_parse_from(["f2b-logger"]).is_err());
        assert!(Args::try_parse_from([
            "f2b-logger",
            "--route",
            "a=/x",
            "--journal-dir",
            "/d",
            "--journal-file",
            "/f"
        ])
        .is_err());
        let dup =
            Args::try_parse_from(["f2b-logger", "--route", "a=/x", "--route", "b=/x"]).unwrap();
        assert!(dup.into_config().is_err());
        assert!(
            Args::try_parse_from(["f2b-logger", "--route", "a=/x", "--file-mode", "999"]).is_err()
        );
    }
}
