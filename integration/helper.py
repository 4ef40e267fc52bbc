#!/usr/bin/env python3
"""integration/helper.py - what the shell helpers in lib.sh cannot do well.

Like git's t/helper/test-tool: one program, one subcommand per job, each
printing what it found wrong to stderr and exiting 0 (holds) or 1 (does not).
Only the standard library is used; checksums come from `xxhsum -H2`, the
independent implementation the product's numbers are checked against.

  same-tree A B            every file of A is in B and equal byte for byte,
                           and B has no file A lacks
  release-complete ROOT... each ROOT/current is a complete release (lib.sh)
  json-get FILE KEY...     print one value of a JSON document
  file-entry STATE ROLE    print "NAME SIZE XXH128" of a file in state.json
  flip-byte FILE [OFFSET]  invert one byte in place (default: the middle)
  flip-bit FILE SEED       flip one bit at a random offset (from SEED); print
                           "OFFSET BIT"
  forge SYNC_ROOT SPEC     write the next version as a hostile writer on the
                           share could: every checksum right (see forge)
  listen PORTFILE COUNTFILE STOP
                           a loopback TCP listener counting connections
  one-reject BEFORE AFTER REASON
                           between two /metrics texts, exactly one refusal
                           was counted, as REASON ("any": as any one;
                           "REASON+": one or more, all as REASON)
  reader ROOT OUT STOP     count generations seen per pass (see t30)
  extract-version SYNC V DIR
                           V's tree rebuilt with tar alone: the base
                           archive, then each delta's archive, then each
                           delta's removals
  own-file SYNC V ROLE     the path (below SYNC) of V's own "manifest" or
                           "archive": the full one, or its delta's
  manifest-json FILE       a manifest (one JSON object per line) printed as
                           one JSON document {header, artifacts, events}
  killer PIDFILE DELAY_US MAX_MS [DIR ERE]
                           SIGKILL a process at a chosen moment (t55)
  check-once ARTSYNC SYNC_ROOT DEPLOY_ROOT...
                           one pass of torture-reader's checks: exit 1 and
                           say why on any violation
  torture-reader OUT STOP ARTSYNC SYNC_ROOT DEPLOY_ROOT...
                           check all the while that every current and the
                           sync root's latest version are whole (t55)
  write-in-pass PID FILE SECONDS
                           rewrite FILE's first bytes in place while PID
                           reads it (its first pass), put them back once
                           PID closed it (t47)
  forge-version SYNC HEX   as a hostile writer on the share: version V+1
                           whose archive (plain ustar) holds one entry at
                           the path given as hex bytes, its manifest and
                           state.json checksummed right, state.json last
  webhook-receiver PORTFILE DIR [CODE...]
                           a loopback HTTP server taking POSTs until
                           SIGTERM: the Nth request's body goes to DIR/N.body,
                           its headers to DIR/N.headers (JSON), and the line
                           "N CODE" to DIR/log once it is answered with the
                           Nth CODE (200 past the list)
"""
import errno
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time


def fail(msg):
    print(msg, file=sys.stderr)
    return 1


FOLDERS = ["api", "sequences", "endpoints", "local-entries",
           "proxy-services", "templates", "inbound-endpoints",
           "message-stores", "message-processors", "tasks", "event-sources",
           "priority-executors", "imports"]


def publishable(rel):
    """Whether artsync publishes the file at rel in a source tree (scan.h):
    *.xml at the top or in a type folder, nothing hidden, not labels.conf."""
    parts = rel.split("/")
    if any(p.startswith(".") for p in parts) or not rel.endswith(".xml"):
        return False
    return len(parts) == 1 or (len(parts) == 2 and parts[0] in FOLDERS)


def list_files(top):
    """Relative paths of every non-directory entry under top that artsync
    publishes (publishable()).

    Directories count only through what they hold. Anything publishable that
    is not a regular file is returned too, so that the caller can refuse it.
    """
    out = {}
    top = os.path.realpath(top)
    for dirpath, dirnames, filenames in os.walk(top, onerror=raise_it):
        for name in filenames + [d for d in dirnames
                                 if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, top)
            if publishable(rel):
                out[rel] = full
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
        manifest = load_record(rel_dir + ".json")
        files = list_files(rel_dir)
    except (OSError, ValueError) as e:
        return fail("release_is_complete: %s: %s" % (name, e))
    want = {}
    for a in manifest.get("artifacts", []):
        want[art_path(a)] = a
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


