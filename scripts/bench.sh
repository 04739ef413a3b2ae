#!/bin/bash
# bench.sh - `make bench`: every benchmark side by side in one run, a table
# on stdout, build/bench.json (one object per measurement: name, value,
# unit, baseline, baseline_value), build/bench-env.json (the machine), and
# the README's performance section regenerated from them.  Nothing here
# asserts a time: each driver prints its targets as met or missed.
#
# Environment: BENCH_ONLY="xdp analyze" runs a subset (names as in the list
# below); BENCH_README=0 leaves README.md alone.
set -u
cd "$(dirname "$0")/.." || exit 1
out=build/bench.jsonl
mkdir -p build
: >"$out"

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
/usr/bin/python3 - build/bench-env.json "${cpu_model:-unknown}" <<'PY'
import json, os, platform, subprocess, sys, time
mem = int(open("/proc/meminfo").read().split("MemTotal:")[1].split()[0]) / 1048576
try:
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.strip()
except (OSError, subprocess.CalledProcessError):
    rev = "unknown"
env = {"host": platform.node(), "cpus": os.cpu_count(), "cpu_model": sys.argv[2],
       "mem_gib": round(mem), "kernel": platform.release(),
       "date": time.strftime("%Y-%m-%d"), "commit": rev}
json.dump(env, open(sys.argv[1], "w"), indent=1)
print("== machine: %(cpus)s CPUs (%(cpu_model)s), %(mem_gib)s GiB, kernel %(kernel)s" % env)
PY

failed=0
for b in xdp wire analyze latency memory rss fleet; do
	case " ${BENCH_ONLY:-$b} " in *" $b "*) ;; *) continue ;; esac
	s=scripts/bench-$b.sh
	[ -x "$s" ] || continue
	echo "== $s"
	if ! "$s" "$out"; then
		echo "bench: $s failed"
		failed=$((failed + 1))
	fi
done

# One JSON document: an array of the measurement objects.
/usr/bin/python3 - "$out" build/bench.json <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print(f"== {len(rows)} measurements written to {sys.argv[2]}")
PY

if [ "${BENCH_README:-1}" != 0 ]; then
	scripts/bench-report.py build/bench.json build/bench-env.json --readme README.md
fi
[ "$failed" -eq 0 ]
