"""Oracle for regex-lab's config reading: asks the installed fail2ban how it reads filters.

Usage: filter_dump.py BASEDIR [NAME...]   (run with the interpreter of /usr/bin/fail2ban-regex)

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
from fail2ban.server.failregex import Regex

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


def main():
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
