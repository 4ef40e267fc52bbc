#!/bin/bash
# t16-wso2: real WSO2 synapse-configs trees, as they ship.
#
# The Micro Integrator 4.4 tree (../shared/fixtures/wso2-mi-4.4, verbatim:
# synapse.xml in ISO-8859-1, registry.xml in windows-1252, empty.txt
# placeholders, empty folders) publishes and deploys byte for byte; an
# API-M gateway's own names (versioned APIs, per-API sequences with ':',
# tenants, connector imports, UUID keys) are artifacts; artifacts are
# found by their Synapse names as well as their file names; deploy-local
# keeps identities unique; local-only artifacts end cleanly; WSO2's hot
# deployer sees an unchanged file unchanged (mtime, inode) across swaps;
# the schemas in schemas/ say what artsync checks.
. "$(dirname "$0")/lib.sh"

WSO2=${WSO2_TREE:-$REPO/../shared/fixtures/wso2-mi-4.4}
NS='xmlns="http://ws.apache.org/ns/synapse"'

# stat_of FILE: "MTIME INODE" of FILE, through the current symlink.
stat_of() {
	stat -L -c '%Y %i' "$1"
}

test_expect_success 'the MI 4.4 tree publishes as it is, one warning per placeholder' '
	cp -R "$WSO2" mi &&
	"$ARTSYNC" publish --source mi --sync-root sync >out 2>err &&
	test "$(cat out)" = 1 &&
	test_line_count 4 err &&
	test "$(grep -c "warning: mi/.*/empty.txt: skipped: not \*\.xml" err)" = 4 &&
	"$ARTSYNC" verify --sync-root sync >/dev/null
'

test_expect_success 'a secondary deploys it byte for byte: synapse.xml, registry.xml, empty folders' '
	start_secondary s1 --sync-root sync --deploy-root d1 --poll-ms 100 \
		--keep-releases 2 &&
	listen_port s1.log && EP1=$EP &&
	wait_for 20 "test \"\$(current_version d1)\" = 1" &&
	diff -r --exclude=empty.txt mi d1/current &&
	cmp mi/synapse.xml d1/current/synapse.xml &&
	cmp mi/registry.xml d1/current/registry.xml &&
	test -d d1/current/imports && test -z "$(ls -A d1/current/imports)" &&
	test ! -e d1/current/api &&
	release_is_complete d1
'

# The CLI finds s1's token through its deploy root, as on a gateway.
export ARTSYNC_DEPLOY_ROOT=$TRASH/d1

test_expect_success 'the files at the top are artifacts of type config' '
	"$ARTSYNC" show config synapse --endpoint "$EP1" >shown &&
	cmp shown mi/synapse.xml &&
	"$ARTSYNC" list --type config --endpoint "$EP1" --json >list.json &&
	grep -q "\"name\": *\"registry\"" list.json
'

# An API-M gateway's tree after a few APIs were published to it.
apim_tree() {
	mkdir -p mi/api mi/sequences mi/endpoints mi/local-entries \
		mi/event-sources mi/priority-executors &&
	for v in 1.0.0 2.0.0; do
		printf "<api %s name=\"admin--PizzaShackAPI\" context=\"/pizzashack/%s\" version=\"%s\" version-type=\"context\"><resource methods=\"GET\"><inSequence><send/></inSequence></resource></api>\n" \
			"$NS" "$v" "$v" >"mi/api/admin--PizzaShackAPI_v$v.xml" || return 1
	done &&
	printf "<api %s name=\"admin-AT-wso2.com--Tenant\" context=\"/t/wso2.com/x\"/>\n" "$NS" \
		>"mi/api/admin-AT-wso2.com--Tenant_v1.0.xml" &&
	printf "<api %s name=\"Caf\xc3\xa9 API\" context=\"/cafe\"/>\n" "$NS" \
		>"mi/api/$(printf "caf\xc3\xa9 api").xml" &&
	printf "<sequence %s name=\"admin--PizzaShackAPI:v1.0.0--In\"><log/></sequence>\n" "$NS" \
		>"mi/sequences/admin--PizzaShackAPI:v1.0.0--In.xml" &&
	printf "<endpoint %s name=\"admin--PizzaShackAPI_APIproductionEndpoint\"><address uri=\"http://127.0.0.1:1/\"/></endpoint>\n" "$NS" \
		>"mi/endpoints/admin--PizzaShackAPI_APIproductionEndpoint.xml" &&
	printf "<localEntry key=\"6f4c3a1e-0b7d-4f3e-9d2a-1c2b3a4d5e6f\"><![CDATA[{}]]></localEntry>\n" \
		>"mi/local-entries/6f4c3a1e-0b7d-4f3e-9d2a-1c2b3a4d5e6f.xml" &&
	printf "<import %s name=\"salesforce\" package=\"org.wso2.carbon.connector\" status=\"enabled\"/>\n" "$NS" \
		>"mi/imports/{org.wso2.carbon.connector}salesforce.xml"
}

