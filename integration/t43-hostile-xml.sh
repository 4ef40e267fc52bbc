#!/bin/bash
# t43-hostile-xml: hostile XML is refused at publish and at apply, quickly.
#
# External entities (a file, a URL, an external DTD, a parameter entity),
# a billion laughs, 100,000 levels of nesting, a 20 MB attribute, invalid
# UTF-8. Each is put in the source tree and must fail `artsync publish`
# (exit 1, the file and the parser's reason on stderr, nothing written to
# the sync root); then it is put in a snapshot by a writer on the share
# with every checksum right (helper.py forge), and the secondary must
# refuse it too (reason invalid_artifact, current unchanged: each hostile
# version is forged on top of version 1, which stays applied). Each refusal
# takes less than 2 s.
#
# Nothing may be fetched or read: the URLs point at a loopback listener
# that counts connections and must count none; the file is a FIFO, which
# would block any reader for ever, and which must never have had one.
. "$(dirname "$0")/lib.sh"

S=$TRASH/scratch
NS=http://ws.apache.org/ns/synapse
refusals=0

# evil NAME: writes $S/NAME.xml, an api artifact named Evil carrying the
# hostile construct NAME.
evil() {
	"$PYTHON" - "$1" "$S/$1.xml" "$LPORT" "$TRASH/fifo" "$NS" <<'PY'
import sys
what, out, port, fifo, ns = sys.argv[1:]
url = "http://127.0.0.1:%s" % port
api = '<api xmlns="%s" name="Evil" context="/evil">' % ns
doc = {
    "xxe-file": '<?xml version="1.0"?>\n<!DOCTYPE api [<!ENTITY x SYSTEM '
                '"file://%s">]>\n%s&x;</api>\n' % (fifo, api),
    "xxe-http": '<!DOCTYPE api [<!ENTITY x SYSTEM "%s/xxe">]>\n%s&x;</api>\n'
                % (url, api),
    "dtd-http": '<!DOCTYPE api SYSTEM "%s/x.dtd">\n%s</api>\n' % (url, api),
    "param-entity": '<!DOCTYPE api [<!ENTITY %% p SYSTEM "%s/p.dtd"> %%p;]>\n'
                    '%s</api>\n' % (url, api),
    "billion-laughs": '<?xml version="1.0"?>\n<!DOCTYPE api [\n'
                      '<!ENTITY l0 "lol">\n' + "".join(
                          '<!ENTITY l%d "%s">\n' % (i, ("&l%d;" % (i - 1)) * 10)
                          for i in range(1, 10)) + ']>\n%s&l9;</api>\n' % api,
    "deep-nesting": api + "<a>" * 100000 + "</a>" * 100000 + "</api>\n",
    "huge-attribute": '<api xmlns="%s" name="Evil" context="/evil" x="%s"/>\n'
                      % (ns, "x" * (20 * 1024 * 1024)),
    "bad-utf8": api.replace('name="Evil"', 'name="Ev\udcff\udcfeil"') +
                "</api>\n",
    "overlong-utf8": api + "\udcc0\udcaf</api>\n",
}[what]
with open(out, "wb") as f:
    f.write(doc.encode("utf-8", "surrogateescape"))
PY
}

CASES="xxe-file xxe-http dtd-http param-entity billion-laughs deep-nesting
huge-attribute bad-utf8 overlong-utf8"

# what_refuses NAME: an ERE for the parser's reason, after its line
# (publish says "FILE:LINE: reason", an apply "FILE: ... line LINE: reason").
what_refuses() {
	case $1 in
	xxe-*|dtd-http|param-entity|billion-laughs)
		echo "[0-9]+: DOCTYPE is not allowed in an artifact" ;;
	deep-nesting) echo "1: .*depth" ;;
	huge-attribute) echo "1: .*(too long|huge)" ;;
	*-utf8) echo "1: .*(UTF-8|[Ee]ncoding|Char)" ;;
	esac
}

# untouched: the listener counted no connection; the FIFO never had a
# reader (opening it to write without blocking fails with ENXIO).
untouched() {
	test "$(cat "$S/connections")" = 0 &&
	"$PYTHON" -c 'import errno, os, sys
try:
    os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK))
except OSError as e:
    sys.exit(0 if e.errno == errno.ENXIO else 1)
sys.exit(1)' "$TRASH/fifo"
}

# elapsed_ms T0: milliseconds since T0 (an ${EPOCHREALTIME/./}).
elapsed_ms() {
	echo $(( (${EPOCHREALTIME/./} - $1) / 1000 ))
}

