#!/bin/bash
# bench.sh - `make bench`: every benchmark side by side in one run, a table
# on stdout and build/bench.json (one object per measurement: name, value,
# unit, baseline, baseline_value).  Nothing here asserts a time.
set -u
cd "$(dirname "$0")/.." || exit 1
out=build/bench.jsonl
mkdir -p build
: >"$out"
echo "== machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
for b in scripts/bench-xdp.sh scripts/bench-analyze.sh scripts/bench-memory.sh; do
	[ -x "$b" ] || continue
	echo "== $b"
	"$b" "$out" || echo "bench: $b failed"
done
# One JSON document: an array of the measurement objects.
/usr/bin/python3 - "$out" build/bench.json <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print(f"== {len(rows)} measurements written to {sys.argv[2]}")
PY
