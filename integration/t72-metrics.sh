#!/bin/bash
# t72-metrics: both roles' /metrics pass `promtool check metrics` (the real
# one, Debian's prometheus package) and carry build info, publish counts and
# durations (primary), apply and end-to-end lag histograms (secondary), and
# each side's per-stage histograms (stages.h), which add up to their total
# and match the debug log line each version gets.
. "$(dirname "$0")/lib.sh"

# sample FILE KEY: the value of the sample KEY (name{labels}) in FILE.
sample() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { exit !found }' "$1"
}

test_expect_success 'setup: a primary and a secondary, version 1 applied' '
	fixture_tree src &&
	start_primary --source src --sync-root sync --quiet-ms 50 \
		--listen 127.0.0.1:0 --log-level debug &&
	listen_port primary.log && PEP=$EP &&
	wait_for 20 "test -f sync/state.json" &&
	start_secondary s --sync-root sync --deploy-root d --poll-ms 100 \
		--log-level debug &&
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

# stage_sums FILE NAME: the stages' _sum (seconds) but total, added up, then
# total's, on one line.
stage_sums() {
	awk -v n="$2" -F "[{}\" ]+" \
		'$1 == n "_sum" && $3 == "total" { t = $4; next }
		$1 == n "_sum" { s += $4 } END { printf "%.6f %.6f\n", s, t }' "$1"
}

test_expect_success 'the secondary: a stage histogram per stage, counted' '
	grep -q "^# TYPE artsync_apply_stage_seconds histogram$" s.prom &&
	for st in notice read build fsync swap total; do
		test "$(sample s.prom "artsync_apply_stage_seconds_count{stage=\"$st\"}")" -ge 1 &&
		sample s.prom "artsync_apply_stage_seconds_bucket{stage=\"$st\",le=\"0.0001\"}" ||
		return 1
	done &&
	test "$(sample s.prom "artsync_apply_stage_seconds_count{stage=\"total\"}")" = 2
'

test_expect_success 'the primary: a stage histogram per stage, counted' '
	grep -q "^# TYPE artsync_publish_stage_seconds histogram$" p.prom &&
	for st in read write fsync state total; do
		test "$(sample p.prom "artsync_publish_stage_seconds_count{stage=\"$st\"}")" = 2 ||
		return 1
	done &&
	test "$(sample p.prom "artsync_publish_stage_seconds_count{stage=\"notice\"}")" -ge 1
'

test_expect_success 'the stages add up to no more than their total' '
	stage_sums s.prom artsync_apply_stage_seconds >s.sums &&
	awk "{ exit !(\$1 > 0 && \$1 <= \$2 + 0.000002 * 10) }" s.sums &&
	stage_sums p.prom artsync_publish_stage_seconds >p.sums &&
	awk "{ exit !(\$1 > 0 && \$1 <= \$2 + 0.000002 * 10) }" p.sums
'

test_expect_success 'each version is said at debug level, stage by stage' '
	grep -E "version 2: apply stages \(ms\): notice [0-9]+\.[0-9]{3} read [0-9]+\.[0-9]{3} build [0-9]+\.[0-9]{3} fsync [0-9]+\.[0-9]{3} swap [0-9]+\.[0-9]{3} total [0-9]+\.[0-9]{3}" s.log &&
	grep -E "version 2: publish stages \(ms\): notice [0-9]+\.[0-9]{3} read [0-9.]+ write [0-9.]+ fsync [0-9.]+ state [0-9.]+ total [0-9.]+" primary.log
'

test_expect_success 'a failing publish is counted, and nothing else moves' '
	printf "<api" >src/api/Broken.xml &&
	wait_for 20 "fetch_metrics \"\$PEP\" p2.prom &&
		test \"\$(sample p2.prom artsync_publish_failures_total)\" -ge 1" &&
	test "$(sample p2.prom artsync_publishes_total)" = 2 &&
	promtool check metrics <p2.prom
'

finish
