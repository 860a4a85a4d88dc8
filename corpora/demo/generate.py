#!/usr/bin/env python3
"""Generate corpora/demo/proxmox-bruteforce.log, a simulated attack on a Proxmox VE 9 host.

Half an hour (2026-11-24 14:00-14:30 CET) of what the three logs fail2ban
reads on such a host contain, merged in time order:

* /var/log/proxmox-auth.log (f2b-logger, pvedaemon.service, journalctl
  short-iso as systemd >= 255 prints it, "+01:00"): web UI password guessing
  from IPv4 (pveproxy listens dual-stack, so "::ffff:a.b.c.d") and IPv6,
  several realms, failed TFA codes, OpenID failures, the IPCC.xs PAM line
  before every @pam attempt, the admin's logins (one typo), task noise;
* /var/log/ssh-auth.log (f2b-logger, ssh.service): OpenSSH 10 on Debian 13,
  so the listener logs as sshd[PID] and each connection as
  sshd-session[PID]: invalid-user dictionaries, root password guessing up to
  MaxAuthTries 3, banner/kex scanners, obsolete-algorithm bots, the admin's
  publickey logins, CRON/PAM session noise;
* /var/log/proxmenux-auth.log (written by the ProxMenux Monitor itself,
  "YYYY-MM-DD HH:MM:SS,mmm proxmenux-auth: ..."): password guessing with the
  Monitor's rate limiter kicking in.

Addresses are from the documentation ranges (RFC 5737, RFC 3849) and the
admin's LAN. The output is deterministic (fixed seed): run it again and the
file is byte-identical. It prints the ground truth per filter to stderr.

Usage: corpora/demo/generate.py [OUTPUT]   (default: proxmox-bruteforce.log next to this script)
"""

import datetime
import os
import random
import sys

SEED = 20261124
TZ = datetime.timezone(datetime.timedelta(hours=1))
START = datetime.datetime(2026, 11, 24, 14, 0, 0, tzinfo=TZ)
SPAN = 30 * 60  # seconds
HOST = "pve"
ADMIN_V4 = "192.168.1.10"
ADMIN_KEY = "ED25519 SHA256:Fi8hXyMZc2zm5CvS0LmD4O/jH8bW3A4o4lqTZLZfFDo"
SSHD_LISTENER_PID = 1043
PVEDAEMON_WORKERS = [1562, 1563, 1564]

USERS_DICT = ["admin", "test", "user", "oracle", "postgres", "ubuntu", "guest", "ftpuser",
              "git", "support", "pi", "debian", "deploy", "jenkins", "nagios", "mysql",
              "hadoop", "minecraft", "steam", "tomcat", "www", "backup", "dev", "ansible",
              "centos", "administrator", "sysadmin", "web", "proxmox", "pve", "server"]
PVE_USERS = ["root@pam", "admin@pve", "administrator@pam", "root@pve", "proxmox@pve",
             "admin@pam", "user@pve", "test@pve", "backup@pve", "operator@pve"]


class Conn:
    """A process id to be handed out later, in order of first appearance."""


class Log:
    """Collects events and writes them sorted by time.

    Per-connection processes get their pid only when the merged log is
    written, in order of their first line, so pids grow over time as they do
    on a real host.
    """

    def __init__(self, rnd):
        self.rnd = rnd
        self.events = []
        self.truth = {"proxmox": 0, "proxmenux": 0, "sshd-failed": 0, "sshd-invalid": 0,
                      "sshd-maxtries": 0}

    def journal(self, t, ident, pid, msg):
        stamp = (START + datetime.timedelta(seconds=t)).isoformat(timespec="seconds")
        self.events.append((t, len(self.events), (stamp, ident, pid, msg)))

    def monitor(self, t, msg):
        when = START + datetime.timedelta(seconds=t)
        self.events.append((t, len(self.events), "%s,%03d proxmenux-auth: %s" % (
            when.strftime("%Y-%m-%d %H:%M:%S"), int((t % 1) * 1000), msg)))

    def lines(self, first_pid):
        pids, nxt, out = {}, first_pid, []
        for _, _, ev in sorted(self.events, key=lambda e: (e[0], e[1])):
            if isinstance(ev, str):
                out.append(ev)
                continue
            stamp, ident, pid, msg = ev
            if isinstance(pid, Conn):
                if pid not in pids:
                    nxt += self.rnd.randint(1, 9)
                    pids[pid] = nxt
                pid = pids[pid]
            out.append("%s %s %s[%d]: %s" % (stamp, HOST, ident, pid, msg))
        return out


