#!/bin/sh
# bench-xdp.sh - XDP ns/packet: bouncewall beside a trivial program and
# xdp-filter, on the same packets, in one run (scripts/bench-xdp.c says how).
#
# Usage: scripts/bench-xdp.sh [JSON_FILE]        (root, any directory)
#   JSON_FILE  one JSON object per measurement is appended to it
# Environment: REPEAT (runs per measurement, default 1000000), ROUNDS
# (medianed, default 21), CPU (pinned to, default 1), CURVE (0 skips the
# cost curve over 1..1M host and 1..100k CIDR entries, default 1),
# ATTACHED (a loaded program's id, measured beside the others: a running
# agent of another version), CC, CLANG.
#
# Prints the tables and the targets (non-SMTP <= 1.3x trivial and blocked
# drop <= 0.5x xdp-filter's default program, both for the program as the
# agent loads it; loaded <= 1.5x empty, 1M hosts <= 1.5x one host).  Exit
# 0 once measured, whatever the numbers: this is a report, not a test.
# Builds into build/bench/.
set -eu

cd "$(dirname "$0")/.."
json=${1:-}
repeat=${REPEAT:-1000000}
rounds=${ROUNDS:-21}
curve=${CURVE:-1}
cpu=${CPU:-1}
cc=${CC:-cc}
clang=${CLANG:-clang}
out=build/bench

die() {
	echo "bench-xdp: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "needs root (BPF_PROG_TEST_RUN)"

# xdp-filter's objects ship in libxdp1 (Debian) under the multiarch bpf dir.
find_xdpfilt() {
	for d in "/usr/lib/$($cc -print-multiarch 2>/dev/null)/bpf" \
		 /usr/lib/bpf /usr/local/lib/bpf /usr/lib64/bpf; do
		if [ -f "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

# The bench links the agent's own code (kern_open, kern_obj_setup,
# kern_write_config): the Makefile builds it.
make -s --no-print-directory build/bouncewall.bpf.o build/bench/bench-xdp ||
	die "cannot build build/bouncewall.bpf.o and build/bench/bench-xdp"
mkdir -p "$out"
"$clang" -O2 -g -target bpf -Wall -I"/usr/include/$($cc -print-multiarch)" \
	-c scripts/bench-xdp-trivial.bpf.c -o "$out/trivial.bpf.o"

set -- -r "$repeat" -n "$rounds" -c "$curve" -b build/bouncewall.bpf.o -t "$out/trivial.bpf.o"
if [ -n "${ATTACHED:-}" ]; then
	set -- "$@" -i "$ATTACHED"
fi
if f=$(find_xdpfilt xdpfilt_alw_ip.o); then
	set -- "$@" -f "$f"
else
	echo "bench-xdp: xdp-filter objects not found (libxdp1): no xdp-filter column" >&2
fi
if f=$(find_xdpfilt xdpfilt_alw_all.o); then
	set -- "$@" -F "$f"
fi
if [ -n "$json" ]; then
	mkdir -p "$(dirname "$json")"
	set -- "$@" -j "$json"
fi

# Pinned to one CPU: the numbers only compare within a run on one core.
if command -v taskset >/dev/null 2>&1; then
	exec taskset -c "$cpu" "$out/bench-xdp" "$@"
fi
exec "$out/bench-xdp" "$@"
