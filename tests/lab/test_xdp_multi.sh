#!/bin/bash
# test_xdp_multi.sh - sharing the protected interface with another XDP
# program.
#
# Alone, the agent attaches with a pinned bpf_link; with --xdp-multi off
# and another program present it refuses, saying why.  Beside xdp-filter
# it joins libxdp's dispatcher (status: attach libxdp) and both programs'
# drops happen: a source xdp-filter denies is dropped (it runs first and
# its drops stand), a source bouncewall blocks is dropped, other traffic
# passes both.  kill -9 leaves both enforcing and the next agent adopts
# its program in the dispatcher (one copy, never a moment unprotected);
# SIGTERM and `detach -i` take only bouncewall out, xdp-filter stays and
# keeps dropping.
#
# This machine's kernel refuses the freplace programs the dispatcher is
# made of (scripts/vm-run.sh says more): there xdp-filter and libxdp load
# one program alone.  The checks that need the dispatcher then run in a VM
# booted with Debian's own kernel; the rest run here, including the
# refusal an operator of such a kernel gets.
. "$(dirname "$0")/lib.sh"
XF_LOADED=0
# xdp-filter keeps its pins outside our pin directory: unload it first.
trap '[ "$XF_LOADED" = 1 ] && xdp-filter unload "$LAB_IF" --all >/dev/null 2>&1; lab_cleanup' EXIT

BWBLOCKED=10 XFBLOCKED=20 CLEAN=30

# The lab, a listener on the protected side, and the trivial program the
# host checks use as "another program" (xdp-filter keeps global state in
# /sys/fs/bpf/xdp-filter, which another lab on this machine may use).
setup() {
	lab_up $BWBLOCKED $XFBLOCKED $CLEAN
	DST4=$LAB_NET4.1
	spawn /usr/bin/python3 "$LAB_ROOT/tests/lab/listener.py" $DST4 25 $DST4 8080
	local i
	for i in $(seq 1 100); do
		ss -ltn | grep -q "$DST4:8080 " && ss -ltn | grep -q "$DST4:25 " && return 0
		sleep 0.1
	done
	log "listener did not come up"
	return 1
}

# attach_of: the attach field of the lab interface in status --json.
attach_of() {
	bwc status --json | grep -o '"name":"'"$LAB_IF"'"[^}]*' | grep -o '"attach":"[a-z_]*"' |
		cut -d'"' -f4
}

adopted_of() {
	bwc status --json | grep -o '"name":"'"$LAB_IF"'"[^}]*' | grep -o '"adopted":[a-z]*' |
		cut -d: -f2
}

# progs_on: the XDP program names xdp-loader sees on the lab interface.
progs_on() {
	xdp-loader status "$LAB_IF" 2>/dev/null | awk -v i="$LAB_IF" '
		$1 == i && NF >= 3 { print $2 } $1 == "=>" { print $3 }'
}

count_prog() { progs_on | grep -c "^$1\$"; }

# run_refused WHAT PATTERN ARGS...: `run` exits 1 at once, its log saying
# PATTERN, and leaves nothing pinned.
run_refused() {
	local what=$1 pat=$2 log=$LAB_DIR/refused.log rc
	shift 2
	timeout 60 "$BW" run -i "$LAB_IF" --socket "$LAB_SOCK" --state-dir "$LAB_DIR/state" \
		-c "$LAB_DIR/bouncewall.conf" --metrics off "$@" >"$log" 2>&1
	rc=$?
	check "$what: run exits 1 (got $rc)" [ "$rc" = 1 ]
	check "$what: says why" grep -q -- "$pat" "$log" || tail -5 "$log"
	check_not "$what: nothing left pinned" [ -e "$BOUNCEWALL_PIN_DIR/bw_stats" ]
}

# probe SRC PORT: a handshake from lab host SRC to the protected side.
probe() { tcp_probe "$LAB_NET4.$1" "$DST4" "$2"; }