def pve_web(log, rnd):
    """pvedaemon: attackers, TFA, OpenID, the admin, tasks."""
    def attempt(t, rhost, user, msg):
        pid = rnd.choice(PVEDAEMON_WORKERS)
        if user.endswith("@pam"):
            # PAM reports the same attempt first; the filter must not count it.
            log.journal(t - 2, "IPCC.xs", pid,
                        "pam_unix(proxmox-ve-auth:auth): authentication failure; logname= uid=0 "
                        "euid=0 tty= ruser= rhost=%s  user=%s" % (rhost, user.split("@")[0]))
        log.journal(t, "pvedaemon", pid,
                    "authentication failure; rhost=%s user=%s msg=%s" % (rhost, user, msg))
        log.truth["proxmox"] += 1

    def pam_or_pve(user):
        if user.endswith("@pam"):
            return "Authentication failure"
        return rnd.choice(["invalid credentials", "no such user ('%s')" % user])

    # A: IPv4 (mapped) dictionary attack, 14:02-14:12, every 4-9 s.
    t = 120.0
    while t < 720:
        user = rnd.choice(PVE_USERS)
        attempt(t, "::ffff:203.0.113.45", user, pam_or_pve(user))
        t += rnd.uniform(4, 9)
    # B: IPv6 attacker, slower, 14:05-14:25, @pve and LDAP/AD guesses.
    t = 300.0
    while t < 1500:
        user = rnd.choice(["admin@pve", "root@pve", "jdoe@ldap", "Administrator@ad", "ops@ad"])
        msg = "ldap bind failed: Invalid credentials" if user.endswith(("@ldap", "@ad")) \
            else pam_or_pve(user)
        attempt(t, "2001:db8:4a1c::1f3", user, msg)
        t += rnd.uniform(20, 45)
    # C: a second IPv4 source, short burst at 14:18.
    for i in range(12):
        user = rnd.choice(PVE_USERS)
        attempt(1080 + i * 2.5, "::ffff:198.51.100.77", user, pam_or_pve(user))
    # D: leaked admin password, wrong TOTP codes at 14:21.
    for i, msg in enumerate(["bad otp response", "bad otp response", "no such challenge",
                             "bad otp response"]):
        attempt(1260 + i * 11, "::ffff:192.0.2.150", "admin@pve", msg)
    # E: OpenID login attempts that fail (no user= in these lines).
    for t in (600, 640, 1400):
        log.journal(t, "pvedaemon", rnd.choice(PVEDAEMON_WORKERS),
                    "openid authentication failure; rhost=2001:db8:77::9 msg=Failed to verify "
                    "authorization code: invalid_grant")
        log.truth["proxmox"] += 1
    # The admin from the LAN: one typo, then logins; no rhost on success lines.
    attempt(90, "::ffff:%s" % ADMIN_V4, "root@pam", "Authentication failure")
    for t in (97, 905, 1620):
        pid = rnd.choice(PVEDAEMON_WORKERS)
        log.journal(t, "pvedaemon", pid, "<root@pam> successful auth for user 'root@pam'")
    # Task noise of the admin's session.
    for t in range(100, SPAN, 150):
        pid = rnd.choice(PVEDAEMON_WORKERS)
        upid = "UPID:%s:%08X:%08X:%08X:vncproxy:100:root@pam:" % (
            HOST, rnd.randint(0x10000, 0xfffff), rnd.randint(0x100000, 0xffffff),
            int((START + datetime.timedelta(seconds=t)).timestamp()))
        log.journal(t, "pvedaemon", pid, "<root@pam> starting task %s" % upid)
        log.journal(t + rnd.randint(20, 90), "pvedaemon", pid, "<root@pam> end task %s OK" % upid)
    log.journal(1700, "pvedaemon", 1561, "worker 1562 finished")
    log.journal(1700, "pvedaemon", 1561, "starting 1 worker(s)")
    log.journal(1700, "pvedaemon", 1561, "worker 4711 started")


