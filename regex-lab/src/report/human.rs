//! The human report, shaped like fail2ban-regex's output so its users read it at a glance:
//! "Running tests" with the `Use ...` lines, then "Results" with the prefregex total, the
//! failregex table `#) [# of hits] regular expression` (regexes as written, tags included),
//! ignoreregexes, date template hits, `Lines: ...` and the processing time, plus lines/s.
//! Log text is escaped before it reaches the terminal.

use std::io::{self, Write};

use super::counts::LIST_LIMIT;
use super::{rate, FilterRun, RunSummary};

/// Writes the report: one "Running tests" / "Results" section per filter.
pub fn write(w: &mut dyn Write, run: &RunSummary<'_>, verbose: u8) -> io::Result<()> {
    for f in &run.filters {
        write_filter(w, run, f, verbose)?;
    }
    if run.filters.len() > 1 {
        writeln!(w)?;
        writeln!(
            w,
            "All filters: {} lines read once, fed to {} filters, in {:.2} sec ({:.0} lines/s)",
            run.lines,
            run.filters.len(),
            run.elapsed.as_secs_f64(),
            rate(run.lines, run.elapsed)
        )?;
        writeln!(w)?;
    }
    Ok(())
}

fn write_filter(
    w: &mut dyn Write,
    run: &RunSummary<'_>,
    f: &FilterRun<'_>,
    verbose: u8,
) -> io::Result<()> {
    let def = f.filter.def();
    writeln!(w)?;
    writeln!(w, "Running tests")?;
    writeln!(w, "=============")?;
    writeln!(w)?;
    match &def.basedir {
        Some(base) => writeln!(
            w,
            "Use   failregex filter file : {}, basedir: {}",
            escape(&def.header_name),
            escape(&base.display().to_string())
        )?,
        None => writeln!(w, "Use   failregex file : {}", escape(&def.header_name))?,
    }
    if !f.options.options.is_empty() {
        writeln!(w, "Use   filter options : {}", escape(&f.options.options_repr()))?;
    }
    if def.maxlines.is_some() {
        writeln!(w, "Use         maxlines : {}", f.filter.maxlines())?;
    }
    if let Some(dp) = &def.datepattern_raw {
        writeln!(w, "Use      datepattern : {} : {}", escape(dp), escape(&f.date_describe))?;
    }
    for log in run.logs {
        writeln!(w, "Use         log file : {}", escape(log))?;
    }
    writeln!(w, "Use         encoding : UTF-8")?;
    writeln!(w)?;
    writeln!(w)?;
    writeln!(w, "Results")?;
    writeln!(w, "=======")?;
    let c = f.counts;
    if let Some(p) = f.filter.prefregex() {
        writeln!(w)?;
        writeln!(w, "Prefregex: {} total", c.prefregex)?;
        let mut items = vec![p.expanded().to_string()];
        let names = f.filter.names();
        items.extend(c.prefregex_groups.iter().map(|g| format!("    {}", g.py_repr(names))));
        if c.prefregex_groups_more {
            items.push("    ...".to_string());
        }
        list(w, None, &items)?;
    }
    let mut items = Vec::new();
    for (i, r) in f.filter.failregex().iter().enumerate() {
        if c.failregex[i] > 0 || verbose > 0 {
            items.push(format!("{:2}) [{}] {}", i + 1, c.failregex[i], r.source()));
        }
        if let Some(hits) = c.hits.as_ref().map(|h| &h[i]) {
            for h in hits {
                items.push(format!(
                    "    {}  {}{}",
                    h.id.as_deref().unwrap_or("None"),
                    local_time(h.time),
                    if h.multiple { " (multiple regex matched)" } else { "" }
                ));
            }
        }
    }
    writeln!(w)?;
    writeln!(w, "Failregex: {} total", c.failregex_total())?;
    list(w, Some(" #) [# of hits] regular expression"), &items)?;
    let items: Vec<String> = f
        .filter
        .ignoreregex()
        .iter()
        .enumerate()
        .filter(|(i, _)| c.ignoreregex[*i] > 0 || verbose > 0)
        .map(|(i, r)| format!("{:2}) [{}] {}", i + 1, c.ignoreregex[i], r.source()))
        .collect();
    writeln!(w)?;
    writeln!(w, "Ignoreregex: {} total", c.ignoreregex_total())?;
    list(w, Some(" #) [# of hits] regular expression"), &items)?;
    writeln!(w)?;
    writeln!(w, "Date template hits:")?;
    let items: Vec<String> =
        f.date_hits.iter().map(|t| format!("[{}] {}", t.hits, t.name)).collect();
    list(w, Some("[# of hits] date format"), &items)?;
    writeln!(w)?;
    writeln!(
        w,
        "Lines: {} lines, {} ignored, {} matched, {} missed",
        c.lines, c.ignored, c.matched, c.missed
    )?;
    writeln!(
        w,
        "[processed in {:.2} sec, {:.0} lines/s]",
        f.elapsed.as_secs_f64(),
        rate(c.lines, f.elapsed)
    )?;
    if let Some((line, regex, msg)) = &c.first_aborted {
        writeln!(
            w,
            "PCRE2 gave up on {} search(es) on {} line(s), counted as no match; first: line {}, {}: {}",
            c.aborted_searches, c.aborted_lines, line, regex, msg
        )?;
    }
    writeln!(w)?;
    if c.keep.all_matched {
        lines_block(w, "matched", c.matched, &c.matched_lines, true)?;
    }
    lines_block(w, "ignored", c.ignored, &c.ignored_lines, c.keep.all_ignored)?;
    lines_block(w, "missed", c.missed, &c.missed_lines, c.keep.all_missed)?;
    Ok(())
}

