# bouncewall - one Makefile for everything: all, check, demo, bench, fuzz,
# install, clean.  Quiet by default; V=1 shows the commands.

VERSION		?= 0.1.0
BUILD		:= build
OBJ		:= $(BUILD)/obj
PREFIX		?= /usr/local
DESTDIR		?=
SYSCONFDIR	?= /etc

CC		?= gcc
CLANG		?= clang
BPFTOOL		?= bpftool
MULTIARCH	:= $(shell $(CC) -print-multiarch 2>/dev/null)

PKGS		:= libbpf libpcap inih libmicrohttpd libcap-ng libcrypto
PKG_CFLAGS	:= $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS	:= $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wformat=2 \
		   -Wshadow -Wstrict-prototypes -D_GNU_SOURCE \
		   -DBW_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(BUILD) $(PKG_CFLAGS)
LDLIBS		+= $(PKG_LIBS) -lelf -lz

BPF_CFLAGS	:= -O2 -g -target bpf -mcpu=v3 -Wall -Iinclude -Ibpf \
		   -I/usr/include/$(MULTIARCH)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

USER_SRC	:= $(wildcard user/*.c)
USER_OBJ	:= $(patsubst user/%.c,$(OBJ)/%.o,$(USER_SRC))
# Everything but main: what unit tests link against.
CORE_OBJ	:= $(filter-out $(OBJ)/main.o,$(USER_OBJ))

UNIT_SRC	:= $(wildcard tests/unit/test_*.c)
UNIT_BIN	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
BPFT_SRC	:= $(wildcard tests/bpf/test_*.c)
BPFT_BIN	:= $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFT_SRC))

FUZZ_SRC	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN	:= $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
FUZZ_OBJ	:= $(patsubst user/%.c,$(BUILD)/fuzz/obj/%.o,$(filter-out user/main.c,$(USER_SRC)))
FUZZ_CFLAGS	:= -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS	?= 20

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps check unit-test bpf-test analyze-test lab-test install-test fuzz-smoke demo bench fuzz install clean

all: $(BUILD)/bouncewall $(BUILD)/bouncewall.bpf.o

$(BUILD) $(OBJ) $(BUILD)/tests:
	$(Q)mkdir -p $@

$(BUILD)/bouncewall.bpf.o: bpf/bouncewall.bpf.c $(wildcard bpf/*.h) include/bouncewall.h Makefile | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bouncewall.skel.h: $(BUILD)/bouncewall.bpf.o | $(BUILD)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name bouncewall_bpf > $@

$(OBJ)/%.o: user/%.c $(wildcard user/*.h) include/bouncewall.h Makefile | $(OBJ)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Only the loader embeds the BPF object.
$(OBJ)/kern.o: $(BUILD)/bouncewall.skel.h

# Unit tests link against an archive: each pulls in only the modules it uses.
$(BUILD)/libbw.a: $(CORE_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/bouncewall: $(USER_OBJ)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libbw.a | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $< $(BUILD)/libbw.a $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/test_%: tests/bpf/test_%.c $(BUILD)/bouncewall.bpf.o tests/bw_test.h | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests $< $(LDLIBS) -o $@

deps:
	$(Q)./scripts/install-deps.sh

unit-test: $(UNIT_BIN)
	$(Q)set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

bpf-test: $(BPFT_BIN)
	$(Q)set -e; for t in $(BPFT_BIN); do echo "== $$t"; $$t $(BUILD)/bouncewall.bpf.o; done

analyze-test: all
	$(Q)./tests/analyze/run.sh

$(BUILD)/fuzz/obj/%.o: user/%.c $(wildcard user/*.h) include/bouncewall.h Makefile
	$(Q)mkdir -p $(dir $@)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(filter-out -O2 -g,$(CFLAGS)) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/kern.o: $(BUILD)/bouncewall.skel.h

$(BUILD)/fuzz/libbw.a: $(FUZZ_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libbw.a
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(filter-out -O2 -g,$(CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined $< $(BUILD)/fuzz/libbw.a $(LDLIBS) -o $@

# `make fuzz` runs each target for FUZZ_SECONDS (default 20; e.g.
# FUZZ_SECONDS=600 for a real session); `make check` gives each a short run.
fuzz: $(FUZZ_BIN)
	$(Q)set -e; for f in $(FUZZ_BIN); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		echo "== $$f ($(FUZZ_SECONDS)s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			$(BUILD)/fuzz/corpus-$$n tests/fuzz/seeds-$$n 2>&1 | tail -n 12; done

fuzz-smoke:
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

lab-test: all
	$(Q)./tests/lab/run-all.sh

check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory unit-test
	$(Q)$(MAKE) --no-print-directory bpf-test
	$(Q)if [ -x tests/analyze/run.sh ]; then $(MAKE) --no-print-directory analyze-test; fi
	$(Q)if [ -n "$(FUZZ_SRC)" ]; then $(MAKE) --no-print-directory fuzz-smoke; fi
	$(Q)$(MAKE) --no-print-directory install-test
	$(Q)$(MAKE) --no-print-directory lab-test

# deps first, then a fresh make: pkg-config flags are read when the
# Makefile is parsed, which on a fresh machine is before deps installed them.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./scripts/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)./scripts/bench.sh

install: all
	$(Q)PREFIX='$(PREFIX)' DESTDIR='$(DESTDIR)' SYSCONFDIR='$(SYSCONFDIR)' ./scripts/install.sh

install-test: all
	$(Q)./tests/install/test_install.sh

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
