#!/usr/bin/env bash
# make demo: replay the shipped brute-force corpus through the built-in filters.
set -euo pipefail
cd "$(dirname "$0")/.."
exec target/release/regex-lab replay corpora/demo/proxmox-bruteforce.log
