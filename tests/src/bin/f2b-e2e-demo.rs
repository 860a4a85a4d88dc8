//! `make demo` on a machine that can run it (via scripts/demo-e2e.sh): the end-to-end flow of the
//! tests, narrated. Exit 0 when every step behaved, 1 otherwise (with the reason and diagnostics).

use anyhow::{bail, Result};
use clap::Parser;
use f2b_e2e::{ConfigSource, Forwarder, JournalSource, Options, Stack};
use std::time::Duration;

/// Narrated end-to-end run: journald → f2b-logger → fail2ban → nftables, in private namespaces.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Use journal files written by systemd-journal-remote instead of a running journald.
    #[arg(long)]
    journal_remote: bool,
    /// Skip the comparison with the seed's `journalctl -f >> file` loggers.
    #[arg(long)]
    no_contrast: bool,
    /// Use a hand-written fail2ban configuration instead of f2b-config's (checks the harness).
    #[arg(long, hide = true)]
    hand_written: bool,
}

const PATIENCE: Duration = Duration::from_secs(15);

fn main() {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => println!("\nAll steps behaved as expected."),
        Err(e) => {
            eprintln!("\nf2b-e2e-demo: {e:#}");
            std::process::exit(1);
        }
    }
}

fn options(args: &Args, forwarder: Forwarder) -> Options {
    Options {
        journal: if args.journal_remote { JournalSource::Remote } else { JournalSource::Auto },
        config: if args.hand_written || forwarder == Forwarder::Journalctl {
            ConfigSource::HandWritten
        } else {
            ConfigSource::F2bConfig
        },
        forwarder,
        ignoreip: vec!["203.0.113.50".into()],
        verbose: true,
        ..Options::default()
    }
}

fn heading(text: &str) {
    println!("\n### {text}");
}

fn show_log(s: &Stack, file: &str) -> Result<()> {
    println!("--- {file}");
    for l in s.log_lines(file)? {
        println!("{l}");
    }
    Ok(())
}

fn run(args: &Args) -> Result<()> {
    heading("Starting the journal, f2b-logger and fail2ban-server in private namespaces");
    let mut s = Stack::start(options(args, Forwarder::F2bLogger))?;
    let res = steps(&mut s);
    r(&s, res)?;
    drop(s);
    if !args.no_contrast {
        heading("The same forged message with the seed's `journalctl -f >> file` loggers");
        let mut s = Stack::start(options(args, Forwarder::Journalctl))?;
        let res = contrast(&mut s);
        r(&s, res)?;
    }
    Ok(())
}

/// Adds the stack's diagnostics to an error.
fn r(s: &Stack, res: Result<()>) -> Result<()> {
    res.map_err(|e| e.context(s.diagnostics()))
}

fn steps(s: &mut Stack) -> Result<()> {
    heading("1. Three failed web UI logins from 192.0.2.10 (proxmox jail: maxretry 3)");
    s.pvedaemon_failures("192.0.2.10", 3)?;
    let took = s.wait_banned("proxmox", "192.0.2.10", PATIENCE)?;
    show_log(s, "/var/log/proxmox-auth.log")?;
    println!("banned {took:.2?} after the third failure reached the journal");
    s.jail_status("proxmox")?;

    heading("2. Five failures from 203.0.113.50, which is in ignoreip");
    s.pvedaemon_failures("203.0.113.50", 5)?;
    s.pvedaemon_failures("192.0.2.11", 3)?;
    s.wait_banned("proxmox", "192.0.2.11", PATIENCE)?;
    if s.nft_banned("proxmox")?.iter().any(|a| a == "203.0.113.50") {
        bail!("203.0.113.50 is in ignoreip but was banned");
    }
    println!("203.0.113.50 not banned (192.0.2.11, logged after it, was)");

    heading("3. A user name with a newline and a forged log line for 198.51.100.66");
    forged(s, "198.51.100.20", "198.51.100.66")?;
    show_log(s, "/var/log/proxmox-auth.log")?;
    if s.nft_banned("proxmox")?.iter().any(|a| a == "198.51.100.66") {
        bail!("the forged line banned 198.51.100.66");
    }
    println!("198.51.100.20 (the sender) banned; 198.51.100.66 (forged) not banned");

    heading("4. Two failed SSH passwords from 192.0.2.40 (sshd jail: maxretry 2)");
    s.sshd_failures("192.0.2.40", 2)?;
    s.wait_banned("sshd", "192.0.2.40", PATIENCE)?;
    show_log(s, "/var/log/ssh-auth.log")?;
    s.jail_status("sshd")?;

    heading("nft list ruleset (inside the namespace)");
    print!("{}", s.nft_ruleset()?);
    Ok(())
}

fn forged(s: &mut Stack, attacker: &str, victim: &str) -> Result<()> {
    let now = std::process::Command::new("date").arg("+%Y-%m-%dT%H:%M:%S%z").output()?;
    let now = String::from_utf8_lossy(&now.stdout).trim().to_owned();
    let msg = format!(
        "authentication failure; rhost=::ffff:{attacker} user=x\n\
         {now} pve pvedaemon[1562]: authentication failure; rhost=::ffff:{victim} user=root@pam \
         msg=Authentication failure"
    );
    s.send("pvedaemon.service", "pvedaemon", &vec![msg; 3])?;
    s.wait_banned("proxmox", attacker, PATIENCE)?;
    Ok(())
}

fn contrast(s: &mut Stack) -> Result<()> {
    forged(s, "198.51.100.21", "198.51.100.67")?;
    show_log(s, "/var/log/proxmox-auth.log")?;
    s.wait_banned("proxmox", "198.51.100.67", PATIENCE)?;
    println!("with journalctl's continuation lines, the forged 198.51.100.67 is banned too");
    s.jail_status("proxmox")?;
    Ok(())
}
