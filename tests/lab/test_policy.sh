#!/bin/bash
# test_policy.sh - the realistic storm, answered per message: a real Postfix
# with STARTTLS, bouncewall's policy service and BATV socketmap wired in
# with the README's lines, and a distributed storm from 40 innocent MTAs,
# one to five bounces each, mostly over TLS, half of them to real users
# (a joe-job), the rest to random local parts.
#
#  1. BATV, bounce_policy = always: every storm bounce is refused with
#     550 5.7.1 at RCPT; the real bounce of a message alice sent (tagged by
#     the socketmap, bounced back by the remote MTA over TLS) and all
#     legitimate mail are delivered; no source is blocked.
#  2. BATV, bounce_policy = storm: once the storm is declared no storm
#     bounce reaches a mailbox.
#  3. No BATV, the sent ledger: alice (who sent mail, learnt from the wire)
#     gets her real bounces up to the budget, bob (who sent nothing) none
#     during a storm.
#  4. Fail open: the agent stopped (SIGSTOP), killed and restarted while
#     legitimate mail flows: every message delivered.
#  5. Hostile policy clients (garbage, a 1 MB request, 500 idle
#     connections, a request that never ends): the agent keeps answering
#     the real client and keeps capturing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix.sh"
. "$(dirname "$0")/mta.sh"
trap 'postfix_down_all; lab_cleanup' EXIT
PY=/usr/bin/python3

DOMAIN=victim.example
LEGIT=10 REMOTE=40
STORM=()
for n in $(seq 101 140); do STORM+=("$n"); done
lab_up $LEGIT $REMOTE "${STORM[@]}"
DST4=$LAB_NET4.1 DST6=$LAB_NET6::1
PPORT=$(free_port $((20040 + LAB_ID * 4)))
SPORT=$(free_port $((PPORT + 1)))
[ "$SPORT" = "$PPORT" ] && SPORT=$(free_port $((PPORT + 2)))
MPORT=$(free_port $((SPORT + 1)))

# The remote MTA that receives our outbound mail (and keeps its envelopes).
MTA_SINK_DUMP=$LAB_DIR/sink/dump sink_start $LAB_NET4.$REMOTE 25 || exit 1
PF=$LAB_DIR/postfix
POSTFIX_RELAYHOST="[$LAB_NET4.$REMOTE]:25" POSTFIX_POLICY=inet:127.0.0.1:$PPORT \
	POSTFIX_SOCKETMAP=inet:127.0.0.1:$SPORT \
	postfix_up "$PF" $DST4 $DST6 $DOMAIN alice bob carol >/dev/null ||
	{ echo "postfix did not start"; exit 1; }

write_conf() {	# BATV(yes/no) POLICY
	{
		echo "protected_domains = $DOMAIN"
		echo "policy_listen = 127.0.0.1:$PPORT"
		echo "socketmap_listen = 127.0.0.1:$SPORT"
		echo "bounce_policy = $2"
		[ "$1" = yes ] && echo "batv_secret = 1:lab-key-$LAB_ID"
		echo "syn_rate = 500"
		echo "syn_burst = 1000"
	} >"$LAB_DIR/bouncewall.conf"
}
write_conf yes always
agent_start --metrics 127.0.0.1:$MPORT || exit 1

metric() {	# NAME{LABELS}: its value in a scrape, 0 when absent
	curl -s --max-time 2 "http://127.0.0.1:$MPORT/metrics" |
		awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}
# metric_at_least NAME MIN: the agent publishes once a second; wait (at
# most 5 s) for a scrape that shows it.
metric_at_least() {
	local k
	for k in $(seq 1 50); do
		[ "$(metric "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
delivered() { postfix_delivered "$PF" "$1"; }
# storm_run NAME N_PER_SOURCE TLS% KNOWN%: the storm tool's records in
# $LAB_DIR/NAME.tsv (src rcpt tls rc start end reply).
storm_run() {
	local srcs=() n
	for n in "${STORM[@]}"; do srcs+=("$LAB_NET4.$n"); done
	storm "${srcs[@]}" --dst $DST4 --domain $DOMAIN --per-source "$2" --rate 2 \
		--tls-share "$3" --known-share "$4" --known alice,bob,carol --concurrency 2 \
		--max-time 60 --out "$LAB_DIR/$1.tsv" >"$LAB_DIR/$1.out" 2>&1
	log "$(cat "$LAB_DIR/$1.out")"
}
count() { awk -F'\t' "$2" "$LAB_DIR/$1.tsv" | wc -l; }

# --- mail we send is signed, and its real bounce comes home ---------------
postfix_send_out "$PF" alice@$DOMAIN friend@remote.example 1 >/dev/null
check "outbound mail relayed to the remote MTA" \
	postfix_wait_log "$PF" 'relay=.*status=sent' 1 15
tagged=$(sed -n 's/^X-Mail-Args: .*<\(prvs=[^>]*\)>.*/\1/p' "$LAB_DIR/sink/dump" 2>/dev/null | head -1)
log "our envelope sender as the remote MTA saw it: ${tagged:-none}"
check "the envelope sender was BATV-signed by the socketmap" \
	bash -c "[[ '$tagged' =~ ^prvs=1[0-9]{3}[0-9a-f]{6}=alice@$DOMAIN$ ]]"
check "the signing counted as a send (outbound_signed_total)" \
	metric_at_least bouncewall_outbound_signed_total 1
before=$(delivered alice)
rc=1
[ -n "$tagged" ] && { send_bounce $LAB_NET4.$REMOTE $DST4 "$tagged" --tls; rc=$?; }
check "the real bounce (tagged, over TLS) is accepted" [ $rc = 0 ]
postfix_wait_delivered "$PF" alice $((before + 1)) 10
check "... and delivered to alice's mailbox, untagged" [ "$(delivered alice)" = $((before + 1)) ]

# The strict unbatv table, asked directly (socketmap_table(5) protocol).
sm() { $PY "$LAB_ROOT/tests/lab/policy_client.py" socketmap 127.0.0.1 "$SPORT" "$1"; }
check "unbatv strips a valid tag" [ "$(sm "unbatv $tagged")" = "OK alice@$DOMAIN" ]
check "unbatv: a forged tag is NOTFOUND" \
	[ "$(sm "unbatv prvs=1999abcdef=alice@$DOMAIN")" = "NOTFOUND " ]
check "batv: a foreign domain is not signed" [ "$(sm "batv someone@example.net")" = "NOTFOUND " ]
check "batv: an unknown table is refused" bash -c "[[ \"\$($PY '$LAB_ROOT/tests/lab/policy_client.py' socketmap 127.0.0.1 $SPORT 'nosuch x')\" == PERM* ]]"

# --- 1. the distributed storm, bounce_policy = always ---------------------
base_alice=$(delivered alice) base_bob=$(delivered bob) base_carol=$(delivered carol)
( send_legit $LAB_NET4.$LEGIT $DST4 bob@$DOMAIN 5 >"$LAB_DIR/legit1.log" 2>&1 ) &
legit_pid=$!
storm_run storm1 3 90 50
wait $legit_pid
sent=$(count storm1 '1')
refused=$(count storm1 '$4 == 24 && $7 ~ /^550 5\.7\.1/')
tls=$(count storm1 '$3 == 1')
log "storm 1: $sent bounces from ${#STORM[@]} MTAs ($tls over TLS); $refused refused 5.7.1"
check "storm 1 sent bounces ($sent), most over TLS ($tls)" \
	bash -c "[ $sent -ge 100 ] && [ $tls -gt $((sent * 3 / 4)) ]"
check "every storm bounce refused per message with 550 5.7.1 (TLS or not)" [ "$refused" = "$sent" ]
check "no storm bounce reached alice or carol" \
	bash -c "[ $(delivered alice) = $base_alice ] && [ $(delivered carol) = $base_carol ]"
check "legitimate mail during the storm delivered (5 of 5)" \
	postfix_wait_delivered "$PF" bob $((base_bob + 5)) 10
check "no source blocked or throttled at the connection level" \
	bash -c "[ \"\$('$BW' --socket '$LAB_SOCK' block list --json)\" = '{\"blocks\":[]}' ]"
check "bounces_total{verdict=\"unverifiable\"} counts them" \
	metric_at_least 'bouncewall_bounces_total{verdict="unverifiable"}' "$sent"
check "policy rejects counted" \
	metric_at_least 'bouncewall_policy_requests_total{action="reject"}' "$sent"
check "the TLS bounces reached the scorer (policy fed it)" \
	bash -c "'$BW' --socket '$LAB_SOCK' top --json | grep -q '\"unverified\":{\"value\":1.000'"
check "status shows the domain's bounces exceeding its sends" \
	bash -c "'$BW' --socket '$LAB_SOCK' status | grep -q 'domain    $DOMAIN .*bounces exceed sent'"

# --- 2. bounce_policy = storm: nothing gets through once it is declared ---
write_conf yes storm
bwc reload >/dev/null
storm_active() { bwc status --json | $PY -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["scorer"]["storm_active"] else 1)'; }
storm_run storm2 2 90 50
for _ in $(seq 1 50); do storm_active && break; sleep 0.1; done
check "a storm is declared" storm_active
base_alice=$(delivered alice) base_bob=$(delivered bob)
storm_run storm3 2 90 100
refused=$(count storm3 '$4 == 24 && $7 ~ /^550 5\.7\.1/')
sent=$(count storm3 '1')
check "during the declared storm every bounce to a real user refused ($refused of $sent)" [ "$refused" = "$sent" ]
check "... and none reached a mailbox" \
	bash -c "[ $(delivered alice) = $base_alice ] && [ $(delivered bob) = $base_bob ]"

# --- 3. without BATV, the sent ledger -------------------------------------
agent_stop
write_conf no storm
rm -f "$LAB_DIR/state/ledger.state"
agent_start --metrics 127.0.0.1:$MPORT || exit 1
postfix_send_out "$PF" carol@$DOMAIN friend@remote.example 1 >/dev/null
postfix_wait_log "$PF" 'relay=.*status=sent' 2 15
for _ in $(seq 1 50); do bwc ledger carol@$DOMAIN >/dev/null 2>&1 && break; sleep 0.1; done
check "the ledger learnt carol's send from the wire" bwc ledger carol@$DOMAIN
storm_run storm4 3 90 0
for _ in $(seq 1 50); do storm_active && break; sleep 0.1; done
check "storm declared again (no BATV)" storm_active
base_carol=$(delivered carol) base_bob=$(delivered bob)
for k in 1 2 3; do send_bounce $LAB_NET4.$REMOTE $DST4 carol@$DOMAIN --tls; done
for k in 1 2; do send_bounce $LAB_NET4.$REMOTE $DST4 bob@$DOMAIN --tls; done
postfix_wait_delivered "$PF" carol $((base_carol + 2)) 10
check "carol, who sent one message, got its bounce budget (2 of 3)" \
	[ "$(delivered carol)" = $((base_carol + 2)) ]
check "bob, who sent nothing, got none during the storm" [ "$(delivered bob)" = "$base_bob" ]
check "ledger shows carol over budget now" \
	bash -c "'$BW' --socket '$LAB_SOCK' ledger carol@$DOMAIN | grep -q 'over_budget'"

# --- 4. fail open ---------------------------------------------------------
base_bob=$(delivered bob)
kill -STOP "$AGENT_PID"
t0=$(date +%s)
send_legit $LAB_NET4.$LEGIT $DST4 bob@$DOMAIN 2 >/dev/null
kill -CONT "$AGENT_PID"
check "agent stopped (SIGSTOP): Postfix's timeout and default_action=DUNNO let mail in" \
	postfix_wait_delivered "$PF" bob $((base_bob + 2)) 20
log "2 messages with the agent stopped took $(( $(date +%s) - t0 )) s"
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
AGENT_PID=
send_legit $LAB_NET4.$LEGIT $DST4 bob@$DOMAIN 2 >/dev/null
check "agent killed: mail still delivered" postfix_wait_delivered "$PF" bob $((base_bob + 4)) 20
agent_start --metrics 127.0.0.1:$MPORT || exit 1
send_legit $LAB_NET4.$LEGIT $DST4 bob@$DOMAIN 2 >/dev/null
check "agent restarted: mail delivered" postfix_wait_delivered "$PF" bob $((base_bob + 6)) 20
check "... and the policy service answers again" \
	metric_at_least 'bouncewall_policy_requests_total{action="dunno"}' 1

# --- 5. hostile policy clients --------------------------------------------
hostile=$LAB_DIR/hostile.out
$PY "$LAB_ROOT/tests/lab/policy_client.py" hostile 127.0.0.1 "$PPORT" >"$hostile" 2>&1 &
hostile_pid=$!
LAB_PIDS+=("$hostile_pid")
for _ in $(seq 1 100); do grep -q '^holding' "$hostile" && break; sleep 0.1; done
frames0=$(bwc status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["sampler"]["frames"])')
answers=$($PY "$LAB_ROOT/tests/lab/policy_client.py" ask 127.0.0.1 "$PPORT" 20)
send_legit $LAB_NET4.$LEGIT $DST4 bob@$DOMAIN 1 >/dev/null
frames1=$(bwc status --json | $PY -c 'import json,sys; print(json.load(sys.stdin)["sampler"]["frames"])')
log "hostile clients: $(grep -c . "$hostile") lines of theirs; a real client: $answers"
check "with garbage, a 1 MB request, 500 idle and a never-ending client: 20 of 20 answered" \
	[ "$answers" = "answered 20 of 20" ]
check "... and the agent kept capturing ($frames0 -> $frames1 frames)" [ "$frames1" -gt "$frames0" ]
check "garbage and the oversized request answered DUNNO" grep -q '^garbage: action=DUNNO' "$hostile"
check "oversized request answered DUNNO" grep -q '^oversized: action=DUNNO' "$hostile"
kill "$hostile_pid" 2>/dev/null
check "policy errors counted by cause" \
	metric_at_least 'bouncewall_policy_errors_total{cause="malformed"}' 1

lab_summary
