#!/bin/bash
# test_kernel_path.sh - the XDP fast path against real packets (issue #2).
#
# A real SYN flood (hping3) from one source is held to about
# syn_burst + syn_rate x seconds while a slow source passes; v6 host and v4
# /26 blocks drop SMTP but not other ports; a --ttl block expires in the
# kernel; `threshold set syn_rate` bites without a restart; allow beats
# block; a kill -9'd agent leaves enforcement in place and the next one
# adopts it, and a --ttl block still expires in the kernel with no agent
# at all; the running agent holds no capability; SIGTERM detaches and
# unpins every map and link, and a restart restores from state_dir.
. "$(dirname "$0")/lib.sh"
trap lab_cleanup EXIT

# INNET lies in the blocked /26 (.64-.127); everything else outside it.
FLOOD=10 SLOW=20 V6HOST=30 INNET=70 OUTNET=130 TTLHOST=140 ALLOWED=150 FLOOD2=160 TTLDEAD=170
lab_up $FLOOD $SLOW $V6HOST $INNET $OUTNET $TTLHOST $ALLOWED $FLOOD2 $TTLDEAD
DST4=$LAB_NET4.1 DST6=$LAB_NET6::1
spawn /usr/bin/python3 "$LAB_ROOT/tests/lab/listener.py" $DST4 25 $DST4 8080 $DST6 25 $DST6 8080
all_listening() {
	listening $DST4 25 && listening $DST4 8080 && listening $DST6 25 && listening $DST6 8080
}
wait_for 30 all_listening || { log "listener.py did not come up"; exit 1; }
printf 'syn_rate = 20\nsyn_burst = 40\n' >"$LAB_DIR/bouncewall.conf"
agent_start || exit 1

# Every capability dropped once set up (CapEff, CapPrm, CapInh, CapAmb and
# the bounding set all empty): a bug in the agent cannot load programs,
# touch other maps or open raw sockets.
caps() { awk '/^Cap(Inh|Prm|Eff|Bnd|Amb):/ { printf "%s%s=%s", sep, substr($1, 1, length($1) - 1), $2; sep = " " }' "/proc/$AGENT_PID/status"; }
log "running agent (pid $AGENT_PID): $(caps)"
no_caps() { ! caps | grep -Eq '=[0-9a-f]*[1-9a-f]'; }
check "the running agent holds no capability ($(caps))" no_caps

marked() { [ "$(cap_count "$1" 'src port 7777 and tcp[tcpflags] & tcp-ack != 0')" -ge 1 ]; }
# count_syns SRC FILE: SYNs from SRC to port 25 that got past XDP.
count_syns() {
	tcpdump -nr "$2" "src host $1 and dst port 25 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn" 2>/dev/null | wc -l
}

# flood SRC COUNT INTERVAL_US RATE BURST: run hping3, check what passed.
# The bound on what may pass is computed from the flood's own duration:
# burst + rate x seconds (+1 s and 5 SYNs of slack), a correctness bound on
# the token bucket, not a speed limit.
flood() {
	local src=$1 count=$2 gap=$3 rate=$4 burst=$5 cap t0 t1 passed max tpid
	cap=$LAB_DIR/flood-$src.pcap
	cap_start "$cap" "$LAB_IF" "src host $src and dst port 25" || return 1
	tpid=$CAP_PID
	t0=$(date +%s.%N)
	in_ns hping3 -q -S -p 25 -a "$src" -i "u$gap" -c "$count" "$DST4" >/dev/null 2>&1
	t1=$(date +%s.%N)
	# A marker after the flood (an ACK, which XDP lets through): once
	# tcpdump has it, it has every SYN sent before it.
	in_ns hping3 -q -A -p 25 -s 7777 -k -a "$src" -c 1 "$DST4" >/dev/null 2>&1
	wait_for 30 marked "$cap" || log "flood marker from $src never captured"
	cap_stop "$tpid"
	passed=$(count_syns "$src" "$cap")
	max=$(awk -v b="$burst" -v r="$rate" -v a="$t0" -v z="$t1" 'BEGIN { printf "%d", b + r * (z - a + 1) + 5 }')
	log "flood from $src: $count SYNs in $(awk -v a="$t0" -v z="$t1" 'BEGIN{printf "%.1f", z-a}')s, $passed passed (allowed $burst..$max)"
	[ "$passed" -ge "$burst" ] && [ "$passed" -le "$max" ] && [ "$passed" -lt "$count" ]
}

# A slow, legitimate source connecting once a second during the flood.
slow_ok=$LAB_DIR/slow.ok
slow_source() {
	local n=0
	for _ in 1 2 3 4 5; do
		tcp_probe $LAB_NET4.$SLOW $DST4 25 && n=$((n + 1))
		sleep 1
	done
	echo $n >"$slow_ok"
}
spawn slow_source
slow_pid=$SPAWNED
check "SYN flood held to syn_burst + syn_rate x seconds" flood $LAB_NET4.$FLOOD 1500 2000 20 40
wait $slow_pid
check "slow source passes untouched during the flood (5/5)" [ "$(cat "$slow_ok")" = 5 ]
check "kernel counted ratelimit drops" \
	bash -c "'$BW' --socket '$LAB_SOCK' status --json | grep -q '\"drop_ratelimit\":[1-9]'"