def art_path(a):
    """Where artifact a (a manifest line) lives in a tree."""
    if a["type"] == "config":
        return a["name"] + ".xml"
    return "%s/%s.xml" % (a["type"], a["name"])


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


def load_record(path):
    """A deploy root's record (releases/NAME.json or upstream/V.json) as a
    full manifest: a delta record ("kind": "delta") is applied to its
    parent, upstream/<parent_version>.full.json if there is one, else
    upstream/<parent_version>.json, and so on down to a full one."""
    up = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
        path))), "upstream")
    chain = [load_manifest(path)]
    while chain[-1]["header"]["kind"] == "delta":
        if len(chain) > 65:
            raise ValueError("%s: record chain over 64 deltas" % path)
        parent = chain[-1]["header"]["parent_version"]
        full = os.path.join(up, "%d.full.json" % parent)
        chain.append(load_manifest(full if os.path.exists(full) else
                                   os.path.join(up, "%d.json" % parent)))
    arts = {(a["type"], a["name"]): a for a in chain.pop()["artifacts"]}
    while chain:
        d = chain.pop()
        listed = {(a["type"], a["name"]) for a in d["artifacts"]}
        for ev in d["events"]:
            key = tuple(ev["id"].split("/", 1))
            if ev["action"] == "UNDEPLOY" and key not in listed:
                arts.pop(key, None)
        for a in d["artifacts"]:
            arts[(a["type"], a["name"])] = a
    return {"header": None, "artifacts": list(arts.values()), "events": []}


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


def flip_bit(path, seed):
    """Flips one bit of path at an offset and bit drawn from SEED."""
    rnd = random.Random(seed)
    with open(path, "r+b") as f:
        size = f.seek(0, os.SEEK_END)
        off, bit = rnd.randrange(size), rnd.randrange(8)
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ (1 << bit)]))
    print(off, bit)
    return 0


# --- forge: a hostile writer on the share ---------------------------------

TYPES = FOLDERS + ["config"]
NS = "http://ws.apache.org/ns/synapse"
ARTIFACT_MAX = 32 * 1024 * 1024


def xxh128(data):
    p = subprocess.run(["xxhsum", "-H2", "-"], input=data,
                       capture_output=True, check=True)
    return p.stdout.split()[0].decode()


def xxh128_file(path):
    p = subprocess.run(["xxhsum", "-H2", "--", path], capture_output=True,
                       check=True)
    return p.stdout.split()[0].decode()


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def tar_header(path, kind, size, link):
    ti = tarfile.TarInfo(path)
    ti.mode = 0o644
    ti.mtime = int(time.time())
    ti.size = 0
    ti.type = {"file": tarfile.REGTYPE, "symlink": tarfile.SYMTYPE,
               "hardlink": tarfile.LNKTYPE, "chr": tarfile.CHRTYPE,
               "blk": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE,
               "dir": tarfile.DIRTYPE}[kind]
    if kind == "file":
        ti.size = size
    if kind in ("symlink", "hardlink"):
        ti.linkname = link
    if kind in ("chr", "blk"):
        ti.devmajor, ti.devminor = 1, 3
    return ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def pad512(n):
    return b"\0" * (-n % 512)


class Chunks:
    """A tar stream as raw bytes and runs of one byte, so that a stream of
    gigabytes (a bomb) costs kilobytes to hold and to compress."""

    def __init__(self):
        self.parts = []

    def raw(self, b):
        if b:
            self.parts.append(("raw", bytes(b)))

    def run(self, byte, count):
        if count:
            self.parts.append(("rle", byte, count))

    def is_small(self):
        return all(p[0] == "raw" for p in self.parts)

    def to_bytes(self):
        return b"".join(p[1] for p in self.parts)

    def zstd_by_hand(self):
        """One zstd frame of raw and RLE blocks (RFC 8878): a valid stream
        any decoder inflates, written without a compressor."""
        block_max = 128 * 1024
        blocks = []
        for p in self.parts:
            if p[0] == "raw":
                b = p[1]
                for i in range(0, len(b), block_max):
                    blocks.append((0, b[i:i + block_max]))
            else:
                left = p[2]
                while left:
                    n = min(left, block_max)
                    blocks.append((1, n, p[1]))
                    left -= n
        # Magic, then a frame header: no content size, window 2^17.
        out = [b"\x28\xb5\x2f\xfd", b"\x00", bytes([7 << 3])]
        for i, blk in enumerate(blocks):
            last = 1 if i == len(blocks) - 1 else 0
            if blk[0] == 0:
                hdr = last | (0 << 1) | (len(blk[1]) << 3)
                out.append(hdr.to_bytes(3, "little") + blk[1])
            else:
                hdr = last | (1 << 1) | (blk[1] << 3)
                out.append(hdr.to_bytes(3, "little") + bytes([blk[2]]))
        return b"".join(out)


