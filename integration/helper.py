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
  forge-version SYNC HEX   as a hostile writer on the share: version V+1
                           whose archive (plain ustar) holds one entry at
                           the path given as hex bytes, its manifest and
                           state.json checksummed right, state.json last
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
        with open(rel_dir + ".json", "rb") as f:
            manifest = json.load(f)
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


def ustar_one(path, data):
    """A one-entry ustar archive; path is any bytes (< 100)."""
    h = bytearray(512)
    h[0:len(path)] = path
    h[100:107] = b"0000644"
    h[124:135] = b"%011o" % len(data)
    h[136:147] = b"14574451220"
    h[156:157] = b"0"
    h[257:265] = b"ustar\x0000"
    h[148:156] = b" " * 8
    h[148:155] = b"%06o\x00" % sum(h)
    body = data + bytes(-len(data) % 512)
    return bytes(h) + body + bytes(1024)


def forge_version(sync, hexpath):
    with open(os.path.join(sync, "state.json"), "rb") as f:
        st = json.load(f)
    old, new = st["version"], st["version"] + 1
    snaps = os.path.join(sync, "snapshots")
    with open(os.path.join(snaps, "%d.manifest.json" % old), "rb") as f:
        man = json.load(f)
    man["version"], man["parent_version"], man["events"] = new, old, []
    files = {
        "manifest": ("%d.manifest.json" % new,
                     json.dumps(man).encode()),
        "archive": ("%d.tar.zst" % new,
                    ustar_one(bytes.fromhex(hexpath), b"<x/>")),
    }
    for name, data in files.values():
        with open(os.path.join(snaps, name), "wb") as f:
            f.write(data)
    sums = xxh128_of(snaps, [n for n, _ in files.values()])
    st["version"], st["parent_version"] = new, old
    for e in st["files"]:
        name, data = files[e["role"]]
        e["name"] = "snapshots/" + name
        e["size"] = len(data)
        e["xxh128"] = sums[name]
    tmp = os.path.join(sync, ".state.json.forge")
    with open(tmp, "w") as f:
        json.dump(st, f)
    os.rename(tmp, os.path.join(sync, "state.json"))
    print(new)
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
    if cmd == "forge-version" and len(args) == 2:
        return forge_version(*args)
    return fail("helper.py: bad usage: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
