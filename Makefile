# artsync - see README.md.
#
#   make            build ./artsync
#   make test       install what the tests need, then unit + integration
#                   tests, plain and under ASan + UBSan
#   make demo       install what the demo needs, then run it
#   make torture    kill -9 publishers and secondaries 200 times (TORTURE_KILLS)
#   make valgrind   the cluster scenario with every process under valgrind
#   make bench      the benchmark table (README "Performance"; slow, not a test)
#   make install    binary and example config (PREFIX=/usr/local)
#   make fuzz       build the libFuzzer targets (clang) and run each for
#                   FUZZ_SECONDS; make fuzz-smoke runs them over their seeds

PREFIX   ?= /usr/local
CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
SAN      ?=

PKGS     := libarchive libxml-2.0 libxxhash libcurl libmicrohttpd jansson inih \
            libsystemd libsodium
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Werror
CFLAGS   += -std=gnu11 -pthread $(OPT) $(WARN) $(SAN)
CPPFLAGS += -D_GNU_SOURCE -I. -Isnapshots -Iagent \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += -pthread $(SAN)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linotifytools

SNAP_SRC  := $(sort $(wildcard snapshots/*.c))
AGENT_SRC := $(sort $(filter-out agent/main.c,$(wildcard agent/*.c)))

# Everything but main.o: the binary, the unit tests and the fuzzers link it.
LIB_OBJ  := $(SNAP_SRC:%.c=$(BUILD)/%.o) $(AGENT_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/agent/main.o
BIN      := $(if $(filter build,$(BUILD)),artsync,$(BUILD)/artsync)

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

.PHONY: all deps test check unit integration demo install clean bench \
        torture valgrind fuzz fuzz-smoke fuzz-build fuzz-bins

all: $(BIN)

$(BIN): $(LIB_OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

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

integration: $(BIN)
	ARTSYNC=$(abspath $(BIN)) integration/run

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

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/artsync
	install -m 0755 artsync $(DESTDIR)$(PREFIX)/bin/artsync
	install -m 0644 examples/artsync.conf \
	    $(DESTDIR)$(PREFIX)/share/artsync/artsync.conf.example
	@if [ ! -e $(DESTDIR)/etc/artsync.conf ]; then \
	    install -D -m 0644 examples/artsync.conf $(DESTDIR)/etc/artsync.conf; \
	    echo "installed /etc/artsync.conf"; fi

clean:
	rm -rf build build-san build-fuzz artsync
	rm -rf build build-san build-bench artsync

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
