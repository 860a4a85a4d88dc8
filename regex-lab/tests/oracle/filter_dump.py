"""Oracle for regex-lab's config reading: asks the installed fail2ban how it reads filters.

Usage (run with the interpreter of /usr/bin/fail2ban-regex):
  filter_dump.py BASEDIR [NAME...]   every variant of the stock filters (below)
  filter_dump.py --regex-arg         reads JSON lines {"config", "value", "backend"} on stdin and
                                     loads each `value` exactly as fail2ban-regex does for its
                                     REGEX argument (Fail2banRegex.readRegex with -c config)
  filter_dump.py --tags              reads JSON lines {"regex", "usedns"} on stdin and prints the
                                     pattern fail2ban's Regex class builds from each (host tags
                                     resolved, global flags moved), or its error

For every filter under BASEDIR/filter.d (or the NAMEs given) and every variant of it, prints
one JSON object per line: the filter name, the options and backend used, and what fail2ban
1.0.2 makes of it, exactly as fail2ban-regex loads a filter (FilterReader.read,
applyAutoOptions, getOptions, convert): prefregex, failregex, ignoreregex, maxlines,
datepattern, journalmatch, the files read, the "Real filter options" repr, and for each regex
the pattern fail2ban compiles (its Regex class after host-tag resolution) with usedns yes/no.

Variants: no options; each value of every `<prefix<param>>` parameter the filter uses
(`<mdre-<mode>>`, `<cmnfailed-<publickey>>`, `<L_<logging>/...>`...); logtype journal,
short and rfc5424; and the systemd backend (automatic logtype=journal).

This only *calls* fail2ban; nothing here re-implements it.
"""

import glob
import json
import logging
import os
import re
import sys

from fail2ban.client.filterreader import FilterReader
from fail2ban.server.failregex import R_GLOB2LOCFLAGS, Regex

PARAM_RE = re.compile(r"<([^<>\s]*?)<(\w+)>")