/// fail2ban-regex's `pprint_list`: `|- header`, `|  item`..., `` `- ``; nothing when empty.
fn list(w: &mut dyn Write, header: Option<&str>, items: &[String]) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    if let Some(h) = header {
        writeln!(w, "|- {h}")?;
    }
    for it in items {
        writeln!(w, "|  {}", escape(it))?;
    }
    writeln!(w, "`-")
}

/// fail2ban-regex's `printLines`: the list, or a hint when there are too many.
fn lines_block(
    w: &mut dyn Write,
    kind: &str,
    count: i64,
    lines: &[String],
    all: bool,
) -> io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let mut header = format!("{kind} line(s):");
    header[..1].make_ascii_uppercase();
    if count < LIST_LIMIT as i64 || all {
        let items: Vec<String> = lines.iter().map(|l| l.trim_end().to_string()).collect();
        list(w, Some(&header), &items)
    } else {
        writeln!(
            w,
            "{header} too many to print.  Use --print-all-{kind} to print all {count} lines"
        )
    }
}

/// `%a %b %d %H:%M:%S %Y` in the machine's zone, as fail2ban-regex `-v` prints hit times
/// (a line without a time shows now, as there).
fn local_time(t: Option<f64>) -> String {
    let ts = match t {
        Some(t) => jiff::Timestamp::from_second(t.floor() as i64).ok(),
        None => Some(jiff::Timestamp::now()),
    };
    match ts {
        Some(ts) => {
            ts.to_zoned(jiff::tz::TimeZone::system()).strftime("%a %b %d %H:%M:%S %Y").to_string()
        }
        None => "?".to_string(),
    }
}

/// Makes log text safe for a terminal: control characters (but tab) become `\xNN` / `\u{..}`,
/// so a hostile line cannot move the cursor or change colours.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

fn needs_escape(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape("plain\tline"), "plain\tline");
        assert_eq!(escape("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape("rtl\u{202e}x"), "rtl\\u{202e}x");
    }

    #[test]
    fn pprint_list_shape() {
        let mut out = Vec::new();
        list(&mut out, Some("hdr"), &["a".into(), "b".into()]).unwrap();
        list(&mut out, Some("never"), &[]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "|- hdr\n|  a\n|  b\n`-\n");
    }
}
