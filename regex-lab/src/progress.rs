//! The progress bar of a long replay: on stderr, only when stderr is a terminal and the input
//! is large (never when piped or redirected, so logs and scripts see nothing of it).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::{LineReader, Source};

/// Inputs smaller than this finish before a bar is worth drawing.
const LARGE: u64 = 64 << 20;

/// A progress bar, or nothing.
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar over the bytes of plain files, or a spinner counting lines when the size is not
    /// known (stdin, gzip); hidden unless stderr is a terminal and the input is large.
    pub fn for_inputs(readers: &[LineReader]) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar { bar: None };
        }
        let mut total = Some(0u64);
        for r in readers {
            let size = match r.source() {
                Source::Path(p) if !r.is_compressed() => std::fs::metadata(p).ok().map(|m| m.len()),
                _ => None,
            };
            total = total.zip(size).map(|(t, s)| t + s);
        }
        let bar = match total {
            Some(t) if t < LARGE => return Bar { bar: None },
            Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{msg:>14} {wide_bar} {bytes}/{total_bytes} ETA {eta}",
                    )
                    .expect("a valid template"),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                    .expect("a valid template"),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar { bar: Some(bar) }
    }

    pub fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    /// `bytes` and `lines` read so far.
    pub fn update(&self, bytes: u64, lines: u64) {
        if let Some(b) = &self.bar {
            b.set_position(bytes);
            b.set_message(format!("{lines} lines"));
        }
    }

    /// Removes the bar (the report follows on stdout).
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
