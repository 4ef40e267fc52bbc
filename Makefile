# artsync - see README.md.
#
#   make            build ./artsync (the light front) and ./artsync-agent
#   make test       install what the tests need, then unit + integration
#                   tests, plain and under ASan + UBSan
#   make demo       install what the demo needs, then run it
#   make torture    kill -9 publishers and secondaries 200 times (TORTURE_KILLS)
#   make nemesis    three failover primaries under kill, stop, stalled
#                   shares and late commits for NEMESIS_SECONDS (300)
#   make valgrind   the cluster scenario with every process under valgrind
#   make bench      the benchmark table (README "Performance"; slow, not a test)
#   make install    binaries, systemd units, man pages, bash completion,
#                   sysusers.d and tmpfiles.d snippets, example config, and
#                   /etc/artsync.conf if there is none (PREFIX=/usr/local;
#                   DESTDIR, BINDIR, LIBEXECDIR, MANDIR, UNITDIR,
#                   sysconfdir too)
#   make uninstall  the same files again (a changed /etc/artsync.conf stays)
#   make fuzz       build the libFuzzer targets (clang) and run each for
#                   FUZZ_SECONDS; make fuzz-smoke runs them over their seeds

PREFIX   ?= /usr/local
sysconfdir ?= /etc
BINDIR   ?= $(PREFIX)/bin
# artsync-agent goes to $(LIBEXECDIR)/artsync, where the front looks.
LIBEXECDIR ?= $(PREFIX)/libexec
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/artsync
# Debian's units live in /lib (not /usr/lib) until its /usr merge is done.
UNITDIR  ?= $(if $(filter /usr,$(PREFIX)),/lib,$(PREFIX)/lib)/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
# The binaries are stripped on install; the Debian build empties this so that
# dh_strip can keep the symbols for the -dbgsym package.
INSTALL_STRIP ?= -s
CC       ?= cc
AR       ?= ar
BUILD    ?= build
OPT      ?= -O2 -g
SAN      ?=

PKGS     := libarchive libxml-2.0 libxxhash libcurl libmicrohttpd jansson inih \
            libsystemd libsodium hiredis
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Werror
CFLAGS   += -std=gnu11 -pthread $(OPT) $(WARN) $(SAN)
CPPFLAGS += -D_GNU_SOURCE -I. -Isnapshots -Iagent \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += -pthread $(SAN)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linotifytools

