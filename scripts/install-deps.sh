#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only when missing.
# Safe to run repeatedly; run as root on Debian 12 (what `make test` does).
set -euo pipefail
pkgs=(
  pkg-config libsystemd-dev        # systemd crate (journal bindings)
  systemd-journal-remote           # real journal files for logger tests
  fail2ban python3-systemd python3-pyinotify   # differential tests, fail2ban-client -t, e2e
  openssh-server                   # real sshd -t / sshd -T in f2b-config tests
  nftables iproute2 util-linux     # e2e: nft inside a network namespace, unshare
  logrotate hyperfine time gzip    # rotation tests, benchmark scripts
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || echo "install-deps: apt-get update reported errors; trying the install anyway" >&2
# policy-rc.d keeps package scripts from starting daemons (sshd, fail2ban) on this machine.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
