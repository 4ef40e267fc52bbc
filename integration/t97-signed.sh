#!/bin/bash
# t97-signed: signed snapshots. A primary with a signing key, two
# secondaries with its public key (as a file and inline) and one without.
#
# A one-artifact change is a delta on version 1: its own files are bound,
# through their BLAKE2b, by the same kind of signature over state.json. On a
# copy of the sync root, an attacker rewrites that delta's archive and puts
# the new size and XXH128 in state.json: a fresh secondary with the key
# refuses it (bad signature), and refuses it again when the state is
# re-signed with the real key - as if the attacker had found an XXH128
# collision - because the BLAKE2b does not match.
#
# An attacker with write access to the sync root and no key rewrites
# state.json, manifest and archive consistently (every size and XXH128
# right: it publishes its own tree with artsync - a delta - into a copy of
# the root and copies the result in). The secondaries with the key refuse
# it - unsigned, with a copied signature, signed by another key - say why,
# count it in /metrics by reason and keep serving; the one without a key
# applies it (that is what unsigned means). The primary's next version,
# signed, heals every node. signify(1) and b2sum(1) check the formats
# independently.
. "$(dirname "$0")/lib.sh"

# on VERSION DEPLOY_ROOT...: each serves VERSION, byte for byte the tree
# in $tree (default src).
on() {
	local v=$1 d
	shift
	for d in "$@"; do
		test "$(current_version "$d")" = "$v" &&
		same_tree "${tree:-src}" "$d/current" || return 1
	done
}

# metric_of LOG NAME: the value of metric NAME (a full series name) of the
# secondary that wrote LOG.
metric_of() {
	listen_port "$1" &&
	curl -sf "$EP/metrics" >metrics &&
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' \
		metrics
}

rejects() {
	metric_of "$1" "artsync_rejects_total{reason=\"$2\"}"
}

# b2_of STATE ROLE: the blake2b state.json records for ROLE (the last
# record of that role: the newest delta's).
b2_of() {
	python3 -c '
import json, sys
b2 = [f["blake2b"] for f in json.load(open(sys.argv[1]))["files"]
      if f["role"] == sys.argv[2]]
print(b2[-1])
' "$1" "$2"
}

# same_b2 FILE STATE ROLE: b2sum(1) of FILE is what STATE records for ROLE.
same_b2() {
	local b2
	b2=$(b2sum -l 256 "$1") &&
	test "${b2%% *}" = "$(b2_of "$2" "$3")"
}

# forge_delta_archive ROOT VERSION [keep]: rewrites delta VERSION's archive
# in ROOT (a zstd skippable frame appended: other bytes, the same entries)
# and its record in state.json and the state copy - the new size and
# XXH128 (xxhsum -H2), the BLAKE2b dropped, or kept with "keep" - as a
# writer without the key would.
forge_delta_archive() {
	local a=$1/snapshots/$2.delta.tar.zst xxh
	{ cat "$a" && printf "\x50\x2a\x4d\x18\x00\x00\x00\x00"; } >"$a.tmp" &&
	mv "$a.tmp" "$a" &&
	xxh=$(xxhsum -H2 "$a") &&
	python3 -c '
import json, os, sys
root, v, size, xxh, keep = sys.argv[1:6]
for name in ("state.json", "snapshots/%s.state.json" % v):
    path = os.path.join(root, name)
    st = json.load(open(path))
    for f in st["files"]:
        if f["role"] == "delta-archive" and f["version"] == int(v):
            f["size"], f["xxh128"] = int(size), xxh
            if keep != "keep":
                del f["blake2b"]
    with open(path + ".tmp", "w") as out:
        out.write(json.dumps(st, indent=2) + "\n")
    os.rename(path + ".tmp", path)
' "$1" "$2" "$(stat -c %s "$a")" "${xxh%% *}" "${3:-drop}"
}

test_expect_success 'keygen writes a secret key (0600) and its .pub' '
	"$ARTSYNC" keygen --out key >pub.line 2>err &&
	test "$(stat -c %a key)" = 600 &&
	test "$(stat -c %a key.pub)" = 644 &&
	test_line_count 1 pub.line &&
	grep_file "^RW" pub.line &&
	test "$(tail -n 1 key.pub)" = "$(cat pub.line)" &&
	grep_file "secret key in key, public key in key.pub" err
'

test_expect_success 'keygen never replaces a key, and needs --out' '
	cp key key.before &&
	test_exit_code 1 "$ARTSYNC" keygen --out key >out 2>err &&
	grep_file "exists" err &&
	cmp key key.before &&
	test_exit_code 2 "$ARTSYNC" keygen >out 2>err &&
	test_line_count 1 err
'

