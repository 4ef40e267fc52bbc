#!/bin/bash
# t98-package: the Debian package, make install, the systemd units and
# their sandbox.
#
# The package is built for real (dpkg-buildpackage -us -uc -b) from a copy
# of the tree in the trash directory, so that nothing lands beside the
# repository, and checked by lintian (no error, no warning) and by its file
# list. make install and uninstall run from the same copy into DESTDIRs.
# The units as packaged pass `systemd-analyze verify` and score at most 3.0
# in `systemd-analyze security --offline=true`. That part runs once: in the
# sanitizer pass (BUILD other than build) it would only repeat itself.
#
# No systemd runs here (not PID 1), so the sandbox is emulated where it
# matters most: the daemons run as the user the sysusers.d snippet makes,
# without privileges or capabilities (setpriv), in a mount namespace where
# everything is read-only but their roots (unshare -m; ProtectSystem=strict
# with ReadWritePaths=). They must still publish, push with rsync, apply,
# serve REST, and fail to write anywhere else.
. "$(dirname "$0")/lib.sh"

FULL=1
[ "${BUILD:-build}" = build ] || FULL=0

# make_in_copy ARGS...: make in the copy of the tree, quietly.
make_in_copy() {
	make -s -C "$TRASH/copy/artsync" "$@" >>make.log 2>&1
}

# files_under DIR: every file and symlink below DIR, as /PATH, sorted.
files_under() {
	(cd "$1" && find . ! -type d | sed 's|^\.||' | sort)
}

# is_stripped FILE: no symbol table.
is_stripped() {
	! readelf -S "$1" | grep -q '\.symtab'
}

