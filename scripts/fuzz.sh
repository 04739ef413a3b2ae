#!/bin/bash
# fuzz.sh SECONDS TARGET... - run each libFuzzer target for SECONDS on its
# seeds plus its own growing corpus (build/fuzz/corpus-NAME), and print one
# line per target: executions, edges covered, features, corpus size.  A
# crash, leak or sanitizer report fails the run (the reproducer is left in
# build/fuzz/ and the fuzzer's last lines are shown).  FUZZ_WORK=DIR puts
# corpus, logs and reproducers there instead (tests/meta uses it).
set -u
secs=$1
shift
[ $# -gt 0 ] || { echo "fuzz: no targets to run" >&2; exit 1; }
cd "$(dirname "$0")/.." || exit 1
work=${FUZZ_WORK:-build/fuzz}
mkdir -p "$work" || exit 1
fail=0
printf '%-24s %10s %8s %8s %7s  %s\n' target execs cov ft corpus result
for f in "$@"; do
	n=$(basename "$f")
	corpus=$work/corpus-$n
	log=$work/$n.log
	mkdir -p "$corpus"
	seeds=tests/fuzz/seeds-$n
	[ -d "$seeds" ] || seeds=
	"$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$work/$n"- \
		"$corpus" $seeds >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	size=$(find "$corpus" -type f | wc -l)
	if [ $rc = 0 ]; then res=ok; else res="FAILED (exit $rc, log $log)"; fail=1; fi
	printf '%-24s %10s %8s %8s %7s  %s\n' "$n" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$size" "$res"
	if [ $rc != 0 ]; then
		# What went wrong first (the sanitizer's verdict), then how it ended.
		grep -m 2 -E '^(==[0-9]+==ERROR|SUMMARY):' "$log"
		tail -n 30 "$log"
	fi
done
exit $fail
