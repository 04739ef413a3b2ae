#!/bin/bash
# test_missing_tool.sh - under make check (BW_STRICT=1) a test that cannot
# run because a tool is missing fails instead of skipping.
#
# promtool is taken off PATH (a PATH of symlinks to everything else), then
# each suite that uses it runs as make check runs it: the unit tests
# (cmocka's skip), the install test (its own skip) and the lab runner (a
# test's exit 77).  Each must fail with BW_STRICT=1, and pass or merely
# report the skip without it (the control: strictness is the difference).
. "$(dirname "$0")/lib.sh"

NOPROM=$(path_without promtool)
nopath() { PATH=$NOPROM "$@"; }
check "the PATH built for this has no promtool" bash -c "! PATH='$NOPROM' command -v promtool"
has_rest() { bash -c "PATH='$NOPROM'; command -v make && command -v curl && command -v ip" >/dev/null; }
check "... but everything else (make, curl, ip)" has_rest

# Unit tests: make unit-test, the recipe make check runs.
make -C "$ROOT" --no-print-directory -s build/tests/test_metrics >/dev/null || not_ok "build test_metrics"
check "make unit-test without promtool, BW_STRICT=1: fails" \
	expect_fail "$META_TMP/unit-strict.log" nopath env BW_STRICT=1 \
	make -C "$ROOT" --no-print-directory unit-test
check "... at promtool_is_clean, naming promtool" \
	bash -c "grep -q 'FAILED  \] promtool_is_clean' '$META_TMP/unit-strict.log' && grep -q 'promtool not found' '$META_TMP/unit-strict.log'"
check "control: without BW_STRICT the same run passes, the skip shown" \
	expect_pass "$META_TMP/unit-lax.log" nopath env -u BW_STRICT \
	make -C "$ROOT" --no-print-directory unit-test
check "... as SKIPPED" grep -q 'SKIPPED \] promtool_is_clean' "$META_TMP/unit-lax.log"

# The install test: its PromQL check needs promtool.
check "test_install.sh without promtool, BW_STRICT=1: fails" \
	expect_fail "$META_TMP/install-strict.log" nopath env BW_STRICT=1 "$ROOT/tests/install/test_install.sh"
check "... on the check that could not run" \
	grep -q '^FAIL promtool not installed.*BW_STRICT=1' "$META_TMP/install-strict.log"

# The lab runner: test_operator.sh exits 77 without promtool (before it
# builds any lab); run-all.sh must turn that into a failure.
check "run-all.sh test_operator.sh without promtool, BW_STRICT=1: fails" \
	expect_fail "$META_TMP/lab-strict.log" nopath env BW_STRICT=1 \
	"$ROOT/tests/lab/run-all.sh" test_operator.sh
check "... saying the skip is a failure" \
	grep -q 'FAIL test_operator.sh: skipped, and BW_STRICT=1' "$META_TMP/lab-strict.log"
check "control: without BW_STRICT run-all reports the skip and passes" \
	expect_pass "$META_TMP/lab-lax.log" nopath env -u BW_STRICT \
	"$ROOT/tests/lab/run-all.sh" test_operator.sh
check "... as SKIPPED" grep -q '^SKIPPED test_operator.sh' "$META_TMP/lab-lax.log"

# And make check sets BW_STRICT=1 for everything it runs (a target-specific
# exported variable: its sub-makes and their recipes inherit it).
check "make check exports BW_STRICT=1" grep -qx 'check: export BW_STRICT = 1' "$ROOT/Makefile"

summary
