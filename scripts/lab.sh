#!/bin/bash
# lab.sh - bring the namespace lab up or down by hand, to try bouncewall
# against a real Postfix without the demo's script:
#
#   scripts/lab.sh up      veth + sender namespace + Postfix for victim.example,
#                          then prints how to start the agent and send traffic
#   scripts/lab.sh down    stops Postfix, removes the namespace, veth, routes
#   scripts/lab.sh status
#
# `up` first takes down whatever an earlier `up` (or a crash) left, so it
# can run twice in a row.  The lab's identity is kept in $STATE.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE=/run/bouncewall-lab.env
export LAB_ID=${LAB_ID:-240}

load() {
	# shellcheck disable=SC1090
	. "$ROOT/tests/lab/lib.sh"
	. "$ROOT/tests/lab/postfix.sh"
	. "$ROOT/tests/lab/mta.sh"
}

down() {
	[ -f "$STATE" ] || { echo "lab: nothing to take down"; return 0; }
	# shellcheck disable=SC1090
	. "$STATE"
	load
	rmdir "$LAB_DIR" 2>/dev/null	# lib.sh made a fresh one; use the saved one
	LAB_DIR=$SAVED_DIR
	postfix_down "$LAB_DIR/postfix" >/dev/null 2>&1
	lab_cleanup
	rm -f "$STATE"
	echo "lab: down"
}

case ${1:-} in
up)
	down >/dev/null
	load
	lab_up 10 11 21 22 23 24 25
	postfix_up "$LAB_DIR/postfix" "$LAB_NET4.1" "$LAB_NET6::1" victim.example alice bob ||
		{ lab_cleanup; exit 1; }
	printf 'LAB_ID=%s\nSAVED_DIR=%s\n' "$LAB_ID" "$LAB_DIR" >"$STATE"
	cat <<EOT
lab: up
  protected interface  $LAB_IF ($LAB_NET4.1, $LAB_NET6::1), Postfix for victim.example (alice, bob)
  sender namespace     $LAB_NS: legitimate $LAB_NET4.10-11, backscatter $LAB_NET4.21-25, IPv6 $LAB_NET6::N
  start the agent      build/bouncewall run -i $LAB_IF --state-dir $LAB_DIR/state --socket $LAB_DIR/bw.sock
  legitimate mail      ip netns exec $LAB_NS swaks --server $LAB_NET4.1 --local-interface $LAB_NET4.10 --to alice@victim.example
  a bounce             ip netns exec $LAB_NS swaks --server $LAB_NET4.1 --local-interface $LAB_NET4.21 --from '<>' --to nobody@victim.example
  Postfix log          $LAB_DIR/postfix/maillog
  take it down         scripts/lab.sh down
EOT
	;;
down) down ;;
status)
	if [ -f "$STATE" ]; then cat "$STATE"; ip netns list | grep "bwlab-" || true; else echo "lab: down"; fi ;;
*) echo "usage: scripts/lab.sh up|down|status" >&2; exit 2 ;;
esac
