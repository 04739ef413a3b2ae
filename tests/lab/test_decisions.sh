#!/bin/bash
# test_decisions.sh - connection-level decisions that never cut legitimate
# mail, live: a real Postfix for victim.example, the agent on its interface,
# and at once
#   - a provider's outbound pool (5 addresses), each sending ordinary mail
#     to real users with null-sender auto-replies to a noreply@ that does
#     not exist among it (64 messages and 26 auto-replies a minute: its
#     auto-replies alone are past the few-bounces veto and would score a
#     block, so only the mixed veto stands between it and the kernel);
#   - our own relay (in our_relays) returning 40 DSNs a minute to an
#     existing user;
#   - 8 verifiers doing sender-verification callouts (MAIL FROM:<>, RCPT,
#     RSET or QUIT, never DATA);
#   - then a storm from 4 loud cleartext sources (2 bounces a second each
#     to random users).
# Asserts: top shows veto "mixed" for every pool address, before and
# during the storm; the verifiers' callouts are no bounces (unscored; one
# that also returns a real bounce shows exactly that one, its callouts
# beside it); our relay never scored; every loud source blocked within
# 30 s; no pool, relay or verifier address ever throttled or blocked;
# every legitimate message (the pool's mail, the relay's DSNs, the real
# bounce) in its Maildir, and nothing else.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix.sh"
. "$(dirname "$0")/mta.sh"
trap 'postfix_down_all; lab_cleanup' EXIT
PY=/usr/bin/python3

DOMAIN=victim.example
POOL=(51 52 53 54 55) RELAY=60 VERIFY=(71 72 73 74 75 76 77 78) LOUD=(21 22 23 24)
lab_up "${POOL[@]}" $RELAY "${VERIFY[@]}" "${LOUD[@]}"
DST4=$LAB_NET4.1 DST6=$LAB_NET6::1
PF=$LAB_DIR/postfix
postfix_up "$PF" $DST4 $DST6 $DOMAIN alice bob carol dave erin >/dev/null ||
	{ echo "postfix did not start"; exit 1; }

# Kernel SYN limits out of the way: this test is about the scorer's rules.
cat >"$LAB_DIR/bouncewall.conf" <<CONF
protected_domains = $DOMAIN
our_relays = $LAB_NET4.$RELAY/32
syn_rate = 500
syn_burst = 1000
CONF
agent_start || exit 1

addrs() { local n; for n in "$@"; do printf '%s ' "$LAB_NET4.$n"; done; }
read -r -a POOL_A <<<"$(addrs "${POOL[@]}")"
# run NAME ARGS...: tests/lab/smtp_storm.py (what mta.sh's storm runs) in
# the background, its records in $LAB_DIR/NAME.tsv (src rcpt tls rc start
# end reply), its PID in JOB[NAME].  Started directly, not through storm(),
# so the PID is the tool's own (ip netns exec execs it) and a run cut short
# can end it.  A refused connection gives up after 5 s: a source blocked
# by mistake fails its sessions quickly instead of stretching the test.
declare -A JOB
run() {
	local name=$1
	shift
	: >"$LAB_DIR/$name.tsv"
	in_ns "$PY" "$LAB_ROOT/tests/lab/smtp_storm.py" "$@" --dst $DST4 --domain $DOMAIN \
		--timeout 5 --out "$LAB_DIR/$name.tsv" >"$LAB_DIR/$name.out" 2>&1 &
	JOB[$name]=$!
	LAB_PIDS+=("$!")
}
count() { awk -F'\t' "$2" "$LAB_DIR/$1.tsv" | wc -l; }
top_json() { bwc top -n 1000 --json; }
quiet() { "$@" >/dev/null; }

# --- the legitimate background ----------------------------------------------
# The pool at 1.5 sessions a second per address, 29% of them auto-replies:
# 64 messages and 26 auto-replies a minute.
run pool "${POOL_A[@]}" --mode provider --autoreply-share 29 --known alice,bob \
	--known-share 100 --rate 1.5 --per-source 100 --concurrency 2 --max-time 70
# shellcheck disable=SC2046
run relay $(addrs $RELAY) --known carol --known-share 100 --rate 0.67 --per-source 45 \
	--concurrency 2 --max-time 70
# shellcheck disable=SC2046
run verify $(addrs "${VERIFY[@]}") --mode callout --known alice,bob,carol,dave \
	--known-share 100 --rate 0.25 --per-source 17 --concurrency 1 --max-time 70

# top_check MIN_BOUNCES ADDR...: every ADDR in top with veto "mixed",
# verdict none and at least MIN_BOUNCES bounces in the window; prints what
# top says of each.
top_check() {
	top_json | $PY -c '
import json, sys
least, want = float(sys.argv[1]), sys.argv[2:]
got = {s["source"]: s for s in json.load(sys.stdin)["sources"]}
ok = True
for a in want:
    s = got.get(a + "/32")
    if not s:
        print("%s absent" % a); ok = False; continue
    sig = lambda n: s["signals"].get(n, {}).get("value", -1)
    b = sig("bounce_rate")
    print("%s score %.1f bounces/min %d mixed %.2f veto %s verdict %s" %
          (a, s["score"], b, sig("mixed"), s.get("veto"), s["verdict"]))
    ok &= s.get("veto") == "mixed" and s["verdict"] == "none" and b >= least
sys.exit(0 if ok else 1)' "$@"
}
# Wait for the pool's window to fill: its auto-replies alone past the
# few-bounces veto (10 in the window), so only "mixed" protects it.
for _ in $(seq 1 600); do top_check 10 "${POOL_A[@]}" >/dev/null && break; sleep 0.1; done
log "pool before the storm: $(top_check 10 "${POOL_A[@]}" | paste -sd ';')"
check "top: every pool address at >= 10 auto-replies a minute, vetoed \"mixed\", not punished" \
	quiet top_check 10 "${POOL_A[@]}"

# --- the loud storm ---------------------------------------------------------
t0=$(date +%s.%N)
# shellcheck disable=SC2046
run loud $(addrs "${LOUD[@]}") --rate 2 --per-source 30 --tls-share 0 \
	--concurrency 4 --max-time 30
BOUND=30
loud_blocked() {
	local j n
	j=$(bwc block list --json)
	for n in "${LOUD[@]}"; do
		grep -q "\"cidr\":\"$LAB_NET4.$n/32\",\"action\":\"block\",\"origin\":\"scorer\"" <<<"$j" ||
			return 1
	done
}
elapsed=
for _ in $(seq 1 $((BOUND * 10))); do
	if loud_blocked; then
		elapsed=$(awk -v a="$t0" -v z="$(date +%s.%N)" 'BEGIN { printf "%.1f", z - a }')
		break
	fi
	sleep 0.1
done
log "loud sources all blocked after ${elapsed:-more than $BOUND} s"
check "every loud storm source blocked within $BOUND s" [ -n "$elapsed" ]
storm_active() { bwc status --json | $PY -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["scorer"]["storm_active"] else 1)'; }
check "the storm is declared (thresholds tightened)" storm_active
log "pool during the storm: $(top_check 1 "${POOL_A[@]}" | paste -sd ';')"
check "top during the storm: every pool address still vetoed \"mixed\", not punished" \
	quiet top_check 1 "${POOL_A[@]}"

# Verifiers: their callouts are no bounces, so none of them has a score
# (top lists scored sources only).  One of them now also returns a real
# bounce: it shows up with exactly that one bounce, and its callouts
# counted beside it.
in_top() { top_json | grep -q "\"source\":\"$1/32\""; }
verifiers_unscored() {
	local n
	for n in "${VERIFY[@]}"; do in_top "$LAB_NET4.$n" && return 1; done
	return 0
}
check "top: no verifier scored: none of their callouts counted as a bounce" verifiers_unscored
send_bounce "$LAB_NET4.${VERIFY[0]}" $DST4 erin@$DOMAIN
check "a verifier's real bounce to erin accepted" [ $? = 0 ]
callouts_beside() {
	top_json | $PY -c '
import json, sys
got = {s["source"]: s for s in json.load(sys.stdin)["sources"]}
s = got.get(sys.argv[1] + "/32")
if not s:
    print("absent"); sys.exit(1)
b, c = (s["signals"].get(n, {}).get("value", -1) for n in ("bounce_rate", "callouts"))
print("bounces/min %d callouts/min %d score %.1f" % (b, c, s["score"]))
sys.exit(0 if b == 1 and c >= 1 else 1)' "$1"
}
for _ in $(seq 1 50); do callouts_beside "$LAB_NET4.${VERIFY[0]}" >/dev/null && break; sleep 0.1; done
log "verifier ${VERIFY[0]} after its real bounce: $(callouts_beside "$LAB_NET4.${VERIFY[0]}")"
check "top: that verifier has 1 bounce and its callouts counted as callouts" \
	quiet callouts_beside "$LAB_NET4.${VERIFY[0]}"
check_not "top: our relay is not scored at all" in_top "$LAB_NET4.$RELAY"

# The background ends on its own (its --max-time, and every session's
# answer or timeout); give it a bound, then end what is left.
for n in "${!JOB[@]}"; do
	for _ in $(seq 1 600); do kill -0 "${JOB[$n]}" 2>/dev/null || break; sleep 0.2; done
done
left=
for n in "${!JOB[@]}"; do
	kill -0 "${JOB[$n]}" 2>/dev/null && { left="$left $n"; kill -TERM "${JOB[$n]}"; }
	wait "${JOB[$n]}" 2>/dev/null
done
check "the background traffic finished in time${left:+ (not:$left)}" [ -z "$left" ]
for n in pool relay verify loud; do log "$n: $(cat "$LAB_DIR/$n.out")"; done

# --- nothing legitimate was cut ---------------------------------------------
never_punished() {
	local j n
	j=$(bwc block list --json)
	for n in "${POOL[@]}" $RELAY "${VERIFY[@]}"; do
		grep -q "\"cidr\":\"$LAB_NET4.$n/32\"" <<<"$j" && return 1
		grep -q "decision action=[a-z]* source=$LAB_NET4.$n/" "$LAB_DIR/agent.log" && return 1
	done
	return 0
}
check "no pool, relay or verifier address ever throttled or blocked" never_punished

msgs=$(count pool '$2 !~ /^noreply@/')
msgs_ok=$(count pool '$2 !~ /^noreply@/ && $4 == 0')
autos=$(count pool '$2 ~ /^noreply@/')
autos_refused=$(count pool '$2 ~ /^noreply@/ && $4 == 24 && $7 == "550 5.1.1"')
dsns=$(count relay '1')
dsns_ok=$(count relay '$4 == 0')
callouts=$(count verify '1')
callouts_ok=$(count verify '$4 == 0')
log "pool: $msgs_ok of $msgs messages accepted, $autos_refused of $autos auto-replies refused 550 5.1.1;" \
	"relay: $dsns_ok of $dsns DSNs accepted; verifiers: $callouts_ok of $callouts callouts accepted"
check "the pool sent mail ($msgs) and auto-replies ($autos)" \
	bash -c "[ $msgs -ge 200 ] && [ $autos -ge 50 ]"
check "every pool message accepted ($msgs_ok of $msgs)" [ "$msgs_ok" = "$msgs" ]
check "every auto-reply to noreply@ refused 550 5.1.1 by Postfix ($autos_refused of $autos)" \
	[ "$autos_refused" = "$autos" ]
check "every relay DSN accepted ($dsns_ok of $dsns)" bash -c "[ $dsns -ge 30 ] && [ $dsns_ok = $dsns ]"
check "every callout answered 250 at RCPT ($callouts_ok of $callouts)" \
	bash -c "[ $callouts -ge 100 ] && [ $callouts_ok = $callouts ]"
seen=$(bwc status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["scorer"]["callouts"])')
log "the agent counted $seen callouts"
check "status: the agent counted every callout as one ($seen of $callouts)" [ "$seen" = "$callouts" ]
delivered() { echo $(($(postfix_delivered "$PF" alice) + $(postfix_delivered "$PF" bob))); }
for _ in $(seq 1 200); do
	[ "$(delivered)" -ge "$msgs" ] && [ "$(postfix_delivered "$PF" carol)" -ge "$dsns" ] && break
	sleep 0.1
done
got=$(delivered)
log "Maildirs: alice+bob $got (pool sent $msgs), carol $(postfix_delivered "$PF" carol) (relay sent $dsns), dave $(postfix_delivered "$PF" dave)"
check "Maildirs hold every pool message, nothing more ($got of $msgs)" [ "$got" = "$msgs" ]
check "carol's Maildir holds every relay DSN ($(postfix_delivered "$PF" carol) of $dsns)" \
	[ "$(postfix_delivered "$PF" carol)" = "$dsns" ]
check "callouts delivered nothing (dave, only ever verified, has no mail)" \
	[ "$(postfix_delivered "$PF" dave)" = 0 ]
check "erin got the one real bounce" [ "$(postfix_delivered "$PF" erin)" = 1 ]

lab_summary
