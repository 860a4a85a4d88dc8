#!/usr/bin/env bash
# regex-lab replay against fail2ban-regex on the same generated 1M-line sshd corpus, in one run:
# identical counts checked, wall/CPU time, lines/s, peak RSS and the ratio printed, raw results
# saved to benches/runs/<date>.json. fail2ban-regex needs about a minute per million lines.
#
#   scripts/bench-regex-lab.sh                      # 1M lines, sshd[mode=aggressive]
#   scripts/bench-regex-lab.sh --many --big 2G      # + 20 filters at once, + a 2 GB log's RSS
#   scripts/bench-regex-lab.sh --skip-f2b --runs 10 # reuse the last fail2ban-regex result
#   scripts/bench-regex-lab.sh --help
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import fail2ban' 2>/dev/null; then
  echo "bench-regex-lab: fail2ban is not installed for /usr/bin/python3 (apt-get install fail2ban)" >&2
  exit 2
fi
cargo build --release -q -p regex-lab -p f2b-benches --bins
exec /usr/bin/python3 benches/compare/regex_lab.py "$@"
