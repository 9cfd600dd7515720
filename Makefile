# followup - build, test and install.
#
#   make                 build ./build/followup
#   make check           install missing dependencies, run every test, then again under ASan+UBSan
#   make demo            the main job end to end on the embedded defaults
#   make install PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined   a sanitizer build (in build-san/ by default)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/followup
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
DOCDIR ?= $(PREFIX)/share/doc/followup
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3
VERSION = 0.1.0

PKGS = sqlite3 libcurl yaml-0.1 libcjson
TEST_PKGS = cmocka

CFLAGS ?= -O2 -g
SANITIZE ?=
ifeq ($(SANITIZE),)
BUILD ?= build
else
BUILD ?= build-san
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

WARNINGS = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wvla -Wwrite-strings -Wformat=2 -Wpointer-arith -Wundef -Wcast-align
DEP_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libcurl is not linked: transport_smtp.c loads it when it first sends (see curl_lib.h).
DEP_LIBS = $(shell $(PKG_CONFIG) --libs $(filter-out libcurl,$(PKGS)) 2>/dev/null) -ldl -pthread
TEST_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS = $(shell $(PKG_CONFIG) --libs $(TEST_PKGS) 2>/dev/null)

# `make V=1` shows the whole commands.
ifneq ($(V),1)
QUIET_CC = @echo '   CC     $@';
QUIET_LINK = @echo '   LINK   $@';
endif

override CFLAGS := -std=c11 -D_GNU_SOURCE -DFOLLOWUP_VERSION='"$(VERSION)"' \
	-DFOLLOWUP_DATADIR='"$(DATADIR)"' -Iinclude -pthread $(WARNINGS) $(SAN_FLAGS) $(DEP_CFLAGS) $(CFLAGS)
override LDFLAGS += $(SAN_FLAGS)

