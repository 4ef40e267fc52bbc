#!/bin/bash
# t44-disk-full: publish and apply on a small tmpfs filled until ENOSPC.
#
# A sync root and a deploy root each live on their own tmpfs (a few MB,
# mounted here, unmounted at exit). The file system is filled with a
# filler file until ENOSPC, then 0, 1, 2... pages are given back, so that
# the write that fails moves from the first to the last one a publish or
# an apply makes. Every failure must be clean: exit 1 or a refusal naming
# "No space left on device"; state.json byte for byte as it was and no
# file of the failed version left in snapshots/ (a partial version would
# hold the very space the next try needs); no temp file anywhere; on the
# secondary, current unchanged and complete, .staging/ without a build,
# the refusal counted as no_space. Once the space is back, the next
# attempt succeeds - for the one-shot publish, the primary daemon and the
# secondary alike.
. "$(dirname "$0")/lib.sh"

S=$TRASH/scratch
PAGE=4096
phase=publish	# whose failures $S/$phase-messages collects

umount_all() {
	local m
	for m in "$TRASH/fs-sync" "$TRASH/fs-deploy" "$TRASH/fs-primary"; do
		mountpoint -q "$m" 2>/dev/null && umount -l "$m"
	done
	return 0
}
trap 'kill_all; umount_all; cleanup' EXIT

# fill FS PAGES: FS/filler takes every free page of the tmpfs FS but PAGES.
fill() {
	rm -f "$1/filler" &&
	{ dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null; :; } &&
	test "$(df --output=avail -B1 "$1" | tail -n 1)" -lt $PAGE &&
	truncate -s "-$(($2 * PAGE))" "$1/filler"
}

# pages PATH...: the tmpfs pages the regular files at or below PATH take.
pages() {
	find "$@" -type f -printf "%s\n" |
	awk -v p=$PAGE '{ n += int(($1 + p - 1) / p) } END { print n + 0 }'
}

# steps NEED: free-page counts to try, from 0 to past NEED: coarse, then
# page by page around NEED, where the last writes (records, renames) fail.
steps() {
	local k=0 stride=$(( $1 / 8 > 1 ? $1 / 8 : 1 ))
	while [ $k -lt $(($1 - 8)) ]; do
		echo $k
		k=$((k + stride))
	done
	seq $(( $1 > 8 ? $1 - 8 : k )) $(($1 + 24))
}

# no_temp_files DIR: nothing of ours half-written below DIR.
no_temp_files() {
	test -z "$(find "$1" -name '.*.tmp-*' -o -name '*.tmp' -o -name 'current.tmp')"
}

# sync_root_as_before ROOT: state.json and snapshots/ as saved in $S.
sync_root_as_before() {
	cmp "$1/state.json" "$S/state.before" &&
	ls -A "$1" "$1/snapshots" >"$S/ls.now" &&
	diff "$S/ls.before" "$S/ls.now" &&
	no_temp_files "$1" &&
	"$ARTSYNC" verify --sync-root "$1" >/dev/null
}

test_expect_success 'setup: two small tmpfs, a source tree' '
	mkdir "$S" fs-sync fs-deploy fs-primary &&
	mount -t tmpfs -o size=2m,mode=0755 artsync-test fs-sync &&
	mount -t tmpfs -o size=4m,mode=0755 artsync-test fs-deploy &&
	mount -t tmpfs -o size=2m,mode=0755 artsync-test fs-primary &&
	fixture_tree src
'

# --- publish ---------------------------------------------------------------

test_expect_success 'publish: version 1 fits' '
	"$ARTSYNC" publish --source src --sync-root fs-sync/sync >out &&
	test "$(cat out)" = 1
'

test_expect_success 'publish on a full file system: every failure is clean' '
	make_artifact sequences Grown 1 &&
	cp fs-sync/sync/state.json "$S/state.before" &&
	ls -A fs-sync/sync fs-sync/sync/snapshots >"$S/ls.before" &&
	: >"$S/$phase-messages" &&
	fails=0 &&
	need=$(pages fs-sync/sync/snapshots) &&
	say "# version 1 takes $need pages" &&
	for k in $(steps $need); do
		fill fs-sync $k || return 1
		# --max-chain 0: a full version, as large as version 1 (a
		# delta would fit in the first few pages)
		if "$ARTSYNC" publish --source src --sync-root fs-sync/sync \
			--max-chain 0 >out 2>err; then
			say "# publish succeeded with $k pages free" &&
			test "$(cat out)" = 2 || return 1
			break
		fi
		fails=$((fails + 1))
		grep -q "No space left on device" err &&
		test ! -s out &&
		sync_root_as_before fs-sync/sync || { cat err; return 1; }
		sed "s/tmp-[a-z0-9]*/tmp-X/" err >>"$S/$phase-messages"
	done &&
	say "# $fails clean failures; where they failed:" &&
	sort -u "$S/$phase-messages" &&
	test $fails -ge 3 &&
	test "$(sort -u "$S/$phase-messages" | wc -l)" -ge 2
'

test_expect_success 'publish: with the space back, the next version follows' '
	rm -f fs-sync/filler &&
	make_artifact sequences Grown 2 &&
	"$ARTSYNC" publish --source src --sync-root fs-sync/sync >out &&
	v=$(cat out) &&
	"$ARTSYNC" verify --sync-root fs-sync/sync "$v" &&
	no_temp_files fs-sync/sync &&
	test "$(ls fs-sync/sync/snapshots | wc -l)" = $((3 * v))