def ssh(log, rnd):
    """ssh.service on OpenSSH 10: listener sshd[1043], connections sshd-session[PID]."""

    def penalty(t, ip, port, why):
        log.journal(t, "sshd", SSHD_LISTENER_PID,
                    "drop connection #0 from [%s]:%d on [10.0.0.5]:22 penalty: %s" % (ip, port, why))

    def invalid_user_conn(t, ip):
        pid, port, user = Conn(), rnd.randint(32768, 60999), rnd.choice(USERS_DICT)
        s = "sshd-session"
        log.journal(t, s, pid, "Invalid user %s from %s port %d" % (user, ip, port))
        log.truth["sshd-invalid"] += 1
        log.journal(t + 1, s, pid, "pam_unix(sshd:auth): check pass; user unknown")
        log.journal(t + 1, s, pid, "pam_unix(sshd:auth): authentication failure; logname= uid=0 "
                    "euid=0 tty=ssh ruser= rhost=%s" % ip)
        log.journal(t + 3, s, pid, "Failed password for invalid user %s from %s port %d ssh2"
                    % (user, ip, port))
        log.truth["sshd-failed"] += 1
        log.journal(t + 4, s, pid, "Received disconnect from %s port %d:11: Bye Bye [preauth]"
                    % (ip, port))
        log.journal(t + 4, s, pid, "Disconnected from invalid user %s %s port %d [preauth]"
                    % (user, ip, port))

    def root_conn(t, ip):
        pid, port, s = Conn(), rnd.randint(32768, 60999), "sshd-session"
        for k in range(3):
            log.journal(t + 4 * k, s, pid, "pam_unix(sshd:auth): authentication failure; logname= "
                        "uid=0 euid=0 tty=ssh ruser= rhost=%s  user=root" % ip)
            log.journal(t + 4 * k + 2, s, pid, "Failed password for root from %s port %d ssh2"
                        % (ip, port))
            log.truth["sshd-failed"] += 1
        log.truth["sshd-maxtries"] += 2  # "maximum ... exceeded" and "Too many ..."
        log.journal(t + 10, s, pid, "error: maximum authentication attempts exceeded for root "
                    "from %s port %d ssh2 [preauth]" % (ip, port))
        log.journal(t + 10, s, pid, "Disconnecting authenticating user root %s port %d: Too many "
                    "authentication failures [preauth]" % (ip, port))
        log.journal(t + 10, s, pid, "PAM 2 more authentication failures; logname= uid=0 euid=0 "
                    "tty=ssh ruser= rhost=%s  user=root" % ip)
        penalty(t + 11, ip, port + 1, "failed authentication")

    def banner_conn(t, ip):
        pid, port, s = Conn(), rnd.randint(32768, 60999), "sshd-session"
        kind = rnd.randint(0, 3)
        if kind == 0:
            log.journal(t, s, pid, "error: kex_exchange_identification: Connection closed by "
                        "remote host")
            log.journal(t, s, pid, "Connection closed by %s port %d" % (ip, port))
        elif kind == 1:
            log.journal(t, s, pid, "error: kex_exchange_identification: read: Connection reset "
                        "by peer")
            log.journal(t, s, pid, "Connection reset by %s port %d" % (ip, port))
        elif kind == 2:
            log.journal(t, s, pid, "error: kex_exchange_identification: client sent invalid "
                        "protocol identifier \"GET / HTTP/1.1\"")
            log.journal(t, s, pid, "banner exchange: Connection from %s port %d: invalid format"
                        % (ip, port))
        else:
            log.journal(t, s, pid, "Connection closed by %s port %d [preauth]" % (ip, port))

    def old_algo_conn(t, ip):
        pid, port = Conn(), rnd.randint(32768, 60999)
        log.journal(t, "sshd-session", pid, "Unable to negotiate with %s port %d: no matching "
                    "host key type found. Their offer: ssh-rsa,ssh-dss [preauth]" % (ip, port))

    def admin_login(t, port):
        pid, s = Conn(), "sshd-session"
        log.journal(t, s, pid, "Accepted publickey for root from %s port %d ssh2: %s"
                    % (ADMIN_V4, port, ADMIN_KEY))
        log.journal(t, s, pid, "pam_unix(sshd:session): session opened for user root(uid=0) by "
                    "root(uid=0)")
        end = t + rnd.randint(60, 400)
        log.journal(end, s, pid, "Received disconnect from %s port %d:11: disconnected by user"
                    % (ADMIN_V4, port))
        log.journal(end, s, pid, "Disconnected from user root %s port %d" % (ADMIN_V4, port))
        log.journal(end, s, pid, "pam_unix(sshd:session): session closed for user root")

    # Scanner 1: invalid-user dictionary from one IPv4, whole half hour.
    t = 5.0
    while t < SPAN - 10:
        invalid_user_conn(t, "198.51.100.23")
        t += rnd.uniform(6, 14)
    # Scanner 2: a botnet, many addresses, a few tries each.
    for i in range(40):
        ip = "203.0.113.%d" % (100 + i)
        for _ in range(rnd.randint(1, 4)):
            invalid_user_conn(rnd.uniform(0, SPAN - 10), ip)
    # Root guessing from IPv4 and IPv6.
    for i in range(18):
        root_conn(rnd.uniform(0, SPAN - 20), "192.0.2.66")
    for i in range(10):
        root_conn(rnd.uniform(0, SPAN - 20), "2001:db8:bad::66")
    # Port scanners and banner grabbers.
    for i in range(60):
        banner_conn(rnd.uniform(0, SPAN), "192.0.2.%d" % rnd.randint(200, 230))
    # Bots with obsolete algorithms.
    for i in range(15):
        old_algo_conn(rnd.uniform(0, SPAN), "198.51.100.%d" % rnd.randint(150, 160))
    # The admin.
    for t, port in ((60, 50214), (900, 50388), (1650, 50412)):
        admin_login(t, port)
    # Listener noise and cron.
    log.journal(731, "sshd", SSHD_LISTENER_PID, "error: beginning MaxStartups throttling")
    log.journal(761, "sshd", SSHD_LISTENER_PID, "exited MaxStartups throttling after 00:00:30, "
                "5 connections dropped")
    for t in range(0, SPAN, 600):
        pid = Conn()
        log.journal(t + 1, "CRON", pid, "pam_unix(cron:session): session opened for user "
                    "root(uid=0) by root(uid=0)")
        log.journal(t + 1, "CRON", pid, "(root) CMD (command -v debian-sa1 > /dev/null && "
                    "debian-sa1 1 1)")
        log.journal(t + 2, "CRON", pid, "pam_unix(cron:session): session closed for user root")