class LoadedFiles(logging.Handler):
    """Captures the last "Loading files" list fail2ban logs: the files it merges."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.files = None

    def emit(self, record):
        if record.msg.strip().startswith("Loading files"):
            self.files = list(record.args[0])


def params_of(basedir, name):
    """{param: [values]} for every `<prefix<param>>` parameter of filter `name`."""
    reader = FilterReader(name, "oracle", {}, share_config=dict(), basedir=basedir)
    if not reader.read():
        return {}
    cfg = reader._cfg
    keys = set(cfg._defaults.keys()) | set(cfg._sections.keys())
    texts = list(cfg._defaults.values())
    for sec in cfg._sections.values():
        keys |= set(sec.keys())
        texts += [v for v in sec.values() if isinstance(v, str)]
    params = {}
    for text in texts:
        for prefix, param in PARAM_RE.findall(text):
            if not prefix:
                continue
            values = params.setdefault(param, set())
            for k in keys:
                if k.startswith(prefix) and len(k) > len(prefix):
                    values.add(k[len(prefix):].split("/")[0])
    return {p: sorted(v) for p, v in params.items() if v}


def compiled(regex):
    out = {}
    for dns in ("yes", "no"):
        try:
            out[dns] = Regex(regex, useDns=dns)._regex
        except Exception as e:  # reported, compared as an error
            out[dns] = "ERROR: %s" % e
    return out


def real_options(reader, opts):
    combopts = reader.getCombined()
    real = {}
    for k in ["logtype", "datepattern"] + list(opts.keys()):
        try:
            real[k] = combopts[k] if k in combopts else reader.get("Definition", k)
        except Exception:
            pass
    return repr(real)


def dump(basedir, name, opts, backend):
    handler = LoadedFiles()
    log = logging.getLogger("fail2ban.configparserinc")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    out = {"filter": name, "options": opts, "backend": backend}
    try:
        reader = FilterReader(name, "fail2ban-regex-jail", dict(opts), share_config=dict(), basedir=basedir)
        if not reader.read():
            raise ValueError("failed to load filter %s" % name)
        reader.applyAutoOptions(backend)
        reader.getOptions(None)
        stream = reader.convert()
        res = {"prefregex": None, "failregex": [], "ignoreregex": [], "maxlines": None,
               "datepattern": None, "journalmatch": [], "usedns": None}
        for cmd in stream:
            what, value = cmd[2], cmd[3:]
            if cmd[0] == "multi-set":
                value = cmd[3]
            if what == "prefregex":
                res["prefregex"] = value[0] or None
            elif what in ("addfailregex", "addignoreregex"):
                res[what[3:]] += value
            elif what == "maxlines":
                res["maxlines"] = int(value[0])
                if res["maxlines"] <= 0:
                    raise ValueError("maxlines must be integer greater than zero")
            elif what == "datepattern":
                res["datepattern"] = value[0]
            elif what == "addjournalmatch":
                res["journalmatch"].append(value)
            elif what == "usedns":
                res["usedns"] = value[0]
        res["files"] = handler.files or []
        res["real_options"] = real_options(reader, opts)
        res["compiled"] = {
            "prefregex": compiled(res["prefregex"]) if res["prefregex"] else None,
            "failregex": [compiled(r) for r in res["failregex"]],
            "ignoreregex": [compiled(r) for r in res["ignoreregex"]],
        }
        out["result"] = res
    except Exception as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        log.removeHandler(handler)
    return out


def regex_arg(config, value, backend):
    """fail2ban-regex's own loading of its REGEX argument, with what it prints."""
    import fail2ban.client.fail2banregex as f2br

    lines = []
    f2br.output = lines.append
    handler = LoadedFiles()
    log = logging.getLogger("fail2ban.configparserinc")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    out = {"config": config, "value": value, "backend": backend}
    try:
        opts, _ = f2br.get_opt_parser().parse_args(["-c", config, "x", value])
        fr = f2br.Fail2banRegex(opts)
        fr._backend = backend
        ok = fr.readRegex(value, "fail")
        pref = fr._filter.prefRegex
        out["result"] = {
            "ok": bool(ok),
            "output": lines,
            "failregex": [r.getFailRegex() for r in fr._failregex],
            "ignoreregex": [r.getFailRegex() for r in fr._ignoreregex],
            "prefregex": pref.getRegex() if pref is not None else None,
            "maxlines": fr._filter.getMaxLines(),
            "journalmatch": fr._journalmatch,
            "files": handler.files or [],
        }
    except Exception as e:
        out["error"] = "%s: %s" % (type(e).__name__, e)
        out["output"] = lines
    finally:
        log.removeHandler(handler)
    return out


def tag_expand(regex, usedns):
    """The first steps of fail2ban's Regex constructor, without compiling (so patterns that
    Python cannot compile, such as duplicate group names, are still compared)."""
    resolved = Regex._resolveHostTag(regex, useDns=usedns)
    if resolved.lstrip() == "":
        return {"error": "Cannot add empty regex"}
    if R_GLOB2LOCFLAGS:
        resolved = R_GLOB2LOCFLAGS[0].sub(R_GLOB2LOCFLAGS[1], resolved)
    return {"result": resolved}


def main():
    if sys.argv[1] == "--tags":
        for line in sys.stdin:
            item = json.loads(line)
            print(json.dumps(tag_expand(item["regex"], item["usedns"])))
        return
    if sys.argv[1] == "--regex-arg":
        for line in sys.stdin:
            item = json.loads(line)
            print(json.dumps(regex_arg(item["config"], item["value"], item.get("backend", "auto"))))
        return
    basedir = sys.argv[1]
    names = sys.argv[2:]
    if not names:
        names = sorted(
            os.path.basename(p)[:-5]
            for p in glob.glob(os.path.join(basedir, "filter.d", "*.conf"))
            if not p.endswith("common.conf")
        )
    for name in names:
        variants = [({}, "auto")]
        for param, values in sorted(params_of(basedir, name).items()):
            variants += [({param: v}, "auto") for v in values]
        variants += [({"logtype": lt}, "auto") for lt in ("journal", "short", "rfc5424")]
        variants.append(({}, "systemd"))
        seen = []
        for opts, backend in variants:
            if (opts, backend) in seen:
                continue
            seen.append((opts, backend))
            print(json.dumps(dump(basedir, name, opts, backend)))


if __name__ == "__main__":
    main()
