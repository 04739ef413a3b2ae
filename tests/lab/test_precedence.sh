#!/bin/bash
# test_precedence.sh - who wins when the scorer wants to punish a source the
# operator already ruled on, in the running agent with a real Postfix and a
# real storm from three sources:
#   ALLOWED  allowlisted by the operator: the scorer's decision is
#            suppressed (no rule, a "decision suppressed" log line, the
#            decisions.suppressed counter);
#   OPBLOCK  blocked by the operator (no TTL): the scorer's throttle or
#            block never replaces it (still the operator's, still no TTL);
#   PLAIN    nobody's: the scorer's own block lands, as the control.
# mode = monitor, so the kernel drops nothing and the scorer sees every
# source's whole storm, the operator-blocked one included; the decision
# path (and so the precedence) is the same in both modes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix.sh"
. "$(dirname "$0")/mta.sh"
trap 'postfix_down_all; lab_cleanup' EXIT

DOMAIN=victim.example
ALLOWED=21 OPBLOCK=22 PLAIN=23
lab_up $ALLOWED $OPBLOCK $PLAIN
DST4=$LAB_NET4.1
PF=$LAB_DIR/postfix
postfix_up "$PF" $DST4 - $DOMAIN alice >/dev/null || { echo "postfix did not start"; exit 1; }
cat >"$LAB_DIR/bouncewall.conf" <<CONF
protected_domains = $DOMAIN
mode = monitor
syn_rate = 200
syn_burst = 400
CONF
agent_start || exit 1

A=$LAB_NET4.$ALLOWED B=$LAB_NET4.$OPBLOCK C=$LAB_NET4.$PLAIN
check "operator allows $A/32" bwc allow add $A/32 --comment "a partner relay"
check "operator blocks $B/32, no TTL" bwc block add $B/32 --reason "operator"

storm_run() {
	MTA_TIMEOUT=3 storm $A $B $C --dst $DST4 --domain $DOMAIN --per-source 60 --rate 3 \
		--concurrency 2 --max-time 40 --out "$LAB_DIR/storm.tsv" >"$LAB_DIR/storm.out" 2>&1
}
spawn storm_run
storm_pid=$SPAWNED

rule_of() {	# CIDR: its block list entry as JSON, "" if none
	bwc block list --json | /usr/bin/python3 -c '
import json, sys
for b in json.load(sys.stdin)["blocks"]:
    if b["cidr"] == sys.argv[1]:
        print(json.dumps(b, sort_keys=True))' "$1"
}
verdict_of() {	# SOURCE/32: the scorer's own verdict (top --json)
	bwc top -n 100 --json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["sources"]:
    if s["source"] == sys.argv[1]:
        print(s["verdict"])' "$1"
}
plain_blocked() { rule_of $C/32 | grep -q '"action": "block", .*"origin": "scorer"'; }
allowed_suppressed() { grep -q "decision suppressed action=[a-z]* source=$A/32 reason=allowlisted" "$LAB_DIR/agent.log"; }
opblock_wanted() { case $(verdict_of $B/32) in throttle | block) return 0 ;; *) return 1 ;; esac; }
# Bounds that only catch a scorer that never decides.
check "control: the scorer blocks the plain storm source $C" wait_for 120 plain_blocked
check "allowlisted $A: the scorer's decision is suppressed and logged" wait_for 120 allowed_suppressed
check "operator-blocked $B: the scorer wants it punished too (top verdict: $(verdict_of $B/32))" \
	wait_for 120 opblock_wanted
wait "$storm_pid"
log "$(cat "$LAB_DIR/storm.out")"

check "allowlisted $A: no rule in the block list" [ -z "$(rule_of $A/32)" ]
check "allowlisted $A: no decision logged for it" \
	bash -c "! grep -q 'decision action=[a-z]* source=$A/32' '$LAB_DIR/agent.log'"
suppressed=$(bwc status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["decisions"]["suppressed"])')
check "status: decisions.suppressed counts it ($suppressed)" [ "$suppressed" -ge 1 ]
rule=$(rule_of $B/32)
log "operator-blocked $B after the storm: $rule"
check "operator-blocked $B: still a block, still the operator's, still no TTL" \
	bash -c "grep -q '\"action\": \"block\"' <<<'$rule' && grep -q '\"origin\": \"operator\"' <<<'$rule' && grep -q '\"expires\": null' <<<'$rule'"
check "operator-blocked $B: no scorer decision logged for it" \
	bash -c "! grep -q 'decision action=[a-z]* source=$B/32' '$LAB_DIR/agent.log'"

lab_summary
