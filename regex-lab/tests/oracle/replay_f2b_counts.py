#!/usr/bin/python3
"""Oracle for regex-lab's differential replay test: the real fail2ban-regex's counts.

Usage: replay_f2b_counts.py CASES.json
CASES.json is a list of {"log": PATH, "filter": "NAME[opts]", "config": DIR}.
Prints a JSON list, one object per case, in order:
  {"lines", "ignored", "matched", "missed", "prefregex", "failregex": [hits...],
   "ignoreregex": [hits...]}  or  {"error": "..."}.

Each case runs exactly what `fail2ban-regex --raw -e UTF-8 -c DIR LOG FILTER` runs (same
option parser, same Fail2banRegex object), but in one Python process, so the 0.8 s start-up
is paid once for all cases. Nothing of fail2ban is re-implemented here.
"""
import json
import logging
import sys

from fail2ban.client import fail2banregex as f2br


def run_case(case):
    parser = f2br.get_opt_parser()
    opts, args = parser.parse_args(
        ["--raw", "-e", "UTF-8", "-c", case["config"], case["log"], case["filter"]]
    )
    opts.log_level = logging.CRITICAL
    tester = f2br.Fail2banRegex(opts)
    if not tester.start(args):
        return {"error": "fail2ban-regex failed on %r" % (case,)}
    st = tester._line_stats
    return {
        "lines": st.tested,
        "ignored": st.ignored,
        "matched": st.matched,
        "missed": st.missed,
        "prefregex": tester._prefREMatched,
        "failregex": [r.getStats() for r in tester._failregex],
        "ignoreregex": [r.getStats() for r in tester._ignoreregex],
    }


def main():
    logging.getLogger("fail2ban").setLevel(logging.CRITICAL)
    f2br.output = lambda *a, **k: None  # the report itself is not needed, only the counts
    with open(sys.argv[1]) as fh:
        cases = json.load(fh)
    results = []
    for case in cases:
        try:
            results.append(run_case(case))
        except Exception as e:  # one broken case must not hide the others
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump(results, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
