#!/bin/bash
# t90-labels: a two-label cluster (WSO2's gateway_labels).
#
# labels.conf in the source assigns labels; a secondary started with
# --labels deploys only the artifacts that share one, and an artifact with
# none carries "default". Relabelling moves an artifact between gateways;
# restarting a gateway with other labels rebuilds what it serves.
. "$(dirname "$0")/lib.sh"

# holds DEPLOY_ROOT NAME...: the release holds exactly these api/sequences
# artifacts (and every artifact of the other types, which are "default").
holds() {
	local root=$1
	shift
	(cd "$root/current" && ls api sequences | grep '\.xml$' | sort) >got &&
	printf '%s.xml\n' "$@" | sort >want &&
	cmp -s got want
}

test_expect_success 'setup: artifacts labelled internal, external, both' '
	mkdir -p src/api src/sequences &&
	make_artifact api Public p &&
	make_artifact api Private p &&
	make_artifact api Both p &&
	make_artifact api Plain p &&
	make_artifact sequences Seq p &&
	printf "%s\n" "api/Public = external" "api/Private = internal" \
		"api/Both = internal, external" "sequences/* = internal" \
		>src/labels.conf &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null
'

test_expect_success 'the manifest carries each artifact'"'"'s labels' '
	python3 - sync/snapshots/1.manifest.json <<-PY
	import json, sys
	lines = open(sys.argv[1], "rb").read().splitlines()
	m = {"artifacts": [json.loads(l) for l in lines[1:]
	                   if b"\"labels\"" in l]}
	got = {a["name"]: a["labels"] for a in m["artifacts"]}
	want = {"Public": ["external"], "Private": ["internal"],
	        "Both": ["external", "internal"], "Plain": ["default"],
	        "Seq": ["internal"]}
	sys.exit(0 if got == want else "%r" % got)
	PY
'

test_expect_success 'an external and an internal gateway deploy their own' '
	start_secondary ext --sync-root sync --deploy-root ext --poll-ms 100 \
		--labels external &&
	start_secondary int --sync-root sync --deploy-root int --poll-ms 100 \
		--labels "default, internal" &&
	wait_for 20 "test \"\$(current_version ext)\" = 1" &&
	wait_for 20 "test \"\$(current_version int)\" = 1" &&
	holds ext Public Both &&
	holds int Private Both Plain Seq &&
	cmp src/api/Both.xml ext/current/api/Both.xml &&
	cmp src/api/Both.xml int/current/api/Both.xml
'

test_expect_success 'relabelling moves an artifact between gateways' '
	sed -i "s|api/Public = external|api/Public = internal|" src/labels.conf &&
	"$ARTSYNC" publish --source src --sync-root sync >/dev/null &&
	wait_for 20 "test \"\$(current_version ext)\" = 2" &&
	wait_for 20 "test \"\$(current_version int)\" = 2" &&
	holds ext Both &&
	holds int Public Private Both Plain Seq
'

test_expect_success 'a gateway restarted with other labels rebuilds' '
	stop "$pid_ext" &&
	start_secondary ext2 --sync-root sync --deploy-root ext --poll-ms 100 \
		--labels external,default &&
	wait_for 20 "holds ext Both Plain" &&
	test "$(current_version ext)" = 2 &&
	release_is_complete ext
'

test_expect_success 'status reports the labels' '
	listen_port ext2.log &&
	curl -s "$EP/api/v1/status" >st &&
	grep -q "\"labels\":\[\"external\",\"default\"\]" st
'

test_expect_success 'SIGTERM stops them with status 0' '
	stop "$pid_int" && stop "$pid_ext2"
'

finish