SRCS = $(wildcard src/*.c)
LIB_OBJS = $(patsubst src/%.c,$(BUILD)/src/%.o,$(filter-out src/main.c,$(SRCS)))
MAIN_OBJ = $(BUILD)/src/main.o
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
INTEGRATION_TESTS = $(wildcard tests/integration/test_*.py)

all: $(BUILD)/followup

depcheck:
	@$(PKG_CONFIG) --exists $(PKGS) || \
		{ echo "missing libraries ($(PKGS)): run scripts/install-deps" >&2; exit 1; }

$(BUILD)/followup: $(MAIN_OBJ) $(LIB_OBJS)
	$(QUIET_LINK)$(CC) $(LDFLAGS) -o $@ $^ $(DEP_LIBS)

$(BUILD)/src/%.o: src/%.c | depcheck
	@mkdir -p $(@D)
	$(QUIET_CC)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | depcheck
	@mkdir -p $(@D)
	$(QUIET_LINK)$(CC) $(CFLAGS) $(TEST_CFLAGS) -MMD -MP -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(DEP_LIBS) $(TEST_LIBS)

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/tests/*.d)

# The install directory is compiled in (where the shipped sequences are): rebuild what
# uses it when PREFIX changes, as git does with GIT-CFLAGS.
$(BUILD)/DATADIR: FORCE
	@mkdir -p $(@D)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' > $@
$(BUILD)/src/cli.o: $(BUILD)/DATADIR

# make check: what CI runs. Installs what is missing, then the whole suite twice (a
# normal build and an ASan+UBSan build), then each fuzzer for a bounded time.
check: deps
	$(MAKE) test
	$(MAKE) soak SOAK_LEADS=2000 SOAK_DAYS=30
	$(MAKE) SANITIZE=address,undefined test
	$(MAKE) valgrind
	$(MAKE) fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

deps:
	@scripts/install-deps

export ASAN_OPTIONS = detect_leaks=1:abort_on_error=0:exitcode=86
export UBSAN_OPTIONS = halt_on_error=1:print_stacktrace=1

test: unit-test integration-test

unit-test: $(UNIT_BINS)
	@set -e; total=0; for t in $(UNIT_BINS); do \
		$$t > $$t.log 2>&1 || { cat $$t.log; echo "FAIL $$t"; \
			echo "unit: $$total passed, 1 failed"; exit 1; }; \
		n=$$(grep -c '^\[       OK' $$t.log); total=$$((total + n)); \
		echo "ok   $$t: $$n passed"; done; \
	echo "unit: $$total passed, 0 failed"

integration-test: $(BUILD)/followup
	FOLLOWUP_BIN=$(abspath $(BUILD)/followup) FOLLOWUP_SAN="$(SANITIZE)" \
		$(PYTHON) tests/integration/run.py $(INTEGRATION_TESTS)

# Fuzzing with libFuzzer (clang): the CSV reader, the sequence loader, the template
# renderer and the message builder. `make fuzz` runs each for FUZZ_SECONDS on a copy of
# its seed corpus after replaying the regression inputs (crashes found earlier).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
CHECK_FUZZ_SECONDS ?= 20
FUZZERS = csv sequence template message
FUZZ_BUILD = build-fuzz
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Iinclude $(WARNINGS) -Wno-unused-command-line-argument \
	-DFOLLOWUP_VERSION='"$(VERSION)"' -DFOLLOWUP_DATADIR='"$(DATADIR)"' $(DEP_CFLAGS) \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_OBJS = $(patsubst src/%.c,$(FUZZ_BUILD)/src/%.o,$(filter-out src/main.c,$(SRCS)))

$(FUZZ_BUILD)/src/%.o: src/%.c | depcheck
	@mkdir -p $(@D)
	$(QUIET_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(QUIET_LINK)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(DEP_LIBS)

fuzz: $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZERS))
	@set -e; for f in $(FUZZERS); do \
		rm -rf $(FUZZ_BUILD)/corpus-$$f; mkdir -p $(FUZZ_BUILD)/corpus-$$f; \
		cp tests/fuzz/corpus/$$f/* $(FUZZ_BUILD)/corpus-$$f/; \
		$(FUZZ_BUILD)/fuzz_$$f -runs=0 tests/fuzz/regressions/$$f tests/fuzz/corpus/$$f \
			> $(FUZZ_BUILD)/fuzz_$$f.log 2>&1 || { cat $(FUZZ_BUILD)/fuzz_$$f.log; exit 1; }; \
		$(FUZZ_BUILD)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
			-rss_limit_mb=1024 -artifact_prefix=$(FUZZ_BUILD)/crash-$$f- \
			$(FUZZ_BUILD)/corpus-$$f > $(FUZZ_BUILD)/fuzz_$$f.log 2>&1 || \
			{ tail -40 $(FUZZ_BUILD)/fuzz_$$f.log; echo "FAIL fuzz_$$f: see $(FUZZ_BUILD)/crash-$$f-*"; exit 1; }; \
		echo "ok   fuzz_$$f: $$(grep -o 'Done [0-9]* runs' $(FUZZ_BUILD)/fuzz_$$f.log) in $(FUZZ_SECONDS) s"; \
	done

# The integration tests that drive the store, the cadence and the CLI, every command
# under valgrind (leaks and invalid accesses fail). The SMTP ones stay out: their timeouts
# are tuned for real speed.
VALGRIND_TESTS = test_cadence test_cli test_import test_pipeline
valgrind: $(BUILD)/followup
	FOLLOWUP_VALGRIND=1 FOLLOWUP_BIN=$(abspath $(BUILD)/followup) \
		$(PYTHON) tests/integration/run.py $(patsubst %,tests/integration/%.py,$(VALGRIND_TESTS))

# A simulated season of cron against a real SMTP server (tests/soak/soak.py).
SOAK_LEADS ?= 20000
SOAK_DAYS ?= 120
soak: $(BUILD)/followup
	FOLLOWUP_BIN=$(abspath $(BUILD)/followup) $(PYTHON) tests/soak/soak.py \
		--leads $(SOAK_LEADS) --days $(SOAK_DAYS)

demo: deps $(BUILD)/followup
	@scripts/demo $(BUILD)/followup

install: $(BUILD)/followup
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/sequences $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(BUILD)/followup $(DESTDIR)$(BINDIR)/followup
	install -m 644 sequences/*.yaml $(DESTDIR)$(DATADIR)/sequences/
	sed 's|@DATADIR@|$(DATADIR)|g' doc/followup.1 > $(DESTDIR)$(MANDIR)/man1/followup.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/followup.1
	install -d $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)
	install -m 644 doc/followup.bash $(DESTDIR)$(BASHCOMPDIR)/followup
	install -m 644 README.md LICENSE $(DESTDIR)$(DOCDIR)/

# Only what install put there: with PREFIX=~/.local, $(DATADIR) is also where the store
# and the outbox live by default.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/followup $(DESTDIR)$(MANDIR)/man1/followup.1 \
		$(DESTDIR)$(BASHCOMPDIR)/followup $(DESTDIR)$(DOCDIR)/README.md \
		$(DESTDIR)$(DOCDIR)/LICENSE \
		$(addprefix $(DESTDIR)$(DATADIR)/,$(wildcard sequences/*.yaml))
	rmdir $(DESTDIR)$(DATADIR)/sequences $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR) 2>/dev/null || true

clean:
	rm -rf build build-san build-fuzz

.PHONY: FORCE all depcheck check deps test unit-test integration-test fuzz soak valgrind \
	demo install \
	uninstall clean
.DELETE_ON_ERROR:
.SECONDARY:
