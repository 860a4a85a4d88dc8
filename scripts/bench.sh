#!/usr/bin/env bash
# make bench: criterion benchmarks of every regex-lab stage, then regex-lab against
# fail2ban-regex on a 1M-line corpus (with 20 filters at once and a 2 GB log's peak RSS).
#   BENCH_QUICK=1 make bench   # stages only, no fail2ban-regex run (a few minutes less)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p f2b-benches --bench stages
if [ "${BENCH_QUICK:-0}" != 1 ]; then
  scripts/bench-regex-lab.sh --many --big 2G
fi