test_expect_success 'setup: a listener, a FIFO, version 1 applied' '
	mkdir "$S" &&
	mkfifo "$TRASH/fifo" &&
	start_bg listener "$PYTHON" "$HELPER" listen "$S/port" "$S/connections" \
		"$S/stop-listener" &&
	wait_for 10 "test -s \"\$S/port\"" &&
	LPORT=$(cat "$S/port") &&
	one_secondary_on_v1 &&
	rel=$(current_release d1) &&
	untouched
'

for c in $CASES; do
	test_expect_success "$c: refused by publish" '
		evil $c &&
		cp sync/state.json "$S/state.before" &&
		ls -A sync sync/snapshots >"$S/ls.before" &&
		cp "$S/$c.xml" src/api/Evil.xml &&
		t0=${EPOCHREALTIME/./} &&
		test_exit_code 1 timeout 20 "$ARTSYNC" publish --source src \
			--sync-root sync >out 2>err &&
		ms=$(elapsed_ms $t0) &&
		say "# publish refused it in $ms ms" &&
		test $ms -lt 2000 &&
		cat err &&
		grep -E -q "src/api/Evil\.xml:$(what_refuses $c)" err &&
		test ! -s out &&
		cmp sync/state.json "$S/state.before" &&
		ls -A sync sync/snapshots >"$S/ls.after" &&
		diff "$S/ls.before" "$S/ls.after" &&
		rm src/api/Evil.xml &&
		untouched
	'

	test_expect_success "$c: refused by the secondary" '
		fetch_metrics "$EP" "$S/m.before" &&
		"$PYTHON" -c "import json, sys; print(json.dumps({\"base_version\": 1, \"entries\": [{\"path\": \"api/Evil.xml\", \"data_file\": sys.argv[1], \"manifest\": \"api/Evil\"}]}))" \
			"$S/$c.xml" >"$S/spec.json" &&
		"$PYTHON" "$HELPER" forge sync "$S/spec.json" >"$S/v" &&
		t0=${EPOCHREALTIME/./} &&
		V=$(cat "$S/v") &&
		wait_for 10 "fetch_metrics \"\$EP\" \"\$S/m.after\" &&
			test \$(rejects_total \"\$S/m.after\") -gt \$(rejects_total \"\$S/m.before\")" &&
		ms=$(elapsed_ms $t0) &&
		say "# the secondary refused version $V in $ms ms" &&
		test $ms -lt 2000 &&
		one_reject "$S/m.before" "$S/m.after" invalid_artifact &&
		msg=$(last_error "$EP") &&
		say "# last_error: $msg" &&
		printf "%s\n" "$msg" | grep -E -q "^version $V refused: snapshots/$V\.tar\.zst: api/Evil\.xml: invalid artifact: line $(what_refuses $c)" &&
		grep -F -q -- "error: $msg; still serving $rel" s1.log &&
		test "$(current_release d1)" = "$rel" &&
		same_tree src d1/current &&
		test -z "$(ls -A d1/.staging)" &&
		untouched &&
		refusals=$((refusals + 1))
	'

done

# Not refused, but never followed either: an XInclude and a schema
# location are plain elements and attributes to a parser that loads
# nothing. Published on top of the refused versions, and applied.
test_expect_success 'XInclude and xsi:schemaLocation: accepted, nothing fetched' '
	printf "<api xmlns=\"%s\" name=\"Evil\" context=\"/evil\"><xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"http://127.0.0.1:%s/xi\"/></api>\n" \
		"$NS" "$LPORT" >src/api/XInclude.xml &&
	printf "<api xmlns=\"%s\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"%s http://127.0.0.1:%s/x.xsd\" name=\"Evil2\" context=\"/evil2\"/>\n" \
		"$NS" "$NS" "$LPORT" >src/api/SchemaLocation.xml &&
	"$ARTSYNC" publish --source src --sync-root sync >"$S/v" &&
	V=$(cat "$S/v") &&
	wait_for 20 "test \"\$(current_version d1)\" = $V" &&
	same_tree src d1/current &&
	untouched
'

test_expect_success 'every refusal counted as invalid_artifact' '
	fetch_metrics "$EP" "$S/m.end" &&
	test "$refusals" -eq 9 &&
	grep -q "^artsync_rejects_total{reason=\"invalid_artifact\"} 9$" "$S/m.end" &&
	test "$(rejects_total "$S/m.end")" -eq 9
'

test_expect_success 'SIGTERM stops it with status 0' '
	stop $pid_s1 &&
	touch "$S/stop-listener" &&
	untouched
'

finish
