#!/bin/sh
# A real systemd-journald in a private mount namespace, f2b-logger following it through
# libsystemd: entries of a fake unit, journal rotation (SIGUSR2), vacuum of the file holding
# the cursor, restart, hostile multi-line messages. Started by the test as
#   unshare -m --propagation private sh run.sh BIN WORKDIR UNIT CGROUP2_ROOT
set -eu
BIN=$1 W=$2 UNIT=$3 CGROOT=$4
HERE=$(dirname "$0")
CG=$CGROOT/system.slice/$UNIT
OUT=$W/out.log
JPID= LPID=
cleanup() {
    [ -n "$LPID" ] && kill "$LPID" 2>/dev/null || true
    [ -n "$JPID" ] && kill "$JPID" 2>/dev/null || true
    wait 2>/dev/null || true
    rmdir "$CG" 2>/dev/null || true
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- f2b-logger log"; cat "$W"/logger*.err 2>/dev/null || true; exit 1; }

mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/journal
mount -t tmpfs tmpfs /run/log
[ -d /var/log/journal ] && mount -t tmpfs tmpfs /var/log/journal
mkdir -p "$CG"
/lib/systemd/systemd-journald >"$W/journald.log" 2>&1 &
JPID=$!
i=0; while [ ! -S /run/systemd/journal/socket ]; do i=$((i+1)); [ $i -gt 100 ] && fail "journald did not start"; sleep 0.05; done

export TZ=UTC LC_ALL=C
jc() { journalctl "_SYSTEMD_UNIT=$UNIT" -o short-iso --no-pager; }
start_logger() {
    "$BIN" --start-at head --state-dir "$W/state" --route "$UNIT=$OUT" 2>>"$W/logger$1.err" &
    LPID=$!
}
wait_lines() {  # N: until OUT has N lines
    i=0; while [ "$(cat "$OUT" 2>/dev/null | wc -l)" -lt "$1" ]; do
        i=$((i+1)); [ $i -gt 400 ] && fail "waited for $1 lines, have $(wc -l < "$OUT")"; sleep 0.05; done
    sleep 0.2
    [ "$(wc -l < "$OUT")" -eq "$1" ] || fail "want $1 lines, have $(wc -l < "$OUT")"
}

start_logger 1
python3 "$HERE/send.py" "$CG" 0 200
wait_lines 200
jc > "$W/j1"; cmp "$W/j1" "$OUT" || fail "phase 1 differs from journalctl"
echo "phase 1: 200 entries identical to journalctl"

kill -USR2 "$JPID"; sleep 0.3               # rotate
python3 "$HERE/send.py" "$CG" 200 200
wait_lines 400
jc > "$W/j2"; cmp "$W/j2" "$OUT" || fail "phase 2 (after rotation) differs"
echo "phase 2: rotation followed"

kill -USR2 "$JPID"; sleep 0.3               # the file with the cursor is archived ...
before=$(find /run/log/journal -name '*.journal' | wc -l)
journalctl --vacuum-files=1 >/dev/null 2>&1  # ... and vacuumed
after=$(find /run/log/journal -name '*.journal' | wc -l)
[ "$before" -ge 3 ] && [ "$after" -lt "$before" ] || fail "vacuum removed nothing ($before -> $after files)"
python3 "$HERE/send.py" "$CG" 400 200
wait_lines 600
{ cat "$W/j2"; jc; } > "$W/j3"; cmp "$W/j3" "$OUT" || fail "phase 3 (after vacuum) differs"
echo "phase 3: vacuum ($before -> $after journal files) of the cursor's file, no replay, nothing lost"

kill -TERM "$LPID"; wait "$LPID" || fail "f2b-logger did not exit cleanly on SIGTERM"; LPID=
python3 "$HERE/send.py" "$CG" 600 50       # while f2b-logger is down
start_logger 2
python3 "$HERE/send.py" "$CG" 650 50
wait_lines 700
{ cat "$W/j2"; jc; } > "$W/j4"; cmp "$W/j4" "$OUT" || fail "phase 4 (restart) differs"
echo "phase 4: restart resumed exactly"

python3 "$HERE/send.py" "$CG" 700 20 hostile
wait_lines 720
tail -n 20 "$OUT" | grep -c '^[0-9-]*T[0-9:]*+0000 [^ ]* pvedaemon\[[0-9]*\]: hostile [0-9]*#0122024-01-01' | grep -qx 20 \
    || fail "hostile messages not one escaped line each"
echo "phase 5: 20 hostile multi-line messages, one line each"
kill -TERM "$LPID"; wait "$LPID" || fail "f2b-logger did not exit cleanly"; LPID=
echo "ok"
