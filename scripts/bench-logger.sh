#!/usr/bin/env bash
# f2b-logger benchmark (not a test): compares f2b-logger with the journalctl it replaces.
#
#  1. catch-up: a journal of 1M entries (10% from pvedaemon.service, realistic field sets),
#     `f2b-logger --once` (fsync and state saves on, as in production) against
#     `journalctl -D … _SYSTEMD_UNIT=pvedaemon.service -o short-iso > file`, both under hyperfine
#     in the same run; the two outputs must be identical.
#  2. follow: a real journald in a private mount namespace (needs root + unshare); a sender in
#     the unit's cgroup logs 1000 entries/s; the latency from send to line in the file, p50/p99,
#     for f2b-logger and for `journalctl -f`; peak RSS of f2b-logger (catch-up and follow).
#
# Usage: scripts/bench-logger.sh [ENTRIES]   (default 1000000; the journal is cached in
# target/bench-logger/ and rebuilt when ENTRIES changes). Raw hyperfine JSON is kept there.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
W=${BENCH_DIR:-$PWD/target/bench-logger}
UNIT=pvedaemon.service
BIN=$PWD/target/release/f2b-logger
mkdir -p "$W"

echo "== building"
cargo build --release -q -p f2b-logger
for tool in hyperfine journalctl python3 /lib/systemd/systemd-journal-remote /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/install-deps.sh)"; exit 2; }
done

# --- the test journal -----------------------------------------------------------------
J=$W/journal-$N
if [ ! -f "$J/.complete" ]; then
  echo "== writing a journal of $N entries with systemd-journal-remote (cached in $J)"
  rm -rf "$J"; mkdir -p "$J"
  python3 - "$N" <<'EOF' | /lib/systemd/systemd-journal-remote -o "$J/bench.journal" - 2>/dev/null
import sys, random
n = int(sys.argv[1]); rnd = random.Random(7); out = sys.stdout.buffer
t = 1_700_000_000_000_000
units = ["pveproxy.service", "pvestatd.service", "cron.service", "systemd-logind.service",
         "corosync.service", "pve-cluster.service", "ssh.service", "pve-firewall.service", "qmeventd.service"]
for i in range(n):
    t += rnd.randrange(1, 20_000)
    ours = i % 10 == 0
    unit = "pvedaemon.service" if ours else units[i % 9]
    comm = unit.split(".")[0][:15]
    pid = 1000 + (i * 7919) % 60000
    if ours:
        msg = "authentication failure; rhost=::ffff:%d.%d.%d.%d user=root@pam msg=Authentication failure" % (
            10 + i % 200, i >> 16 & 255, i >> 8 & 255, i & 255)
    else:
        msg = "%s: worker %d finished task %d (status %s)" % (comm, pid, i, rnd.choice(["OK", "failed", "ok"]))
    fields = [
        ("__REALTIME_TIMESTAMP", str(t)), ("__MONOTONIC_TIMESTAMP", str(1_000_000 + t - 1_700_000_000_000_000)),
        ("_BOOT_ID", "0123456789abcdef0123456789abcdef"), ("_MACHINE_ID", "3d1219c7c4c5404aaa1f6d2a48adfda4"),
        ("_HOSTNAME", "pve1"), ("_TRANSPORT", "syslog"), ("PRIORITY", "5"), ("SYSLOG_FACILITY", "10"),
        ("SYSLOG_IDENTIFIER", comm), ("SYSLOG_TIMESTAMP", "Nov 14 22:13:20 "), ("_UID", "0"), ("_GID", "0"),
        ("_COMM", comm), ("_EXE", "/usr/bin/perl"), ("_CMDLINE", comm + " worker"),
        ("_CAP_EFFECTIVE", "1ffffffffff"), ("_SYSTEMD_CGROUP", "/system.slice/" + unit),
        ("_SYSTEMD_UNIT", unit), ("_SYSTEMD_SLICE", "system.slice"),
        ("_SYSTEMD_INVOCATION_ID", "%032x" % (hash(unit) & (2**128 - 1))), ("_PID", str(pid)),
        ("_SOURCE_REALTIME_TIMESTAMP", str(t - 15)), ("MESSAGE", msg),
    ]
    out.write("".join("%s=%s\n" % kv for kv in fields).encode() + b"\n")
EOF
  touch "$J/.complete"
fi
matched=$(journalctl -D "$J" "_SYSTEMD_UNIT=$UNIT" -o short-iso | wc -l)
echo "journal: $N entries, $matched from $UNIT, $(du -sh "$J" | cut -f1) on disk"

# --- catch-up ---------------------------------------------------------------------------
echo "== catch-up (warm cache)"
hyperfine --style basic --warmup 1 --runs "${RUNS:-5}" --export-json "$W/catchup.json" \
  --prepare "rm -rf $W/state $W/f2b.log" \
  -n f2b-logger "$BIN --once --start-at head --journal-dir $J --state-dir $W/state --route $UNIT=$W/f2b.log" \
  -n journalctl "journalctl -D $J _SYSTEMD_UNIT=$UNIT -o short-iso > $W/journalctl.log"
python3 - "$W/catchup.json" "$N" "$matched" <<'EOF'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
n, m = int(sys.argv[2]), int(sys.argv[3])
for name in ("f2b-logger", "journalctl"):
    t = r[name]["mean"]
    print("%-11s %7.3f s ± %.3f   %9.0f journal entries/s   %8.0f lines/s" % (name, t, r[name]["stddev"], n / t, m / t))
print("f2b-logger catches up %.2fx as fast as journalctl" % (r["journalctl"]["mean"] / r["f2b-logger"]["mean"]))
EOF
rm -rf "$W/state" "$W/f2b.log"
/usr/bin/time -v "$BIN" --once --start-at head --journal-dir "$J" --state-dir "$W/state" --route "$UNIT=$W/f2b.log" \
  2>"$W/time-catchup.txt" >/dev/null
/usr/bin/time -v -o "$W/time-journalctl.txt" journalctl -D "$J" "_SYSTEMD_UNIT=$UNIT" -o short-iso > "$W/journalctl.log"
cmp "$W/f2b.log" "$W/journalctl.log" && echo "outputs identical ($(wc -l < "$W/f2b.log") lines)"
rss() { awk '/Maximum resident/ {printf "%.1f MiB", $6/1024}' "$1"; }
echo "peak RSS, catch-up: f2b-logger $(rss "$W/time-catchup.txt"), journalctl $(rss "$W/time-journalctl.txt")" \
  "(mostly pages of the mmapped journal files, which the kernel counts as RSS)"
# The anonymous part (heap, stacks), sampled every 10 ms during another catch-up.
rm -rf "$W/state" "$W/f2b.log"
"$BIN" --once --start-at head --journal-dir "$J" --state-dir "$W/state" --route "$UNIT=$W/f2b.log" 2>/dev/null &
P=$!; max_anon=0
while kill -0 $P 2>/dev/null; do
  a=$(awk '/^RssAnon/ {print $2}' /proc/$P/status 2>/dev/null || true)
  [ -n "$a" ] && [ "$a" -gt "$max_anon" ] && max_anon=$a
  sleep 0.01
done
wait $P
echo "peak anonymous memory (RssAnon), catch-up: $((max_anon / 1024)).$(( (max_anon % 1024) * 10 / 1024 )) MiB"

# --- follow latency -----------------------------------------------------------------------
echo "== follow: latency from send to line at 1000 entries/s (real journald in a namespace)"
if [ "$(id -u)" -ne 0 ] || ! unshare -m --propagation private true 2>/dev/null || [ ! -x /lib/systemd/systemd-journald ]; then
  echo "skipped: needs root, unshare and systemd-journald"
  exit 0
fi
cat > "$W/probe.py" <<'EOF'
# Sends COUNT entries at RATE/s from the unit's cgroup; the send time is in each message.
# Watches OUT and prints the latency from send to line, p50/p99/max.
import os, socket, sys, time, threading
cg, out, n, rate, label = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
with open(os.path.join(cg, "cgroup.procs"), "w") as f:
    f.write(str(os.getpid()))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/run/systemd/journal/socket")
def send():
    t0 = time.time()
    for i in range(n):
        d = t0 + i / rate - time.time()
        if d > 0:
            time.sleep(d)
        s.send(b"SYSLOG_IDENTIFIER=probe\nMESSAGE=lat %d %.6f\n" % (i, time.time()))
th = threading.Thread(target=send); th.start()
lat, pos, buf = {}, 0, b""
deadline = time.time() + n / rate + 10
while len(lat) < n and time.time() < deadline:
    try:
        with open(out, "rb") as f:
            f.seek(pos); b = f.read()
    except FileNotFoundError:
        b = b""
    now = time.time()
    if b:
        pos += len(b); buf += b
        *lines, buf = buf.split(b"\n")
        for l in lines:
            p = l.split(b" lat ")
            if len(p) == 2:
                i, ts = p[1].split()
                lat[int(i)] = now - float(ts)
    time.sleep(0.0005)
th.join()
v = sorted(lat.values())
if not v:
    print("%-22s no line arrived" % label); sys.exit(1)
print("%-22s %d/%d lines   p50 %6.1f ms   p99 %6.1f ms   max %6.1f ms" % (
    label, len(v), n, v[len(v) // 2] * 1e3, v[min(len(v) - 1, int(len(v) * 0.99))] * 1e3, v[-1] * 1e3))
EOF
cat > "$W/follow.sh" <<'EOF'
set -eu
BIN=$1 W=$2 COUNT=$3
UNIT=f2b-bench-probe.service
ROOT=/sys/fs/cgroup; [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] && ROOT=/sys/fs/cgroup/unified
CG=$ROOT/system.slice/$UNIT
mount -t tmpfs tmpfs /run/systemd; mkdir -p /run/systemd/journal; mount -t tmpfs tmpfs /run/log
[ -d /var/log/journal ] && mount -t tmpfs tmpfs /var/log/journal
mkdir -p "$CG"
/lib/systemd/systemd-journald >/dev/null 2>&1 & JPID=$!
trap 'kill $JPID 2>/dev/null; wait 2>/dev/null; rmdir "$CG" 2>/dev/null || true' EXIT
while [ ! -S /run/systemd/journal/socket ]; do sleep 0.05; done
rm -rf "$W/fstate" "$W/follow.log" "$W/jc-follow.log"
"$BIN" --state-dir "$W/fstate" --route "$UNIT=$W/follow.log" 2>/dev/null & LPID=$!
sleep 0.5
python3 "$W/probe.py" "$CG" "$W/follow.log" "$COUNT" 1000 "f2b-logger"
awk '/^(VmHWM|RssAnon|RssFile)/ {printf "%s %.1f MiB  ", $1, $2/1024} END {print ""}' /proc/$LPID/status > "$W/rss-follow.txt"
kill -TERM $LPID; wait $LPID || true
journalctl -f -n 0 "_SYSTEMD_UNIT=$UNIT" -o short-iso >> "$W/jc-follow.log" 2>/dev/null & JC=$!
sleep 0.5
python3 "$W/probe.py" "$CG" "$W/jc-follow.log" "$COUNT" 1000 "journalctl -f >> file"
kill $JC; wait $JC 2>/dev/null || true
EOF
unshare -m --propagation private sh "$W/follow.sh" "$BIN" "$W" "${FOLLOW_COUNT:-5000}"
echo "memory of f2b-logger after following (VmHWM = peak RSS): $(cat "$W/rss-follow.txt")"