# The kernel runs libxdp's dispatcher: a trivial program loaded through
# xdp-loader sits in one.
dispatcher_kernel() {
	local ok=1
	xdp-loader load -m skb "$LAB_IF" "$LAB_DIR/trivial.bpf.o" -n trivial_pass >/dev/null 2>&1 &&
		progs_on | grep -q '^xdp_dispatcher$' && ok=0
	xdp-loader unload "$LAB_IF" --all >/dev/null 2>&1
	return $ok
}

host_checks() {
	log "alone, and beside a program loaded without the dispatcher"
	printf 'syn_rate = 0\n' >"$LAB_DIR/bouncewall.conf"
	agent_start || return 1
	check "alone: status attach bpf_link" [ "$(attach_of)" = bpf_link ]
	check "alone: status text says attach=bpf_link" bash -c "'$BW' --socket '$LAB_SOCK' status | grep -q 'attach=bpf_link'"
	check "alone: the link is pinned" [ -e "$BOUNCEWALL_PIN_DIR/link_$LAB_IF" ]
	agent_stop

	xdp-loader load -m skb "$LAB_IF" "$LAB_DIR/trivial.bpf.o" -n trivial_pass >/dev/null 2>&1
	check "another program attached (xdp-loader)" [ "$(count_prog trivial_pass)" = 1 ]
	run_refused "--xdp-multi off beside it" "xdp_multi is off" --xdp-multi off
	if ! progs_on | grep -q '^xdp_dispatcher$'; then
		run_refused "auto beside a program without the dispatcher" \
			"another XDP program is attached without libxdp's dispatcher"
		run_refused "--xdp-multi on where the kernel cannot run the dispatcher" \
			"another XDP program is attached without libxdp's dispatcher" --xdp-multi on
	fi
	check "the other program is untouched" [ "$(count_prog trivial_pass)" = 1 ]
	xdp-loader unload "$LAB_IF" --all >/dev/null 2>&1
	if ! dispatcher_kernel; then
		run_refused "--xdp-multi on alone, kernel without the dispatcher" \
			"cannot run libxdp's dispatcher" --xdp-multi on
		check "and left the interface empty" [ -z "$(progs_on | grep -v '<No')" ]
	fi
}

dispatcher_checks() {
	local i n
	log "beside xdp-filter, in libxdp's dispatcher"
	printf 'syn_rate = 0\n' >"$LAB_DIR/bouncewall.conf"
	XF_LOADED=1
	check "xdp-filter loads" xdp-filter load "$LAB_IF"
	check "xdp-filter denies $LAB_NET4.$XFBLOCKED" xdp-filter ip "$LAB_NET4.$XFBLOCKED" -m src
	check "xdp-filter sits in the dispatcher" bash -c "xdp-loader status '$LAB_IF' | grep -q xdp_dispatcher"
	check "xdp-filter drops its source" probe_blocked $XFBLOCKED 8080

	agent_start || return 1
	check "auto beside xdp-filter: status attach libxdp" [ "$(attach_of)" = libxdp ]
	check "status text says attach=libxdp" bash -c "'$BW' --socket '$LAB_SOCK' status | grep -q 'attach=libxdp'"
	check "no bpf_link pinned" [ ! -e "$BOUNCEWALL_PIN_DIR/link_$LAB_IF" ]
	check "both programs in the dispatcher" \
		bash -c "[ $(count_prog bouncewall_xdp) = 1 ] && [ $(count_prog xdpfilt_alw_all) = 1 ]"
	check "bouncewall runs at priority 20, passes chained" \
		bash -c "xdp-loader status '$LAB_IF' | grep bouncewall_xdp | grep -q ' 20 .*XDP_PASS'"
	check "block add $LAB_NET4.$BWBLOCKED" bwc block add "$LAB_NET4.$BWBLOCKED"
	both_drop "with the agent"

	log "kill -9: both keep enforcing; the next agent adopts"
	kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
	check "after kill -9: bouncewall still in the dispatcher" [ "$(count_prog bouncewall_xdp)" = 1 ]
	both_drop "agent dead"
	agent_start || return 1
	check "restarted: attach libxdp" [ "$(attach_of)" = libxdp ]
	check "restarted: adopted" [ "$(adopted_of)" = true ]
	check "restarted: one bouncewall in the dispatcher" [ "$(count_prog bouncewall_xdp)" = 1 ]
	check "restarted: xdp-filter still there" [ "$(count_prog xdpfilt_alw_all)" = 1 ]
	both_drop "restarted agent"

	log "SIGTERM: bouncewall leaves, xdp-filter stays"
	agent_stop
	check "SIGTERM: bouncewall gone from the dispatcher" [ "$(count_prog bouncewall_xdp)" = 0 ]
	check "SIGTERM: xdp-filter still attached" [ "$(count_prog xdpfilt_alw_all)" = 1 ]
	check "SIGTERM: pins removed" [ ! -e "$BOUNCEWALL_PIN_DIR/bw_stats" ]
	check "xdp-filter still drops its source" probe_blocked $XFBLOCKED 25
	check "bouncewall's source passes again" probe $BWBLOCKED 25

	run_refused "--xdp-multi off beside the dispatcher" "xdp_multi is off" --xdp-multi off
	check "xdp-filter untouched by the refusal" [ "$(count_prog xdpfilt_alw_all)" = 1 ]

	log "detach -i, through the agent and with no agent"
	agent_start || return 1
	check "detach -i via the agent" bwc detach -i "$LAB_IF"
	check "detached: bouncewall gone, xdp-filter stays" \
		bash -c "[ $(count_prog bouncewall_xdp) = 0 ] && [ $(count_prog xdpfilt_alw_all) = 1 ]"
	agent_stop
	agent_start || return 1
	kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
	check "detach -i with no agent" "$BW" detach -i "$LAB_IF"
	check "detached: bouncewall gone, xdp-filter stays" \
		bash -c "[ $(count_prog bouncewall_xdp) = 0 ] && [ $(count_prog xdpfilt_alw_all) = 1 ]"
	check "xdp-filter still drops its source" probe_blocked $XFBLOCKED 25
	xdp-filter unload "$LAB_IF" --all >/dev/null 2>&1
	XF_LOADED=0
}

