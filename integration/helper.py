#!/usr/bin/env python3
"""integration/helper.py - what the shell helpers in lib.sh cannot do well.

Like git's t/helper/test-tool: one program, one subcommand per job, each
printing what it found wrong to stderr and exiting 0 (holds) or 1 (does not).
Only the standard library is used; checksums come from `xxhsum -H2`, the
independent implementation the product's numbers are checked against.

  same-tree A B            every file of A is in B and equal byte for byte,
                           and B has no file A lacks
  release-complete ROOT    ROOT/current is a complete release (see lib.sh)
  json-get FILE KEY...     print one value of a JSON document
  file-entry STATE ROLE    print "NAME SIZE XXH128" of a file in state.json
  flip-byte FILE [OFFSET]  invert one byte in place (default: the middle)
  reader ROOT OUT STOP     count generations seen per pass (see t30)
  extract-version SYNC V DIR
                           V's tree rebuilt with tar alone: the base
                           archive, then each delta's archive, then each
                           delta's removals
  own-file SYNC V ROLE     the path (below SYNC) of V's own "manifest" or
                           "archive": the full one, or its delta's
  manifest-json FILE       a manifest (one JSON object per line) printed as
                           one JSON document {header, artifacts, events}
"""
import errno
import json
import os
import re
import subprocess
import sys
import time


def fail(msg):
    print(msg, file=sys.stderr)
    return 1


def list_files(top):
    """Relative paths of every non-directory entry under top.

    Directories count only through what they hold: a release always has all
    ten type folders, a source tree may lack empty ones. Anything that is not
    a regular file is returned too, so that the caller can refuse it.
    """
    out = {}
    top = os.path.realpath(top)
    for dirpath, dirnames, filenames in os.walk(top, onerror=raise_it):
        for name in filenames + [d for d in dirnames
                                 if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            out[os.path.relpath(full, top)] = full
    return out


def raise_it(e):
    raise e


def same_tree(a, b):
    try:
        fa, fb = list_files(a), list_files(b)
    except OSError as e:
        return fail("same_tree: %s" % e)
    bad = []
    for rel in sorted(set(fa) - set(fb)):
        bad.append("only in %s: %s" % (a, rel))
    for rel in sorted(set(fb) - set(fa)):
        bad.append("only in %s: %s" % (b, rel))
    for rel in sorted(set(fa) & set(fb)):
        pa, pb = fa[rel], fb[rel]
        for p in (pa, pb):
            if os.path.islink(p) or not os.path.isfile(p):
                bad.append("%s: not a regular file" % p)
                break
        else:
            try:
                with open(pa, "rb") as x, open(pb, "rb") as y:
                    if x.read() != y.read():
                        bad.append("differ: %s" % rel)
            except OSError as e:
                bad.append("%s: %s" % (rel, e))
    if bad:
        for line in bad[:20]:
            print("same_tree: " + line, file=sys.stderr)
        if len(bad) > 20:
            print("same_tree: ... and %d more" % (len(bad) - 20),
                  file=sys.stderr)
        return 1
    return 0


def xxh128_of(top, rels):
    """{rel: hex} for files under top, from one run of `xxhsum -H2`."""
    sums = {}
    rels = sorted(rels)
    for i in range(0, len(rels), 500):
        chunk = rels[i:i + 500]
        p = subprocess.run(["xxhsum", "-H2", "--"] + chunk, cwd=top,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError("xxhsum: " + p.stderr.strip())
        for line in p.stdout.splitlines():
            m = re.match(r"^([0-9a-f]{32})  (.*)$", line)
            if m:
                sums[m.group(2)] = m.group(1)
    return sums


def release_complete(root):
    """current resolves to releases/<name>; releases/<name>.json lists
    exactly the files the directory holds, with their sizes and XXH128."""
    cur = os.path.join(root, "current")
    try:
        target = os.readlink(cur)
    except OSError as e:
        return fail("release_is_complete: %s: %s" % (cur, e))
    m = re.match(r"^releases/(v[0-9]+-r[0-9]+)$", target)
    if not m:
        return fail("release_is_complete: current -> %r, not releases/vV-rS"
                    % target)
    name = m.group(1)
    rel_dir = os.path.join(root, "releases", name)
    try:
        manifest = load_manifest(rel_dir + ".json")
        files = list_files(rel_dir)
    except (OSError, ValueError) as e:
        return fail("release_is_complete: %s: %s" % (name, e))
    want = {}
    for a in manifest.get("artifacts", []):
        want["%s/%s.xml" % (a["type"], a["name"])] = a
    bad = []
    for rel in sorted(set(want) - set(files)):
        bad.append("missing %s" % rel)
    for rel in sorted(set(files) - set(want)):
        bad.append("extra %s" % rel)
    common = sorted(set(want) & set(files))
    try:
        sums = xxh128_of(rel_dir, common)
    except RuntimeError as e:
        return fail("release_is_complete: %s" % e)
    for rel in common:
        size = os.lstat(files[rel]).st_size
        if size != want[rel]["size"]:
            bad.append("%s: size %d, manifest says %d"
                       % (rel, size, want[rel]["size"]))
        if sums.get(rel) != want[rel]["xxh128"]:
            bad.append("%s: xxh128 %s, manifest says %s"
                       % (rel, sums.get(rel), want[rel]["xxh128"]))
    if bad:
        for line in bad[:20]:
            print("release_is_complete: %s: %s" % (name, line),
                  file=sys.stderr)
        return 1
    return 0


def load_manifest(path):
    """Reads a format-2 manifest: a header line, artifact_count artifact
    lines, event_count event lines."""
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    docs = [json.loads(line) for line in lines]
    head = docs[0]
    n = head["artifact_count"]
    return {"header": head, "artifacts": docs[1:1 + n],
            "events": docs[1 + n:]}


def manifest_json(path):
    print(json.dumps(load_manifest(path)))
    return 0


def own_file(sync, version, role):
    with open(os.path.join(sync, "snapshots", "%s.state.json" % version),
              "rb") as f:
        st = json.load(f)
    delta = st["base_version"] != st["version"]
    want = ("delta-" + role) if delta else role
    for e in st["files"]:
        if e["role"] == want and e["version"] == st["version"]:
            print(e["name"])
            return 0
    return fail("%s: version %s has no %s file" % (sync, version, want))


def extract_version(sync, version, out):
    with open(os.path.join(sync, "snapshots", "%s.state.json" % version),
              "rb") as f:
        st = json.load(f)
    os.makedirs(out, exist_ok=True)
    for e in st["files"]:
        if e["role"] in ("archive", "delta-archive"):
            subprocess.run(["tar", "--zstd", "-xf",
                            os.path.join(sync, e["name"]), "-C", out],
                           check=True)
        if e["role"] == "delta-manifest":
            m = load_manifest(os.path.join(sync, e["name"]))
            listed = {(a["type"], a["name"]) for a in m["artifacts"]}
            for ev in m["events"]:
                t, n = ev["id"].split("/", 1)
                if ev["action"] == "UNDEPLOY" and (t, n) not in listed:
                    os.unlink(os.path.join(out, t, n + ".xml"))
    return 0


def json_get(path, keys):
    with open(path, "rb") as f:
        v = json.load(f)
    for k in keys:
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(json.dumps(v) if isinstance(v, (dict, list)) else v)
    return 0


def file_entry(state, role):
    with open(state, "rb") as f:
        st = json.load(f)
    for e in st["files"]:
        if e["role"] == role:
            print(e["name"], e["size"], e["xxh128"])
            return 0
    return fail("%s: no file with role %s" % (state, role))


def flip_byte(path, offset=None):
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        off = size // 2 if offset is None else int(offset)
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0xff]))
    return 0


MARK = re.compile(rb'<property name="m" value="([^"]*)"/>')


def reader(root, out, stop):
    """Until the file `stop` exists: resolve ROOT/current once per pass,
    read every file of that release by path, and collect the markers.

    A pass is "clean" (one marker), a "mix" (two or more: a torn read),
    "gone" (a file vanished: the release was retired under us), or "empty"
    (no release yet). The counts go to `out` as JSON when stopping."""
    cur = os.path.join(root, "current")
    counts = {"passes": 0, "clean": 0, "mix": 0, "gone": 0, "empty": 0}
    seen = set()
    mixes = []
    while not os.path.exists(stop):
        try:
            target = os.readlink(cur)
        except OSError:
            counts["empty"] += 1
            time.sleep(0.005)
            continue
        base = os.path.join(root, target)
        marks = set()
        gone = False
        try:
            for dirpath, _dirs, names in os.walk(base, onerror=raise_it):
                for n in names:
                    with open(os.path.join(dirpath, n), "rb") as f:
                        for mk in MARK.findall(f.read()):
                            marks.add(mk.decode())
        except OSError as e:
            if e.errno != errno.ENOENT:
                raise
            gone = True
        counts["passes"] += 1
        if gone:
            counts["gone"] += 1
        elif len(marks) > 1:
            counts["mix"] += 1
            if len(mixes) < 5:
                mixes.append({"release": target, "marks": sorted(marks)})
        elif len(marks) == 1:
            counts["clean"] += 1
            seen |= marks
        else:
            counts["empty"] += 1
    counts["generations_seen"] = len(seen)
    counts["mix_examples"] = mixes
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(counts, f)
    os.rename(tmp, out)
    return 0


def main(argv):
    if len(argv) < 2:
        return fail(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "same-tree" and len(args) == 2:
        return same_tree(*args)
    if cmd == "release-complete" and len(args) == 1:
        return release_complete(args[0])
    if cmd == "json-get" and len(args) >= 1:
        return json_get(args[0], args[1:])
    if cmd == "file-entry" and len(args) == 2:
        return file_entry(*args)
    if cmd == "flip-byte" and len(args) in (1, 2):
        return flip_byte(*args)
    if cmd == "reader" and len(args) == 3:
        return reader(*args)
    if cmd == "extract-version" and len(args) == 3:
        return extract_version(*args)
    if cmd == "own-file" and len(args) == 3:
        return own_file(*args)
    if cmd == "manifest-json" and len(args) == 1:
        return manifest_json(*args)
    return fail("helper.py: bad usage: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
