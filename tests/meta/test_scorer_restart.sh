#!/bin/bash
# test_scorer_restart.sh - an agent whose scorer never decides after a
# restart fails the lab's storm life-cycle test.  Expensive (a build and
# two lab runs, about three minutes): make meta-check, not make check.
#
# The sources are copied to a scratch directory and one line is added to
# enforce_decisions(): return at once when the maps were adopted, i.e. in
# an agent that restarted over a running one's pins.  Everything else in
# that agent works: it attaches, adopts, lists, expires.  The tree's own
# test_storm_lifecycle.sh runs against that binary (BW=) and must fail at
# "restarted agent kept deciding", and pass against the tree's binary (the
# control; the first agent's decisions in the same log must not count).
. "$(dirname "$0")/lib.sh"

SRC=$META_TMP/src
mkdir -p "$SRC"
cp -r "$ROOT/Makefile" "$ROOT/bpf" "$ROOT/include" "$ROOT/user" "$SRC/"
/usr/bin/python3 - "$SRC/user/cmd/enforce.c" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
anchor = "\tif (!a->engine_up)\n\t\treturn;\n"
i = s.index("enforce_decisions(struct agent *a")
j = s.index(anchor, i) + len(anchor)
s = s[:j] + "\tif (a->kern.maps_adopted)\t/* meta test: deaf after a restart */\n\t\treturn;\n" + s[j:]
open(p, "w").write(s)
EOF
check "the patch is in the copy's enforce_decisions()" \
	grep -q 'meta test: deaf after a restart' "$SRC/user/cmd/enforce.c"
check "the patched agent builds" \
	expect_pass "$META_TMP/build.log" make -C "$SRC" --no-print-directory -j2 all

check "test_storm_lifecycle.sh fails with the patched agent" \
	expect_fail "$META_TMP/patched.log" env BW="$SRC/build/bouncewall" \
	"$ROOT/tests/lab/test_storm_lifecycle.sh"
check "... at 'restarted agent kept deciding'" \
	grep -q '^FAIL restarted agent kept deciding' "$META_TMP/patched.log"
check "... while the first agent did decide (all storm sources blocked)" \
	grep -q '^ok   all storm sources blocked' "$META_TMP/patched.log"
check "control: it passes with the tree's agent" \
	expect_pass "$META_TMP/tree.log" "$ROOT/tests/lab/test_storm_lifecycle.sh"

summary
