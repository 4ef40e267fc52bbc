#!/bin/bash
# t45-hostile-names: bytes from a hostile snapshot never reach a log line or
# the REST answers raw.
#
# A writer on the share forges a version whose archive holds one entry at a
# path with a newline, an escape sequence and bytes that are not UTF-8, its
# manifest and state.json checksummed as a publisher would. The secondary
# refuses it with one log line, in which those bytes are '?', keeps serving
# version 1, and GET /api/v1/status still answers, quoting the refusal
# (before the fix, invalid UTF-8 in last_error made the status answer
# nothing at all, and the newline forged a second log line).
. "$(dirname "$0")/lib.sh"

test_expect_success 'setup: version 1 published and applied' '
	one_secondary_on_v1 &&
	rel1=$(current_release d1)
'

# "api/" ESC "[2J" "x" LF "forged: applied version 9" 0xff 0xfe ".xml"
hostile=6170692f1b5b324a780a666f726765643a206170706c6965642076657273696f6e2039fffe2e786d6c

test_expect_success 'a forged version 2 with a hostile entry path is refused' '
	test "$(python3 "$HELPER" forge-version sync $hostile)" = 2 &&
	wait_for_log s1.log "version 2 refused" &&
	test "$(current_release d1)" = "$rel1" &&
	is_running $pid_s1
'

test_expect_success 'the log line holds the path with its bad bytes as ?' '
	grep_file "entry .api/\?\[2Jx\?forged: applied version 9\?\?\.xml." \
		s1.log &&
	test "$(grep -c "forged" s1.log)" = 1 &&
	test "$(grep -c "^forged" s1.log)" = 0 &&
	! LC_ALL=C grep -q "$(printf "\033")" s1.log &&
	! LC_ALL=C grep -q "$(printf "\377")" s1.log
'

test_expect_success 'GET /api/v1/status still answers, quoting the refusal' '
	curl -s --max-time 10 -o status -w "%{http_code}" \
		"$EP/api/v1/status" >code &&
	test "$(cat code)" = 200 &&
	python3 "$HELPER" json-get status last_error >err &&
	grep_file "api/\?\[2Jx\?forged: applied version 9\?\?\.xml" err &&
	test "$(python3 "$HELPER" json-get status applied_version)" = 1
'

finish
