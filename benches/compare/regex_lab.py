#!/usr/bin/python3
"""regex-lab replay against fail2ban-regex on the same generated sshd corpus, in one run.

Run through scripts/bench-regex-lab.sh (which builds the binaries first). Steps:
  1. generate the corpus (deterministic, target/bench/sshd-<N>.log) with gen-corpus;
  2. run `regex-lab replay --json` several times, half before and half after one run of
     `fail2ban-regex --raw --print-no-missed --print-no-ignored CORPUS FILTER` (Debian's
     fail2ban under /usr/bin/python3), so that the short runs sample the machine on both
     sides of the long one;
  3. check identical counts (lines, ignored, matched, missed, prefregex, every failregex and
     ignoreregex hit count) - a difference fails the run;
  4. optionally: many filters in one run against the same filters run one by one, and a
     multi-GB log streamed through regex-lab to check the peak-RSS bound;
  5. print hyperfine-style figures and write the raw results to benches/runs/<date>.json.

Timings are wall clock (a monotonic clock around each run, 0.1 ms resolution; /usr/bin/time
rounds to 10 ms); CPU time (user + sys) and peak RSS come from /usr/bin/time (see `timed`).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "target", "release")
F2B = ["/usr/bin/python3", "/usr/bin/fail2ban-regex"]

# 20 stock filters for the many-filters measurement (sshd first: the corpus is sshd's).
STOCK20 = [
    "sshd[mode=aggressive]", "sshd", "pam-generic", "dropbear", "selinux-ssh", "apache-auth",
    "apache-badbots", "nginx-http-auth", "nginx-botsearch", "postfix", "dovecot", "sendmail-auth",
    "vsftpd", "proftpd", "pure-ftpd", "courier-auth", "exim", "named-refused", "recidive",
    "mysqld-auth",
]


def timed(cmd, stdout_path):
    """Runs cmd; returns its wall time, user and system CPU time, peak RSS (KiB) and exit.

    CPU time and peak RSS come from /usr/bin/time: cmd is then the child of a small process.
    As a child of this script it would not be: Linux counts the memory of the process that
    started it (this script's, e.g. 45 MiB after counting a 2 GB log's lines) in its peak
    RSS. The wall time is a monotonic clock around /usr/bin/time (0.1 ms resolution; its
    own figure rounds to 10 ms), so it also counts starting /usr/bin/time (under 1 ms).
    """
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t, open(stdout_path, "wb") as out:
        t0 = time.perf_counter()
        rc = subprocess.call(
            ["/usr/bin/time", "-f", "%U %S %M", "-o", t.name] + cmd,
            stdout=out, stderr=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - t0
        user, sys_, rss = t.read().split()[-3:]
    return {"wall_s": round(wall, 4), "user_s": float(user), "sys_s": float(sys_),
            "max_rss_kib": int(rss), "exit": rc}


def parse_f2b(path):
    """Counts from fail2ban-regex's report."""
    text = open(path, encoding="utf-8", errors="replace").read()
    m = re.search(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", text, re.M)
    if not m:
        sys.exit("fail2ban-regex report has no 'Lines:' line; see %s" % path)
    res = dict(zip(["lines", "ignored", "matched", "missed"], map(int, m.groups())))
    p = re.search(r"^Prefregex: (\d+) total", text, re.M)
    res["prefregex"] = int(p.group(1)) if p else None

    def section(name, nxt):
        s = text.find("\n%s:" % name)
        e = text.find("\n%s" % nxt, s + 1)
        body = text[s:e if e >= 0 else len(text)]
        return [int(h) for h in re.findall(r"^\|\s+\d+\) \[(\d+)\] ", body, re.M)]

    res["failregex"] = section("Failregex", "Ignoreregex:")
    res["ignoreregex"] = section("Ignoreregex", "Date template hits:")
    pt = re.search(r"\[processed in ([\d.]+) sec\]", text)
    res["processed_s"] = float(pt.group(1)) if pt else None
    return res


def parse_rl(path):
    """Counts from `regex-lab replay --json` (one filter) or per filter (several)."""
    d = json.load(open(path))

    def one(f):
        pref = f.get("prefregex")
        return {
            "lines": f["lines"], "ignored": f["ignored"], "matched": f["matched"],
            "missed": f["missed"],
            "prefregex": pref["hits"] if isinstance(pref, dict) else None,
            "failregex": [r["hits"] for r in f["failregex"]],
            "ignoreregex": [r["hits"] for r in f.get("ignoreregex", [])],
        }

    if len(d.get("filters", [])) > 1:
        return [one(f) for f in d["filters"]]
    return one(d)


def compare(f2b, rl):
    diffs = []
    for k in ["lines", "ignored", "matched", "missed", "prefregex"]:
        if f2b[k] is not None and f2b[k] != rl[k]:
            diffs.append("%s: fail2ban-regex %s, regex-lab %s" % (k, f2b[k], rl[k]))
    for k in ["failregex", "ignoreregex"]:
        if f2b[k] != rl[k]:
            diffs.append("%s hits: fail2ban-regex %s, regex-lab %s" % (k, f2b[k], rl[k]))
    return diffs


def mean_sd(xs):
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def human_rss(kib):
    return "%.1f MiB" % (kib / 1024) if kib < 1024 * 1024 else "%.2f GiB" % (kib / 1024 / 1024)


def report_runs(title, runs, lines):
    walls = [r["wall_s"] for r in runs]
    m, sd = mean_sd(walls)
    cpu = statistics.mean(r["user_s"] + r["sys_s"] for r in runs)
    print("%s (%d run%s)" % (title, len(runs), "" if len(runs) == 1 else "s"))
    print("  Time (mean ± σ):  %8.3f s ± %.3f s    [CPU: %.3f s]" % (m, sd, cpu))
    if len(runs) > 1:
        print("  Range (min … max): %7.3f s … %.3f s" % (min(walls), max(walls)))
    print("  Lines/s:          %10.0f    Max RSS: %s" % (lines / m, human_rss(max(r["max_rss_kib"] for r in runs))))
    return {"runs": runs, "wall_mean_s": m, "wall_sd_s": sd, "wall_min_s": min(walls),
            "cpu_mean_s": cpu, "lines_per_s": lines / m,
            "max_rss_kib": max(r["max_rss_kib"] for r in runs)}


def loadavg():
    try:
        return [float(x) for x in open("/proc/loadavg").read().split()[:3]]
    except OSError:
        return None


def machine():
    model = ""
    try:
        for l in open("/proc/cpuinfo"):
            if l.startswith("model name"):
                model = l.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(open("/proc/meminfo").readline().split()[1])
        mem = "%.1f GiB" % (kb / 1024 / 1024)
    except (OSError, ValueError, IndexError):
        pass
    f2b_version = subprocess.run(F2B + ["--version"], capture_output=True, text=True).stdout.strip()
    rl_version = subprocess.run([os.path.join(BIN, "regex-lab"), "--version"], capture_output=True,
                                text=True).stdout.strip()
    return {"cpu": model, "cpus": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "python": sys.version.split()[0], "fail2ban": f2b_version, "regex_lab": rl_version}


def gen_corpus(path, lines=None, size=None):
    if os.path.exists(path) and not size:
        return
    cmd = [os.path.join(BIN, "gen-corpus")]
    cmd += ["--lines", str(lines)] if lines else ["--bytes", size]
    subprocess.check_call(cmd + [path], stderr=subprocess.DEVNULL)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=1_000_000, help="corpus size in lines")
    ap.add_argument("--filter", default="sshd[mode=aggressive]", help="filter to compare")
    ap.add_argument("--runs", type=int, default=5, help="regex-lab runs, half of them before fail2ban-regex and half after "
                         "(fail2ban-regex runs once)")
    ap.add_argument("--rl-arg", action="append", default=[], help="extra regex-lab replay argument")
    ap.add_argument("--skip-f2b", action="store_true",
                    help="reuse the fail2ban-regex result of the newest run with the same corpus")
    ap.add_argument("--many", action="store_true", help="also measure 20 filters in one run")
    ap.add_argument("--big", metavar="SIZE", help="also stream a generated log of SIZE (e.g. 2G)")
    ap.add_argument("--rss-limit-mib", type=float, default=32.0, help="peak RSS bound to check")
    ap.add_argument("--out", default=os.path.join(ROOT, "benches", "runs"), help="results dir")
    a = ap.parse_args()

    work = os.path.join(ROOT, "target", "bench")
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "sshd-%d.log" % a.lines)
    gen_corpus(corpus, lines=a.lines)
    size = os.path.getsize(corpus)
    rl = [os.path.join(BIN, "regex-lab"), "replay", "--config-dir", "/etc/fail2ban", "--json"]
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "loadavg_before": loadavg(),
              "corpus": {"path": os.path.relpath(corpus, ROOT), "lines": a.lines, "bytes": size,
                         "generator": "gen-corpus --lines %d (seeded)" % a.lines},
              "filter": a.filter}
    print("corpus: %s (%d lines, %.1f MB), filter %s, load average %s"
          % (os.path.relpath(corpus, ROOT), a.lines, size / 1e6, a.filter, result["loadavg_before"]))
    print()

    # fail2ban-regex, once.
    f2b_cmd = F2B + ["--raw", "--print-no-missed", "--print-no-ignored", corpus, a.filter]
    f2b_out = os.path.join(work, "fail2ban-regex.out")
    prev = None
    if a.skip_f2b:
        for name in sorted(os.listdir(a.out), reverse=True) if os.path.isdir(a.out) else []:
            try:
                old = json.load(open(os.path.join(a.out, name)))
            except (OSError, ValueError):
                continue
            if old.get("corpus", {}).get("bytes") == size and old.get("filter") == a.filter \
                    and "fail2ban_regex" in old:
                prev = old["fail2ban_regex"]
                print("fail2ban-regex: reusing %s" % name)
                break
    # regex-lab, several runs: half of them before fail2ban-regex's minute and half after when
    # both run, because this VM's speed drifts by up to 20% from one minute to the next: a
    # series of sub-second runs would otherwise sit in whatever period follows that minute.
    rl_cmd = rl + a.rl_arg + ["--filter", a.filter, corpus]
    rl_out = os.path.join(work, "regex-lab.json")
    runs = []

    def run_ours(n):
        for _ in range(n):
            t = timed(rl_cmd, rl_out)
            if t["exit"] != 0:
                sys.exit("regex-lab failed (exit %d): %s" % (t["exit"], " ".join(rl_cmd)))
            runs.append(t)

    before = a.runs // 2 if prev is None else 0
    if prev is None:
        run_ours(before)
        print("running fail2ban-regex (about 1 minute per million lines on an idle core)...", flush=True)
        t = timed(f2b_cmd, f2b_out)
        if t["exit"] != 0:
            sys.exit("fail2ban-regex failed (exit %d); see %s" % (t["exit"], f2b_out))
        counts = parse_f2b(f2b_out)
        f2b = report_runs("fail2ban-regex " + " ".join(f2b_cmd[2:]), [t], a.lines)
        f2b.update({"command": " ".join(f2b_cmd), "counts": counts})
    else:
        f2b = prev
        report_runs("fail2ban-regex (earlier run)", f2b["runs"], a.lines)
    result["fail2ban_regex"] = f2b
    print()

    run_ours(a.runs - len(runs))
    ours = report_runs("regex-lab " + " ".join(rl_cmd[1:]), runs, a.lines)
    ours["command"] = " ".join(rl_cmd)
    ours["runs_before_fail2ban_regex"] = before
    ours["counts"] = parse_rl(rl_out)
    result["regex_lab"] = ours
    print()

    diffs = compare(f2b["counts"], ours["counts"])
    result["identical"] = not diffs
    ratio = f2b["wall_mean_s"] / ours["wall_mean_s"]
    cpu_ratio = f2b["cpu_mean_s"] / ours["cpu_mean_s"]
    result["ratio_wall"] = ratio
    result["ratio_cpu"] = cpu_ratio
    c = f2b["counts"]
    print("Results: %s (lines %d, ignored %d, matched %d, missed %d, %d failregex hit counts)"
          % ("identical" if not diffs else "DIFFERENT", c["lines"], c["ignored"], c["matched"],
             c["missed"], len(c["failregex"])))
    for d in diffs:
        print("  " + d)
    print("Ratio: regex-lab is %.1f× faster than fail2ban-regex in wall time (mean), %.1f× in CPU time"
          % (ratio, cpu_ratio))

    if a.many:
        print()
        result["many_filters"] = many_filters(rl, corpus, a.lines, work)

    if a.big:
        print()
        result["big"] = big_log(rl + a.rl_arg, a.filter, a.big, work, a.rss_limit_mib)

    result["loadavg_after"] = loadavg()
    os.makedirs(a.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M%S")
    path = os.path.join(a.out, "%s.json" % stamp)
    with open(path, "w") as fh:
        json.dump(result, fh, indent=1)
        fh.write("\n")
    print()
    print("raw results: %s" % os.path.relpath(path, ROOT))
    ok = not diffs and result.get("big", {}).get("rss_ok", True) \
        and result.get("many_filters", {}).get("identical", True)
    sys.exit(0 if ok else 1)


def many_filters(rl, corpus, lines, work):
    """20 stock filters in one run against the same 20 run one by one."""
    cmd = rl[:] + [x for f in STOCK20 for x in ("--filter", f)] + [corpus]
    together = [timed(cmd, os.path.join(work, "many.json")) for _ in range(3)]
    t = report_runs("regex-lab, %d stock filters in one run" % len(STOCK20), together, lines)
    many_counts = parse_rl(os.path.join(work, "many.json"))
    one_by_one, mismatches = [], []
    for i, f in enumerate(STOCK20):
        one_by_one.append(timed(rl + ["--filter", f, corpus], os.path.join(work, "one.json")))
        if parse_rl(os.path.join(work, "one.json")) != many_counts[i]:
            mismatches.append(f)
    total = sum(r["wall_s"] for r in one_by_one)
    total_cpu = sum(r["user_s"] + r["sys_s"] for r in one_by_one)
    print("regex-lab, the same %d filters one by one: %.3f s wall in total [CPU: %.3f s]"
          % (len(STOCK20), total, total_cpu))
    print("Many filters in one run cost %.2f× one sshd run and %.1f%% of %d separate runs; "
          "counts %s" % (t["wall_mean_s"] / one_by_one[0]["wall_s"], 100 * t["wall_mean_s"] / total,
                         len(STOCK20), "identical" if not mismatches else "DIFFER for " + ", ".join(mismatches)))
    return {"filters": STOCK20, "together": t, "separate": one_by_one, "separate_wall_s": total,
            "separate_cpu_s": total_cpu, "identical": not mismatches}


def big_log(rl, filt, size, work, limit_mib):
    """Streams a generated log of `size` through regex-lab; checks the peak-RSS bound."""
    path = os.path.join(work, "sshd-big.log")
    print("generating a %s log (deleted afterwards)..." % size, flush=True)
    try:
        gen_corpus(path, size=size)
        nbytes = os.path.getsize(path)
        nlines = sum(buf.count(b"\n") for buf in iter(lambda f=open(path, "rb"): f.read(1 << 24), b""))
        t = timed(rl + ["--filter", filt, path], os.path.join(work, "big.json"))
        if t["exit"] != 0:
            sys.exit("regex-lab failed on the big log (exit %d)" % t["exit"])
        counts = parse_rl(os.path.join(work, "big.json"))
    finally:
        if os.path.exists(path):
            os.unlink(path)
    r = report_runs("regex-lab on a %.2f GB log (%d lines)" % (nbytes / 1e9, nlines), [t], nlines)
    rss_mib = t["max_rss_kib"] / 1024
    ok = rss_mib <= limit_mib and counts["lines"] == nlines
    print("Peak RSS %.1f MiB: %s the %.0f MiB bound; %d of %d lines counted"
          % (rss_mib, "within" if rss_mib <= limit_mib else "OVER", limit_mib, counts["lines"], nlines))
    r.update({"bytes": nbytes, "lines": nlines, "counted_lines": counts["lines"],
              "rss_limit_mib": limit_mib, "rss_ok": ok})
    return r


if __name__ == "__main__":
    main()