# score UNIT: the overall exposure `systemd-analyze security` gives UNIT.
score() {
	in_overlay systemd-analyze security --offline=true "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}

if [ $FULL = 0 ]; then
	say "# skipped: package build, lintian, make install and the unit checks (done in the plain pass; this is BUILD=$BUILD)"
elif ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null ||
	! command -v lintian >/dev/null; then
	say "# skipped: package build and lintian: no dpkg-dev, debhelper or lintian (scripts/deps test installs them)"
	FULL=0
fi

if [ $FULL = 1 ]; then
# Not .tmp either: a TMPDIR kept in the tree holds this very run, and the
# copy would grow into itself.
test_expect_success 'setup: a copy of the tree, without build output' '
	mkdir -p copy/artsync &&
	tar -C "$REPO" --exclude=./.git --exclude="./build*" \
		--exclude=./artsync --exclude=./.tmp -cf - . |
		tar -C copy/artsync -xf - &&
	test -f copy/artsync/debian/control &&
	test ! -e copy/artsync/artsync
'

test_expect_success 'dpkg-buildpackage -us -uc -b builds artsync and artsync-dbgsym' '
	(cd copy/artsync && DEB_BUILD_OPTIONS="nocheck parallel=2" \
		dpkg-buildpackage -us -uc -b) >build.log 2>&1 ||
		{ tail -n 40 build.log; false; } &&
	deb=$(ls copy/artsync_*_*.deb) &&
	dbg=$(ls copy/artsync-dbgsym_*_*.deb) &&
	test -f "$deb" && test -f "$dbg"
'

test_expect_success 'lintian: no error, no warning' '
	lintian --fail-on error,warning "$deb" "$dbg" >lintian.out 2>lintian.err ||
		{ cat lintian.out lintian.err; false; }
'
say "# lintian: $(wc -l <lintian.out 2>/dev/null || echo ?) error or warning tags on the two packages"

test_expect_success 'the package holds exactly what it should' '
	cat >want <<-EOF &&
	/etc/artsync.conf
	/lib/systemd/system/artsync-primary.service
	/lib/systemd/system/artsync-secondary.service
	/lib/systemd/system/artsync-secondary@.service
	/usr/bin/artsync
	/usr/lib/sysusers.d/artsync.conf
	/usr/lib/tmpfiles.d/artsync.conf
	/usr/libexec/artsync/artsync-agent
	/usr/share/bash-completion/completions/artsync
	/usr/share/doc/artsync/changelog.gz
	/usr/share/doc/artsync/copyright
	/usr/share/doc/artsync/examples/artsync.conf
	/usr/share/man/man5/artsync.conf.5.gz
	/usr/share/man/man8/artsync.8.gz
	EOF
	dpkg-deb -c "$deb" | awk "\$1 !~ /^d/ { print \$6 }" |
		sed "s|^\./|/|" | sort >got &&
	diff -u want got &&
	dpkg-deb -x "$deb" root &&
	files_under root >got &&
	diff -u want got &&
	cmp root/etc/artsync.conf "$REPO/examples/artsync.conf" &&
	test -d root/etc/artsync
'

test_expect_success 'its control: conffile, dependencies from what it links, the user from sysusers.d' '
	dpkg-deb -e "$deb" ctl &&
	test "$(cat ctl/conffiles)" = /etc/artsync.conf &&
	dpkg-deb -f "$deb" Depends >deps &&
	for lib in libarchive13 libxml2 libjansson4 libmicrohttpd12 \
		libsystemd0 libsodium23 libinih1 libinotifytools0 libxxhash0; do
		grep -q "$lib" deps || { echo "no $lib in Depends: $(cat deps)"; return 1; }
	done &&
	grep -q "systemd | systemd-standalone-sysusers" deps &&
	grep -q "systemd-sysusers .*artsync.conf" ctl/postinst &&
	grep -q "systemd-tmpfiles .*--create artsync.conf" ctl/postinst &&
	grep -q "try-restart" ctl/postinst &&
	! grep -q "deb-systemd-invoke start" ctl/postinst &&
	! grep -v "was-enabled" ctl/postinst | grep -q "deb-systemd-helper enable$"
'

test_expect_success 'the binaries are stripped; their symbols are in artsync-dbgsym' '
	for b in root/usr/bin/artsync root/usr/libexec/artsync/artsync-agent; do
		is_stripped "$b" &&
		id=$(readelf -n "$b" |
			sed -n "s/.*Build ID: \([0-9a-f]*\)/\1/p") &&
		test -n "$id" &&
		dpkg-deb -c "$dbg" | grep -q "usr/lib/debug/.build-id/${id:0:2}/${id:2}.debug" ||
			{ echo "$b"; return 1; }
	done &&
	root/usr/bin/artsync --version
'

# in_package CMD...: CMD in a mount namespace where /usr/bin and
# /usr/libexec hold the package's files too (overlays), as installed.
in_package() {
	unshare -m sh -c 'mount -t overlay overlay \
		-o "lowerdir=$0/usr/bin:/usr/bin" /usr/bin &&
		mount -t overlay overlay \
		-o "lowerdir=$0/usr/libexec:/usr/libexec" /usr/libexec &&
		exec "$@"' "$TRASH/root" "$@"
}

test_expect_success 'the installed artsync finds the installed agent, links no libcurl' '
	in_package /usr/bin/artsync status --help >out 2>err &&
	grep -q "^usage: artsync status" out &&
	in_package sh -c "/usr/bin/artsync status --endpoint http://127.0.0.1:1; echo \$?" \
		>out 2>err &&
	test "$(cat out)" = 1 && grep -q "cannot reach" err &&
	! readelf -d root/usr/bin/artsync | grep -E "NEEDED.*lib(curl|microhttpd)" &&
	readelf -d root/usr/libexec/artsync/artsync-agent | grep -q "NEEDED.*libcurl"
'

test_expect_success 'the sysusers.d snippet makes a system user artsync, home /var/lib/artsync' '
	mkdir -p sysroot/etc &&
	systemd-sysusers --root="$TRASH/sysroot" \
		"$TRASH/root/usr/lib/sysusers.d/artsync.conf" >/dev/null 2>&1 &&
	grep -E "^artsync:x:[0-9]+:[0-9]+:[^:]*:/var/lib/artsync:/usr/sbin/nologin$" \
		sysroot/etc/passwd &&
	grep -q "^artsync:" sysroot/etc/group
'

# in_overlay CMD...: CMD in a mount namespace where /usr/bin holds the
# package's binary too (an overlay): a unit's ExecStart must exist for
# systemd-analyze; the machine itself stays as it is.
in_overlay() {
	unshare -m sh -c 'mount -t overlay overlay \
		-o "lowerdir=$0/usr/bin:/usr/bin" /usr/bin && exec "$@"' \
		"$TRASH/root" "$@"
}

test_expect_success 'systemd-analyze verify: the units as packaged, man pages found' '
	for u in root/lib/systemd/system/*; do
		MANPATH=$TRASH/root/usr/share/man: in_overlay \
			systemd-analyze verify "$u" >verify.out 2>&1 &&
		test ! -s verify.out || { echo "$u:"; cat verify.out; return 1; }
	done
'

test_expect_success 'systemd-analyze security --offline: every unit at most 3.0' '
	for u in root/lib/systemd/system/*; do
		s=$(score "$u") &&
		say "$(basename "$u") $s" >>scores &&
		test -n "$s" &&
		awk -v s="$s" "BEGIN { exit !(s <= 3.0) }" || return 1
	done
'

[ -f scores ] && sed 's/^/# systemd-analyze security: /' scores

test_expect_success 'the units: notify, watchdog, user artsync, reload, hardening' '
	for u in root/lib/systemd/system/*; do
		for line in Type=notify NotifyAccess=main WatchdogSec=30s \
			Restart=on-failure User=artsync StateDirectory=artsync \
			"ExecReload=/bin/kill -HUP \$MAINPID" ProtectSystem=strict \
			ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
			NoNewPrivileges=yes CapabilityBoundingSet= UMask=0027 \
			"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
			SystemCallFilter=@system-service \
			SystemCallArchitectures=native \
			ReadWritePaths=-/var/lib/artsync; do
			grep -qxF -- "$line" "$u" ||
				{ echo "$u: no $line"; return 1; }
		done
	done &&
	grep -qx "ExecStart=/usr/bin/artsync primary" \
		root/lib/systemd/system/artsync-primary.service &&
	grep -qx "ExecStart=/usr/bin/artsync secondary" \
		root/lib/systemd/system/artsync-secondary.service &&
	grep -qxF "ExecStart=/usr/bin/artsync secondary --config /etc/artsync/%i.conf" \
		root/lib/systemd/system/artsync-secondary@.service &&
	! grep -q "IPAddressDeny\|PrivateNetwork" root/lib/systemd/system/*
'

test_expect_success 'make install: PREFIX=/usr/local by default, stripped, /etc/artsync.conf' '
	make_in_copy install DESTDIR="$TRASH/dest" &&
	files_under dest >got &&
	cat >want <<-EOF &&
	/etc/artsync.conf
	/usr/local/bin/artsync
	/usr/local/lib/systemd/system/artsync-primary.service
	/usr/local/lib/systemd/system/artsync-secondary.service
	/usr/local/lib/systemd/system/artsync-secondary@.service
	/usr/local/lib/sysusers.d/artsync.conf
	/usr/local/lib/tmpfiles.d/artsync.conf
	/usr/local/libexec/artsync/artsync-agent
	/usr/local/share/bash-completion/completions/artsync
	/usr/local/share/doc/artsync/examples/artsync.conf
	/usr/local/share/man/man5/artsync.conf.5
	/usr/local/share/man/man8/artsync.8
	EOF
	diff -u want got &&
	is_stripped dest/usr/local/bin/artsync &&
	is_stripped dest/usr/local/libexec/artsync/artsync-agent &&
	strings dest/usr/local/bin/artsync | grep -qx /usr/local/libexec/artsync &&
	grep -qx "ExecStart=/usr/local/bin/artsync secondary" \
		dest/usr/local/lib/systemd/system/artsync-secondary.service &&
	test ! -e dest/var
'

test_expect_success 'make install keeps a /etc/artsync.conf there is; uninstall leaves a changed one only' '
	echo "# mine" >>dest/etc/artsync.conf &&
	cp dest/etc/artsync.conf mine &&
	make_in_copy install DESTDIR="$TRASH/dest" &&
	cmp mine dest/etc/artsync.conf &&
	make_in_copy uninstall DESTDIR="$TRASH/dest" &&
	test "$(files_under dest)" = /etc/artsync.conf &&
	make_in_copy install DESTDIR="$TRASH/dest2" &&
	make_in_copy uninstall DESTDIR="$TRASH/dest2" &&
	test -z "$(files_under dest2)"
'

test_expect_success 'make install honours BINDIR, LIBEXECDIR, MANDIR, UNITDIR, sysconfdir, INSTALL_STRIP=' '
	make_in_copy install DESTDIR="$TRASH/dest3" BINDIR=/opt/as/bin \
		LIBEXECDIR=/opt/as/libexec MANDIR=/opt/as/man \
		UNITDIR=/opt/as/units sysconfdir=/opt/as/etc INSTALL_STRIP= &&
	test -x dest3/opt/as/bin/artsync &&
	! is_stripped dest3/opt/as/bin/artsync &&
	test -x dest3/opt/as/libexec/artsync/artsync-agent &&
	! is_stripped dest3/opt/as/libexec/artsync/artsync-agent &&
	strings dest3/opt/as/bin/artsync | grep -qx /opt/as/libexec/artsync &&
	strings dest3/opt/as/bin/artsync | grep -qx /opt/as/etc &&
	test -f dest3/opt/as/man/man8/artsync.8 &&
	test -f dest3/opt/as/etc/artsync.conf &&
	grep -qxF "ExecStart=/opt/as/bin/artsync secondary --config /opt/as/etc/artsync/%i.conf" \
		"dest3/opt/as/units/artsync-secondary@.service" &&
	make_in_copy install DESTDIR="$TRASH/dest4" PREFIX=/usr &&
	test -f dest4/lib/systemd/system/artsync-primary.service &&
	test -x dest4/usr/bin/artsync &&
	test -x dest4/usr/libexec/artsync/artsync-agent
'
fi

# --- the sandbox, emulated ---------------------------------------------

# sandbox UID GID DIR... -- CMD...: CMD as UID:GID without privileges or
# capabilities, in a mount namespace where every mount but /proc, /sys and
# /dev is read-only, except the DIRs (bound onto themselves, writable), and
# /proc shows processes only, the caller's alone: the units' User=,
# NoNewPrivileges=, CapabilityBoundingSet=, ProtectSystem=strict with
# ReadWritePaths=, ProtectProc=invisible, ProcSubset=pid and UMask=0027.
# Execs, so that CMD keeps the caller's PID.
cat >sandbox.sh <<'EOF' && chmod +x sandbox.sh
#!/bin/sh
uid=$1 gid=$2
shift 2
rw=
while [ "$1" != -- ]; do
	mount --bind "$1" "$1" || exit 1
	rw="$rw $1"
	shift
done
shift
for mp in $(awk '{ print $5 }' /proc/self/mountinfo); do
	case $mp in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
	case " $rw " in *" $mp "*) continue ;; esac
	mount -o remount,bind,ro "$mp" || exit 1
done
mount -t proc -o nosuid,nodev,noexec,hidepid=invisible,subset=pid proc /proc ||
	exit 1
umask 0027
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups --no-new-privs \
	--bounding-set=-all --inh-caps=-all "$@"
EOF

sandboxed() {
	unshare -m "$TRASH/sandbox.sh" "$@"
}

if ! unshare -m true 2>/dev/null || ! command -v systemd-sysusers >/dev/null; then
	say "# skipped: the sandbox emulation needs unshare -m and systemd-sysusers"
else
test_expect_success 'setup: the user artsync (sysusers.d snippet), roots it owns, an rsync target' '
	mkdir -p users/etc &&
	systemd-sysusers --root="$TRASH/users" "$REPO/systemd/artsync.sysusers" \
		>/dev/null 2>&1 &&
	uid=$(awk -F: "\$1 == \"artsync\" { print \$3 }" users/etc/passwd) &&
	gid=$(awk -F: "\$1 == \"artsync\" { print \$4 }" users/etc/passwd) &&
	test "$uid" -gt 0 && test "$gid" -gt 0 &&
	fixture_tree src &&
	mkdir sync deploy elsewhere &&
	chown "$uid:$gid" sync deploy elsewhere &&
	chmod o+x "$TRASH" "$(dirname "$TRASH")" &&
	port1=$(free_port) && rsync_daemon 1
'

test_expect_success 'sandboxed primary: publishes into its root and pushes with rsync' '
	start_bg sb-primary unshare -m "$TRASH/sandbox.sh" "$uid" "$gid" "$TRASH/sync" -- \
		"$ARTSYNC" primary --source "$TRASH/src" --sync-root "$TRASH/sync" \
		--quiet-ms 50 --push "rsync://127.0.0.1:$port1/m/" &&
	wait_for_log sb-primary.log "published version 1 " &&
	wait_for 20 "test \"\$(state_version target1)\" = 1" &&
	grep -q "^NoNewPrivs:[[:space:]]*1" /proc/$pid_sb_primary/status &&
	grep -q "^CapBnd:[[:space:]]*0*$" /proc/$pid_sb_primary/status &&
	grep -q "^Uid:[[:space:]]*$uid[[:space:]]" /proc/$pid_sb_primary/status &&
	awk "\$5 == \"/\" { print \$6 }" /proc/$pid_sb_primary/mountinfo |
		grep -q "^ro" &&
	test "$(stat -c %u sync/state.json)" = "$uid" &&
	stop $pid_sb_primary
'

test_expect_success 'sandboxed secondary: applies, serves REST, changes locally' '
	start_bg sb-secondary unshare -m "$TRASH/sandbox.sh" "$uid" "$gid" "$TRASH/deploy" -- \
		"$ARTSYNC" secondary --sync-root "$TRASH/sync" \
		--deploy-root "$TRASH/deploy" --poll-ms 100 --listen 127.0.0.1:0 &&
	listen_port sb-secondary.log &&
	wait_for 20 "test \"\$(current_version deploy)\" = 1" &&
	same_tree src deploy/current &&
	"$ARTSYNC" status --endpoint "$EP" >out &&
	grep -q "applied_version: *1" out &&
	ARTSYNC_DEPLOY_ROOT=$TRASH/deploy "$ARTSYNC" undeploy api HelloWorld \
		--endpoint "$EP" >out &&
	grep -q undeployed-local out &&
	test ! -e deploy/current/api/HelloWorld.xml &&
	stop $pid_sb_secondary
'

test_expect_success 'sandboxed: nothing outside the roots can be written, /proc holds its own' '
	sandboxed "$uid" "$gid" "$TRASH/deploy" -- sh -c "
		touch \"$TRASH/deploy/ok\" &&
		! touch \"$TRASH/elsewhere/no\" 2>/dev/null &&
		! touch /var/tmp/artsync-sandbox-no 2>/dev/null &&
		! touch \"$TRASH/sync/no\" 2>/dev/null &&
		test ! -e /proc/sys && test ! -e /proc/1" &&
	test -e deploy/ok && test ! -e elsewhere/no &&
	test ! -e /var/tmp/artsync-sandbox-no
'

test_expect_success 'sandboxed: a deploy root outside ReadWritePaths is a clear error' '
	test_exit_code 2 sandboxed "$uid" "$gid" "$TRASH/deploy" -- \
		"$ARTSYNC" secondary -n --sync-root "$TRASH/sync" \
		--deploy-root "$TRASH/elsewhere/d" >out 2>err &&
	grep -q "deploy_root: .*elsewhere/d: cannot be created: .*Read-only file system" err
'
fi

finish
