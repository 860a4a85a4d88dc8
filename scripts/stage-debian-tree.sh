#!/usr/bin/env bash
# Builds a staged Debian 12 root from the real packages' files, for f2b-config's tests:
#   scripts/stage-debian-tree.sh OUT_DIR
# OUT_DIR gets etc/ of fail2ban, openssh-server and systemd exactly as their .debs ship it,
# etc/ssh/sshd_config copied from /usr/share/openssh/sshd_config (what openssh-server's
# postinst does), an os-release and a minimal group file (adm = 4), and empty var/log, var/lib.
#
# The .debs come from F2B_STAGE_CACHE (default target/stage-debs), else the apt cache, else
# `apt-get download`. Without any of them it falls back to the installed packages' files
# (dpkg -L), refusing conffiles the admin changed (dpkg --verify), so the tree stays pristine.
set -euo pipefail
out=${1:?usage: stage-debian-tree.sh OUT_DIR}
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${F2B_STAGE_CACHE:-$here/target/stage-debs}
pkgs=(fail2ban openssh-server systemd)
mkdir -p "$cache"

find_deb() { # package → path of a .deb of it, or nothing
  local p=$1 v f
  v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null | sed 's/^[0-9]*://') || v=
  for f in "$cache/${p}_"*.deb ${v:+/var/cache/apt/archives/${p}_*${v}*.deb}; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  if (cd "$cache" && apt-get download -q "$p" >/dev/null 2>&1); then
    for f in "$cache/${p}_"*.deb; do [ -f "$f" ] && { echo "$f"; return; }; done
  fi
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/x"
for p in "${pkgs[@]}"; do
  deb=$(find_deb "$p")
  if [ -n "$deb" ]; then
    dpkg-deb -x "$deb" "$work/x"
  else
    echo "stage-debian-tree: no .deb for $p; using its installed files" >&2
    dpkg-query -W "$p" >/dev/null
    if dpkg --verify "$p" 2>/dev/null | grep -q ' c /etc/'; then
      echo "stage-debian-tree: $p has changed conffiles; cannot build a pristine tree" >&2
      exit 1
    fi
    dpkg -L "$p" | grep -E '^/etc/|^/usr/share/openssh/sshd_config$' | while read -r f; do
      if [ -d "$f" ] && [ ! -L "$f" ]; then mkdir -p "$work/x$f"; else mkdir -p "$work/x$(dirname "$f")"; cp -a "$f" "$work/x$f"; fi
    done
  fi
done

rm -rf "$out"
mkdir -p "$out"
cp -a "$work/x/etc" "$out/etc"
install -m 0644 "$work/x/usr/share/openssh/sshd_config" "$out/etc/ssh/sshd_config"
install -m 0644 /usr/lib/os-release "$out/etc/os-release"
printf 'root:x:0:\nadm:x:4:\n' > "$out/etc/group"
chmod 0644 "$out/etc/group"
mkdir -p "$out/var/log" "$out/var/lib" "$out/etc/logrotate.d" "$out/etc/tmpfiles.d" "$out/etc/ssh/sshd_config.d"
echo "stage-debian-tree: $(find "$out" -type f | wc -l) files in $out" >&2
