#!/bin/bash
# run-all.sh [TEST...] - the lab tests (default: every tests/lab/test_*.sh),
# one after another; exit 0 only if each passed.
#
# A test that exits 77 was skipped (it found a tool or kernel feature
# missing).  Under BW_STRICT=1, which `make check` sets, a skip is a
# failure: make check installs everything the lab needs, so a skip there
# means a check that did not run.
#
# A wedged test must fail, not hang CI.  After LAB_TEST_TIMEOUT seconds
# (600) the test's shell gets SIGTERM and LAB_TEST_GRACE seconds (90) for
# its EXIT trap to tear its lab down, Postfix included; only then is its
# whole process group killed and what its lab number still holds removed
# (reap.sh).  Each test runs in its own session so that group is its alone.
cd "$(dirname "$0")" || exit 1
limit=${LAB_TEST_TIMEOUT:-600}
grace=${LAB_TEST_GRACE:-90}
strict=${BW_STRICT:-0}
rc=0
cur=

# ^C or TERM on the runner: the same courtesy for the test running now.
stop_current() {
	[ -n "$cur" ] && kill -TERM "$cur" 2>/dev/null
	exit 143
}
trap stop_current TERM INT

# run_one PATH: the test's exit status; 124 when it timed out.
run_one() {
	local t=$1 pid waited=0 timed_out=0
	# Not a process group leader (no job control here), so setsid execs
	# the test in place: $! is the test's own PID, and its session ID.
	setsid "$t" &
	pid=$!
	cur=$pid
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$waited" -ge "$limit" ] && [ "$timed_out" = 0 ]; then
			echo "FAIL $t: still running after ${limit}s: SIGTERM, ${grace}s to clean up"
			kill -TERM "$pid" 2>/dev/null
			timed_out=1
		elif [ "$timed_out" = 1 ] && [ "$waited" -ge $((limit + grace)) ]; then
			echo "FAIL $t: no exit ${grace}s after SIGTERM: SIGKILL to its process group"
			kill -KILL -- "-$pid" 2>/dev/null
			break
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait "$pid"
	local r=$?
	cur=
	# Whatever the test's group still holds (a process that ignored TERM).
	kill -KILL -- "-$pid" 2>/dev/null
	./reap.sh "$pid"
	[ "$timed_out" = 1 ] && return 124
	return $r
}

tests=("$@")
[ ${#tests[@]} = 0 ] && tests=(./test_*.sh)
for t in "${tests[@]}"; do
	case $t in */*) ;; *) t=./$t ;; esac
	echo "== tests/lab/${t##*/}"
	run_one "$t"
	r=$?
	if [ $r = 0 ]; then
		:
	elif [ $r = 77 ] && [ "$strict" = 1 ]; then
		echo "FAIL ${t##*/}: skipped, and BW_STRICT=1 (make check) counts a skip as a failure"
		rc=1
	elif [ $r = 77 ]; then
		echo "SKIPPED ${t##*/} (exit 77; a failure under make check)"
	else
		[ $r = 124 ] || echo "FAIL ${t##*/}: exit $r"
		rc=1
	fi
done
exit $rc