test_expect_success 'an API-M gateway tree: versioned APIs, tenants, ":" names, imports, UUID keys' '
	apim_tree &&
	"$ARTSYNC" publish --source mi --sync-root sync >out 2>err &&
	test "$(cat out)" = 2 &&
	wait_for 20 "test \"\$(current_version d1)\" = 2" &&
	diff -r --exclude=empty.txt mi d1/current &&
	test -d d1/current/event-sources && test -d d1/current/priority-executors
'

test_expect_success 'show, undeploy and redeploy take the Synapse name too' '
	"$ARTSYNC" show api "admin--PizzaShackAPI:v2.0.0" --endpoint "$EP1" >shown &&
	cmp shown "mi/api/admin--PizzaShackAPI_v2.0.0.xml" &&
	"$ARTSYNC" show local-entries 6f4c3a1e-0b7d-4f3e-9d2a-1c2b3a4d5e6f \
		--endpoint "$EP1" >shown &&
	"$ARTSYNC" show imports "{org.wso2.carbon.connector}salesforce" \
		--endpoint "$EP1" >shown &&
	"$ARTSYNC" show api "$(printf "caf\xc3\xa9 api")" --endpoint "$EP1" >shown &&
	cmp shown "mi/api/$(printf "caf\xc3\xa9 api").xml" &&
	"$ARTSYNC" show api "$(printf "Caf\xc3\xa9 API")" --endpoint "$EP1" >shown &&
	"$ARTSYNC" undeploy api "admin--PizzaShackAPI:v1.0.0" --endpoint "$EP1" >out &&
	test ! -e "d1/current/api/admin--PizzaShackAPI_v1.0.0.xml" &&
	test -e "d1/current/api/admin--PizzaShackAPI_v2.0.0.xml" &&
	"$ARTSYNC" list --endpoint "$EP1" --json >list.json &&
	"$PYTHON" -c "import json,sys; a=json.load(open(\"list.json\"))[\"artifacts\"]; \
sys.exit(0 if any(x[\"name\"]==\"admin--PizzaShackAPI_v1.0.0\" and x[\"state\"]==\"undeployed-local\" for x in a) else 1)" &&
	"$ARTSYNC" redeploy api "admin--PizzaShackAPI:v1.0.0" --endpoint "$EP1" >out &&
	cmp "mi/api/admin--PizzaShackAPI_v1.0.0.xml" \
		"d1/current/api/admin--PizzaShackAPI_v1.0.0.xml"
'

test_expect_success 'deploy-local refuses a file that is not the artifact it names' '
	printf "<api %s name=\"Other\" context=\"/o\"/>\n" "$NS" >other.xml &&
	test_exit_code 1 "$ARTSYNC" deploy-local api \
		"admin--PizzaShackAPI:v1.0.0" other.xml --endpoint "$EP1" 2>err &&
	grep_file "the file defines API .Other., but api/admin--PizzaShackAPI_v1.0.0 is .admin--PizzaShackAPI:v1.0.0." err &&
	test_exit_code 1 "$ARTSYNC" deploy-local api NewName other.xml \
		--endpoint "$EP1" 2>err &&
	grep_file "deploy it under its own name" err &&
	printf "<api %s name=\"admin--PizzaShackAPI\" context=\"/p\" version=\"2.0.0\"/>\n" "$NS" >dup.xml &&
	test_exit_code 1 "$ARTSYNC" deploy-local api "admin--PizzaShackAPI:v2.0.0-copy" \
		dup.xml --endpoint "$EP1" 2>err &&
	grep_file "defines API .admin--PizzaShackAPI:v2.0.0." err &&
	cmp "mi/api/admin--PizzaShackAPI_v2.0.0.xml" \
		"d1/current/api/admin--PizzaShackAPI_v2.0.0.xml"
