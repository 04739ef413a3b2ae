#!/bin/bash
# reap.sh PID - remove what the lab test PID claimed and could not clean up
# itself (run-all.sh calls it after killing a test that outlived its grace).
#
# A test's claim (/run/bouncewall-lab/ID, lib.sh) names its PID and its
# LAB_DIR: the Postfix instances under LAB_DIR are stopped (their masters
# left the test's process group when they daemonized), then the sender
# namespace with whatever still runs in it, the veth, the routes and the
# pins of that lab number, then LAB_DIR and the claim.  Prints one line per
# lab it reaped.
set -u
[ $# = 1 ] || { echo "usage: $0 PID" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
LAB_LIB_ONLY=1
# shellcheck source=tests/lab/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/lab/postfix.sh
. "$HERE/postfix.sh"

LAB_LOCKS=/run/bouncewall-lab
for claim in "$LAB_LOCKS"/[0-9]*; do
	[ -d "$claim" ] || continue
	[ "$(cat "$claim/pid" 2>/dev/null)" = "$1" ] || continue
	id=${claim##*/}
	dir=$(cat "$claim/dir" 2>/dev/null)
	case $dir in /tmp/bwlab.*) ;; *) dir= ;; esac
	if [ -n "$dir" ]; then
		for conf in "$dir"/*/conf/main.cf; do
			[ -f "$conf" ] && postfix_down "${conf%/conf/main.cf}" >/dev/null 2>&1
		done
	fi
	lab_names "$id"
	lab_teardown_net
	[ -n "$dir" ] && rm -rf "$dir"
	rm -rf "$claim"
	echo "reaped lab $id of test pid $1${dir:+ ($dir)}"
done
