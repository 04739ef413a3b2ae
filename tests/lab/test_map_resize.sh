#!/bin/bash
# test_map_resize.sh - max_rules sizes the kernel's rule maps, and a restart
# with another value keeps what the kernel enforced.
#
# An agent at the default size is killed with rules only the kernel holds
# (the state file removed); the next one, started with max_rules 1024,
# finds the pinned rule maps of the old size, copies their entries into
# maps of the new size before it swaps its program in, and enforces and
# lists them.  Past 1024 rules a list is full, in the mirror as in the
# kernel: a restart that shrinks below what was enforced keeps 1024 and
# says what it left out.
. "$(dirname "$0")/lib.sh"
trap lab_cleanup EXIT

BLOCKED=10 ALLOWED=20 CLEAN=30
lab_up $BLOCKED $ALLOWED $CLEAN
DST4=$LAB_NET4.1
spawn /usr/bin/python3 "$LAB_ROOT/tests/lab/listener.py" $DST4 25
for _ in $(seq 1 100); do ss -ltn | grep -q "$DST4:25 " && break; sleep 0.1; done

max_entries() {
	bpftool map show pinned "$BOUNCEWALL_PIN_DIR/$1" | sed -n 's/.*max_entries \([0-9]*\).*/\1/p'
}
probe() { tcp_probe "$LAB_NET4.$1" "$DST4" 25; }
kill9() { kill -9 "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; AGENT_PID=; }

printf 'syn_rate = 0\n' >"$LAB_DIR/bouncewall.conf"
agent_start || exit 1
check "default size: bw_block4 has 131072 entries" [ "$(max_entries bw_block4)" = 131072 ]
check "block add" bwc block add "$LAB_NET4.$BLOCKED"
check "block add v6" bwc block add "$LAB_NET6::$BLOCKED"
check "allow add" bwc allow add "$LAB_NET4.$ALLOWED"
check_not "blocked source dropped" probe $BLOCKED

log "kill -9, state file gone: only the kernel holds the rules"
kill9
rm -f "$LAB_DIR/state/rules.state"
printf 'syn_rate = 0\nmax_rules = 1024\n' >"$LAB_DIR/bouncewall.conf"
: >"$LAB_DIR/agent.log"
agent_start || exit 1
check "restart: the rule maps resized to 1024" \
	bash -c "[ $(max_entries bw_block4) = 1024 ] && [ $(max_entries bw_allow4) = 1024 ] && [ $(max_entries bw_block) = 1024 ] && [ $(max_entries bw_allow) = 1024 ]"
check "restart: the log says so" grep -q 'pinned map resized map=bw_block4 old_max=131072 new_max=1024' "$LAB_DIR/agent.log"
check "restart: entries copied" grep -q 'map migrated map=bw_block4 entries=1' "$LAB_DIR/agent.log"
check "restart: the link adopted" bash -c "'$BW' --socket '$LAB_SOCK' status --json | grep -q '\"adopted\":true'"
check "restart: block list has the v4 block" bash -c "'$BW' --socket '$LAB_SOCK' block list | grep -q '$LAB_NET4.$BLOCKED/32'"
check "restart: block list has the v6 block" bash -c "'$BW' --socket '$LAB_SOCK' block list | grep -q '$LAB_NET6::$BLOCKED/128'"
check "restart: allow list has the allow" bash -c "'$BW' --socket '$LAB_SOCK' allow list | grep -q '$LAB_NET4.$ALLOWED/32'"
check_not "restart: blocked source still dropped" probe $BLOCKED
check "restart: clean source passes" probe $CLEAN

log "fill the block list to max_rules"
for i in $(seq 1 1022); do
	printf '10.231.%d.%d\n' $((100 + i / 250)) $((i % 250 + 1))
done | while read -r a; do bwc block add "$a" >/dev/null || echo "refused $a"; done >"$LAB_DIR/fill.log"
check "1024 blocks taken" [ ! -s "$LAB_DIR/fill.log" ]
bwc block add 10.231.99.99 >"$LAB_DIR/full.out" 2>&1
rc=$?
check "the 1025th block refused: exit 1 (got $rc)" [ "$rc" = 1 ]
check "... saying the list is full at max_rules" grep -q 'list is full (max_rules 1024)' "$LAB_DIR/full.out"

log "a restart at the same size reuses the maps"
agent_stop
agent_start || exit 1
check "same size: nothing resized" bash -c "sed -n '/stopping/,\$p' '$LAB_DIR/agent.log' | grep -q 'state restored' && ! sed -n '/stopping/,\$p' '$LAB_DIR/agent.log' | grep -q 'pinned map resized'"
check "same size: 1024 blocks" [ "$(bwc block list --json | grep -o '"cidr"' | wc -l)" = 1024 ]
check_not "same size: blocked source dropped" probe $BLOCKED

log "grow to 2048 and add 76, then shrink to 1024: what does not fit is said"
agent_stop
printf 'syn_rate = 0\nmax_rules = 2048\n' >"$LAB_DIR/bouncewall.conf"
agent_start || exit 1
check "grown: bw_block4 has 2048 entries" [ "$(max_entries bw_block4)" = 2048 ]
for i in $(seq 1 76); do bwc block add "10.231.99.$i" >/dev/null || echo "refused $i"; done >"$LAB_DIR/fill2.log"
check "grown: 1100 blocks taken" [ ! -s "$LAB_DIR/fill2.log" ]
kill9
printf 'syn_rate = 0\nmax_rules = 1024\n' >"$LAB_DIR/bouncewall.conf"
: >"$LAB_DIR/agent.log"
agent_start || exit 1
check "shrunk: the kernel copy (1099 IPv4 blocks) says what it left out" \
	grep -q 'map migrate map=bw_block4 copied=1024 left_out=75' "$LAB_DIR/agent.log"
check "shrunk: the state file's extra rules refused, said" grep -q 'state rules refused=76' "$LAB_DIR/agent.log"
check "shrunk: 1024 blocks listed" [ "$(bwc block list --json | grep -o '"cidr"' | wc -l)" = 1024 ]
check_not "shrunk: blocked source still dropped" probe $BLOCKED
agent_stop
check "SIGTERM: pins removed" [ ! -e "$BOUNCEWALL_PIN_DIR/bw_block4" ]
lab_summary
