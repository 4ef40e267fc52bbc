#!/usr/bin/env python3
"""failover-check.py SYNC_ROOT LOG... - the failover invariants (docs/failover.md).

Reads every snapshots/<V>.state.json of SYNC_ROOT (what was published, with
its epoch and seal) and the secondaries' logs (what each applied, in order,
and what each refused as stale_epoch), and checks:

 1. one content per version: every secondary's release of version V
    (DEPLOY_ROOT/releases/v<V>-r<N>/, the deploy root named like its log,
    where still kept) holds the same files, byte for byte;
 2. each secondary's applied versions strictly increase, and their epochs
    never decrease;
 3. no fork: a version of epoch E applied anywhere is not above the seal of
    any later epoch that published (the lineage); no version one secondary
    refused as stale_epoch was applied by another.

Prints one line per violation and a summary; exit status 1 on any.
"""
import glob
import json
import os
import re
import sys

APPLIED = re.compile(r"releases/v\d+-r\d+ \(version (\d+)\) live in")
STALE = re.compile(r"version (\d+) of \S+ is of epoch (\d+), deposed by epoch")


def states(root):
    out = {}
    for f in glob.glob(os.path.join(root, "snapshots", "*.state.json")):
        try:
            s = json.load(open(f))
        except (OSError, ValueError):
            continue
        out[s["version"]] = (s.get("epoch", 0), s.get("epoch_base_version", 0))
    return out


def release_records(deploy):
    """Each kept release's tree, as {path: sha256}, by version."""
    import hashlib
    recs = {}
    for d in glob.glob(os.path.join(deploy, "releases", "v*-r*")):
        m = re.search(r"/v(\d+)-r\d+$", d)
        if not m or not os.path.isdir(d):
            continue
        tree = {}
        for top, _, files in os.walk(d):
            for f in files:
                path = os.path.join(top, f)
                with open(path, "rb") as fh:
                    tree[os.path.relpath(path, d)] = hashlib.sha256(fh.read()).hexdigest()
        recs[int(m.group(1))] = tree
    return recs


def main():
    root, logs = sys.argv[1], sys.argv[2:]
    st = states(root)
    bad = []
    seals = {}
    for v, (e, b) in st.items():
        if e:
            if seals.get(e, b) != b:
                bad.append("epoch %d has two seals: %d and %d" % (e, seals[e], b))
            seals[e] = b

    def on_lineage(v):
        e = st[v][0]
        return all(v <= s for e2, s in seals.items() if e2 > e)

    applied, stale = {}, set()
    for log in logs:
        text = open(log, errors="replace").read()
        applied[log] = [int(v) for v in APPLIED.findall(text)]
        stale |= {int(v) for v, _ in STALE.findall(text)}
    content = {}
    for log, vs in applied.items():
        last_v, last_e = 0, 0
        for v in vs:
            if v not in st:
                bad.append("%s: applied version %d, which has no state copy" % (log, v))
                continue
            e = st[v][0]
            if v <= last_v:
                bad.append("%s: version %d applied after %d" % (log, v, last_v))
            if e < last_e:
                bad.append("%s: epoch went down: version %d (epoch %d) after epoch %d"
                           % (log, v, e, last_e))
            if not on_lineage(v):
                bad.append("%s: applied version %d of epoch %d, off the lineage (seals %s)"
                           % (log, v, e, seals))
            if v in stale:
                bad.append("%s: applied version %d, which a secondary refused as stale_epoch"
                           % (log, v))
            last_v, last_e = v, max(last_e, e)
        deploy = os.path.splitext(log)[0]
        for v, arts in release_records(deploy).items():
            if v in content and content[v][1] != arts:
                bad.append("version %d has two contents: %s and %s" % (v, content[v][0], deploy))
            content.setdefault(v, (deploy, arts))
    for b in bad:
        print(b)
    print("# failover-check: %d versions, %d epochs, %d applied, %d refused as stale_epoch: %s"
          % (len(st), len(seals), sum(len(v) for v in applied.values()), len(stale),
             "%d violations" % len(bad) if bad else "ok"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
