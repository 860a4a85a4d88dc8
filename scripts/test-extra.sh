#!/usr/bin/env bash
# Checks that are not cargo tests. Each check says what it ran; a check whose tool is missing
# says so and counts as skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "extra check $name: ok"
  else failed=$((failed + 1)); echo "extra check $name: FAILED"; fi
}
skip() { skipped=$((skipped + 1)); echo "extra check $1: skipped ($2)"; }

if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import fail2ban' 2>/dev/null; then
  check corpora-with-real-fail2ban /usr/bin/python3 corpora/check-with-fail2ban.py --client-test
else
  skip corpora-with-real-fail2ban "fail2ban's Python package is not installed (apt-get install fail2ban)"
fi

echo "extra checks: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
