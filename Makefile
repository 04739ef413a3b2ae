# bouncewall - one Makefile for everything: all, check, demo, bench, fuzz,
# install, clean.  Quiet by default; V=1 shows the commands.
#
# The agent's sources live in three rooms (user/README):
#   user/core  pure: parser, flow table, scorer, ... (no I/O, time passed in)
#   user/io    the shell's I/O: event loop, sockets, maps, capture, files
#   user/cmd   the subcommands and the agent that wires them together
# core is compiled with only its own headers on the include path, so it
# cannot include io or cmd; `make check-core` also checks that its objects
# call nothing that does I/O.
#
# CFLAGS, LDFLAGS and LDLIBS from the command line are added to ours, never
# replace them: `make CFLAGS=-O0` builds.

VERSION		?= 0.2.0
BUILD		:= build
OBJ		:= $(BUILD)/obj
PREFIX		?= /usr/local
DESTDIR		?=
SYSCONFDIR	?= /etc

CC		?= gcc
CLANG		?= clang
BPFTOOL		?= bpftool
MULTIARCH	:= $(shell $(CC) -print-multiarch 2>/dev/null)

PKGS		:= libbpf libxdp libpcap libcap-ng libcrypto libcares libcurl json-c
# json-c's pkg-config adds -I.../json-c, whose json.h would shadow
# user/core/json.h; sources include <json-c/...> instead.
PKG_CFLAGS	:= $(filter-out %/json-c,$(shell pkg-config --cflags $(PKGS) 2>/dev/null))
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS		?= -O2 -g
WARN		:= -Wall -Wextra -Wno-unused-parameter -Wformat=2 -Wshadow \
		   -Wstrict-prototypes
BW_CFLAGS	= -std=gnu11 $(WARN) -D_GNU_SOURCE -DBW_VERSION='"$(VERSION)"' \
		  -Iinclude $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
BW_LDLIBS	= $(PKG_LIBS) -lelf -lz $(LDLIBS)

# Which headers each room sees.
INC_core	:= -Iuser/core
INC_io		:= -Iuser/core -Iuser/io -I$(BUILD)
INC_cmd		:= -Iuser/core -Iuser/io -Iuser/cmd -I$(BUILD)
INC_ALL		:= $(INC_cmd) -Itests

BPF_CFLAGS	:= -O2 -g -target bpf -mcpu=v3 -Wall -Iinclude -Ibpf \
		   -I/usr/include/$(MULTIARCH)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ROOMS		:= core io cmd