# Blocks: v6 host, v4 /26.  SMTP dropped, other ports pass.
check "block add v6 host" bwc block add $LAB_NET6::$V6HOST --reason "lab v6"
check "block add v4 /26" bwc block add $LAB_NET4.64/26
check_not "v6 blocked host: port 25 dropped" tcp_probe $LAB_NET6::$V6HOST $DST6 25
check "v6 blocked host: port 8080 passes" tcp_probe $LAB_NET6::$V6HOST $DST6 8080
check_not "v4 /26 member: port 25 dropped" tcp_probe $LAB_NET4.$INNET $DST4 25
check "v4 /26 member: port 8080 passes" tcp_probe $LAB_NET4.$INNET $DST4 8080
check "v4 outside the /26: port 25 passes" tcp_probe $LAB_NET4.$OUTNET $DST4 25
check "v4 source with a blocked v6 neighbour passes" tcp_probe $LAB_NET4.$V6HOST $DST4 25
check "block list shows both" bash -c "'$BW' --socket '$LAB_SOCK' block list --json | grep -q '$LAB_NET4.64/26' && '$BW' --socket '$LAB_SOCK' block list | grep -q 'lab v6'"

# TTL: enforced by the kernel's clock.
check "block add --ttl 2s" bwc block add $LAB_NET4.$TTLHOST/32 --ttl 2s
check_not "ttl block drops while active" tcp_probe $LAB_NET4.$TTLHOST $DST4 25
check "ttl block stops dropping after expiry" wait_for 60 tcp_probe $LAB_NET4.$TTLHOST $DST4 25

# Allow beats block.
bwc block add $LAB_NET4.$ALLOWED >/dev/null
check_not "blocked host is dropped before allow" tcp_probe $LAB_NET4.$ALLOWED $DST4 25
check "allow add" bwc allow add $LAB_NET4.$ALLOWED/32 --comment "our relay"
check "allow beats block" tcp_probe $LAB_NET4.$ALLOWED $DST4 25

# Live threshold: a lower rate bites on the next flood, no restart.
check "threshold set syn_rate 5" bwc threshold set syn_rate 5
check "threshold set syn_burst 5" bwc threshold set syn_burst 5
check "threshold get reflects it" [ "$(bwc threshold get syn_rate)" = 5 ]
check "flood after threshold set held to 5 + 5/s" flood $LAB_NET4.$FLOOD2 600 2000 5 5

# Bad input changes nothing and says so.
before=$(bwc block list --json)
bwc block add 10.0.0.5/24 2>/dev/null; rc=$?
check "host bits set: exit 2" [ $rc = 2 ]
bwc threshold set syn_rate banana 2>/dev/null; rc=$?
check "bad threshold value: exit 2" [ $rc = 2 ]
bwc threshold set score_throttle 500 2>/dev/null; rc=$?
check "cross-key violation (score_throttle >= score_block): exit 2" [ $rc = 2 ]
printf 'garbage\0\0' | /usr/bin/python3 -c "
import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('$LAB_SOCK'); s.sendall(sys.stdin.buffer.read()); print(s.recv(100))" >/dev/null
check "garbage on the socket: agent still answers, nothing changed" [ "$(bwc block list --json)" = "$before" ]
check "threshold unchanged by rejected sets" [ "$(bwc threshold get syn_rate)" = 5 ]

# kill -9: the pinned program, maps and blocks keep enforcing, and a
# --ttl block still expires: its end is in the kernel's map entry, judged
# by the program against the kernel's clock, with no agent left to remove it.
check "block add --ttl 6s (to outlive the agent)" bwc block add $LAB_NET4.$TTLDEAD/32 --ttl 6s
kill -KILL "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=
check_not "after kill -9: v4 /26 still dropped" tcp_probe $LAB_NET4.$INNET $DST4 25
check "after kill -9: allow still wins" tcp_probe $LAB_NET4.$ALLOWED $DST4 25
check "after kill -9: XDP still attached" bash -c "ip link show '$LAB_IF' | grep -q xdp"
check_not "after kill -9: the --ttl block still drops before its end" \
	tcp_probe $LAB_NET4.$TTLDEAD $DST4 25
check "after kill -9: the --ttl block expires in the kernel, no agent running" \
	wait_for 60 tcp_probe $LAB_NET4.$TTLDEAD $DST4 25
agent_start || exit 1
check "restarted agent adopted the pinned maps" bash -c "'$BW' --socket '$LAB_SOCK' status --json | grep -q '\"pinned_maps_adopted\":true'"
check "restarted agent adopted the link" bash -c "'$BW' --socket '$LAB_SOCK' status --json | grep -q '\"adopted\":true'"
check "restarted agent lists the blocks" bash -c "'$BW' --socket '$LAB_SOCK' block list | grep -q '$LAB_NET4.64/26'"
check_not "restarted agent still drops the /26" tcp_probe $LAB_NET4.$INNET $DST4 25

# SIGTERM: clean detach; the state file brings blocks back.
agent_stop
check "SIGTERM detaches XDP" bash -c "! ip link show '$LAB_IF' | grep -q xdp"
pins_left() { find "$BOUNCEWALL_PIN_DIR" -mindepth 1 2>/dev/null | sed "s|^$BOUNCEWALL_PIN_DIR/||" | tr '\n' ' '; }
check "SIGTERM unpins every map and link (left: $(pins_left))" [ -z "$(pins_left)" ]
check "detached: /26 member passes" tcp_probe $LAB_NET4.$INNET $DST4 25
check "state file written" grep -q "$LAB_NET4.64/26" "$LAB_DIR/state/rules.state"
agent_start || exit 1
check_not "restart restores blocks from state_dir" tcp_probe $LAB_NET4.$INNET $DST4 25
check "restart restores allows from state_dir" tcp_probe $LAB_NET4.$ALLOWED $DST4 25
check "detach -i via the CLI" bwc detach -i "$LAB_IF"
check "detached interface passes the /26" tcp_probe $LAB_NET4.$INNET $DST4 25

lab_summary
