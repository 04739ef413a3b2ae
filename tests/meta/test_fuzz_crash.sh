#!/bin/bash
# test_fuzz_crash.sh - a fuzz target that crashes fails `make check`.
#
# A throwaway libFuzzer target with a heap overflow behind one input byte
# is built in a scratch directory and handed to the very recipe make check
# runs (make fuzz-smoke -> make fuzz -> scripts/fuzz.sh) in place of the
# real targets: it must fail, name the target FAILED and leave a
# reproducer; the real targets through the same recipe are the control.
. "$(dirname "$0")/lib.sh"

cat >"$META_TMP/fuzz_meta_crash.c" <<'EOF'
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Reads one byte past a heap buffer when the input starts with 'B':
 * AddressSanitizer reports it and libFuzzer stops with a crash. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 2 && data[0] == 'B') {
		char *p = malloc(size);
		volatile char c;

		memcpy(p, data, size);
		c = p[size];
		(void)c;
		free(p);
	}
	return 0;
}
EOF
check "a crashing fuzz target builds" \
	clang -g -O1 -fsanitize=fuzzer,address,undefined "$META_TMP/fuzz_meta_crash.c" \
	-o "$META_TMP/fuzz_meta_crash"

export FUZZ_WORK=$META_TMP/work
check "make fuzz-smoke (make check's recipe) fails on it" \
	expect_fail "$META_TMP/smoke.log" make -C "$ROOT" --no-print-directory fuzz-smoke \
	FUZZ_BIN="$META_TMP/fuzz_meta_crash"
check "... and says which target and why" \
	grep -Eq '^fuzz_meta_crash .*FAILED \(exit [1-9]' "$META_TMP/smoke.log"
check "... with the sanitizer's verdict shown" \
	grep -q 'ERROR: AddressSanitizer: heap-buffer-overflow' "$META_TMP/smoke.log"
check "... and the reproducer left in FUZZ_WORK" \
	bash -c "ls '$FUZZ_WORK'/fuzz_meta_crash-crash-* >/dev/null 2>&1"
check "the same crash among good targets still fails the run" \
	expect_fail "$META_TMP/mixed.log" "$ROOT/scripts/fuzz.sh" 1 \
	"$ROOT/build/fuzz/fuzz_request" "$META_TMP/fuzz_meta_crash"
check "no target at all fails too" expect_fail "$META_TMP/none.log" "$ROOT/scripts/fuzz.sh" 1
# The control: the real targets pass the same way (built by make fuzz).
check "control: the real targets pass the same recipe (1 s each)" \
	expect_pass "$META_TMP/real.log" make -C "$ROOT" --no-print-directory fuzz FUZZ_SECONDS=1

summary
