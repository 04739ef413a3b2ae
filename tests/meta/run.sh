#!/bin/bash
# run.sh TEST... - the meta tests named, one after another; exit 0 only if
# each passed.  `make meta-test` runs the quick ones (part of make check),
# `make meta-check` all of them (tests/README).
cd "$(dirname "$0")/../.." || exit 1
rc=0
for t in "$@"; do
	echo "== $t"
	"$t" || { echo "FAIL $t"; rc=1; }
done
exit $rc