def read_version(sync, version=None):
    """state, manifest ({"header", "artifacts"}: the version's whole tree,
    its chain applied) and {path: bytes} of VERSION (default: the
    latest)."""
    name = "state.json" if version is None else \
        "snapshots/%d.state.json" % version
    with open(os.path.join(sync, name), "rb") as f:
        st = json.load(f)
    arts, data, head = {}, {}, None
    for e in st["files"]:
        path = os.path.join(sync, e["name"])
        if e["role"] in ("manifest", "delta-manifest"):
            m = load_manifest(path)
            head = m["header"]
            for a in m["artifacts"]:
                arts[(a["type"], a["name"])] = a
            for ev in m["events"]:
                t, n = ev["id"].split("/", 1)
                if ev["action"] == "UNDEPLOY" and not any(
                        (a["type"], a["name"]) == (t, n)
                        for a in m["artifacts"]):
                    arts.pop((t, n), None)
                    data.pop("%s/%s.xml" % (t, n), None)
            continue
        raw = subprocess.run(["zstd", "-q", "-d", "-c", "--", path],
                             capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
            for mem in t.getmembers():
                data[mem.name] = t.extractfile(mem).read()
    man = {"header": head, "artifacts": sorted(arts.values(), key=lambda a: (
        TYPES.index(a["type"]) if a["type"] in TYPES else 99, a["name"]))}
    return st, man, data


def entry_data(e):
    if "data_file" in e:
        with open(e["data_file"], "rb") as f:
            return f.read()
    if "data_hex" in e:
        return bytes.fromhex(e["data_hex"])
    return e.get("data", "").encode("utf-8", "surrogateescape")


def write_replace(path, data):
    tmp = os.path.join(os.path.dirname(path),
                       ".forge-%d-%s" % (os.getpid(), os.path.basename(path)))
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def forge(sync, spec_file):
    """Writes version V (state.json's + 1) of SYNC from the JSON SPEC:

    base      (default true) start from the artifacts of base_version
              (default: the latest version)
    drop      ["TYPE/NAME"...] base artifacts to leave out
    entries   tar entries appended after the base ones, each
              {path, kind (file symlink hardlink chr blk fifo dir; none:
               no tar entry, only a manifest listing),
               data | data_hex | data_file, link, size (declared in the
               header; default the data's length), manifest ("TYPE/NAME":
               list it with the data's size and xxh128), manifest_size}
    bomb      {type, count, prefix, size, fill (" ": valid XML around a
               comment of blanks; "\\u0000": zeros)}: count entries of size
               bytes, listed in the manifest, zstd written by hand (raw and
               RLE blocks) so that gigabytes cost nothing to make
    listed    {type, count, prefix}: count artifacts in the manifest only
              (one small body's size and xxh128 each; no tar entry): a
              manifest of count lines, cheap to make at a million
    pad       bytes of a zstd skippable frame appended to the archive (the
              same entries, a file that takes long to read)
    Then the manifest, the archive and the state copy are written with
    their true sizes and XXH128 (xxhsum -H2), and state.json last, by
    rename. Prints the version.
    """
    with open(spec_file, "rb") as f:
        spec = json.load(f)
    with open(os.path.join(sync, "state.json"), "rb") as f:
        latest = json.load(f)["version"]
    st, man, data = read_version(sync, spec.get("base_version"))
    version = latest + 1
    when = now_rfc3339()
    drop = set(spec.get("drop", []))
    chunks = Chunks()
    arts = []
    if spec.get("base", True):
        for a in man["artifacts"]:
            key = "%s/%s" % (a["type"], a["name"])
            if key in drop or key + ".xml" not in data:
                continue	# (a hostile latest version may lack some)
            body = data[key + ".xml"]
            chunks.raw(tar_header(key + ".xml", "file", len(body), None))
            chunks.raw(body + pad512(len(body)))
            arts.append(dict(a))
    for e in spec.get("entries", []):
        body = entry_data(e)
        kind = e.get("kind", "file")
        size = e.get("size", len(body))
        if kind != "none":
            chunks.raw(tar_header(e["path"], kind, size, e.get("link")))
        if kind == "file":
            chunks.raw(body + pad512(len(body)))
        if "manifest" in e:
            t, n = e["manifest"].split("/", 1)
            arts.append({"type": t, "name": n, "labels": ["default"],
                         "size": e.get("manifest_size", len(body)),
                         "xxh128": xxh128(body), "updated_at": when})
    bomb = spec.get("bomb")
    if bomb:
        size, fill = bomb.get("size", ARTIFACT_MAX), bomb.get("fill", " ")
        if fill == " ":
            head = ('<sequence xmlns="%s" name="bomb"><!--' % NS).encode()
            tail = b"--></sequence>\n"
        else:
            head = tail = b""
        middle = size - len(head) - len(tail)
        with tempfile.NamedTemporaryFile() as tf:
            tf.write(head)
            tf.write(fill.encode() * middle)
            tf.write(tail)
            tf.flush()
            sum_ = xxh128_file(tf.name)
        for i in range(bomb["count"]):
            name = "%s%04d" % (bomb.get("prefix", "bomb"), i)
            chunks.raw(tar_header("%s/%s.xml" % (bomb["type"], name), "file",
                                  size, None))
            chunks.raw(head)
            chunks.run(ord(fill), middle)
            chunks.raw(tail + pad512(size))
            arts.append({"type": bomb["type"], "name": name,
                         "labels": ["default"], "size": size,
                         "xxh128": sum_, "updated_at": when})
    listed = spec.get("listed")
    if listed:
        body = ('<sequence xmlns="%s" name="x"/>\n' % NS).encode()
        sum_ = xxh128(body)
        for i in range(listed["count"]):
            arts.append({"type": listed.get("type", "sequences"),
                         "name": "%s%07d" % (listed.get("prefix", "listed"),
                                             i),
                         "labels": ["default"], "size": len(body),
                         "xxh128": sum_, "updated_at": when})
    chunks.raw(b"\0" * 1024)
    if chunks.is_small():
        archive = subprocess.run(["zstd", "-q", "-3", "-c"],
                                 input=chunks.to_bytes(), capture_output=True,
                                 check=True).stdout
    else:
        archive = chunks.zstd_by_hand()
    arts.sort(key=lambda a: (TYPES.index(a["type"]) if a["type"] in TYPES
                             else 99, a["name"]))
    head = {"format": 2, "kind": "full", "version": version,
            "parent_version": latest, "published_at": when,
            "artifact_count": len(arts), "event_count": 0}
    mbytes = "".join(json.dumps(x, separators=(",", ":")) + "\n"
                     for x in [head] + arts).encode()
    snaps = os.path.join(sync, "snapshots")
    mname = "snapshots/%d.manifest.json" % version
    aname = "snapshots/%d.tar.zst" % version
    state = dict(st)
    state.update({"version": version, "parent_version": latest,
                  "base_version": version,
                  "published_at": when, "last_sync_at": when,
                  "artifact_count": len(arts),
                  "files": [
                      {"role": "manifest", "version": version, "name": mname,
                       "size": len(mbytes), "xxh128": xxh128(mbytes)},
                      {"role": "archive", "version": version, "name": aname}]})
    pad = spec.get("pad", 0)
    if pad:
        # A skippable frame (RFC 8878 3.1.2): magic, 4-byte size, bytes.
        tmp = os.path.join(snaps, ".forge-%d-pad" % os.getpid())
        with open(tmp, "wb") as f:
            f.write(archive)
            f.write(b"\x50\x2a\x4d\x18" + pad.to_bytes(4, "little"))
            zeros = b"\0" * (1 << 20)
            left = pad
            while left:
                left -= f.write(zeros[:min(left, len(zeros))])
        asize, asum = len(archive) + 8 + pad, xxh128_file(tmp)
        os.rename(tmp, os.path.join(sync, aname))
    else:
        asize, asum = len(archive), xxh128(archive)
        write_replace(os.path.join(sync, aname), archive)
    state["files"][1].update({"size": asize, "xxh128": asum})
    sbytes = (json.dumps(state, indent=2) + "\n").encode()
    write_replace(os.path.join(sync, mname), mbytes)
    write_replace(os.path.join(snaps, "%d.state.json" % version), sbytes)
    write_replace(os.path.join(sync, "state.json"), sbytes)
    print(version)
    return 0


def listen(portfile, countfile, stop):
    """Accepts loopback TCP connections until the file `stop` exists,
    counting them in countfile (rewritten on each) and answering each with
    a small HTTP response, as a server an XXE would reach."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    s.settimeout(0.05)
    count = 0
    write_replace(os.path.abspath(countfile), b"0\n")
    write_replace(os.path.abspath(portfile),
                  ("%d\n" % s.getsockname()[1]).encode())
    while not os.path.exists(stop):
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        count += 1
        write_replace(os.path.abspath(countfile), ("%d\n" % count).encode())
        try:
            c.settimeout(1)
            c.recv(4096)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                      b"leaked\r\n")
        except OSError:
            pass
        c.close()
    return 0


def webhook_receiver(portfile, out, codes):
    """A webhook's receiver, as a real one sees it (t65)."""
    import http.server

    count = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            count[0] += 1
            n = count[0]
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            code = int(codes[n - 1]) if n <= len(codes) else 200
            write_replace(os.path.join(out, "%d.body" % n), body)
            write_replace(os.path.join(out, "%d.headers" % n),
                          json.dumps(dict(self.headers)).encode())
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()
            with open(os.path.join(out, "log"), "a") as f:
                f.write("%d %d\n" % (n, code))

        def log_message(self, *args):
            pass

    def stop(signum, frame):
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    os.makedirs(out, exist_ok=True)
    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    write_replace(os.path.abspath(portfile),
                  ("%d\n" % srv.server_address[1]).encode())
    srv.serve_forever(poll_interval=0.05)
    return 0


REJECT = re.compile(r'^artsync_rejects_total\{reason="([a-z_]+)"\} ([0-9]+)$')


def rejects(path):
    out = {}
    with open(path) as f:
        for line in f:
            m = REJECT.match(line.rstrip("\n"))
            if m:
                out[m.group(1)] = int(m.group(2))
    return out


def one_reject(before, after, reason):
    b, a = rejects(before), rejects(after)
    if not a:
        return fail("one_reject: no artsync_rejects_total sample in " + after)
    if set(a) != set(b):
        return fail("one_reject: reasons changed: %s -> %s"
                    % (sorted(b), sorted(a)))
    moved = {r: a[r] - b[r] for r in a if a[r] != b[r]}
    if reason.endswith("+"):	# REASON+: that one only, by one or more
        want = reason[:-1]
        if list(moved) != [want] or moved[want] < 1:
            return fail("one_reject: wanted only %s to grow, got %s"
                        % (want, moved))
        print("%s %d" % (want, a[want]))
        return 0
    want = reason if reason != "any" else (list(moved) or ["?"])[0]
    if moved != {want: 1}:
        return fail("one_reject: wanted %s +1, got %s" % (reason, moved))
    print("%s %d" % (want, a[want]))
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


# --- t55-torture -----------------------------------------------------------

def proc_state(pid):
    """The state letter of /proc/PID/stat ('Z': exited, not yet reaped), or
    "gone" - also when PID is no longer a child of our own parent (the
    shell that started us both): bash reaps a process that ended at once,
    and its number may already be someone else's."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return "gone"
    if int(fields[1]) != os.getppid():
        return "gone"
    return fields[0]


def killer(pidfile, delay_us, max_ms, watch_dir=None, ere=None):
    """SIGKILL the process whose PID appears in `pidfile`, timed from that
    moment: after `delay_us` microseconds; or, given DIR and ERE, as soon as
    an entry of DIR matches ERE (plus `delay_us`), and at `max_ms` at the
    latest (entries DIR held when the killer started do not count). Prints
    one line: "killed US hit NAME", "killed US timer", or
    "exited US" when the process had ended before the signal."""
    delay, limit = int(delay_us) / 1e6, int(max_ms) / 1e3
    pat = re.compile(ere) if ere else None
    old = set()
    if pat is not None:
        try:
            old = set(os.listdir(watch_dir))    # only new names count
        except OSError:
            pass
    with open(pidfile + ".ready", "w"):
        pass
    while True:
        try:
            with open(pidfile) as f:
                text = f.read()
            if text.endswith("\n"):
                pid = int(text)
                break
        except FileNotFoundError:
            pass
        time.sleep(0.0001)
    t0 = time.monotonic()
    how = "timer"
    if pat is not None:
        while time.monotonic() - t0 < limit:
            try:
                hit = [n for n in os.listdir(watch_dir)
                       if pat.search(n) and n not in old]
            except OSError:
                hit = []
            if hit:
                how = "hit " + hit[0]
                break
            if proc_state(pid) in ("Z", "gone"):
                break
            time.sleep(0.0001)
    if delay > 0:
        time.sleep(delay)
    us = int((time.monotonic() - t0) * 1e6)
    if proc_state(pid) in ("Z", "gone"):
        print("exited %d" % us)
        return 0
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:      # ended (and reaped) since the look
        print("exited %d" % us)
        return 0
    print("killed %d %s" % (us, how))
    return 0


RECORDS = {}


def release_record(path):
    """A release record or manifest as {TYPE/NAME.xml: (size, xxh128)}.
    Such files are never rewritten in place (temp and rename), so a parse
    is cached by inode, size and mtime."""
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
        if key in RECORDS:
            return RECORDS[key]
    m = load_record(path)
    if len(RECORDS) > 64:
        RECORDS.clear()
    RECORDS[key] = {"%s/%s.xml" % (a["type"], a["name"]): (a["size"], a["xxh128"])
            for a in m["artifacts"]}
    return RECORDS[key]


def composed_record(sync, version):
    """Version's content as {TYPE/NAME.xml: (size, xxh128)}: its base
    manifest with every delta of its chain applied, per its state copy."""
    with open(os.path.join(sync, "snapshots", "%d.state.json" % version),
              "rb") as f:
        st = json.load(f)
    out = {}
    for e in st["files"]:
        if e["role"] not in ("manifest", "delta-manifest"):
            continue
        m = load_manifest(os.path.join(sync, e["name"]))
        for ev in m["events"]:
            if e["role"] == "delta-manifest" and ev["action"] == "UNDEPLOY":
                out.pop(ev["id"] + ".xml", None)
        for a in m["artifacts"]:
            out["%s/%s.xml" % (a["type"], a["name"])] = (a["size"],
                                                         a["xxh128"])
    return out


def check_current(root, sync):
    """One look at ROOT/current, as a gateway would take it. Returns
    ("ok", version), ("empty", None) before any release, ("gone", None)
    when the release was retired while we read it (its record or directory
    left: recycled or deleted, the documented fate of an old release), or
    ("violation", message)."""
    cur = os.path.join(root, "current")
    try:
        target = os.readlink(cur)
    except FileNotFoundError:
        return "empty", None
    except OSError as e:
        return "violation", "%s: %s" % (cur, e)
    m = re.match(r"^releases/(v([0-9]+)-r[0-9]+)$", target)
    if not m:
        return "violation", "%s -> %r, not releases/vV-rS" % (cur, target)
    name, version = m.group(1), int(m.group(2))
    rel_dir = os.path.join(root, "releases", name)
    record = rel_dir + ".json"

    def retired():
        return not (os.path.isdir(rel_dir) and os.path.isfile(record))

    try:
        want = release_record(record)
    except OSError as e:
        if e.errno == errno.ENOENT and retired():
            return "gone", None
        return "violation", "%s: %s" % (record, e)
    except (ValueError, KeyError, TypeError) as e:
        return "violation", "%s: not a release record: %s" % (record, e)
    try:
        files = list_files(rel_dir)
        sizes = {rel: os.lstat(p).st_size for rel, p in files.items()}
    except OSError as e:
        if e.errno == errno.ENOENT and retired():
            return "gone", None
        return "violation", "%s: %s" % (rel_dir, e)
    bad = []
    bad += ["missing " + r for r in sorted(set(want) - set(files))]
    bad += ["extra " + r for r in sorted(set(files) - set(want))]
    common = sorted(set(want) & set(files))
    sums = {}
    paths = [files[r] for r in common]
    for i in range(0, len(paths), 500):
        p = subprocess.run(["xxhsum", "-H2", "--"] + paths[i:i + 500],
                           capture_output=True, text=True)
        for line in p.stdout.splitlines():
            mm = re.match(r"^([0-9a-f]{32})  (.*)$", line)
            if mm:
                sums[mm.group(2)] = mm.group(1)
    for r in common:
        size, xxh = want[r]
        if sizes[r] != size:
            bad.append("%s: size %d, record says %d" % (r, sizes[r], size))
        elif sums.get(files[r]) != xxh:
            bad.append("%s: xxh128 %s, record says %s"
                       % (r, sums.get(files[r]), xxh))
    if bad:
        if retired():
            return "gone", None
        return "violation", "%s: %s" % (rel_dir, "; ".join(bad[:5]))
    # The record must be exactly what upstream published as that version
    # (no labels or overrides here), while the sync root still has it.
    try:
        up = composed_record(sync, version)
    except FileNotFoundError:
        return "ok", version
    except (OSError, ValueError, KeyError, TypeError) as e:
        return "violation", "snapshots/%d: %s" % (version, e)
    if up != want:
        return "violation", "%s: record differs from version %d's manifest" \
            % (name, version)
    return "ok", version


def check_sync(artsync, sync):
    """state.json parses and `artsync verify` passes on the latest version.
    A failure counts only if state.json still names the same version after
    it (a newer publish may prune what an older one named)."""
    state = os.path.join(sync, "state.json")

    def version():
        with open(state, "rb") as f:
            return json.load(f)["version"]

    try:
        v0 = version()
    except FileNotFoundError:
        return "empty", None
    except (OSError, ValueError, KeyError) as e:
        return "violation", "state.json: %s" % e
    p = subprocess.run([artsync, "verify", "--sync-root", sync],
                       capture_output=True, text=True)
    if p.returncode == 0:
        return "ok", v0
    try:
        v1 = version()
    except (OSError, ValueError, KeyError) as e:
        return "violation", "state.json: %s" % e
    if v1 != v0:
        return "moved", None
    return "violation", "verify of version %s: exit %d: %s" % (
        v0, p.returncode, (p.stderr or p.stdout).strip())


def check_once(artsync, sync, roots):
    bad = 0
    for what, info in [check_current(r, sync) for r in roots] + \
            [check_sync(artsync, sync)]:
        if what != "ok":
            print("%s: %s" % (what, info), file=sys.stderr)
            bad = 1
    return bad


def torture_reader(out, stop, artsync, sync, roots):
    """Until `stop` exists: passes over every deploy root and the sync root,
    as fast as they go. Counts go to `out` (JSON) at the end.

    On request it also says what one pass found: write N to `stop`.req
    (N above the last one), and the first pass that starts after it writes
    `stop`.N: "ok", or its violations one per line. That is the check the
    torture makes right after each kill, without starting an interpreter."""
    c = {"passes": 0, "release_checks": 0, "release_ok": 0, "gone": 0,
         "empty": 0, "sync_checks": 0, "sync_ok": 0, "sync_moved": 0,
         "violations": 0}
    examples, versions = [], set()
    had_current = set()
    served = 0
    while not os.path.exists(stop):
        try:
            with open(stop + ".req") as f:
                asked = int(f.read().strip() or 0)
        except (OSError, ValueError):
            asked = 0
        found = []
        for root in roots:
            what, info = check_current(root, sync)
            c["release_checks"] += 1
            if what == "empty" and root in had_current:
                what, info = "violation", "%s/current vanished" % root
            if what == "ok":
                c["release_ok"] += 1
                had_current.add(root)
                versions.add(info)
            elif what == "violation":
                found.append(info)
            else:
                c[what] += 1
        what, info = check_sync(artsync, sync)
        c["sync_checks"] += 1
        if what == "ok":
            c["sync_ok"] += 1
        elif what == "moved":
            c["sync_moved"] += 1
        elif what == "violation":
            found.append(info)
        c["violations"] += len(found)
        examples += found[:max(0, 20 - len(examples))]
        c["passes"] += 1
        if asked > served:
            tmp = "%s.%d.tmp" % (stop, asked)
            with open(tmp, "w") as f:
                f.write("\n".join(found) + "\n" if found else "ok\n")
            os.rename(tmp, "%s.%d" % (stop, asked))
            served = asked
        time.sleep(0.01)
    c["versions_seen"] = len(versions)
    c["examples"] = examples
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(c, f)
    os.rename(tmp, out)
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
    """Version V+1, full, as a writer on the share could make it: the
    latest full version's artifacts, an archive of one entry at the given
    path, every checksum right, its state copy and state.json alike,
    state.json last."""
    with open(os.path.join(sync, "state.json"), "rb") as f:
        st = json.load(f)
    old, new = st["version"], st["version"] + 1
    snaps = os.path.join(sync, "snapshots")
    man = load_manifest(os.path.join(snaps, "%d.manifest.json"
                                     % st["base_version"]))
    head = dict(man["header"], version=new, parent_version=old,
                kind="full", event_count=0)
    lines = [head] + man["artifacts"]
    files = {
        "manifest": ("%d.manifest.json" % new,
                     "".join(json.dumps(x) + "\n" for x in lines).encode()),
        "archive": ("%d.tar.zst" % new,
                    ustar_one(bytes.fromhex(hexpath), b"<x/>")),
    }
    for name, data in files.values():
        with open(os.path.join(snaps, name), "wb") as f:
            f.write(data)
    sums = xxh128_of(snaps, [n for n, _ in files.values()])
    st["version"], st["parent_version"], st["base_version"] = new, old, new
    st["files"] = []
    for role in ("manifest", "archive"):
        name, data = files[role]
        st["files"].append({"role": role, "version": new,
                            "name": "snapshots/" + name, "size": len(data),
                            "xxh128": sums[name]})
    sbytes = json.dumps(st).encode()
    write_replace(os.path.join(snaps, "%d.state.json" % new), sbytes)
    write_replace(os.path.join(sync, "state.json"), sbytes)
    print(new)
    return 0


def open_fd_of(pid, path):
    """(fd, pos) of PID's descriptor open on path, or None."""
    real = os.path.realpath(path)
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != real:
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("pos:"):
                        return int(fd), int(line.split()[1])
        except OSError:
            continue
    return None


def write_in_pass(pid, path, seconds):
    """As a writer that rewrites a file in place while a reader reads it
    twice: once PID has read past the first bytes of path (its first pass
    under way; path may not exist yet when this starts), those bytes are
    overwritten; the second pass reads them so. Once PID has closed the
    file, the true bytes are put back (the write finished). Exit 1 if PID
    never reads it within SECONDS."""
    pid, deadline = int(pid), time.time() + float(seconds)
    while True:
        got = open_fd_of(pid, path)
        if got is not None and 0 < got[1] < os.path.getsize(path):
            break
        if time.time() > deadline:
            return fail("write-in-pass: %d never read %s" % (pid, path))
    fd = os.open(path, os.O_RDWR)
    head = os.pread(fd, 8, 0)
    os.pwrite(fd, b"GARBAGE!", 0)
    while open_fd_of(pid, path) is not None:
        if time.time() > deadline:
            break
        time.sleep(0.001)
    os.pwrite(fd, head, 0)
    os.close(fd)
    print("rewritten")
    return 0


def main(argv):
    if len(argv) < 2:
        return fail(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "same-tree" and len(args) == 2:
        return same_tree(*args)
    if cmd == "release-complete" and len(args) >= 1:
        return max(release_complete(a) for a in args)
    if cmd == "json-get" and len(args) >= 1:
        return json_get(args[0], args[1:])
    if cmd == "file-entry" and len(args) == 2:
        return file_entry(*args)
    if cmd == "flip-byte" and len(args) in (1, 2):
        return flip_byte(*args)
    if cmd == "flip-bit" and len(args) == 2:
        return flip_bit(*args)
    if cmd == "forge" and len(args) == 2:
        return forge(*args)
    if cmd == "listen" and len(args) == 3:
        return listen(*args)
    if cmd == "one-reject" and len(args) == 3:
        return one_reject(*args)
    if cmd == "reader" and len(args) == 3:
        return reader(*args)
    if cmd == "extract-version" and len(args) == 3:
        return extract_version(*args)
    if cmd == "own-file" and len(args) == 3:
        return own_file(*args)
    if cmd == "manifest-json" and len(args) == 1:
        return manifest_json(*args)
    if cmd == "killer" and len(args) in (3, 5):
        return killer(*args)
    if cmd == "check-once" and len(args) >= 3:
        return check_once(args[0], args[1], args[2:])
    if cmd == "torture-reader" and len(args) >= 5:
        return torture_reader(args[0], args[1], args[2], args[3], args[4:])
    if cmd == "write-in-pass" and len(args) == 3:
        return write_in_pass(*args)
    if cmd == "forge-version" and len(args) == 2:
        return forge_version(*args)
    if cmd == "webhook-receiver" and len(args) >= 2:
        return webhook_receiver(args[0], args[1], args[2:])
    return fail("helper.py: bad usage: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