'

test_expect_success 'a local-only artifact is undeployed with its override, leaving nothing' '
	"$ARTSYNC" deploy-local api Other other.xml --endpoint "$EP1" >out &&
	cmp other.xml d1/current/api/Other.xml &&
	"$ARTSYNC" undeploy api Other --endpoint "$EP1" >out &&
	test ! -e d1/current/api/Other.xml &&
	"$ARTSYNC" list --endpoint "$EP1" --json >list.json &&
	! grep -q "\"Other\"" list.json &&
	test "$("$PYTHON" "$HELPER" json-get d1/overrides/overrides.json overrides)" = "[]"
'

test_expect_success 'forget drops any override; a hidden upstream change shows in list and status' '
	"$ARTSYNC" undeploy sequences main --endpoint "$EP1" >out &&
	test ! -e d1/current/sequences/main.xml &&
	sed -i "s|</sequence>|<log level=\"full\"/></sequence>|" mi/sequences/main.xml &&
	"$ARTSYNC" publish --source mi --sync-root sync >out &&
	wait_for 20 "test \"\$(current_version d1)\" = 3" &&
	test ! -e d1/current/sequences/main.xml &&
	"$ARTSYNC" list --endpoint "$EP1" --json >list.json &&
	"$PYTHON" -c "import json,sys; a=json.load(open(\"list.json\"))[\"artifacts\"]; \
sys.exit(0 if any(x[\"name\"]==\"main\" and x[\"upstream_changed\"] for x in a) else 1)" &&
	"$ARTSYNC" status --endpoint "$EP1" --json >status.json &&
	test "$("$PYTHON" "$HELPER" json-get status.json overrides_upstream_changed)" = 1 &&
	"$ARTSYNC" forget sequences main --endpoint "$EP1" >out &&
	cmp mi/sequences/main.xml d1/current/sequences/main.xml &&
	test_exit_code 1 "$ARTSYNC" forget sequences main --endpoint "$EP1" 2>err &&
	grep_file "has no local override" err
'

