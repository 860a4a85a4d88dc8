#!/usr/bin/python3
"""Oracle for regex-lab verify: runs fail2ban's own sample test (FilterSamplesRegex) for the
given filters and records every judgement it makes, by wrapping two of its entry points:

- FilterSamplesRegex._readFilter: which filter instance (variant) each options set gets,
  in creation order;
- Filter.processLine: the text fed and what came back.

Prints one JSON object per filter: {"filter", "passed", "error", "variants": [names],
"runs": [{"variant": i, "text": ..., "got": [[regex, id, time, nofail, matches], ...]}]}.
The test itself runs unchanged, so the records are exactly what fail2ban judges.

Usage: sample_trace.py FILTER...
"""
import json
import sys
import unittest

from fail2ban.tests import utils
from fail2ban.tests import samplestestcase as st
from fail2ban.server.filter import Filter


def main(names):
    opts = utils.DefaultTestOptions()
    opts.__dict__.update(log_level="critical", fast=True, no_network=True)
    utils.initTests(utils.initProcess(opts))
    state = {}

    read_filter = st.FilterSamplesRegex._readFilter

    def _readFilter(self, fltName, name, basedir, opts=None):
        r = read_filter(self, fltName, name, basedir, opts)
        flt = r[0]
        if id(flt) not in state["ids"]:
            state["ids"][id(flt)] = len(state["variants"])
            state["variants"].append(fltName)
        return r

    process_line = Filter.processLine

    def processLine(self, line, date=None):
        ret = process_line(self, line, date)
        text = line if isinstance(line, str) else line[2]
        got = [
            [r[0], None if r[1] is None else str(r[1]), r[2], bool(r[3].get("nofail")), len(r[3].get("matches", []))]
            for r in (ret or [])
        ]
        state["runs"].append({"variant": state["ids"].get(id(self)), "text": text, "got": got})
        return ret

    st.FilterSamplesRegex._readFilter = _readFilter
    Filter.processLine = processLine

    for name in names:
        state.update(ids={}, variants=[], runs=[])
        test = st.FilterSamplesRegex("testSampleRegexs%s" % name.upper())
        result = unittest.TestResult()
        test.run(result)
        problems = result.failures + result.errors
        print(json.dumps({
            "filter": name,
            "passed": not problems,
            "error": problems[0][1].splitlines()[-1] if problems else None,
            "variants": state["variants"],
            "runs": state["runs"],
        }))


if __name__ == "__main__":
    main(sys.argv[1:])
