//! Process level: sets up every route, runs one thread per route, and drives signals,
//! commit timers, sd_notify and the final save on a small tokio runtime.

use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, SignalKind};

use crate::checkpoint::{Checkpoint, Loaded, State};
use crate::cli::{Config, Route, StartAt};
use crate::error::{Error, Result};
use crate::format::Formatter;
use crate::recover::Recovery;
use crate::route::{self, RouteSetup, Shared};
use crate::writer::{find_by_identity, Output};

/// Longest the state may lag behind the written lines while lines keep coming.
pub const COMMIT_INTERVAL: Duration = Duration::from_millis(100);

/// Runs until SIGTERM/SIGINT (or, with `--once`, until every route is caught up); saves the
/// state of every route before returning.
pub fn run(config: Config) -> Result<()> {
    let mut setups = Vec::new();
    for r in &config.routes {
        setups.push(prepare(&config, r)?);
    }
    let shared: Vec<Arc<Shared>> = setups.iter().map(|s| s.shared.clone()).collect();

    let mut threads = Vec::new();
    for setup in setups {
        let (tx, rx) = std::sync::mpsc::channel();
        let name = setup.shared.name();
        let t = std::thread::Builder::new()
            .name(format!("route {}", setup.shared.unit))
            .spawn(move || route::run(setup, tx))
            .map_err(|e| Error::Runtime(format!("route {name}: cannot start its thread: {e}")))?;
        match rx.recv() {
            Ok(Ok(())) => threads.push(t),
            Ok(Err(e)) => {
                shared.iter().for_each(|s| s.stop());
                return Err(e);
            }
            Err(_) => {
                return Err(Error::Runtime(format!("route {name}: thread died during start-up")))
            }
        }
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(format!("cannot start the runtime: {e}")))?;
    rt.block_on(supervise(shared, threads))
}

/// Opens state and output of a route (on the main thread, so that errors are reported before
/// READY) and works out what recovery has to check.
fn prepare(config: &Config, r: &Route) -> Result<RouteSetup> {
    let name = format!("{}={}", r.unit, r.path.display());
    let ck = Checkpoint::open(&config.state_dir, &r.unit, &r.path, config.fsync)?;
    let loaded = ck.load(&r.unit, &r.path)?;
    let output = Output::open(&r.path, config.create)?;
    let out_err = |source| Error::Output { path: r.path.clone(), source };
    let mut corrupt = false;
    let (resume, recovery, state) = match loaded {
        Loaded::Valid(s) => {
            let now = output.mark();
            let mut tail: Vec<(std::path::PathBuf, u64)> = Vec::new();
            if (now.dev, now.ino) == (s.output.dev, s.output.ino) {
                // Shrunk while we were away (copytruncate): all of it is after the state.
                tail.push((
                    r.path.clone(),
                    if now.size >= s.output.size { s.output.size } else { 0 },
                ));
            } else {
                let dir = r.path.parent().unwrap_or(std::path::Path::new("/"));
                if let Some(old) = find_by_identity(dir, s.output) {
                    tracing::info!(route = %name, old = %old.display(), "output was rotated while we were down; checking both files for unsaved lines");
                    tail.push((old, s.output.size));
                }
                tail.push((r.path.clone(), 0));
            }
            let spec: Vec<(&std::path::Path, u64)> =
                tail.iter().map(|(p, o)| (p.as_path(), *o)).collect();
            let rec = Recovery::new(&spec).map_err(out_err)?;
            (Some(s.position.clone()), rec, s)
        }
        other => {
            corrupt = matches!(other, Loaded::Corrupt { .. });
            if let Loaded::Corrupt { reason, kept } = &other {
                tracing::warn!(route = %name, %reason, kept = %kept.display(), "state file is corrupt; kept a copy; starting at the tail");
            }
            let s = State {
                version: crate::checkpoint::VERSION,
                unit: r.unit.clone(),
                path: r.path.clone(),
                position: crate::checkpoint::Position::Head,
                output: output.mark(),
            };
            (None, Recovery::none(), s)
        }
    };
    let (shared, wake_rx) =
        Shared::new(ck, state, config.fsync).map_err(|e| Error::Runtime(e.to_string()))?;
    Ok(RouteSetup {
        shared,
        wake_rx,
        output,
        recovery,
        resume,
        // A corrupt state never leads to a backfill from the head, whatever --start-at says.
        start_at_head: !corrupt && config.start_at == StartAt::Head,
        source: config.source.clone(),
        formatter: Formatter::new(config.format, config.max_message),
        threshold: config.max_message + 64,
        once: config.once,
    })
}