test_expect_success 'hot deployment: an unchanged file keeps its mtime (and, patched, its inode)' '
	before_fault=$(stat_of d1/current/sequences/fault.xml) &&
	before_main=$(stat_of d1/current/sequences/main.xml) &&
	for i in 1 2 3 4; do
		declare -A ino=() &&
		for r in d1/releases/v*-r*; do
			if [ -d "$r" ]; then
				ino[${r##*/}]=$(stat -c %i "$r/sequences/fault.xml")
			fi
		done &&
		sed -i "s|</sequence>|<log/></sequence>|" mi/sequences/main.xml &&
		"$ARTSYNC" publish --source mi --sync-root sync >out &&
		wait_for 20 "test \"\$(current_version d1)\" = $((3 + i))" &&
		wait_for_log s1.log "$(applied_re $((3 + i)))" || return 1
		base=$(grep "(version $((3 + i)))" s1.log | sed -n "s/.*(patched \(v[0-9]*-r[0-9]*\),.*/\1/p") &&
		if [ -n "$base" ]; then
			test "$(stat -L -c %i d1/current/sequences/fault.xml)" = "${ino[$base]}" || return 1
			patched=yes
		fi
		test "$(stat -L -c %Y d1/current/sequences/fault.xml)" = "${before_fault%% *}" || return 1
	done &&
	test "$patched" = yes &&
	after_main=$(stat_of d1/current/sequences/main.xml) &&
	test "${after_main%% *}" -gt "${before_main%% *}"
'

test_expect_success 'every deployed file carries its manifest time, the same on every gateway' '
	start_secondary s2 --sync-root sync --deploy-root d2 --poll-ms 100 &&
	wait_for 20 "test \"\$(current_version d2)\" = 7" &&
	test "$(stat -L -c %Y d1/current/sequences/fault.xml)" = \
		"$(stat -L -c %Y d2/current/sequences/fault.xml)" &&
	test "$(stat -L -c %Y d1/current/synapse.xml)" = \
		"$(stat -L -c %Y d2/current/synapse.xml)"
'

test_expect_success 'the default REST port is 7846, and the CLI finds it without --endpoint' '
	if ss -ltn 2>/dev/null | grep -q ":7846 "; then
		say "port 7846 busy here: skipped"
	else
		start_bg s3 "$ARTSYNC" secondary --sync-root sync --deploy-root d3 \
			--poll-ms 100 &&
		wait_for_log s3.log "listening on http://127.0.0.1:7846" &&
		wait_for 20 "test \"\$(current_version d3)\" = 7" &&
		"$ARTSYNC" status >status.out &&
		grep_file "applied.* 7" status.out &&
		stop $pid_s3
	fi
'

# verdict TYPE FILE: "ok" or "refused", as artsync check sees FILE as an
# artifact of TYPE (config: FILE is synapse.xml).
verdict() {
	rm -rf one && mkdir -p one &&
	if [ "$1" = config ]; then cp "$2" one/synapse.xml
	else mkdir -p "one/$1" && cp "$2" "one/$1/x.xml"; fi &&
	if "$ARTSYNC" check --source one >/dev/null 2>&1; then echo ok
	else echo refused; fi
}

# xsd_verdict TYPE FILE: the same, from xmllint and schemas/TYPE.xsd.
xsd_verdict() {
	local xsd=$REPO/schemas/$1.xsd
	[ "$1" = config ] && xsd=$REPO/schemas/synapse.xsd
	if xmllint --noout --nonet --schema "$xsd" "$2" >/dev/null 2>&1; then
		echo ok
	else
		echo refused
	fi
}

test_expect_success 'schemas/*.xsd say what artsync checks, on every fixture and on bad ones' '
	mkdir -p bad &&
	printf "<sequence name=\"s\"/>\n" >bad/sequences.nons.xml &&
	printf "<api %s name=\"a\"/>\n" "$NS" >bad/api.noctx.xml &&
	printf "<api %s name=\" \" context=\"/a\"/>\n" "$NS" >bad/api.blank.xml &&
	printf "<localEntry key=\"k\"/>\n" >good.local-entries.xml &&
	printf "<import %s name=\"n\"/>\n" "$NS" >bad/imports.nopkg.xml &&
	printf "<task %s name=\"t\"/>\n" "$NS" >bad/tasks.noclass.xml &&
	printf "<registry %s/>\n" "$NS" >bad/config.registry.xml &&
	n=0 &&
	for t in $ARTIFACT_TYPES; do
		for f in "$FIXTURES/$t"/*.xml; do
			a=$(verdict "$t" "$f") && x=$(xsd_verdict "$t" "$f") &&
			if [ "$a" != "$x" ] || [ "$a" != ok ]; then
				say "$f as $t: artsync $a, xmllint $x"; return 1
			fi
			n=$((n + 1))
		done
	done &&
	for f in "$FIXTURES"/multi/*.xml mi/synapse.xml; do
		test "$(verdict config "$f")" = ok &&
		test "$(xsd_verdict config "$f")" = ok || return 1
	done &&
	for f in bad/*.xml; do
		t=$(basename "$f"); t=${t%%.*} &&
		a=$(verdict "$t" "$f") && x=$(xsd_verdict "$t" "$f") &&
		if [ "$a" != refused ] || [ "$x" != refused ]; then
			say "$f as $t: artsync $a, xmllint $x"; return 1
		fi
	done &&
	test "$(verdict local-entries good.local-entries.xml)" = ok &&
	test "$(xsd_verdict local-entries good.local-entries.xml)" = ok &&
	test $n -ge 77
'

finish
