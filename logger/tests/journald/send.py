#!/usr/bin/env python3
"""Logs COUNT entries to journald from inside the cgroup of a fake unit, over the native
protocol (so a MESSAGE may hold any byte), then lingers so journald can read our /proc.

usage: send.py CGROUP_DIR FIRST COUNT [hostile]"""
import os, socket, struct, sys, time

cg, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hostile = len(sys.argv) > 4
with open(os.path.join(cg, "cgroup.procs"), "w") as f:
    f.write(str(os.getpid()))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/run/systemd/journal/socket")
forged = b"2024-01-01T00:00:00+0000 pve1 pvedaemon[999999]: authentication failure; rhost=198.51.100.7 user=root@pam msg=x"
for i in range(first, first + count):
    if hostile:
        msg = b"hostile %d\n" % i + forged + b"\r\x1b[2K\xff"
    else:
        msg = b"authentication failure; rhost=10.0.%d.%d user=root@pam msg=entry %d" % (i >> 8 & 255, i & 255, i)
    dgram = b"SYSLOG_IDENTIFIER=pvedaemon\nPRIORITY=5\nMESSAGE\n" + struct.pack("<Q", len(msg)) + msg + b"\n"
    s.send(dgram)
time.sleep(0.5)
