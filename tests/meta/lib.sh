# shellcheck shell=bash
# lib.sh - shared pieces of the meta tests: tests of the test suite.
#
# Each meta test breaks something on purpose (a fuzz target that crashes, a
# tool missing from PATH, an agent built to stop deciding) and checks that
# the suite fails because of it, for the reason it should.  They work in a
# scratch directory removed on exit and touch nothing of the tree's build
# but what they read.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
META_TMP=$(mktemp -d /tmp/bwmeta.XXXXXX)
trap 'rm -rf "$META_TMP"' EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# expect_fail LOG CMD...: CMD must exit non-zero; its output goes to LOG.
# Prints the exit status and LOG's last lines, so the proof is in the log.
expect_fail() {
	local log=$1 rc
	shift
	"$@" >"$log" 2>&1
	rc=$?
	echo "     exit $rc: $*"
	tail -n 4 "$log" | sed 's/^/     | /'
	[ "$rc" != 0 ]
}

# expect_pass LOG CMD...: the same, CMD must exit 0 (the control).
expect_pass() {
	local log=$1 rc
	shift
	"$@" >"$log" 2>&1
	rc=$?
	echo "     exit $rc: $*"
	[ "$rc" = 0 ] || tail -n 8 "$log" | sed 's/^/     | /'
	[ "$rc" = 0 ]
}

# path_without TOOL: a PATH that has every command of the current PATH but
# TOOL (a directory of symlinks), printed.
path_without() {
	local bin=$META_TMP/path-without-$1 d f
	mkdir -p "$bin"
	local IFS=:
	for d in $PATH; do
		[ -d "$d" ] || continue
		for f in "$d"/*; do
			[ -x "$f" ] && [ ! -e "$bin/${f##*/}" ] && [ "${f##*/}" != "$1" ] &&
				ln -s "$f" "$bin/${f##*/}"
		done
	done
	echo "$bin"
}

summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
}
