# artsync - see README.md.
#
#   make            build ./artsync
#   make test       install what the tests need, then unit + integration
#                   tests, plain and under ASan + UBSan
#   make demo       install what the demo needs, then run it
#   make install    binary and example config (PREFIX=/usr/local)

PREFIX   ?= /usr/local
CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -g
SAN      ?=

PKGS     := libarchive libxml-2.0 libxxhash libcurl libmicrohttpd jansson inih \
            libsystemd libsodium
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Werror
CFLAGS   += -std=gnu11 $(OPT) $(WARN) $(SAN)
CPPFLAGS += -D_GNU_SOURCE -I. -Isnapshots -Iagent \
            $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDFLAGS  += $(SAN)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -linotifytools

SNAP_SRC  := $(sort $(wildcard snapshots/*.c))
AGENT_SRC := $(sort $(filter-out agent/main.c,$(wildcard agent/*.c)))
XSD       := $(sort $(wildcard schemas/*.xsd))

# Everything but main.o: the binary, the unit tests and the fuzzers link it.
LIB_OBJ  := $(SNAP_SRC:%.c=$(BUILD)/%.o) $(AGENT_SRC:%.c=$(BUILD)/%.o) \
            $(BUILD)/snapshots/xsd_embed.o
MAIN_OBJ := $(BUILD)/agent/main.o
BIN      := $(if $(filter build,$(BUILD)),artsync,$(BUILD)/artsync)

UNIT_SRC := $(sort $(wildcard tests/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(BUILD)/tests/%)

.PHONY: all deps test check unit integration demo install clean bench

all: $(BIN)

$(BIN): $(LIB_OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/snapshots/xsd_embed.o: snapshots/xsd_embed.S $(XSD)
	@mkdir -p $(dir $@)
	$(CC) -I. $(SAN) -c -o $@ $<

$(BUILD)/tests/%: tests/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(shell pkg-config --cflags cmocka) $(CFLAGS) \
	    -o $@ $< $(LIB_OBJ) $(LDFLAGS) $(LDLIBS) $(shell pkg-config --libs cmocka)

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
	scripts/bench-rest 1 >/dev/null	# smoke run: the harness must not rot
	$(MAKE) check BUILD=build-san OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"

check: unit integration

# Figures, not tests: see README "Performance".
bench: all
	scripts/deps test
	scripts/bench-rest 10

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
	rm -rf build build-san artsync

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
