#!/usr/bin/env bash
# make demo, end-to-end: the flow of the e2e tests, narrated, on this machine.
# In private namespaces (nothing touches the host's firewall, journal or /etc): a real
# systemd-journald receives pvedaemon and sshd failures from processes placed in the units'
# cgroups, f2b-logger forwards them into the log files of a tree made by `f2b-config install
# --root`, the real fail2ban-server bans through real nftables. Then the same forged message
# through the seed's `journalctl -f >> file` loggers, for contrast.
#
# Exit status: 0 every step behaved; 1 a step did not (reason and diagnostics printed);
# 3 this machine cannot run it (reason printed), so `make demo` can fall back to the replay demo.
# Options are passed to f2b-e2e-demo (--journal-remote, --no-contrast; see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release}

cannot() {
  echo "demo-e2e: cannot run on this machine: $*" >&2
  exit 3
}

[ "$(id -u)" -eq 0 ] || cannot "needs root (namespaces, cgroups, nftables); run as root"
for cmd in unshare nsenter ip nft fail2ban-server fail2ban-client journalctl; do
  command -v "$cmd" >/dev/null ||
    cannot "$cmd not found (scripts/install-deps.sh installs fail2ban, nftables, iproute2, util-linux)"
done
unshare -m -n --propagation private true 2>/dev/null ||
  cannot "unshare -m -n fails (a container without CAP_SYS_ADMIN?)"
unshare -n nft list ruleset >/dev/null 2>&1 ||
  cannot "nftables does not work in a network namespace (kernel without nf_tables?)"
[ -x /lib/systemd/systemd-journald ] || [ -x /lib/systemd/systemd-journal-remote ] ||
  cannot "neither systemd-journald nor systemd-journal-remote is installed"
for b in f2b-logger f2b-config f2b-e2e-demo f2b-e2e-send; do
  [ -x "$BIN/$b" ] || cannot "$BIN/$b is missing (run: make build)"
done

exec "$BIN/f2b-e2e-demo" "$@"