SNAP_SRC  := $(sort $(wildcard snapshots/*.c))
AGENT_SRC := $(sort $(filter-out agent/main.c agent/front.c,\
             $(wildcard agent/*.c)))

# Everything but the two mains: the binaries, the unit tests and the
# fuzzers link it.
LIB_OBJ  := $(SNAP_SRC:%.c=$(BUILD)/%.o) $(AGENT_SRC:%.c=$(BUILD)/%.o)
LIB_A    := $(BUILD)/libartsync.a
MAIN_OBJ := $(BUILD)/agent/main.o
FRONT_OBJ := $(BUILD)/agent/front.o
# Two binaries (docs/architecture.md): artsync, the light front, runs the
# one-shot commands and execs artsync-agent, the full one, for the rest.
OUT      := $(if $(filter build,$(BUILD)),,$(BUILD)/)
BIN      := $(OUT)artsync
AGENT_BIN := $(OUT)artsync-agent

UNIT_SRC := $(sort $(wildcard tests/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)

# libFuzzer targets: the same LIB_OBJ, built with clang into build-fuzz/
# with the fuzzer's coverage hooks and ASan + UBSan (README "Fuzzing").
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CC  ?= clang-14
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined \
            -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60

.PHONY: FORCE all deps test check unit integration demo install uninstall clean \
        bench torture nemesis valgrind fuzz fuzz-smoke fuzz-build fuzz-bins

all: $(BIN) $(AGENT_BIN)

$(AGENT_BIN): $(LIB_OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The front takes from the archive only the objects it references, and
# --as-needed keeps only the libraries those call: no libcurl, no
# libmicrohttpd (integration/t12-front checks with readelf).
$(BIN): $(FRONT_OBJ) $(LIB_A)
	$(CC) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(LDLIBS)

# Thin (T): it names the objects by path, so that two of one base name
# in snapshots/ and agent/ could not replace each other.
$(LIB_A): $(LIB_OBJ)
	rm -f $@
	$(AR) rcsT $@ $^

# The default config file's directory (config_find()); config.o is built
# again when it changes, so that the binary looks where install puts it.
$(BUILD)/agent/config.o: $(BUILD)/sysconfdir
$(BUILD)/agent/config.o: CPPFLAGS += -DSYSCONFDIR='"$(sysconfdir)"'
$(BUILD)/sysconfdir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(sysconfdir)' | cmp -s - $@ || echo '$(sysconfdir)' >$@
FORCE:

# Where the front looks for the agent last (front.c), as config.o above.
$(BUILD)/agent/front.o: $(BUILD)/libexecdir
$(BUILD)/agent/front.o: CPPFLAGS += -DAGENT_DIR='"$(LIBEXECDIR)/artsync"'
$(BUILD)/libexecdir: FORCE
	@mkdir -p $(dir $@)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' >$@

# The commit the binary was built from, for artsync_build_info (metrics.c);
# COMMIT= from the command line (a source package has no .git) wins.
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
$(BUILD)/agent/metrics.o: $(BUILD)/commit
$(BUILD)/agent/metrics.o: CPPFLAGS += -DARTSYNC_COMMIT='"$(COMMIT)"'
$(BUILD)/commit: FORCE
	@mkdir -p $(dir $@)
	@echo '$(COMMIT)' | cmp -s - $@ || echo '$(COMMIT)' >$@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

# The benchmark's clock (scripts/bench): standalone, no project code.
$(BUILD)/bench-probe: scripts/bench-probe.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS)

$(BUILD)/tests/%: tests/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(shell pkg-config --cflags cmocka) $(CFLAGS) \
	    -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/fuzz/%: fuzz/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJ) \
	    $(LDFLAGS) $(LDLIBS)

deps:
	scripts/deps build

unit: $(UNIT_BIN)
	tests/run $(UNIT_BIN)

# BUILD tells t98-package which pass this is: it builds the package once.
integration: $(BIN) $(AGENT_BIN)
	ARTSYNC=$(abspath $(BIN)) BUILD=$(BUILD) integration/run

# The whole suite: plain build, then the same tests under ASan + UBSan.
test:
	scripts/deps test
	$(MAKE) check
	BENCH_BUILD=$(BUILD) scripts/bench --smoke	# the harness must not rot
	$(MAKE) fuzz-smoke		# nor must the fuzzers
	$(MAKE) check BUILD=build-san OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"

check: unit integration

# Figures, not tests: see README "Performance". scripts/bench builds its own
# optimized binary (build-bench/, -O2, no sanitizers) and the probe.
bench:
	scripts/deps test
	scripts/bench

# Long runs, beside `make test`: see README "Torture and valgrind".
TORTURE_KILLS     ?= 200
TORTURE_ARTIFACTS ?= 1000
VALGRIND_SCRIPTS  ?= t25-scenario

torture: all
	scripts/deps test
	TORTURE_KILLS=$(TORTURE_KILLS) TORTURE_ARTIFACTS=$(TORTURE_ARTIFACTS) \
	    ARTSYNC=$(abspath $(BIN)) nice integration/run t55-torture

# The failover nemesis (docs/failover.md), long; `make test` runs 30 s.
NEMESIS_SECONDS ?= 300

nemesis: all
	scripts/deps test
	NEMESIS_SECONDS=$(NEMESIS_SECONDS) ARTSYNC=$(abspath $(BIN)) \
	    nice integration/run t89-nemesis

valgrind: all
	scripts/deps test
	VALGRIND=1 ARTSYNC=$(abspath $(BIN)) nice integration/run $(VALGRIND_SCRIPTS)

fuzz-bins: $(FUZZ_BIN)

fuzz-build:
	scripts/deps fuzz
	$(MAKE) fuzz-bins BUILD=build-fuzz CC=$(FUZZ_CC) \
	    OPT="-O2 -g -fno-omit-frame-pointer" SAN="$(FUZZ_SAN)"

# Each target for FUZZ_SECONDS (FUZZ_TARGETS="arc route" picks some), one
# after the other; working corpora and crashes go to build-fuzz/.
fuzz: fuzz-build
	fuzz/run long $(FUZZ_SECONDS)

# Each target over its seed corpus plus a few thousand mutations.
fuzz-smoke: fuzz-build
	fuzz/run smoke

demo:
	scripts/deps demo
	$(MAKE) all
	scripts/demo

UNITS := artsync-primary.service artsync-secondary.service \
         artsync-secondary@.service

# The units get this install's paths and the one sandbox (systemd/). No
# /etc/artsync.conf is replaced. On a real install (no DESTDIR) the user
# and the state directory are made too, as the Debian package's postinst.
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/artsync \
	    $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(DOCDIR)/examples \
	    $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(COMPLETIONDIR) \
	    $(DESTDIR)$(sysconfdir)/artsync
	install $(INSTALL_STRIP) -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/artsync
	install $(INSTALL_STRIP) -m 0755 $(AGENT_BIN) \
	    $(DESTDIR)$(LIBEXECDIR)/artsync/artsync-agent
	install -m 0644 man/artsync.8 $(DESTDIR)$(MANDIR)/man8/artsync.8
	install -m 0644 man/artsync.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/artsync.conf.5
	install -m 0644 examples/artsync.conf $(DESTDIR)$(DOCDIR)/examples/
	for u in $(UNITS); do \
	    sed -e 's|@bindir@|$(BINDIR)|g' -e 's|@sysconfdir@|$(sysconfdir)|g' \
	        -e '/^@sandbox@$$/{r systemd/sandbox.conf' -e 'd;}' \
	        systemd/$$u.in >$(DESTDIR)$(UNITDIR)/$$u && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; done
	install -m 0644 systemd/artsync.sysusers \
	    $(DESTDIR)$(SYSUSERSDIR)/artsync.conf
	install -m 0644 systemd/artsync.tmpfiles \
	    $(DESTDIR)$(TMPFILESDIR)/artsync.conf
	install -m 0644 completion/artsync $(DESTDIR)$(COMPLETIONDIR)/artsync
	@if [ -e $(DESTDIR)$(sysconfdir)/artsync.conf ]; then \
	    echo "kept $(DESTDIR)$(sysconfdir)/artsync.conf"; else \
	    install -m 0644 examples/artsync.conf \
	        $(DESTDIR)$(sysconfdir)/artsync.conf && \
	    echo "installed $(DESTDIR)$(sysconfdir)/artsync.conf"; fi
	@if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
	    systemd-sysusers $(SYSUSERSDIR)/artsync.conf && \
	    systemd-tmpfiles --create $(TMPFILESDIR)/artsync.conf; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemctl daemon-reload; fi

# Leaves the user artsync, /var/lib/artsync and a changed
# /etc/artsync.conf (an unchanged one goes).
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/artsync \
	    $(DESTDIR)$(LIBEXECDIR)/artsync/artsync-agent \
	    $(DESTDIR)$(MANDIR)/man8/artsync.8 \
	    $(DESTDIR)$(MANDIR)/man5/artsync.conf.5 \
	    $(DESTDIR)$(DOCDIR)/examples/artsync.conf \
	    $(UNITS:%=$(DESTDIR)$(UNITDIR)/%) \
	    $(DESTDIR)$(SYSUSERSDIR)/artsync.conf \
	    $(DESTDIR)$(TMPFILESDIR)/artsync.conf \
	    $(DESTDIR)$(COMPLETIONDIR)/artsync
	-rmdir $(DESTDIR)$(LIBEXECDIR)/artsync \
	    $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(sysconfdir)/artsync 2>/dev/null
	@if cmp -s examples/artsync.conf $(DESTDIR)$(sysconfdir)/artsync.conf; \
	    then rm -f $(DESTDIR)$(sysconfdir)/artsync.conf && \
	    echo "removed $(DESTDIR)$(sysconfdir)/artsync.conf (unchanged)"; \
	elif [ -e $(DESTDIR)$(sysconfdir)/artsync.conf ]; then \
	    echo "kept $(DESTDIR)$(sysconfdir)/artsync.conf (changed)"; fi
	@echo "left the user artsync and /var/lib/artsync"

clean:
	rm -rf build build-san build-fuzz build-bench artsync artsync-agent

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
