#!/bin/bash
# t17-pcache: the one-shot publish's cache (<sync root>/.publish.cache,
# snapshots/pcache.h): only files whose stat changed are read, and the
# cache never changes what is published - missing, damaged or another
# tree's, the result is the one a publish without it writes. Versions are
# compared byte for byte: SOURCE_DATE_EPOCH fixes the time they record.
. "$(dirname "$0")/lib.sh"

export SOURCE_DATE_EPOCH=1700000000

# same_version A B V: every file of version V is byte for byte the same in
# sync roots A and B, and so is state.json.
same_version() {
	local f
	for f in $(cd "$1/snapshots" && ls "$3".*); do
		cmp "$1/snapshots/$f" "$2/snapshots/$f" || return 1
	done &&
	cmp "$1/state.json" "$2/state.json"
}

# published SYNC V SRC: state.json names V, and V rebuilt is SRC.
published() {
	test "$(state_version "$1")" = "$2" &&
	extract_version "$1" "$2" x &&
	same_tree "$3" x
}

# rewrite FILE: new bytes, the same size and mtime (a second write inside
# the same timestamp): its last byte, a newline, becomes a space or back.
rewrite() {
	local m
	m=$(stat -c %Y "$1") &&
	"$PYTHON" -c '
import sys
b = open(sys.argv[1], "rb").read()
b = b[:-1] + (b" " if b[-1:] == b"\n" else b"\n")
open(sys.argv[1], "r+b").write(b)' "$1" &&
	touch -d "@$m" "$1"
}

# read_count: "READ of TOTAL" from a publish --log-level debug's err.
read_count() {
	sed -n 's/.*publish\.cache: \([0-9]* of [0-9]*\) artifacts read$/\1/p' err
}

test_expect_success 'setup: the fixture tree, published with its cache' '
	fixture_tree src &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = 1 && test ! -s err &&
	test -f sync/.publish.cache &&
	cp -R sync sync.nocache
'

test_expect_success 'one changed file: a delta, the tree as it is' '
	printf "<sequence xmlns=\"http://ws.apache.org/ns/synapse\" name=\"new1\"><log/></sequence>\n" \
		>src/sequences/new1.xml &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = 2 && test ! -s err &&
	test -f sync/snapshots/2.delta.json &&
	published sync 2 src
'

test_expect_success 'without the cache: byte for byte the same version' '
	rm sync.nocache/.publish.cache &&
	"$ARTSYNC" publish --source src --sync-root sync.nocache >out 2>err &&
	test "$(cat out)" = 2 && test ! -s err &&
	same_version sync sync.nocache 2
'

test_expect_success 'touch only: nothing published' '
	ls -A sync/snapshots >before &&
	find src -name "*.xml" -exec touch {} + &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = unchanged && test ! -s err &&
	ls -A sync/snapshots >after &&
	cmp before after
'

test_expect_success 'same size, same mtime, new bytes: seen' '
	f=$(ls src/api/*.xml | head -1) &&
	cp "$f" before.xml &&
	rewrite "$f" &&
	! cmp -s before.xml "$f" &&
	test "$(stat -c %s "$f")" = "$(stat -c %s before.xml)" &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = 3 &&
	published sync 3 src
'

test_expect_success 'racily clean: written just after the publish that cached it' '
	f=$(ls src/sequences/*.xml | head -1) &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	rewrite "$f" &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = 4 &&
	published sync 4 src
'

# corrupt HOW: damages sync/.publish.cache; then a change is published
# with one warning naming the cache, and the version is the tree.
corrupt_case() {
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	v=$(state_version sync) &&
	eval "$1" &&
	printf "<sequence xmlns=\"http://ws.apache.org/ns/synapse\" name=\"c$v\"><log/></sequence>\n" \
		>"src/sequences/c$v.xml" &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = $((v + 1)) &&
	grep_file "sync/\\.publish\\.cache: ignored \\(" err &&
	test_line_count 1 err &&
	published sync $((v + 1)) src &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test ! -s err
}

test_expect_success 'a cut-short cache: one warning, the right version' '
	corrupt_case "truncate -s -100 sync/.publish.cache"
'

test_expect_success 'a flipped byte: one warning, the right version' '
	corrupt_case "printf X | dd of=sync/.publish.cache bs=1 seek=300 conv=notrunc 2>/dev/null"
'

test_expect_success 'an empty cache: one warning, the right version' '
	corrupt_case ": >sync/.publish.cache"
'

test_expect_success 'a directory in its place: published, one warning' '
	rm sync/.publish.cache && mkdir sync/.publish.cache &&
	v=$(state_version sync) &&
	rewrite "$(ls src/api/*.xml | head -1)" &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = $((v + 1)) &&
	grep_file "sync/\\.publish\\.cache" err &&
	test_line_count 1 err &&
	published sync $((v + 1)) src &&
	rmdir sync/.publish.cache &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test -f sync/.publish.cache
'

test_expect_success 'another tree'"'"'s cache: ignored, the right version' '
	rm -rf src2 sync2 &&
	cp -R src src2 &&
	"$ARTSYNC" publish --source src2 --sync-root sync2 >out 2>err &&
	cp sync/.publish.cache sync2/.publish.cache &&
	f=$(ls src2/api/*.xml | head -1) && rewrite "$f" &&
	"$ARTSYNC" publish --log-level debug --source src2 --sync-root sync2 \
		>out 2>err &&
	test "$(cat out)" = 2 && test_line_count 1 err &&
	n=$(find src2 -name "*.xml" | wc -l) &&
	test "$(read_count)" = "$n of $n" &&
	published sync2 2 src2
'

test_expect_success 'past the racy window: nothing read, then one file' '
	n=$(find src -name "*.xml" | wc -l) &&
	sleep 2.5 &&	# ctime cannot be set back: let the racy window pass
	"$ARTSYNC" publish --log-level debug --source src --sync-root sync \
		>out 2>err &&
	"$ARTSYNC" publish --log-level debug --source src --sync-root sync \
		>out 2>err &&
	test "$(cat out)" = unchanged &&
	test "$(read_count)" = "0 of $n" &&
	v=$(state_version sync) &&
	rewrite "$(ls src/proxy-services/*.xml | head -1)" &&
	"$ARTSYNC" publish --log-level debug --source src --sync-root sync \
		>out 2>err &&
	test "$(cat out)" = $((v + 1)) &&
	test "$(read_count)" = "1 of $n" &&
	published sync $((v + 1)) src
'

test_expect_success 'a removed file and a new empty folder: published' '
	v=$(state_version sync) &&
	rm "$(ls src/api/*.xml | head -1)" &&
	rm -rf src/tasks && mkdir src/tasks &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test "$(cat out)" = $((v + 1)) &&
	published sync $((v + 1)) src
'

test_expect_success 'a cache temp a killed publisher left: swept by the next' '
	echo torn >sync/..publish.cache.tmp-k1ll3d &&
	echo keep >sync/..publish.cache.tmp-notours &&
	echo "<!-- a change -->" >>"$(ls src/*/*.xml | head -1)" &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>err &&
	test ! -e sync/..publish.cache.tmp-k1ll3d &&
	test -e sync/..publish.cache.tmp-notours &&
	rm sync/..publish.cache.tmp-notours &&
	test -s sync/.publish.cache
'

test_expect_success 'warnings about the tree: the same with the cache as without' '
	echo notes >src/sequences/README.txt &&
	rm -f sync/.publish.cache &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>full.err &&
	"$ARTSYNC" publish --source src --sync-root sync >out 2>cached.err &&
	grep -q "README.txt: skipped" full.err &&
	cmp full.err cached.err
'

finish
