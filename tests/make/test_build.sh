#!/bin/bash
# test_build.sh - the build itself, as a packager and a developer use it.
#
#   CFLAGS on the command line add to the project's flags (a packager's
#   `make CFLAGS='-O0 -g'` must build, with -std=gnu11 and the warnings
#   still there and -O0 taking effect);
#   header dependencies are tracked (-MMD): touching a header rebuilds the
#   objects that include it and only those.
#
# Builds into its own directory (BUILD=build/build-test), so the normal
# build is untouched; removes it at the end.
set -u
cd "$(dirname "$0")/../.." || exit 1
B=build/build-test
HDR=user/core/conf_parse.h
# What includes $HDR (and nothing else may be rebuilt when it changes).
WANT="$B/obj/core/conf_parse.o $B/obj/io/conf_file.o"
PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
trap 'rm -rf "$B"' EXIT

rm -rf "$B"
if make -s -j2 --no-print-directory CFLAGS='-O0 -g' BUILD=$B $B/bouncewall >"$B.log" 2>&1; then
	ok "make CFLAGS='-O0 -g' BUILD=$B $B/bouncewall builds"
else
	not_ok "make CFLAGS='-O0 -g' BUILD=$B $B/bouncewall builds"
	tail -20 "$B.log"
fi
rm -f "$B.log"
check "... a binary that runs (--version)" bash -c "$B/bouncewall --version | grep -q bouncewall"

# The compiler records its command line in the debug info (gcc's
# -grecord-gcc-switches, on by default).
producer=$(readelf --debug-dump=info "$B/obj/core/conf_parse.o" 2>/dev/null |
	grep -m1 -A1 'DW_AT_producer' | tr '\n' ' ')
check "the objects were compiled with -O0 from the command line" grep -q -- '-O0' <<<"$producer"
check "... and without the default -O2" bash -c "! grep -q -- '-O2' <<<'$producer'"
check "... and with the project's own flags still (-std=gnu11)" grep -q -- '-std=gnu11' <<<"$producer"

check "a dependency file for each object ($B/obj/core/conf_parse.d names $HDR)" \
	grep -q "$HDR" "$B/obj/core/conf_parse.d"
# mtime NAME...: "name mtime" lines for every object of the build.
mtimes() { find "$B/obj" -name '*.o' -printf '%p %T@\n' | sort; }
before=$(mtimes)
sleep 0.01
touch "$HDR"
make -s -j2 --no-print-directory CFLAGS='-O0 -g' BUILD=$B $B/bouncewall >/dev/null 2>&1
after=$(mtimes)
rebuilt=$(join <(echo "$before") <(echo "$after") | awk '$2 != $3 { print $1 }' | sort | tr '\n' ' ')
want=$(tr ' ' '\n' <<<"$WANT" | sort | tr '\n' ' ')
echo "touched $HDR: rebuilt ${rebuilt:-nothing}"
check "touching $HDR rebuilds exactly the objects that include it" [ "$rebuilt" = "$want" ]
check "a second make with nothing touched has nothing to do" \
	bash -c "make -q --no-print-directory CFLAGS='-O0 -g' BUILD=$B $B/bouncewall"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
