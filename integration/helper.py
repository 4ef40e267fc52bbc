#!/usr/bin/env python3
"""integration/helper.py - what the shell helpers in lib.sh cannot do well.

Like git's t/helper/test-tool: one program, one subcommand per job, each
printing what it found wrong to stderr and exiting 0 (holds) or 1 (does not).
Only the standard library is used; checksums come from `xxhsum -H2`, the
independent implementation the product's numbers are checked against.

  same-tree A B            every file of A is in B and equal byte for byte,
                           and B has no file A lacks
  release-complete ROOT... each ROOT/current is a complete release (lib.sh)
  converged SRC SYNC ROOT...  each ROOT/current is the version state.json
                           names and holds exactly SRC
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
  mutate SRC ROUND N       rewrite N artifacts, add and remove a few (t55)
  killer PIDFILE DELAY_US MAX_MS [DIR ERE]
                           SIGKILL a process at a chosen moment (t55)
  check-once ARTSYNC SYNC_ROOT DEPLOY_ROOT...
                           one pass of torture-reader's checks: exit 1 and
                           say why on any violation
  torture-reader OUT STOP ARTSYNC SYNC_ROOT DEPLOY_ROOT...
                           check all the while that every current and the
                           sync root's latest version are whole (t55)
"""
import errno
import json
import os
import re
import signal
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


# --- t55-torture -----------------------------------------------------------

ROUND_MARK = re.compile(r'\n<!-- round [0-9]+ -->\n$')
NAME_ATTR = re.compile(r'\b(name|key)="[^"]*"')


def mutate(src, rnd, count):
    """Round `rnd` of a big change: `count` artifacts from a moving offset
    get a "<!-- round R -->" line (replacing the last round's), five new
    ones appear (copies of a changed one, renamed) and five others go.
    Files are rewritten in place, as an editor or a deploy tool does."""
    rnd, count = int(rnd), int(count)
    files = []
    for folder in sorted(os.listdir(src)):
        d = os.path.join(src, folder)
        if os.path.isdir(d):
            files += [(folder, n) for n in sorted(os.listdir(d))
                      if n.endswith(".xml")]
    if not files:
        return fail("mutate: no artifacts in %s" % src)
    n = len(files)
    off = (rnd * 397) % n
    count = min(count, max(n - 10, 0))
    changed = [files[(off + i) % n] for i in range(count)]
    for folder, name in changed:
        path = os.path.join(src, folder, name)
        with open(path, encoding="utf-8") as f:
            text = ROUND_MARK.sub("\n", f.read())
        if not text.endswith("\n"):
            text += "\n"
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "<!-- round %d -->\n" % rnd)
    for i in range(5):
        folder, name = changed[i % len(changed)] if changed else files[0]
        with open(os.path.join(src, folder, name), encoding="utf-8") as f:
            text = f.read()
        new = "r%d_%d" % (rnd, i)
        text = NAME_ATTR.sub(lambda m: '%s="%s"' % (m.group(1), new), text,
                             count=1)
        with open(os.path.join(src, folder, new + ".xml"), "w",
                  encoding="utf-8") as f:
            f.write(text)
        folder, name = files[(off + count + 1 + i * 7) % n]
        try:
            os.unlink(os.path.join(src, folder, name))
        except FileNotFoundError:
            pass
    return 0


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
    os.kill(pid, signal.SIGKILL)
    print("killed %d %s" % (us, how))
    return 0


def converged(src, sync, roots):
    try:
        with open(os.path.join(sync, "state.json"), "rb") as f:
            v = json.load(f)["version"]
    except (OSError, ValueError, KeyError) as e:
        return fail("converged: state.json: %s" % e)
    for root in roots:
        try:
            target = os.readlink(os.path.join(root, "current"))
        except OSError as e:
            return fail("converged: %s" % e)
        if not re.match(r"^releases/v%d-r[0-9]+$" % v, target):
            return fail("converged: %s/current -> %s, not version %d"
                        % (root, target, v))
        if same_tree(src, os.path.join(root, "current")) != 0:
            return 1
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
    m = load_manifest(path)
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
    as fast as they go. Counts go to `out` (JSON) at the end."""
    c = {"passes": 0, "release_checks": 0, "release_ok": 0, "gone": 0,
         "empty": 0, "sync_checks": 0, "sync_ok": 0, "sync_moved": 0,
         "violations": 0}
    examples, versions = [], set()
    had_current = set()
    while not os.path.exists(stop):
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
                c["violations"] += 1
                if len(examples) < 20:
                    examples.append(info)
            else:
                c[what] += 1
        what, info = check_sync(artsync, sync)
        c["sync_checks"] += 1
        if what == "ok":
            c["sync_ok"] += 1
        elif what == "moved":
            c["sync_moved"] += 1
        elif what == "violation":
            c["violations"] += 1
            if len(examples) < 20:
                examples.append(info)
        c["passes"] += 1
        time.sleep(0.01)
    c["versions_seen"] = len(versions)
    c["examples"] = examples
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(c, f)
    os.rename(tmp, out)
    return 0


def main(argv):
    if len(argv) < 2:
        return fail(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "same-tree" and len(args) == 2:
        return same_tree(*args)
    if cmd == "release-complete" and len(args) >= 1:
        return max(release_complete(a) for a in args)
    if cmd == "converged" and len(args) >= 3:
        return converged(args[0], args[1], args[2:])
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
    if cmd == "mutate" and len(args) == 3:
        return mutate(*args)
    if cmd == "killer" and len(args) in (3, 5):
        return killer(*args)
    if cmd == "check-once" and len(args) >= 3:
        return check_once(args[0], args[1], args[2:])
    if cmd == "torture-reader" and len(args) >= 5:
        return torture_reader(args[0], args[1], args[2], args[3], args[4:])
    return fail("helper.py: bad usage: %s" % " ".join(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
