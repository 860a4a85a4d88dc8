#!/usr/bin/python3
"""Date-detection oracle: runs fail2ban's own DateDetector over log lines.

Usage:
  date_oracle.py files NOW MODE FILE...  (run with TZ set, e.g. TZ=CET-01CEST-02,M3.5.0,M10.5.0)
      MODE is `default` (no datepattern) or datepattern lines joined by newlines.
  date_oracle.py concat NOW MODE FILE...
      Like `files`, but all lines of all files through one detector.
  date_oracle.py cases CASEFILE
      Sections of testdata/date-cases.txt (see its header), each run once per datepattern.

Every file, or section and datepattern, gets a fresh detector in a fresh forked process, so
that nothing fail2ban keeps process-wide (template match counters, glibc's mktime offset
guess) leaks between runs, as with one fail2ban-regex run per file.

Prints one JSON object per line: {"run", "line", "name", "start", "end", "time"} (start/end:
UTF-8 byte offsets of group 1; name null when no template matched; time null when empty or
unparsable; "error" when fail2ban raised), then {"run", "hits": [[name, count], ...]} with
the templates that won, in the detector's final order.
"""
import json
import os
import sys
import time

from fail2ban.server.datedetector import DateDetector
from fail2ban.server.mytime import MyTime


def lines_of(path):
    with open(path, 'rb') as f:
        data = f.read()
    parts = data.split(b'\n')
    if parts and parts[-1] == b'':
        parts.pop()
    for raw in parts:
        if raw.endswith(b'\r'):
            raw = raw[:-1]
        yield raw.decode('utf-8', 'replace')


def stable_name(name):
    """fail2ban names %Exk/%Exl from a hash-ordered set: `%Exk` or `Ex%k` depending on the
    process's hash seed. regex-lab always prints `%Exk`; compare in that spelling."""
    return name.replace('Ex%k', '%Exk').replace('Ex%l', '%Exl')


def run(name, lines, datepattern, out, timezone=None):
    dd = DateDetector()
    if datepattern is not None:
        for p in datepattern:
            dd.appendTemplate(p)
    if timezone is not None:
        dd.default_tz = timezone
    for no, line in enumerate(lines, 1):
        rec = {"run": name, "line": no, "name": None, "start": None, "end": None, "time": None}
        match, template = dd.matchTime(line)
        if match:
            s, e = match.span(1)
            if s < 0:
                s = e = 0
            rec["name"] = stable_name(template.name)
            rec["start"] = len(line[:s].encode('utf-8'))
            rec["end"] = len(line[:e].encode('utf-8'))
            text = line[s:e]
            if text:
                try:
                    got = dd.getTime(text, (match, template))
                    rec["time"] = got[0] if got is not None else None
                except Exception as exc:  # fail2ban would abort here
                    rec["error"] = repr(exc)
        out.write(json.dumps(rec) + "\n")
    hits = [[stable_name(t.name), t.hits] for t in dd.templates if t.hits]
    out.write(json.dumps({"run": name, "hits": hits}) + "\n")


def in_child(job):
    """Runs job() in a forked child, so that each run starts from a fresh process state."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            job()
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit("oracle run failed")


def sections(path):
    """(header dict, lines) per `## {json}` section of a case file."""
    out = []
    with open(path, encoding='utf-8') as f:
        for line in f.read().split('\n'):
            if line.startswith('## '):
                out.append((json.loads(line[3:]), []))
            elif line.startswith('# ') or line == '#' or not out:
                continue
            else:
                out[-1][1].append(line)
    for _, lines in out:
        while lines and lines[-1] == '':
            lines.pop()
    return out


def main():
    if sys.argv[1] in ('files', 'concat'):
        now, mode, files = float(sys.argv[2]), sys.argv[3], sys.argv[4:]
        datepattern = None if mode == 'default' else mode.split('\n')
        time.tzset()
        MyTime.setTime(now)
        if sys.argv[1] == 'concat':
            lines = [line for path in files for line in lines_of(path)]
            in_child(lambda: run('concat', lines, datepattern, sys.stdout))
        for path in files if sys.argv[1] == 'files' else []:
            in_child(lambda: run(path, list(lines_of(path)), datepattern, sys.stdout))
    elif sys.argv[1] == 'cases':
        for si, (head, lines) in enumerate(sections(sys.argv[2]), 1):
            for pi, dp in enumerate(head["datepatterns"], 1):
                def job():
                    # With a fixed --timezone, local time stays the machine's, as in
                    # fail2ban-regex (the Rust side cannot name both zones at once).
                    if "timezone" not in head:
                        os.environ['TZ'] = head.get("tz", "CET-01CEST-02,M3.5.0,M10.5.0")
                    time.tzset()
                    MyTime.setTime(head.get("now", 1124013600))
                    run("%d.%d" % (si, pi), lines, dp, sys.stdout, head.get("timezone"))
                in_child(job)
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
