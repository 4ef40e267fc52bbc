#!/bin/bash
# t18-threads: a full publish reads, hashes and validates on every core
# (snapshots/readpool.c), and what it writes is the same byte for byte as
# on one thread: every file of the version and state.json, and every line
# it prints for a tree it refuses. SOURCE_DATE_EPOCH fixes the time a
# version records, so the two publishes may be compared with cmp.
. "$(dirname "$0")/lib.sh"

export SOURCE_DATE_EPOCH=1700000000
WSO2=${WSO2_TREE:-$REPO/../shared/fixtures/wso2-mi-4.4}

# same_publish TREE: TREE published on 1 thread and on 4, into fresh sync
# roots, prints the same and writes the same files, byte for byte.
same_publish() {
	rm -rf one four &&
	"$ARTSYNC" publish --publish-threads 1 --source "$1" --sync-root one \
		>out.1 2>err.1 &&
	"$ARTSYNC" publish --publish-threads 4 --source "$1" --sync-root four \
		>out.4 2>err.4 &&
	cmp out.1 out.4 && cmp err.1 err.4 &&
	(cd one && find . -type f ! -name .publish.cache ! -name .publish.lock |
		sort) >files.1 &&
	(cd four && find . -type f ! -name .publish.cache ! -name .publish.lock |
		sort) >files.4 &&
	cmp files.1 files.4 &&
	test "$(wc -l <files.1)" -ge 4 &&
	while read -r f; do
		cmp "one/$f" "four/$f" || return 1
	done <files.1
}

test_expect_success 'the synapse fixtures: the same version' '
	fixture_tree src &&
	same_publish src
'

test_expect_success 'the WSO2 MI 4.4 tree: the same version' '
	same_publish "$WSO2"
'

test_expect_success 'a generated tree of 2,000 artifacts: the same version' '
	"$PYTHON" "$REPO/scripts/gen-tree" --from "$FIXTURES" 2000 gen >/dev/null &&
	same_publish gen
'

test_expect_success 'a second version on 4 threads: the same delta' '
	f=$(ls gen/api/*.xml | head -1) &&
	sed -i "s/<\/api>/<\/api>\n/" "$f" &&
	rm -f one/.publish.cache four/.publish.cache &&
	"$ARTSYNC" publish --publish-threads 1 --source gen --sync-root one \
		>out.1 &&
	"$ARTSYNC" publish --publish-threads 4 --source gen --sync-root four \
		>out.4 &&
	test "$(cat out.1)" = 2 && cmp out.1 out.4 &&
	for f in 2.delta.json 2.delta.tar.zst 2.state.json; do
		cmp one/snapshots/$f four/snapshots/$f || return 1
	done
'

test_expect_success 'a tree with problems: the same lines, in the same order' '
	rm -rf bad && cp -R src bad &&
	printf "<sequence xmlns=\"http://ws.apache.org/ns/synapse\" name=\"b\"><log></sequence>\n" \
		>bad/sequences/broken.xml &&
	printf "<api xmlns=\"http://ws.apache.org/ns/synapse\" name=\"noctx\"/>\n" \
		>bad/api/noctx.xml &&
	cp bad/sequences/main.xml bad/sequences/twin.xml &&
	test_exit_code 1 "$ARTSYNC" publish --publish-threads 1 --source bad \
		--sync-root b1 >out.1 2>err.1 &&
	test_exit_code 1 "$ARTSYNC" publish --publish-threads 4 --source bad \
		--sync-root b4 >out.4 2>err.4 &&
	test "$(wc -l <err.1)" -ge 3 &&
	cmp err.1 err.4
'

test_expect_success 'ARTSYNC_PUBLISH_THREADS is the key too; 0 is the default' '
	rm -rf e1 &&
	ARTSYNC_PUBLISH_THREADS=2 "$ARTSYNC" publish --source src --sync-root e1 \
		>out 2>err &&
	test "$(cat out)" = 1 && test ! -s err &&
	test_exit_code 2 "$ARTSYNC" publish --publish-threads 65 --source src \
		--sync-root e2 >out 2>err
'

finish
