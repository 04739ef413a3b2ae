#!/bin/bash
# test_storm_lifecycle.sh - the demo's scenario, asserted (issue #5): a
# storm is stopped, the agent is killed with SIGKILL mid-storm and the
# kernel keeps enforcing, a restarted agent adopts the pinned state and
# carries on, legitimate mail is never lost, and after the storm every
# block expires on its own and the former storm sources get through again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix.sh"
. "$(dirname "$0")/mta.sh"
trap 'postfix_down_all; lab_cleanup' EXIT

DOMAIN=victim.example
LEGIT=10 STORM=(21 22 23 24)
lab_up $LEGIT "${STORM[@]}"
DST4=$LAB_NET4.1 DST6=$LAB_NET6::1
PF=$LAB_DIR/postfix
postfix_up "$PF" $DST4 $DST6 $DOMAIN alice >/dev/null || { echo "postfix did not start"; exit 1; }
cat >"$LAB_DIR/bouncewall.conf" <<CONF
protected_domains = $DOMAIN
# No posture lookups: the lab's names are not in any DNS we may ask.
posture_resolver = off
block_ttl = 10s
block_ttl_max = 20s
CONF
agent_start || exit 1

# Legitimate mail throughout, counted at the end in the Maildir.
legit_sent=$LAB_DIR/legit.sent
: >"$legit_sent"
legit_mta() {
	for _ in $(seq 1 20); do
		send_legit $LAB_NET4.$LEGIT $DST4 alice@$DOMAIN 1 >/dev/null 2>&1
		echo $? >>"$legit_sent"
		sleep 1.5
	done
}
spawn legit_mta
legit_pid=$SPAWNED

srcs=()
for n in "${STORM[@]}"; do srcs+=("$LAB_NET4.$n"); done
storm_run() {
	MTA_TIMEOUT=2 storm "${srcs[@]}" --dst $DST4 --domain $DOMAIN --per-source 200 --rate 3 \
		--concurrency 2 --max-time 24 --out "$LAB_DIR/storm.tsv" >"$LAB_DIR/storm.out" 2>&1
}
spawn storm_run
storm_pid=$SPAWNED

blocked_count() { bwc block list --json 2>/dev/null | grep -o '"action":"block","origin":"scorer"' | wc -l; }
all_blocked() { [ "$(blocked_count)" -ge ${#STORM[@]} ]; }
# The bound only catches a scorer that never decides; how fast it decides
# is make bench's (detection to drop).
check "all storm sources blocked" wait_for 60 all_blocked

# SIGKILL mid-storm: no cleanup runs, the pinned program keeps dropping:
# the storm source's SYNs leave the sender namespace (seen on the peer)
# and never arrive (not seen on the protected interface), while the
# legitimate MTA still connects.
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
S=$LAB_NET4.${STORM[0]}
cap_start "$LAB_DIR/in.pcap" "$LAB_IF" "src host $S and dst port 25" || exit 1
tin=$CAP_PID
cap_start "$LAB_DIR/out.pcap" "$LAB_PEER" "src host $S and dst port 25" "$LAB_NS" || exit 1
tout=$CAP_PID
check_not "with the agent dead, a storm source cannot reach port 25" tcp_probe $S $DST4 25
check "with the agent dead, the legitimate MTA still connects" tcp_probe $LAB_NET4.$LEGIT $DST4 25
# Until the storm itself has sent a few more packets from S.
probe_pkts=$(cap_count "$LAB_DIR/out.pcap" tcp)
storm_sent() { [ "$(cap_count "$LAB_DIR/out.pcap" tcp)" -ge $((probe_pkts + 3)) ]; }
wait_for 30 storm_sent || log "the storm sent fewer than 3 packets from $S in 30 s"
cap_stop "$tin"
cap_stop "$tout"
sent_syn=$(cap_count "$LAB_DIR/out.pcap" 'tcp')
seen_syn=$(cap_count "$LAB_DIR/in.pcap" 'tcp')
log "agent dead: storm source sent $sent_syn packets to port 25, $seen_syn got past XDP"
check "kernel keeps dropping storm traffic with the agent dead" test "$sent_syn" -gt 0 -a "$seen_syn" = 0

# Decisions the restarted agent makes are the log lines after this offset
# (the log is appended to, the first agent's lines are above it).
log_mark=$(wc -l <"$LAB_DIR/agent.log")
agent_start || exit 1
check "restarted agent adopted the pinned maps and link" \
	bash -c "'$BW' --socket '$LAB_SOCK' status --json | grep -q '\"pinned_maps_adopted\":true' && '$BW' --socket '$LAB_SOCK' status --json | grep -q '\"adopted\":true'"
check "restarted agent lists the scorer's blocks" [ "$(blocked_count)" -ge 1 ]
wait $storm_pid
log "$(cat "$LAB_DIR/storm.out")"
after_restart=$(tail -n +$((log_mark + 1)) "$LAB_DIR/agent.log" | grep -c 'decision action=')
log "decisions logged by the restarted agent: $after_restart"
check "restarted agent kept deciding (a renewal or a new decision after restart: $after_restart)" \
	[ "$after_restart" -ge 1 ]

# After the storm: every block expires (block_ttl_max = 20 s) and the
# former storm sources reach Postfix again.
none_blocked() { [ "$(blocked_count)" = 0 ]; }
check "every scorer block expired after the storm" wait_for 90 none_blocked
for n in "${STORM[@]}"; do
	check "former storm source .$n reaches port 25 again" tcp_probe $LAB_NET4.$n $DST4 25
done

wait $legit_pid
sent=$(wc -l <"$legit_sent")
postfix_wait_delivered "$PF" alice "$sent" >/dev/null 2>&1
got=$(postfix_delivered "$PF" alice)
log "legitimate messages delivered: $got of $sent (agent killed and restarted in between)"
check "zero legitimate messages lost" [ "$got" = "$sent" ]
check "the legitimate MTA was never blocked" bash -c "! grep -q 'source=$LAB_NET4.$LEGIT/' '$LAB_DIR/agent.log'"

lab_summary
