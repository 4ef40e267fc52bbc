#!/bin/bash
# t72-metrics: both roles' /metrics pass `promtool check metrics` (the real
# one, Debian's prometheus package) and carry build info, publish counts and
# durations (primary), apply and end-to-end lag histograms (secondary).
. "$(dirname "$0")/lib.sh"

# sample FILE KEY: the value of the sample KEY (name{labels}) in FILE.
sample() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"
}

test_expect_success 'setup: a primary and a secondary, version 1 applied' '
	fixture_tree src &&
	start_primary --source src --sync-root sync --quiet-ms 50 \
		--listen 127.0.0.1:0 &&
	listen_port primary.log && PEP=$EP &&
	wait_for 20 "test -f sync/state.json" &&
	start_secondary s --sync-root sync --deploy-root d --poll-ms 100 &&
	listen_port s.log && SEP=$EP &&
	wait_for 20 "test \"\$(current_version d)\" = 1"
'

test_expect_success 'a change: the primary publishes version 2, applied' '
	make_artifact api Measured v2 &&
	wait_for 20 "test \"\$(current_version d)\" = 2"
'

test_expect_success 'the primary: promtool passes; build info, counts, histogram' '
	fetch_metrics "$PEP" p.prom &&
	promtool check metrics <p.prom &&
	grep -E "^artsync_build_info\{version=\"[0-9.]+\",commit=\"([0-9a-f]+|unknown)\"\} 1$" p.prom &&
	test "$(sample p.prom artsync_publishes_total)" = 2 &&
	test "$(sample p.prom artsync_publish_failures_total)" = 0 &&
	test "$(sample p.prom artsync_publish_seconds_count)" = 2 &&
	test "$(sample p.prom "artsync_publish_seconds_bucket{le=\"+Inf\"}")" = 2 &&
	grep -q "^# TYPE artsync_publish_seconds histogram$" p.prom
'

test_expect_success 'the secondary: promtool passes; apply and lag histograms' '
	fetch_metrics "$SEP" s.prom &&
	promtool check metrics <s.prom &&
	grep -q "^artsync_build_info{version=" s.prom &&
	test "$(sample s.prom artsync_applies_total)" = 2 &&
	test "$(sample s.prom artsync_apply_seconds_count)" = 2 &&
	test "$(sample s.prom artsync_sync_lag_seconds_count)" = 2 &&
	test "$(sample s.prom "artsync_apply_seconds_bucket{le=\"300\"}")" = 2 &&
	grep -q "^# TYPE artsync_sync_lag_seconds histogram$" s.prom
'

test_expect_success 'a failing publish is counted, and nothing else moves' '
	printf "<api" >src/api/Broken.xml &&
	wait_for 20 "fetch_metrics \"\$PEP\" p2.prom &&
		test \"\$(sample p2.prom artsync_publish_failures_total)\" -ge 1" &&
	test "$(sample p2.prom artsync_publishes_total)" = 2 &&
	promtool check metrics <p2.prom
'

finish