def monitor(log, rnd):
    """ProxMenux Monitor: its own file, Python logging format."""
    def fail(t, ip, user):
        log.monitor(t, "authentication failure; rhost=%s user=%s" % (ip, user))
        if ip != "unknown":
            log.truth["proxmenux"] += 1

    # Guessing from one address; the Monitor allows 5 tries per 300 s.
    t, window = 400.0, []
    while t < 1300:
        window = [w for w in window if t - w < 300]
        if len(window) >= 5:
            log.monitor(t, "login rate limit exceeded; rhost=203.0.113.88 retry_after=%ds"
                        % int(300 - (t - window[0])))
        else:
            window.append(t)
            fail(t, "203.0.113.88", rnd.choice(["admin", "root", "unknown", "proxmenux"]))
        t += rnd.uniform(8, 30)
    for t in (1500.25, 1510.5):
        fail(t, "2001:db8:88::2", "admin")
    fail(1600.75, "unknown", "admin")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "proxmox-bruteforce.log")
    rnd = random.Random(SEED)
    log = Log(rnd)
    pve_web(log, rnd)
    ssh(log, rnd)
    monitor(log, rnd)
    lines = log.lines(first_pid=20000)
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, out)
    t = log.truth
    sys.stderr.write(
        "%s: %d lines; failure lines: proxmox %d, proxmenux %d, sshd (mode=normal) %d "
        "(Failed %d + Invalid user %d + MaxAuthTries %d)\n" % (
            out, len(lines), t["proxmox"], t["proxmenux"],
            t["sshd-failed"] + t["sshd-invalid"] + t["sshd-maxtries"],
            t["sshd-failed"], t["sshd-invalid"], t["sshd-maxtries"]))


if __name__ == "__main__":
    main()