test_expect_success 'bad keys are configuration errors: exit 2, one line' '
	fixture_tree src &&
	"$ARTSYNC" primary -n --source src --sync-root sync \
		--signing-key key >out &&
	grep_file "configuration OK" out &&
	cp key loose && chmod 644 loose &&
	test_exit_code 2 "$ARTSYNC" primary -n --source src --sync-root sync \
		--signing-key loose >out 2>err &&
	test_line_count 1 err &&
	grep_file "signing_key: loose: .*chmod 600 loose" err &&
	test_exit_code 2 "$ARTSYNC" publish --source src --sync-root sync \
		--signing-key nothing-here >out 2>err &&
	grep_file "signing_key: nothing-here: No such file" err &&
	test ! -e sync/state.json &&
	test_exit_code 2 "$ARTSYNC" secondary -n --sync-root sync \
		--deploy-root d --public-key key >out 2>err &&
	test_line_count 1 err &&
	grep_file "public_key: key: more than two lines|public_key: key: not" err &&
	test_exit_code 2 "$ARTSYNC" verify --public-key RWQnot-a-key \
		--sync-root sync >out 2>err &&
	grep_file "public_key" err &&
	printf "[secondary]\npublic_key = %s\n" "$(cat pub.line)" >s.conf &&
	"$ARTSYNC" secondary -n --config s.conf --sync-root sync \
		--deploy-root d >out &&
	grep_file "configuration OK" out
'

test_expect_success 'the primary signs every version' '
	start_primary --source src --sync-root sync --quiet-ms 100 \
		--signing-key key &&
	wait_for 20 "test -f sync/state.json" &&
	test "$(state_version sync)" = 1 &&
	wait_for_log primary.log "signing every version with key [0-9a-f]{16}" &&
	test -f sync/snapshots/1.state.sig &&
	"$ARTSYNC" verify --sync-root sync --public-key key.pub >out &&
	grep_file "version 1 OK: .*signature good" out
'

test_expect_success 'signify and b2sum agree with what was written' '
	signify-openbsd -V -p key.pub -x sync/snapshots/1.state.sig \
		-m sync/state.json >out &&
	grep_file "Signature Verified" out &&
	signify-openbsd -V -p key.pub -x sync/snapshots/1.state.sig \
		-m sync/snapshots/1.state.json >out &&
	b2=$(b2sum -l 256 sync/snapshots/1.tar.zst) &&
	test "${b2%% *}" = "$(b2_of sync/state.json archive)" &&
	b2=$(b2sum -l 256 sync/snapshots/1.manifest.json) &&
	test "${b2%% *}" = "$(b2_of sync/state.json manifest)"
'

test_expect_success 'two secondaries with the public key and one without apply it' '
	start_secondary s1 --sync-root sync --deploy-root d1 --poll-ms 100 \
		--public-key key.pub &&
	start_secondary s2 --sync-root sync --deploy-root d2 --poll-ms 100 \
		--public-key "$(cat pub.line)" &&
	start_secondary s3 --sync-root sync --deploy-root d3 --poll-ms 100 &&
	wait_for 20 "on 1 d1 d2 d3" &&
	grep_file "applying only versions signed by key" s1.log &&
	grep_file "applying only versions signed by key" s2.log &&
	! grep -q "applying only versions signed" s3.log
'

test_expect_success 'a signed change reaches all three' '
	make_artifact api Signed two &&
	wait_for 20 "test \"\$(state_version sync)\" = 2" &&
	wait_for 20 "on 2 d1 d2 d3" &&
	rel=$(current_release d1) &&
	rm -rf tree2 && cp -R src tree2
'

test_expect_success 'version 2 is a delta: its files signed through their BLAKE2b' '
	test "$(python3 "$HELPER" json-get sync/state.json base_version)" = 1 &&
	test -f sync/snapshots/2.delta.json &&
	test -f sync/snapshots/2.delta.tar.zst &&
	test ! -e sync/snapshots/2.tar.zst &&
	signify-openbsd -V -p key.pub -x sync/snapshots/2.state.sig \
		-m sync/state.json >out &&
	grep_file "Signature Verified" out &&
	same_b2 sync/snapshots/2.delta.json sync/state.json delta-manifest &&
	same_b2 sync/snapshots/2.delta.tar.zst sync/state.json delta-archive &&
	same_b2 sync/snapshots/1.manifest.json sync/state.json manifest &&
	same_b2 sync/snapshots/1.tar.zst sync/state.json archive &&
	"$ARTSYNC" verify --sync-root sync --public-key key.pub >out &&
	grep_file "version 2 OK: .*signature good" out
'

test_expect_success 'a delta archive rewritten with its XXH128, no key: refused' '
	rm -rf sync4 && cp -R sync sync4 &&
	forge_delta_archive sync4 2 &&
	"$ARTSYNC" verify --sync-root sync4 >out &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root sync4 \
		--public-key key.pub >out 2>err &&
	grep_file "bad signature" err &&
	start_secondary s4 --sync-root sync4 --deploy-root d4 --poll-ms 100 \
		--public-key key.pub &&
	wait_for_log s4.log "error: .*bad signature.*still serving nothing" &&
	test "$(rejects s4.log bad_signature)" = 1 &&
	test ! -e d4/current
'

test_expect_success 'the same as an XXH128 collision (re-signed with the real key): BLAKE2b refuses it' '
	cp sync/state.json sync4/state.json &&
	cp sync/snapshots/2.state.json sync4/snapshots/2.state.json &&
	forge_delta_archive sync4 2 keep &&
	cmp sync4/state.json sync4/snapshots/2.state.json &&
	cp key real.sec &&
	signify-openbsd -S -s real.sec -m sync4/state.json -x resigned.sig &&
	mv resigned.sig sync4/snapshots/2.state.sig &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root sync4 \
		--public-key key.pub >out 2>err &&
	grep_file "2\.delta\.tar\.zst: archive blake2b mismatch" err &&
	wait_for_log s4.log "error: .*2\.delta\.tar\.zst: archive blake2b mismatch" &&
	test "$(rejects s4.log blake2b_mismatch)" = 1 &&
	test ! -e d4/current
'

test_expect_success 'the true files back: the keyed secondary applies base and delta' '
	cp sync/snapshots/2.delta.tar.zst sync4/snapshots/2.delta.tar.zst.tmp &&
	mv sync4/snapshots/2.delta.tar.zst.tmp sync4/snapshots/2.delta.tar.zst &&
	cp sync/snapshots/2.state.sig sync4/snapshots/2.state.sig &&
	cp sync/snapshots/2.state.json sync4/snapshots/2.state.json &&
	cp sync/state.json sync4/state.json.tmp &&
	mv sync4/state.json.tmp sync4/state.json &&
	tree=tree2 wait_for 20 "on 2 d4" &&
	stop $pid_s4
'

test_expect_success 'the attacker publishes its own version 3 into the sync root' '
	rm -rf evil scratch && cp -R src evil && cp -R sync scratch &&
	SRC=evil make_artifact api Evil injected &&
	"$ARTSYNC" publish --source evil --sync-root scratch >out &&
	test "$(cat out)" = 3 &&
	"$ARTSYNC" verify --sync-root scratch >/dev/null &&
	test -f scratch/snapshots/3.delta.tar.zst &&
	cp scratch/snapshots/3.delta.json scratch/snapshots/3.delta.tar.zst \
		scratch/snapshots/3.state.json sync/snapshots/ &&
	cp scratch/state.json sync/state.json.tmp &&
	mv sync/state.json.tmp sync/state.json
'

test_expect_success 'unsigned: refused by s1 and s2, which keep serving version 2' '
	wait_for_log s1.log "error: .*not signed \(no snapshots/3\.state\.sig\).*still serving $rel" &&
	wait_for_log s2.log "error: .*not signed" &&
	tree=tree2 on 2 d1 d2 &&
	test ! -e d1/current/api/Evil.xml &&
	test "$(rejects s1.log unsigned)" = 1 &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root sync \
		--public-key key.pub >out 2>err &&
	grep_file "not signed" err
'

test_expect_success 'without a public key, s3 applies it: nothing checks who wrote it' '
	tree=evil wait_for 20 "on 3 d3"
'

test_expect_success 'version 2 signature copied beside it: bad signature' '
	cp sync/snapshots/2.state.sig sync/snapshots/3.state.sig.tmp &&
	mv sync/snapshots/3.state.sig.tmp sync/snapshots/3.state.sig &&
	wait_for_log s1.log "error: .*3\.state\.sig: bad signature" &&
	wait_for_log s2.log "bad signature" &&
	test "$(rejects s1.log bad_signature)" = 1 &&
	tree=tree2 on 2 d1 d2
'

test_expect_success 'signed with the attacker'"'"'s own key: refused as another key' '
	"$ARTSYNC" keygen --out mine.sec >/dev/null 2>&1 &&
	signify-openbsd -S -s mine.sec -m sync/state.json -x forged.sig &&
	mv forged.sig sync/snapshots/3.state.sig &&
	wait_for_log s1.log "error: .*signed by another key" &&
	wait_for_log s2.log "signed by another key" &&
	test "$(rejects s2.log wrong_key)" = 1 &&
	tree=tree2 on 2 d1 d2 &&
	is_running $pid_s1 && is_running $pid_s2
'

test_expect_success 'the next signed version heals every node' '
	make_artifact api Signed four &&
	wait_for 20 "test \"\$(state_version sync)\" = 4" &&
	wait_for_log primary.log "replaced an unreadable latest version: .*another key" &&
	wait_for 20 "on 4 d1 d2 d3" &&
	test ! -e d3/current/api/Evil.xml &&
	"$ARTSYNC" verify --sync-root sync --public-key key.pub >/dev/null
'

test_expect_success 'rollback signs too, and is applied' '
	"$ARTSYNC" rollback --sync-root sync --to 2 --signing-key key >out &&
	test "$(cat out)" = 5 &&
	test -f sync/snapshots/5.state.sig &&
	tree=tree2 wait_for 20 "on 5 d1 d2 d3"
'

test_expect_success 'rollback to the attacker'"'"'s version is refused' '
	test_exit_code 1 "$ARTSYNC" rollback --sync-root sync --to 3 \
		--signing-key key >out 2>err &&
	grep_file "another key" err &&
	test "$(state_version sync)" = 5
'

test_expect_success 'everything stops cleanly' '
	stop $pid_s1 && stop $pid_s2 && stop $pid_s3 && stop $pid_primary
'

finish
