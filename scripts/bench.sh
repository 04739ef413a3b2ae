#!/bin/bash
# bench.sh - `make bench`: every benchmark side by side in one run, a table
# on stdout, build/bench.json (one object per measurement: name, value,
# unit, baseline, baseline_value), build/bench-env.json (the machine, the
# commit, and the files that differed from it: a dirty tree is recorded, not
# hidden), and the README's performance section regenerated from them.  Nothing here
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


def git(*args):
    return subprocess.run(["git", *args], capture_output=True, text=True,
                          check=True).stdout


# The commit alone does not say what was measured when the tree held
# changes not yet committed (the bench's own, often): record them too.
# README.md is what this run writes, not what it measures.
try:
    rev = git("rev-parse", "--short", "HEAD").strip()
    changed = [l[3:] for l in git("status", "--porcelain").splitlines()
               if l.strip() and l[3:] != "README.md"]
except (OSError, subprocess.CalledProcessError):
    rev, changed = "unknown", None
env = {"host": platform.node(), "cpus": os.cpu_count(), "cpu_model": sys.argv[2],
       "mem_gib": round(mem), "kernel": platform.release(),
       "date": time.strftime("%Y-%m-%d"), "commit": rev,
       "dirty": None if changed is None else bool(changed),
       "dirty_files": changed}
json.dump(env, open(sys.argv[1], "w"), indent=1)
print("== machine: %(cpus)s CPUs (%(cpu_model)s), %(mem_gib)s GiB, kernel %(kernel)s" % env)
print("== tree: commit %s%s" % (rev, " + %d uncommitted change(s): %s" % (len(changed), ", ".join(changed))
                                  if changed else " (clean)" if changed is not None else ""))
PY

failed=0
start=$SECONDS
for b in xdp wire analyze latency memory rss policy mta fleet; do
	case " ${BENCH_ONLY:-$b} " in *" $b "*) ;; *) continue ;; esac
	s=scripts/bench-$b.sh
	[ -x "$s" ] || continue
	echo "== $s"
	if ! "$s" "$out"; then
		echo "bench: $s failed"
		failed=$((failed + 1))
	fi
done

# One JSON document: an array of the measurement objects; the run's length
# and which benches ran go beside the machine.
/usr/bin/python3 - "$out" build/bench.json build/bench-env.json $((SECONDS - start)) \
	"${BENCH_ONLY:-all}" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump(rows, open(sys.argv[2], "w"), indent=1)
env = json.load(open(sys.argv[3]))
env["seconds"], env["benches"] = int(sys.argv[4]), sys.argv[5]
json.dump(env, open(sys.argv[3], "w"), indent=1)
print(f"== {len(rows)} measurements written to {sys.argv[2]} in {sys.argv[4]} s")
PY

if [ "${BENCH_README:-1}" != 0 ]; then
	scripts/bench-report.py build/bench.json build/bench-env.json --readme README.md
fi
[ "$failed" -eq 0 ]