SRC_core	:= $(wildcard user/core/*.c)
SRC_io		:= $(wildcard user/io/*.c)
SRC_cmd		:= $(wildcard user/cmd/*.c)
OBJ_core	:= $(patsubst user/%.c,$(OBJ)/%.o,$(SRC_core))
OBJ_io		:= $(patsubst user/%.c,$(OBJ)/%.o,$(SRC_io))
OBJ_cmd		:= $(patsubst user/%.c,$(OBJ)/%.o,$(SRC_cmd))
# What unit tests link against: everything but the subcommands.
LIB_OBJ		:= $(OBJ_core) $(OBJ_io)

UNIT_SRC	:= $(wildcard tests/unit/test_*.c)
UNIT_BIN	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BPFT_SRC	:= $(wildcard tests/bpf/test_*.c)
BPFT_BIN	:= $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRC))

# The same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
SAN		:= $(BUILD)/san
SAN_FLAGS	:= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		   -fno-sanitize-recover=undefined
SAN_LIB_OBJ	:= $(patsubst $(OBJ)/%,$(SAN)/obj/%,$(LIB_OBJ))
SAN_UNIT_BIN	:= $(patsubst tests/unit/%.c,$(SAN)/tests/%,$(UNIT_SRC))

FUZZ_SRC	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN	:= $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_OBJ	:= $(patsubst user/core/%.c,$(BUILD)/fuzz/obj/%.o,$(SRC_core))
FUZZ_FLAGS	:= -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
		   -fno-sanitize-recover=undefined
FUZZ_SECONDS	?= 20

# Tests of the tests (tests/meta): a crashing fuzz target, a missing tool,
# a capture without its row must each make the suite fail.  The quick ones
# run in make check; make meta-check adds the slow ones: a wedged lab test
# (timed out, cleaned up) and an agent built to stop deciding after a
# restart, run in the lab.
META_QUICK	:= tests/meta/test_fuzz_crash.sh tests/meta/test_missing_tool.sh \
		   tests/meta/test_analyze_row.sh
META_SLOW	:= tests/meta/test_lab_timeout.sh tests/meta/test_scorer_restart.sh

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps check check-core build-test bench-build unit-test unit-test-san bpf-test \
	analyze-test lab-test install-test fuzz-smoke meta-test meta-check demo bench \
	fuzz install clean

all: $(BUILD)/bouncewall $(BUILD)/bouncewall.bpf.o

$(BUILD)/bouncewall.bpf.o: bpf/bouncewall.bpf.c $(wildcard bpf/*.h) include/bouncewall.h Makefile
	$(Q)mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bouncewall.skel.h: $(BUILD)/bouncewall.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bouncewall_bpf > $@

# One pattern per room: each sees only the headers it may use.
define room_rule
$(OBJ)/$(1)/%.o: user/$(1)/%.c Makefile
	$$(Q)mkdir -p $$(@D)
	$$(call msg,CC,$$@)
	$$(Q)$$(CC) $$(BW_CFLAGS) $$(INC_$(1)) -c $$< -o $$@

$(SAN)/obj/$(1)/%.o: user/$(1)/%.c Makefile
	$$(Q)mkdir -p $$(@D)
	$$(call msg,CC-SAN,$$@)
	$$(Q)$$(CC) $$(BW_CFLAGS) $$(SAN_FLAGS) $$(INC_$(1)) -c $$< -o $$@
endef
$(foreach r,$(ROOMS),$(eval $(call room_rule,$(r))))

# Only the loader embeds the BPF object.
$(OBJ)/io/kern.o $(SAN)/obj/io/kern.o: $(BUILD)/bouncewall.skel.h

$(BUILD)/libbw.a: $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SAN)/libbw.a: $(SAN_LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bouncewall: $(OBJ_cmd) $(BUILD)/libbw.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(BW_CFLAGS) $(LDFLAGS) $(OBJ_cmd) $(BUILD)/libbw.a $(BW_LDLIBS) -o $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libbw.a
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BW_CFLAGS) $(INC_ALL) $< $(BUILD)/libbw.a $(BW_LDLIBS) -lcmocka -o $@

$(SAN)/tests/test_%: tests/unit/test_%.c $(SAN)/libbw.a
	$(Q)mkdir -p $(@D)
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(BW_CFLAGS) $(SAN_FLAGS) $(INC_ALL) $< $(SAN)/libbw.a $(BW_LDLIBS) \
		-lcmocka -o $@

# BPF tests set the object up with the agent's own code (kern_obj_setup,
# kern_write_config, kern_read_stats).
$(BUILD)/tests/test_%: tests/bpf/test_%.c $(BUILD)/bouncewall.bpf.o $(BUILD)/libbw.a
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BW_CFLAGS) $(INC_ALL) $< $(BUILD)/libbw.a $(BW_LDLIBS) -o $@

# The XDP benchmark sets bouncewall up with the agent's own code.
$(BUILD)/bench/bench-xdp: scripts/bench-xdp.c $(BUILD)/libbw.a
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BW_CFLAGS) $(INC_ALL) $< $(BUILD)/libbw.a $(BW_LDLIBS) -o $@

$(BUILD)/bench/bench_memory: tests/bench/bench_memory.c $(BUILD)/libbw.a
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(BW_CFLAGS) $(INC_ALL) $< $(BUILD)/libbw.a $(BW_LDLIBS) -o $@

deps:
	$(Q)./scripts/install-deps.sh

check-core: $(OBJ_core)
	$(Q)./scripts/check-core.sh $(OBJ_core)

# The build as packagers and developers drive it: CFLAGS from the command
# line, header dependencies (its own BUILD directory).
build-test:
	$(Q)./tests/make/test_build.sh

# The bench's C programs build against libbw like the tests: make check
# builds them so an interface change cannot rot them unseen until make bench.
bench-build: $(BUILD)/bench/bench-xdp $(BUILD)/bench/bench_memory

unit-test: $(UNIT_BIN)
	$(Q)set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

unit-test-san: $(SAN_UNIT_BIN)
	$(Q)set -e; for t in $(SAN_UNIT_BIN); do echo "== $$t"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 $$t; done

bpf-test: $(BPFT_BIN)
	$(Q)set -e; for t in $(BPFT_BIN); do echo "== $$t"; $$t $(BUILD)/bouncewall.bpf.o; done

analyze-test: all
	$(Q)./tests/analyze/run.sh
	$(Q)./tests/analyze/scenarios.sh

# Fuzz targets exercise the pure core only.
$(BUILD)/fuzz/obj/%.o: user/core/%.c Makefile
	$(Q)mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(filter-out -MMD -MP,$(BW_CFLAGS)) $(FUZZ_FLAGS) $(INC_core) -c $< -o $@

$(BUILD)/fuzz/libcore.a: $(FUZZ_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libcore.a
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(filter-out -MMD -MP,$(BW_CFLAGS)) $(INC_core) -Itests -O1 -g \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		$< $(BUILD)/fuzz/libcore.a $(BW_LDLIBS) -o $@

# `make fuzz` runs each target for FUZZ_SECONDS (default 20; e.g.
# FUZZ_SECONDS=600 for a real session) and prints one line per target:
# executions, coverage, corpus; a crash fails it.  `make check` gives each
# a short run.
fuzz: $(FUZZ_BIN)
	$(Q)./scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BIN)

fuzz-smoke:
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

lab-test: all
	$(Q)./tests/lab/run-all.sh

meta-test: all $(FUZZ_BIN)
	$(Q)./tests/meta/run.sh $(META_QUICK)

meta-check: export BW_STRICT = 1
meta-check: deps
	$(Q)$(MAKE) --no-print-directory all $(FUZZ_BIN)
	$(Q)./tests/meta/run.sh $(META_QUICK) $(META_SLOW)

# Under make check a skipped test is a failed one: check installs every
# tool the tests use (deps), so a skip there is a check that did not run.
# Each suite reads BW_STRICT (tests/README).
check: export BW_STRICT = 1
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory check-core
	$(Q)$(MAKE) --no-print-directory build-test
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)$(MAKE) --no-print-directory unit-test
	$(Q)$(MAKE) --no-print-directory unit-test-san
	$(Q)$(MAKE) --no-print-directory bpf-test
	$(Q)$(MAKE) --no-print-directory analyze-test
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory install-test
	$(Q)$(MAKE) --no-print-directory lab-test
	$(Q)$(MAKE) --no-print-directory meta-test

# deps first, then a fresh make: pkg-config flags are read when the
# Makefile is parsed, which on a fresh machine is before deps installed them.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./scripts/demo.sh

bench: deps
	$(Q)./scripts/install-deps.sh --bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./scripts/bench.sh

install: all
	$(Q)PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' SYSCONFDIR='$(SYSCONFDIR)' ./scripts/install.sh

install-test: all
	$(Q)./tests/install/test_install.sh

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
