#!/bin/bash
# t10-publish: one-shot publish, verify and rollback on a sync root.
# (A rollback pins the sync root: publish refuses until --unpin.)
#
# What lands in the sync root is checked against independent tools: sizes
# by stat, checksums by xxhsum -H2, the archive's content by tar --zstd. A
# refused tree must leave the sync root exactly as it was.
. "$(dirname "$0")/lib.sh"

# refused SOURCE PATH: publishing SOURCE exits 1, its stderr names PATH, and
# the sync root is byte for byte what it was.
refused() {
	test_exit_code 1 "$ARTSYNC" publish --source "$1" --sync-root sync \
		>out 2>err &&
	grep_file "$2" err &&
	test_line_count 1 err &&
	test ! -s out &&
	cmp state.before sync/state.json &&
	ls -A sync/snapshots >snapshots.after &&
	cmp snapshots.before snapshots.after
}

# bad_tree: a fresh copy of the good source to break in one place.
bad_tree() {
	rm -rf bad && cp -R src bad
}

test_expect_success 'setup: the fixture tree' '
	fixture_tree src &&
	test "$(find src -name "*.xml" | wc -l)" -gt 50
'

test_expect_success 'publish the fixtures: prints 1' '
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = 1 &&
	test ! -s err &&
	test -f sync/state.json &&
	cp sync/state.json state.before &&
	ls -A sync/snapshots >snapshots.before
'

test_expect_success 'publish again: prints unchanged and writes nothing' '
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = unchanged &&
	cmp state.before sync/state.json &&
	ls -A sync/snapshots >snapshots.after &&
	cmp snapshots.before snapshots.after
'

test_expect_success 'state.json names version 1, its manifest and archive' '
	test "$(state_version sync)" = 1 &&
	python3 "$HELPER" file-entry sync/state.json manifest >m &&
	python3 "$HELPER" file-entry sync/state.json archive >a &&
	read -r mname msize mxxh <m &&
	read -r aname asize axxh <a &&
	test "$mname" = snapshots/1.manifest.json &&
	test "$aname" = snapshots/1.tar.zst
'

test_expect_success 'sizes in state.json are what stat says' '
	test "$msize" = "$(stat -c %s sync/snapshots/1.manifest.json)" &&
	test "$asize" = "$(stat -c %s sync/snapshots/1.tar.zst)"
'

test_expect_success 'checksums in state.json are what xxhsum -H2 says' '
	xxhsum -H2 sync/snapshots/1.manifest.json >sum &&
	test "$mxxh" = "$(cut -d" " -f1 sum)" &&
	xxhsum -H2 sync/snapshots/1.tar.zst >sum &&
	test "$axxh" = "$(cut -d" " -f1 sum)"
'

test_expect_success 'artifact_count is the number of fixture files' '
	test "$(python3 "$HELPER" json-get sync/state.json artifact_count)" = \
		"$(find src -type f -name "*.xml" | wc -l)"
'

test_expect_success 'verify exits 0 (latest and by number)' '
	"$ARTSYNC" verify --sync-root sync >out 2>err &&
	grep_file "^version 1 OK" out &&
	"$ARTSYNC" verify --sync-root sync 1 >out 2>err &&
	grep_file "^version 1 OK" out
'

test_expect_success 'round trip: the archive unpacks to the source, byte for byte' '
	extract_version sync 1 v1 &&
	same_tree src v1
'

test_expect_success 'malformed xml is refused, naming the file' '
	bad_tree &&
	printf "<sequence xmlns=\"http://ws.apache.org/ns/synapse\" name=\"b\"><log></sequence>\n" \
		>bad/sequences/broken.xml &&
	refused bad "bad/sequences/broken\.xml"
'

test_expect_success 'an XXE DOCTYPE is refused, naming the file' '
	bad_tree &&
	cat >bad/sequences/xxe.xml <<-\EOF &&
	<?xml version="1.0"?>
	<!DOCTYPE s [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
	<sequence xmlns="http://ws.apache.org/ns/synapse" name="xxe"><log>&xxe;</log></sequence>
	EOF
	refused bad "bad/sequences/xxe\.xml.*DOCTYPE"
'

test_expect_success 'an artifact failing its schema is refused, naming the file' '
	bad_tree &&
	printf "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"noctx\"/>\n" \
		>bad/api/noctx.xml &&
	refused bad "bad/api/noctx\.xml"
'

test_expect_success 'what WSO2 ignores is skipped with one warning each' '
	bad_tree &&
	mkdir bad/scripts &&
	cp src/sequences/main.xml bad/scripts/main.xml &&
	cp src/sequences/main.xml bad/sequences/main.txt &&
	cp src/sequences/main.xml bad/sequences/main.xml~ &&
	echo notes >bad/README.md &&
	rm -rf skipped && "$ARTSYNC" publish --source bad --sync-root skipped \
		>out 2>err &&
	test "$(cat out)" = 1 &&
	test_line_count 4 err &&
	grep_file "^artsync: warning: bad/scripts: skipped: not a WSO2 artifact folder" err &&
	grep_file "^artsync: warning: bad/sequences/main\.txt: skipped: not \*\.xml" err &&
	grep_file "^artsync: warning: bad/sequences/main\.xml~: skipped" err &&
	grep_file "^artsync: warning: bad/README\.md: skipped" err &&
	"$ARTSYNC" verify --sync-root skipped >/dev/null
'

test_expect_success 'a name artsync cannot carry is refused, naming it' '
	bad_tree &&
	cp src/sequences/main.xml "bad/sequences/tab$(printf "\t")here.xml" &&
	refused bad "bad/sequences/tab.here\.xml: artifact name has a control character"
'

test_expect_success 'a symlink to a file is read through: a second main is refused naming both' '
	bad_tree &&
	ln -s main.xml bad/sequences/link.xml &&
	refused bad "bad/sequences/main\.xml: sequence .main. is also defined by sequences/link\.xml"
'

test_expect_success 'every problem in one run, sorted, one line each' '
	bad_tree &&
	printf "<sequence name=\"x\"/>\n" >bad/sequences/nons.xml &&
	printf "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"n\"/>\n" >bad/api/noctx.xml &&
	printf "<sequence xmlns=\"http://ws.apache.org/ns/synapse\" name=\"t\">\n</sequence>\n<x/>\n" >bad/sequences/two.xml &&
	cp bad/sequences/main.xml bad/sequences/main2.xml &&
	test_exit_code 1 "$ARTSYNC" publish --source bad --sync-root sync \
		>out 2>err &&
	test_line_count 5 err &&
	sed -n 1p err | grep -q "bad/api/noctx\.xml:1: <api> has no .context. attribute" &&
	sed -n 2p err | grep -q "bad/sequences/main2\.xml: sequence .main. is also defined by sequences/main\.xml" &&
	sed -n 3p err | grep -q "bad/sequences/nons\.xml:1: root element <sequence> has no namespace; sequences/ needs <sequence> in http://ws.apache.org/ns/synapse" &&
	sed -n 4p err | grep -q "bad/sequences/two\.xml:3: extra content after the root element" &&
	grep_file "^artsync: publish failed: 4 problems above, nothing published$" err &&
	cmp state.before sync/state.json
'

test_expect_success 'a flipped bit in the archive: verify exits 1, checksum mismatch' '
	rm -rf flip && cp -R sync flip &&
	python3 "$HELPER" flip-byte flip/snapshots/1.tar.zst &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root flip >out 2>err &&
	grep_file "checksum mismatch" err &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root flip 1 >out 2>err &&
	grep_file "checksum mismatch" err
'

test_expect_success 'a truncated manifest: verify exits 1' '
	rm -rf trunc && cp -R sync trunc &&
	truncate -s 100 trunc/snapshots/1.manifest.json &&
	test_exit_code 1 "$ARTSYNC" verify --sync-root trunc >out 2>err &&
	grep_file "1\.manifest\.json" err
'

test_expect_success 'a change publishes version 2' '
	make_artifact sequences added-in-v2 v2 &&
	rm src/tasks/task1.xml &&
	echo "<!-- v2 -->" >>src/api/HelloWorld.xml &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = 2 &&
	test "$(python3 "$HELPER" json-get sync/state.json parent_version)" = 1 &&
	extract_version sync 2 v2 &&
	same_tree src v2 &&
	"$ARTSYNC" verify --sync-root sync 1 >/dev/null &&
	"$ARTSYNC" verify --sync-root sync 2 >/dev/null
'

test_expect_success 'rollback --to 1 publishes version 3 holding version 1' '
	"$ARTSYNC" rollback --sync-root sync --to 1 >out 2>err &&
	test "$(cat out)" = 3 &&
	test "$(state_version sync)" = 3 &&
	"$ARTSYNC" verify --sync-root sync >/dev/null &&
	extract_version sync 3 v3 &&
	same_tree v1 v3 &&
	! same_tree v2 v3 2>/dev/null
'

test_expect_success 'the rollback sticks: publish refuses while pinned, says how' '
	test -f sync/pin.json &&
	test_exit_code 1 "$ARTSYNC" publish --source src --sync-root sync \
		>out 2>err &&
	grep_file "pinned to version 1 .*artsync unpin .*--unpin" err &&
	test "$(state_version sync)" = 3
'

test_expect_success 'publishing the source again after rollback (--unpin): version 4' '
	"$ARTSYNC" publish --unpin --source src --sync-root sync >out 2>err &&
	test ! -e sync/pin.json &&
	test "$(cat out)" = 4 &&
	extract_version sync 4 v4 &&
	same_tree src v4
'

test_expect_success 'versions strictly increase, each parent the one before' '
	for v in 1 2 3 4; do
		test "$(python3 "$HELPER" json-get sync/snapshots/$v.state.json version)" = $v &&
		test "$(python3 "$HELPER" json-get sync/snapshots/$v.state.json parent_version)" = $((v - 1)) ||
		return 1
	done
'

test_expect_success 'rollback to a version that does not exist exits 1' '
	cp sync/state.json state.before &&
	test_exit_code 1 "$ARTSYNC" rollback --sync-root sync --to 99 >out 2>err &&
	grep_file "99" err &&
	cmp state.before sync/state.json
'

finish
