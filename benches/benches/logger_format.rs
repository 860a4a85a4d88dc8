//! f2b-logger's pure stages: one entry → one line (journalctl path and escape path).
//! The journal side and the whole program are measured by scripts/bench-logger.sh.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use f2b_logger::entry::Entry;
use f2b_logger::escape;
use f2b_logger::format::{Format, Formatter};

fn entry(message: &[u8], i: u64) -> Entry {
    Entry {
        realtime: 1_700_000_000_000_000 + i * 7_919,
        source_realtime: Some((1_700_000_000_000_000 + i * 7_919 - 15).to_string().into_bytes()),
        hostname: Some(b"pve1".to_vec()),
        identifier: Some(b"pvedaemon".to_vec()),
        comm: Some(b"pvedaemon worke".to_vec()),
        pid: Some(b"123456".to_vec()),
        syslog_pid: None,
        message: Some(message.to_vec()),
    }
}

fn bench(c: &mut Criterion) {
    let plain =
        b"authentication failure; rhost=::ffff:10.1.2.3 user=root@pam msg=Authentication failure";
    let hostile = b"x\n2024-01-01T00:00:00+0000 pve1 pvedaemon[1]: authentication failure; rhost=198.51.100.7\r\x1b[2K\xff";
    let entries: Vec<Entry> = (0..1000).map(|i| entry(plain, i)).collect();
    let hostile_entries: Vec<Entry> = (0..1000).map(|i| entry(hostile, i)).collect();

    let mut g = c.benchmark_group("logger_format");
    g.throughput(Throughput::Elements(1000));
    for format in [Format::ShortIso, Format::Short, Format::ShortIsoPrecise] {
        g.bench_function(format!("{}/plain", format.name()), |b| {
            let mut f = Formatter::new(format, escape::DEFAULT_MAX_MESSAGE);
            let mut out = Vec::with_capacity(256 * 1024);
            b.iter(|| {
                out.clear();
                for e in &entries {
                    f.push_line(e, &mut out);
                }
                out.len()
            })
        });
    }
    g.bench_function("short-iso/hostile", |b| {
        let mut f = Formatter::new(Format::ShortIso, escape::DEFAULT_MAX_MESSAGE);
        let mut out = Vec::with_capacity(256 * 1024);
        b.iter(|| {
            out.clear();
            for e in &hostile_entries {
                f.push_line(e, &mut out);
            }
            out.len()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("logger_escape");
    let long: Vec<u8> = plain.iter().cycle().take(16_000).copied().collect();
    let mut long_tabs = long.clone();
    long_tabs[100] = b'\t';
    let mut long_nl = long.clone();
    long_nl[100] = b'\n';
    for (name, msg) in [("ascii-16k", &long), ("tab-16k", &long_tabs), ("newline-16k", &long_nl)] {
        g.throughput(Throughput::Bytes(msg.len() as u64));
        g.bench_function(name, |b| {
            let (mut out, mut scratch) = (Vec::new(), Vec::new());
            b.iter(|| {
                out.clear();
                escape::push_message(&mut out, msg, escape::DEFAULT_MAX_MESSAGE, &mut scratch)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
