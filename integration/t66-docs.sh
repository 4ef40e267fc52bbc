#!/bin/bash
# t66-docs: the man pages, the bash completion and SIGHUP's table stay in
# step with the binary and the source.
#
# man/artsync.8 names every command and every flag that a command's --help
# shows; man/artsync.conf.5 has an entry for every key that agent/config.c
# accepts (and artsync.8 its flag); both format without a groff warning.
# completion/artsync knows every command and flag, and completes commands,
# flags, flag values, TYPEs and files. agent/reload.c has a row for every
# key (a key without one would never change on SIGHUP, silently).
. "$(dirname "$0")/lib.sh"

MAN8=$REPO/man/artsync.8
MAN5=$REPO/man/artsync.conf.5
COMPLETION=$REPO/completion/artsync
COMMANDS="publish primary secondary verify rollback pin unpin keygen status
list show undeploy redeploy deploy-local"

# man_text FILE: the page's source with \- as - and font escapes dropped,
# so that flags can be searched as typed.
man_text() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(dq/"/g' "$1"
}

# help_flags: every flag that some command's --help shows, one a line.
help_flags() {
	local c
	{
		"$ARTSYNC" --help
		for c in $COMMANDS; do
			"$ARTSYNC" $c --help
		done
	} | grep -E -o -- '(^|[ [(,])--?[a-z][a-z0-9-]*' |
		sed 's/^[ [(,]//' | sort -u
}

# config_keys: every key agent/config.c accepts - those of set_common(),
# set_primary(), set_secondary() and set_after_swap(), and the failover
# and push keys set_primary() hands to agent/haconf.c's ha_config_set()
# and agent/pushconf.c's push_config_set() - as "section key", one a line.
config_keys() {
	"$PYTHON" - "$REPO/agent/config.c" "$REPO/agent/haconf.c" \
		"$REPO/agent/pushconf.c" <<-'EOF'
	import re, sys
	src = "".join(open(f).read() for f in sys.argv[1:])
	names = {"common": "artsync", "primary": "primary", "secondary": "secondary",
	         "after_swap": "secondary", "ha_config": "primary",
	         "push_config": "primary"}
	for fn, section in names.items():
	    body = re.search(r"\n(?:set_%s|%s_set)\(.*?\n}\n" % (fn, fn), src, re.S)
	    assert body, "no set_%s() in config.c" % fn
	    for key in re.findall(r'strcmp\(key, "([a-z_0-9]+)"\)', body.group(0)):
	        print(section, key)
	EOF
}

# reload_missing: the keys a config file can set that agent/reload.c has no
# row for - SIGHUP would never change them, nor say that it needs a
# restart - one a line. The failover keys all land in one field (ha).
reload_missing() {
	"$PYTHON" - "$REPO/agent" <<-'EOF'
	import os, re, sys
	def src(f):
	    return open(os.path.join(sys.argv[1], f)).read()
	knobs = set(re.findall(r"\b(?:NOW|LATER)\((\w+),", src("reload.c")))
	field = {"state_validity": "state_validity_s", "startup": "startup_sync",
	         "redis_stage": "redis_dir", "redis_cache": "redis_dir"}
	fns = (("config.c", "set_common"), ("config.c", "set_primary"),
	       ("config.c", "set_secondary"), ("config.c", "set_after_swap"),
	       ("pushconf.c", "push_config_set"),
	       ("redis_url.c", "redis_config_set"))
	keys = set()
	for f, fn in fns:
	    body = re.search(r"\n%s\(.*?\n}\n" % fn, src(f), re.S)
	    assert body, "no %s() in %s" % (fn, f)
	    keys.update(re.findall(r'strcmp\(key, (?:primary \? )?"(\w+)"',
	                           body.group(0)))
	    if fn == "redis_config_set":	# a key by role: stage or cache
	        keys.update(re.findall(r'"(redis_\w+)"', body.group(0)))
	assert len(keys) >= 40 and "redis_cache" in keys, sorted(keys)
	for k in sorted(keys):
	    if field.get(k, k) not in knobs:
	        print(k)
	EOF
}

# in_text FILE WORD: WORD stands in FILE as a word of its own (not part of
# a longer flag or key).
in_text() {
	grep -E -q -- "(^|[^a-z0-9_-])$2([^a-z0-9_-]|\$)" "$1"
}

test_expect_success 'setup: the pages as text, the flags, the keys' '
	man_text "$MAN8" >man8.txt &&
	man_text "$MAN5" >man5.txt &&
	help_flags >flags &&
	config_keys >keys &&
	test "$(wc -l <flags)" -ge 35 &&
	test "$(wc -l <keys)" -ge 30 &&
	grep -qx -- --poll-ms flags &&
	grep -qx "secondary deploy_root" keys &&
	grep -qx "artsync log_format" keys
'

test_expect_success 'man --warnings: artsync.8 and artsync.conf.5 format cleanly' '
	for page in "$MAN8" "$MAN5"; do
		LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$page" >/dev/null 2>warn &&
		test ! -s warn || { cat warn; return 1; }
	done
'

test_expect_success 'artsync.8 names every command' '
	for c in $COMMANDS; do
		in_text man8.txt "$c" || { echo "no $c in artsync.8"; return 1; }
	done
'

test_expect_success 'artsync.8 names every flag that a --help shows' '
	missing="" &&
	while read -r f; do
		in_text man8.txt "$f" || missing="$missing $f"
	done <flags &&
	{ test -z "$missing" || { echo "not in artsync.8:$missing"; false; }; }
'

test_expect_success 'artsync.conf.5 has an entry for every key config.c accepts' '
	missing="" &&
	while read -r section key; do
		grep -q "^\.SH \[$section\]" man5.txt &&
		sed -n "/^\.SH \[$section\]/,/^\.SH [^[]/p" man5.txt >sect &&
		grep -E -q "^\.BR? $key( |\$)" sect ||
			missing="$missing [$section]$key"
	done <keys &&
	{ test -z "$missing" || { echo "no entry in artsync.conf.5:$missing"; false; }; }
'

test_expect_success 'SIGHUP knows every key: reload.c has a row for each' '
	reload_missing >reload-missing &&
	{ test ! -s reload-missing ||
	  { echo "no row in agent/reload.c:" $(cat reload-missing); false; }; }
'

test_expect_success 'every key has its flag, and artsync.8 names it' '
	missing="" &&
	while read -r section key; do
		flag=--$(printf %s "$key" | tr _ -) &&
		in_text man8.txt "$flag" || missing="$missing $flag"
	done <keys &&
	{ test -z "$missing" || { echo "not in artsync.8:$missing"; false; }; }
'

test_expect_success 'the completion knows every command and flag' '
	missing="" &&
	for w in $COMMANDS $(cat flags); do
		case $w in -h) continue ;; esac
		in_text "$COMPLETION" "$w" || missing="$missing $w"
	done &&
	{ test -z "$missing" || { echo "not in completion/artsync:$missing"; false; }; }
'

# complete WORD...: what the completion offers for the command line WORDs
# (the cursor at the end of the last), blank-separated.
complete_line() {
	bash -c '. "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _artsync &&
		echo "${COMPREPLY[*]}"' "$COMPLETION" "$@"
}

test_expect_success 'the completion completes commands, flags, values, TYPEs, files' '
	test "$(complete_line artsync sec)" = secondary &&
	test "$(complete_line artsync deploy)" = deploy-local &&
	test "$(complete_line artsync secondary --poll)" = --poll-ms &&
	test "$(complete_line artsync primary --sig)" = --signing-key &&
	test "$(complete_line artsync status --js)" = --json &&
	test "$(complete_line artsync secondary --log-format "")" = "text json" &&
	test "$(complete_line artsync secondary --startup a)" = async &&
	test "$(complete_line artsync list --type message-)" = \
		"message-stores message-processors" &&
	test "$(complete_line artsync show in)" = inbound-endpoints &&
	test "$(complete_line artsync undeploy --endpoint http://x api "")" = "" &&
	mkdir -p cdir && : >cdir/file.xml &&
	test "$(complete_line artsync deploy-local api Foo cdir/f)" = cdir/file.xml &&
	test "$(complete_line artsync publish --source cd)" = cdir
'

finish