probe_blocked() { ! probe "$1" "$2"; }

# both_drop WHEN: bouncewall's source dropped on SMTP (not on 8080),
# xdp-filter's source dropped on every port, the clean source passes both.
both_drop() {
	check "$1: bouncewall's blocked source dropped on 25" probe_blocked $BWBLOCKED 25
	check "$1: ... and passes both programs on 8080" probe $BWBLOCKED 8080
	check "$1: xdp-filter's denied source dropped on 25" probe_blocked $XFBLOCKED 25
	check "$1: xdp-filter's denied source dropped on 8080" probe_blocked $XFBLOCKED 8080
	check "$1: a clean source passes on 25" probe $CLEAN 25
	check "$1: a clean source passes on 8080" probe $CLEAN 8080
}

setup || exit 1
if [ "${BW_IN_VM:-0}" = 1 ]; then
	dispatcher_checks
	lab_summary
	exit
fi
clang -O2 -g -target bpf -I"/usr/include/$(gcc -print-multiarch)" \
	-c "$LAB_ROOT/scripts/bench-xdp-trivial.bpf.c" -o "$LAB_DIR/trivial.bpf.o" ||
	{ not_ok "build the trivial program"; lab_summary; exit 1; }
host_checks
if dispatcher_kernel; then
	dispatcher_checks
else
	log "this kernel cannot run libxdp's dispatcher: its checks run in a VM (scripts/vm-run.sh)"
	vm_log=$LAB_DIR/vm.log
	VM_ENV="BW_IN_VM LAB_KEEP" BW_IN_VM=1 "$LAB_ROOT/scripts/vm-run.sh" -t 900 -o "$LAB_DIR/vm" -- \
		"$LAB_ROOT/tests/lab/test_xdp_multi.sh" | tee "$vm_log"
	rc=${PIPESTATUS[0]}
	vm_pass=$(grep -c '^ok ' "$vm_log")
	vm_fail=$(grep -c '^FAIL ' "$vm_log")
	PASS=$((PASS + vm_pass))
	FAIL=$((FAIL + vm_fail))
	check "the VM ran the dispatcher checks (exit $rc, $vm_pass passed)" \
		bash -c "[ $rc = 0 ] && [ $vm_pass -ge 40 ]"
fi
lab_summary
