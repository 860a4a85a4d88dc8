#!/usr/bin/python3
"""Check f2b-sidecar's annotated corpora with the real, installed fail2ban.

Each corpus file `corpora/<name>` holds sample lines for the filter
`regex-lab/filters/<name>.conf`, in fail2ban's sample format (see
corpora/README.md). This script copies our filters into a temporary
configuration directory (so nothing depends on /etc/fail2ban), drives
fail2ban's own FilterReader and Filter classes over every sample, and judges
each `# failJSON:` annotation by the rules fail2ban's sample tests use:

  * the clock is 2005-08-14 12:00 CEST, TZ CET-01CEST-02,M3.5.0,M10.5.0;
  * one Filter per distinct option set (`# filterOptions:`), state kept
    across lines (multi-line/MLFID cache);
  * results without an ID (pending) or flagged nofail are dropped (but the
    regex counts as used);
  * nothing left: the sample must say "match": false; otherwise it must say
    "match": true and exactly one result may remain, whose fields equal every
    given key (host, user, users, attempts, ip4, ip6, dns, ...) and whose
    time equals "time" (local time, %Y-%m-%dT%H:%M:%S[.%f]);
  * `constraint` / `test.condition` are Python expressions over name/opts;
  * at the end every failregex of every variant must have been used.

On top of that it rejects a greedy catch-all (.* or .+) before the address
unless the regex is hard-anchored at its end with no catch-all after the
address (the rule fail2ban applies to <HOST>, applied here to <ADDR> too).

Usage:
  corpora/check-with-fail2ban.py [--filters DIR] [--fail2ban-regex] [--client-test] [CORPUS...]

Without CORPUS every corpus file next to this script is checked.
Exit status: 0 all pass, 1 a sample or rule failed, 2 bad input or no fail2ban.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SAMPLE_TZ = "CET-01CEST-02,M3.5.0,M10.5.0"
SAMPLE_NOW = 1124013600  # 2005-08-14 12:00:00 CEST
HEADER = re.compile(r"^#+ ?(failJSON|fileOptions|filterOptions|addFILE):(.+)$")
NOT_COMPARED = {"time", "match", "desc", "constraint"}

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FILTERS = os.path.join(os.path.dirname(HERE), "regex-lab", "filters")

# Set the zone before fail2ban caches anything time related.
os.environ["TZ"] = SAMPLE_TZ
time.tzset()

try:
    import fail2ban  # noqa: F401
except ImportError:
    # Debian's package lives in the system interpreter's dist-packages; a
    # python3 from pyenv/venv on PATH does not see it. Use the system one.
    if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)

try:
    from fail2ban.client.filterreader import FilterReader
    from fail2ban.server.filter import Filter
    from fail2ban.server.failregex import Regex
    from fail2ban.server.mytime import MyTime
except ImportError as exc:  # pragma: no cover - depends on the host
    sys.stderr.write(
        "error: cannot import fail2ban (%s); install it: apt-get install fail2ban\n" % exc)
    sys.exit(2)


class CorpusError(Exception):
    """Bad input: unreadable file, broken JSON header."""


def address_tags():
    """Regex text fail2ban substitutes for the address tags we care about."""
    return [Regex._resolveHostTag(t) for t in ("<HOST>", "<ADDR>", "<IP4>", "<IP6>")]


GREEDY = re.compile(r"(?<!\\)\.[*+](?!\?)")


def greedy_problem(regex):
    """Return a reason if a greedy catch-all precedes the address unsafely.

    Client text before the address, matched greedily, is only safe when the
    regex is pinned to the end of the line ($) and nothing after the address
    is a catch-all again; otherwise text the client wrote can supply the
    address.
    """
    first = None
    for tag in address_tags():
        pos = regex.find(tag)
        if pos >= 0 and (first is None or pos < first[0]):
            first = (pos, len(tag))
    if first is None:
        return None
    before, after = regex[: first[0]], regex[first[0] + first[1]:]
    if not GREEDY.search(before):
        return None
    if not after.endswith("$") or after.endswith("\\$"):
        return "greedy catch-all before the address, regex not anchored with $"
    if GREEDY.search(after):
        return "greedy catch-all before the address and another one after it"
    return None


class Variant:
    """One filter built with one option set, plus which regexes were used.

    Like fail2ban's sample tests, blocks whose options differ only in test.*
    keys share one Filter (and so its multi-line/MLFID state).
    """

    def __init__(self, name, confdir, fopts):
        self.filter = build_filter(name, confdir, fopts)
        self.regexes = self.filter.getFailRegex()
        self.used = set()
        self.label = name + (json.dumps(fopts, sort_keys=True) if fopts else "")


def filter_opts(opts):
    return {k: v for k, v in opts.items() if not k.startswith("test.")}


def build_filter(name, confdir, opts):
    """Build a fail2ban Filter for filter.d/<name>.conf the way a jail would."""
    flt = Filter(None)
    flt.returnRawHost = True   # no DNS
    flt.checkAllRegex = True   # every regex, like fail2ban-regex
    flt.checkFindTime = False  # 2005 samples are "old"
    flt.active = True
    reader = FilterReader(name, "jail", dict(opts), basedir=confdir)
    if not reader.read():
        raise CorpusError("filter %s not found in %s/filter.d" % (name, confdir))
    reader.getOptions({})
    for token in reader.convert():
        kind, _, opt, value = token[0], token[1], token[2], token[3:]
        values = value[0] if kind == "multi-set" else [value[0]]
        for val in values:
            if opt == "prefregex":
                flt.prefRegex = val
            elif opt == "addfailregex":
                flt.addFailRegex(val)
            elif opt == "addignoreregex":
                flt.addIgnoreRegex(val)
            elif opt == "maxlines":
                flt.setMaxLines(val)
            elif opt == "datepattern":
                flt.setDatePattern(val)
            # usedns is irrelevant (raw hosts), journalmatch only for journals
    return flt


def expected_time(text):
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f"):
        try:
            dt = datetime.datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise CorpusError("bad time %r (want %%Y-%%m-%%dT%%H:%%M:%%S[.%%f])" % text)
    return time.mktime(dt.timetuple()) + dt.microsecond / 1e6


def same(got, want):
    if isinstance(got, (set, list, tuple, dict)) or isinstance(want, list):
        try:
            return sorted(got) == sorted(want)
        except TypeError:
            return False
    return got == want


def judge(variant, opts, line, data):
    """Run one line through one variant; return a list of problems."""
    flt = variant.filter
    if opts.get("logtype") == "journal":
        # journal backend: the time comes with the entry, no date parsing
        if opts.get("test.prefix-line"):
            line = opts["test.prefix-line"] + line
        iso = datetime.datetime.utcfromtimestamp(SAMPLE_NOW).isoformat()
        results = flt.processLine(("", iso, line), SAMPLE_NOW)
    else:
        results = flt.processLine(line)
    found = []
    for res in results or ():
        idx, fid, _t, fail = res
        if fid is None or fail.get("nofail"):
            variant.used.add(idx)
            continue
        found.append(res)
    if not found:
        if data.get("match", False):
            return ["expected a failure, got none"]
        return []
    if not data.get("match", False):
        return ["expected no failure, got %s" % describe(found)]
    if len(found) != 1:
        return ["expected one failure, got %d: %s" % (len(found), describe(found))]
    idx, fid, when, fail = found[0]
    problems = []
    for key, want in data.items():
        if key in NOT_COMPARED:
            continue
        got = fail.get(key)
        if got is None:
            if key == "host":
                got = fid
            elif key == "attempts":
                got = len(fail.get("matches", ()))
        if not same(got, want):
            problems.append("%s: expected %r, got %r" % (key, want, got))
    if data.get("time") is not None:
        want = expected_time(data["time"])
        if when != want:
            problems.append("time: expected %s (%s), got %s (%s)" % (
                data["time"], want,
                time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(when)), when))
    variant.used.add(idx)
    return problems


def describe(found):
    return ", ".join("regex %d id %s" % (r[0] + 1, r[1]) for r in found)


def check_corpus(path, confdir):
    """Check one corpus file; return (stats dict, list of problem strings)."""
    name = os.path.basename(path)
    variants = {}      # label -> Variant (state shared by identical option sets)
    active = None      # Variants for the following lines
    skip_block = False
    common = {}
    files = [path]
    problems = []
    stats = {"samples": 0, "true": 0, "false": 0, "judgements": 0}

    def variant_for(opts):
        fopts = filter_opts(opts)
        key = opts.get("test.filter-name") or json.dumps(fopts, sort_keys=True)
        if key not in variants:
            variants[key] = Variant(name, confdir, fopts)
        return (variants[key], opts)

    i = 0
    while i < len(files):
        fname = files[i]
        i += 1
        try:
            with open(fname, encoding="utf-8") as fh:
                lines = fh.read().split("\n")
        except OSError as exc:
            raise CorpusError("%s: cannot read: %s" % (fname, exc.strerror))
        n = 0
        while n < len(lines):
            text = lines[n]
            n += 1
            head = HEADER.match(text)
            data = {}
            if head:
                try:
                    data = json.loads(head.group(2))
                except ValueError as exc:
                    raise CorpusError("%s:%d: %s header is not JSON: %s"
                                      % (fname, n, head.group(1), exc))
                kind = head.group(1)
                if kind == "fileOptions":
                    common = data
                    continue
                if kind == "addFILE":
                    files.append(os.path.join(os.path.dirname(fname), data))
                    continue
                if kind == "filterOptions":
                    active = []
                    skip_block = False
                    for opts in data if isinstance(data, list) else [data]:
                        merged = dict(common)
                        merged.update(opts)
                        cond = merged.get("test.condition")
                        if cond and not eval(cond, {}, {"name": name, "opts": merged}):
                            skip_block = True
                        if not skip_block:
                            active.append(variant_for(merged))
                    continue
                # failJSON: the sample is the next line
                if n >= len(lines):
                    raise CorpusError("%s:%d: failJSON without a sample line" % (fname, n))
                text = lines[n]
                n += 1
                stats["samples"] += 1
                stats["true" if data.get("match") else "false"] += 1
            elif skip_block or text.startswith("#") or not text.strip():
                continue
            if skip_block:
                continue
            if active is None:
                active = [variant_for(dict(common))]
            line = text.rstrip("\r\n")
            for variant, opts in active:
                cons = data.get("constraint")
                if cons and not eval(cons, {}, {"name": name, "opts": opts}):
                    continue
                stats["judgements"] += 1
                for p in judge(variant, opts, line, data):
                    problems.append("%s:%d [%s] %s\n    line: %s" % (
                        fname, n, variant.label, p, line))

    for variant in variants.values():
        for idx, regex in enumerate(variant.regexes):
            if idx not in variant.used:
                problems.append("%s [%s] failregex %d has no sample: %s"
                                % (path, variant.label, idx + 1, regex))
            why = greedy_problem(regex)
            if why:
                problems.append("%s [%s] failregex %d: %s" % (path, variant.label, idx + 1, why))
    stats["variants"] = len(variants)
    stats["regexes"] = sum(len(v.regexes) for v in variants.values())
    return stats, problems


def display(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def corpus_variants(path):
    """Option sets named in a corpus, for the fail2ban-regex summary."""
    seen = [{}]
    with open(path, encoding="utf-8") as fh:
        for text in fh:
            head = HEADER.match(text)
            if head and head.group(1) == "filterOptions":
                data = json.loads(head.group(2))
                for opts in data if isinstance(data, list) else [data]:
                    opts = filter_opts(opts)
                    if opts not in seen:
                        seen.append(opts)
    return seen


def fail2ban_regex_summary(path, confdir):
    name = os.path.basename(path)
    for opts in corpus_variants(path):
        if opts.get("logtype") == "journal":
            continue  # journal samples are not file lines
        spec = name
        if opts:
            spec += "[%s]" % ", ".join("%s=%s" % kv for kv in sorted(opts.items()))
        out = subprocess.run(
            ["fail2ban-regex", "--raw", "-c", confdir, path, spec],
            capture_output=True, text=True, env=dict(os.environ, TZ=SAMPLE_TZ))
        summary = [l for l in out.stdout.splitlines() if l.startswith("Lines:")]
        hits = re.findall(r"^\|\s+\d+\) \[(\d+)\]", out.stdout, re.M)
        print("  fail2ban-regex %-28s %s; hits per failregex: %s" % (
            spec, summary[0] if summary else "ERROR: " + out.stderr.strip()[-200:],
            " ".join(hits)))


def client_test(confdir, corpora):
    """fail2ban-client -t on a jail set like the proxmenux profile's."""
    with open(os.path.join(confdir, "fail2ban.conf"), "w") as fh:
        fh.write("[Definition]\nloglevel = INFO\nlogtarget = STDERR\n"
                 "socket = %s/f2b.sock\npidfile = %s/f2b.pid\ndbfile = :memory:\n"
                 "dbpurgeage = 1d\nsyslogsocket = auto\nallowipv6 = auto\n"
                 % (confdir, confdir))
    os.makedirs(os.path.join(confdir, "action.d"), exist_ok=True)
    with open(os.path.join(confdir, "action.d", "noop.conf"), "w") as fh:
        fh.write("[Definition]\nactionban = true\nactionunban = true\n")
    jails = ["[DEFAULT]\nbackend = auto\naction = noop\n"]
    modes = {"sshd": "[mode=aggressive]"}
    for path in corpora:
        name = os.path.basename(path)
        jails.append("[%s]\nenabled = true\nfilter = %s%s\nlogpath = %s\n"
                     % (name, name, modes.get(name, ""), path))
    with open(os.path.join(confdir, "jail.conf"), "w") as fh:
        fh.write("\n".join(jails))
    out = subprocess.run(["fail2ban-client", "-c", confdir, "-t"],
                         capture_output=True, text=True)
    text = (out.stdout + out.stderr).strip().splitlines()
    ok = [l for l in text if l.startswith("OK:")]
    print("fail2ban-client -c <tmp> -t (jails %s): exit %d: %s" % (
        ", ".join(os.path.basename(c) + modes.get(os.path.basename(c), "") for c in corpora),
        out.returncode, ok[0] if ok else "failed"))
    for line in text:
        if not line.startswith("OK:"):
            print("  " + line)
    return out.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("corpora", nargs="*", help="corpus files (default: all next to this script)")
    ap.add_argument("--filters", default=DEFAULT_FILTERS,
                    help="directory with our filter .conf files (default: %(default)s)")
    ap.add_argument("--fail2ban-regex", action="store_true",
                    help="also print fail2ban-regex line counts per corpus and mode")
    ap.add_argument("--client-test", action="store_true",
                    help="also run fail2ban-client -t on jails using our filters")
    args = ap.parse_args()

    corpora = args.corpora or sorted(
        os.path.join(HERE, f) for f in os.listdir(HERE)
        if os.path.isfile(os.path.join(HERE, f)) and "." not in f)
    if not os.path.isdir(args.filters):
        sys.stderr.write("error: filter directory %s does not exist; pass --filters DIR\n"
                         % args.filters)
        return 2

    MyTime.setTime(SAMPLE_NOW)
    MyTime.setAlternateNow(SAMPLE_NOW)
    confdir = tempfile.mkdtemp(prefix="f2b-corpora-")
    try:
        os.makedirs(os.path.join(confdir, "filter.d"))
        for f in os.listdir(args.filters):
            if f.endswith((".conf", ".local")):
                shutil.copy(os.path.join(args.filters, f), os.path.join(confdir, "filter.d", f))
        failed = 0
        for path in corpora:
            path = os.path.abspath(path)
            try:
                stats, problems = check_corpus(path, confdir)
            except CorpusError as exc:
                sys.stderr.write("error: %s\n" % exc)
                return 2
            status = "FAIL" if problems else "PASS"
            failed += bool(problems)
            print("%s %s: %d samples (%d match, %d no match), %d judgements, "
                  "%d variants, %d failregexes all used" % (
                      status, display(path), stats["samples"], stats["true"],
                      stats["false"], stats["judgements"], stats["variants"],
                      stats["regexes"]) if not problems else
                  "%s %s: %d problems" % (status, display(path), len(problems)))
            for p in problems:
                print("  " + p)
            if args.fail2ban_regex:
                fail2ban_regex_summary(path, confdir)
        if args.client_test and not client_test(confdir, [os.path.abspath(c) for c in corpora]):
            failed += 1
        print("%d passed, %d failed" % (len(corpora) - failed, failed))
        return 1 if failed else 0
    finally:
        shutil.rmtree(confdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
