#!/bin/sh
# bench-memory.sh - memory per tracked source and per flow, measured with
# the real scorer, flow table and engine (tests/bench/bench_memory.c says
# how), and the agent-shaped peak with a million sources and 100k flows.
#
# Usage: scripts/bench-memory.sh [JSON_FILE]      (default build/bench.jsonl)
#   JSON_FILE  one JSON object per measurement is appended to it
# Environment: SOURCES (default 1000000), FLOWS (default 100000).
#
# Prints the table and the target (under 200 bytes per tracked source).
# Exit 0 once measured, whatever the numbers: a report, not a test.
set -eu

cd "$(dirname "$0")/.."
json=${1:-build/bench.jsonl}
out=build/bench

make -s --no-print-directory build/bench/bench_memory || {
	echo "bench-memory: cannot build build/bench/bench_memory" >&2
	exit 1
}
mkdir -p "$out" "$(dirname "$json")"

exec "$out/bench_memory" -s "${SOURCES:-1000000}" -f "${FLOWS:-100000}" -j "$json"