async fn supervise(
    shared: Vec<Arc<Shared>>,
    threads: Vec<std::thread::JoinHandle<()>>,
) -> Result<()> {
    let sig =
        |k| signal(k).map_err(|e| Error::Runtime(format!("cannot install signal handler: {e}")));
    let (mut term, mut int, mut hup) =
        (sig(SignalKind::terminate())?, sig(SignalKind::interrupt())?, sig(SignalKind::hangup())?);

    let committers: Vec<_> = shared.iter().map(|s| tokio::spawn(committer(s.clone()))).collect();
    crate::notify::ready(&crate::notify::status_line(&shared));
    tracing::info!(routes = shared.len(), "forwarding");
    let reporter = tokio::spawn(reporter(shared.clone()));

    let mut done = tokio::task::spawn_blocking(move || {
        // Join every thread, even after one failed.
        let joined: Vec<bool> = threads.into_iter().map(|t| t.join().is_ok()).collect();
        joined.iter().all(|&ok| ok)
    });
    let mut stopping = false;
    let all_ok = loop {
        tokio::select! {
            ok = &mut done => break ok.unwrap_or(false),
            _ = term.recv(), if !stopping => { tracing::info!("SIGTERM: finishing the current batch and saving state"); stopping = true; }
            _ = int.recv(), if !stopping => { tracing::info!("SIGINT: finishing the current batch and saving state"); stopping = true; }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reopening output files");
                shared.iter().for_each(|s| s.reopen());
            }
        }
        if stopping {
            crate::notify::stopping();
            shared.iter().for_each(|s| s.stop());
        }
    };
    reporter.abort();
    committers.iter().for_each(|c| c.abort());
    for c in committers {
        let _ = c.await;
    }
    // The final save: whatever the committers had not covered yet.
    let mut result = Ok(());
    for s in &shared {
        let s2 = s.clone();
        match tokio::task::spawn_blocking(move || s2.commit()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(route = %s.name(), error = %e, "final save failed");
                result = Err(e);
            }
            Err(e) => result = Err(Error::Runtime(format!("final save of {}: {e}", s.name()))),
        }
    }
    tracing::info!("{}", crate::notify::status_line(&shared));
    if !all_ok {
        return Err(Error::Runtime(
            "a route thread panicked; its state is saved up to its last written line".into(),
        ));
    }
    result
}

/// Commits a route every [`COMMIT_INTERVAL`], or earlier when it has written
/// [`route::COMMIT_LINES`] lines since the last commit.
async fn committer(s: Arc<Shared>) {
    let mut tick = tokio::time::interval(COMMIT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = s.kick.notified() => {}
        }
        let s2 = s.clone();
        match tokio::task::spawn_blocking(move || s2.commit()).await {
            Ok(Ok(_)) => {
                if failing {
                    tracing::info!(route = %s.name(), "saving state works again");
                }
                failing = false;
            }
            Ok(Err(e)) => {
                if !failing {
                    tracing::error!(route = %s.name(), error = %e, "cannot save state; retrying");
                }
                failing = true;
            }
            Err(_) => return,
        }
    }
}

/// STATUS= every few seconds and WATCHDOG=1 while every route thread is alive.
async fn reporter(shared: Vec<Arc<Shared>>) {
    let watchdog = crate::notify::watchdog_interval();
    let period = watchdog.map_or(Duration::from_secs(5), |w| (w / 2).min(Duration::from_secs(5)));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        crate::notify::status(&crate::notify::status_line(&shared));
        if let Some(w) = watchdog {
            let limit = w.as_millis() as u64;
            if shared.iter().all(|s| s.millis_since_heartbeat() < limit) {
                crate::notify::watchdog();
            } else {
                tracing::warn!("a route thread is stuck; not feeding the watchdog");
            }
        }
    }
}