'

test_expect_success 'primary: a full sync root, then space: it publishes' '
	"$ARTSYNC" publish --source src --sync-root fs-primary/sync >out &&
	v=$(cat out) &&
	cp fs-primary/sync/state.json "$S/state.before" &&
	ls -A fs-primary/sync fs-primary/sync/snapshots >"$S/ls.before" &&
	fill fs-primary 0 &&
	start_primary --source src --sync-root fs-primary/sync --quiet-ms 50 \
		--retry-ms 100 &&
	make_artifact sequences ByPrimary 1 &&
	wait_for_log primary.log "error: publish failed: .*No space left on device" &&
	sync_root_as_before fs-primary/sync &&
	rm fs-primary/filler &&
	wait_for_log primary.log "published version $((v + 1))" &&
	"$ARTSYNC" verify --sync-root fs-primary/sync $((v + 1)) &&
	no_temp_files fs-primary/sync &&
	stop $pid_primary
'

# --- apply -----------------------------------------------------------------

# The secondary polls once a minute: it tries a version when inotify says
# state.json changed and when POST /api/v1/sync asks, never behind our back.
test_expect_success 'apply: version 1 fits' '
	phase=apply &&
	rm -rf src2 && mkdir src2 && cp -R src/. src2/ &&
	SRC=src2 make_artifact sequences Applied 1 &&
	"$ARTSYNC" publish --source src2 --sync-root sync >out &&
	start_secondary s1 --sync-root sync --deploy-root fs-deploy/d \
		--poll-ms 60000 &&
	listen_port s1.log &&
	wait_for 20 "test \"\$(current_version fs-deploy/d)\" = 1" &&
	rel=$(current_release fs-deploy/d) &&
	cp -R src2 tree &&
	same_tree tree fs-deploy/d/current
'

# applied_or_refused V: after a POST /api/v1/sync, either version V is live
# (returns 0, sets applied=1) or it was refused for want of space and
# nothing changed.
applied_or_refused() {
	curl -sf --max-time 20 -X POST -H "$(rest_auth fs-deploy/d)" \
		-o "$S/sync.json" "$EP/api/v1/sync" &&
	if [ "$("$PYTHON" "$HELPER" json-get "$S/sync.json" applied_version)" = "$1" ]; then
		applied=1
		return 0
	fi
	"$PYTHON" "$HELPER" json-get "$S/sync.json" last_error >"$S/last_error" &&
	grep -q "^version $1 refused: .*No space left on device$" "$S/last_error" &&
	test "$(current_release fs-deploy/d)" = "$rel" &&
	same_tree tree fs-deploy/d/current &&
	release_is_complete fs-deploy/d &&
	test ! -e fs-deploy/d/.staging/build &&
	no_temp_files fs-deploy/d &&
	ls -A fs-deploy/d/releases >"$S/releases.now" &&
	diff "$S/releases.before" "$S/releases.now" &&
	sed "s/tmp-[a-z0-9]*/tmp-X/" "$S/last_error" >>"$S/$phase-messages"
}

test_expect_success 'apply on a full file system: refused, counted, clean' '
	ls -A fs-deploy/d/releases >"$S/releases.before" &&
	fetch_metrics "$EP" "$S/m.before" &&
	fill fs-deploy 0 &&
	SRC=src2 make_artifact sequences Applied 2 &&
	"$ARTSYNC" publish --source src2 --sync-root sync >out &&
	test "$(cat out)" = 2 &&
	wait_for 10 "fetch_metrics \"\$EP\" \"\$S/m.after\" &&
		test \$(rejects_total \"\$S/m.after\") -gt \$(rejects_total \"\$S/m.before\")" &&
	one_reject "$S/m.before" "$S/m.after" no_space &&
	msg=$(last_error "$EP") &&
	grep -F -q -- "error: $msg; still serving $rel" s1.log &&
	: >"$S/$phase-messages" &&
	applied=0 &&
	applied_or_refused 2 &&
	test $applied = 0
'

test_expect_success 'apply with more and more pages free: each try clean, then applied' '
	applied=0 &&
	tries=0 &&
	need=$(pages fs-deploy/d/releases fs-deploy/d/upstream) &&
	say "# release 1 and its records take $need pages" &&
	for k in $(steps $need); do
		fill fs-deploy $k &&
		applied_or_refused 2 || return 1
		[ $applied = 1 ] && break
		tries=$((tries + 1))
	done &&
	say "# applied with $k pages free, after $tries clean refusals; where:" &&
	sort -u "$S/$phase-messages" &&
	test $applied = 1 &&
	test $tries -ge 3
'

test_expect_success 'the space back: version 2 is live, complete, equal' '
	rm -f fs-deploy/filler &&
	test "$(current_version fs-deploy/d)" = 2 &&
	same_tree src2 fs-deploy/d/current &&
	release_is_complete fs-deploy/d &&
	no_temp_files fs-deploy/d &&
	test "$(last_error "$EP")" = None &&
	fetch_metrics "$EP" "$S/m.end" &&
	one_reject "$S/m.before" "$S/m.end" no_space+
'

test_expect_success 'SIGTERM stops it with status 0; both file systems unmount' '
	stop $pid_s1 &&
	umount fs-sync && umount fs-deploy && umount fs-primary
'

finish
