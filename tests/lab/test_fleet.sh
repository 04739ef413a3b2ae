#!/bin/bash
# test_fleet.sh - two gateways sharing one CrowdSec Local API (Debian's
# crowdsec 1.4, run offline for this test): gateway A (a real Postfix, the
# scorer, an operator) pushes its blocks as alerts; gateway B pulls the
# decision stream and drops those sources in XDP within two polls; cscli's
# own decisions (an address, a /24, IPv6) reach both kernels and leave
# them when deleted; the allowlist wins; the LAPI killed mid-run and
# restarted costs counted errors and nothing else: both gateways recover,
# pushes made while it was down arrive once, no rule is duplicated, and
# the kernel enforced throughout; an operator's block del on A retracts
# A's decision from the LAPI (and B lifts it), never cscli's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix.sh"
. "$(dirname "$0")/mta.sh"
. "$(dirname "$0")/crowdsec.sh"

IF_B=bwl${LAB_ID}c
PEER_B=bwl${LAB_ID}d
PIN_B=$BOUNCEWALL_PIN_DIR-b
SOCK_B=$LAB_DIR/b.sock
trap 'postfix_down_all; lab_cleanup; ip link del "$IF_B" 2>/dev/null; rm -rf "$PIN_B"' EXIT

for tool in crowdsec cscli hping3 bpftool promtool curl; do
	command -v "$tool" >/dev/null || { echo "test_fleet: $tool missing (scripts/install-deps.sh)"; exit 1; }
done

POLL=1
DOMAIN=victim.example
STORM=(21 22)
lab_up 10 "${STORM[@]}" 61 62 63 71 72 99
DST4=$LAB_NET4.1
# Gateway B: a second lab interface, 10.231.ID.129/25, reached from the
# sender namespace through its own veth (a more specific route).
B4=$LAB_NET4.129
ip link add "$IF_B" type veth peer name "$PEER_B"
ip link set "$PEER_B" netns "$LAB_NS"
ip addr add "$B4/25" dev "$IF_B"
ip link set "$IF_B" up
ip -n "$LAB_NS" addr add "$LAB_NET4.130/25" dev "$PEER_B"
ip -n "$LAB_NS" link set "$PEER_B" up

PF=$LAB_DIR/postfix
postfix_up "$PF" $DST4 - $DOMAIN alice >/dev/null || { echo "postfix did not start"; exit 1; }
lapi_up "$LAB_DIR/lapi" || exit 1
KEY_A=$(lapi_bouncer gw-a) KEY_B=$(lapi_bouncer gw-b)
PW_A=$(head -c 18 /dev/urandom | base64 | tr -d '/+=') PW_B=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
lapi_machine gw-a "$PW_A" && lapi_machine gw-b "$PW_B" || { echo "cscli machines add failed"; exit 1; }
log "LAPI at $LAPI_URL"

fleet_conf() {	# FILE KEY LOGIN PASSWORD MODE
	cat >"$1" <<CONF
protected_domains = $DOMAIN
crowdsec_url = $LAPI_URL/
crowdsec_api_key = $2
crowdsec_login = $3
crowdsec_password = $4
crowdsec_poll = ${POLL}s
CONF
	chmod "$5" "$1"
}
# A's config as the installer leaves it (root:root 0640); B's readable by
# a group of ordinary users.
fleet_conf "$LAB_DIR/bouncewall.conf" "$KEY_A" gw-a "$PW_A" 640
fleet_conf "$LAB_DIR/b.conf" "$KEY_B" gw-b "$PW_B" 640
chgrp nogroup "$LAB_DIR/b.conf"
MA=$(free_port) MB=$(free_port)
agent_start --metrics 127.0.0.1:$MA || exit 1
BOUNCEWALL_PIN_DIR=$PIN_B "$BW" run -i "$IF_B" --socket "$SOCK_B" --state-dir "$LAB_DIR/b-state" \
	-c "$LAB_DIR/b.conf" --metrics 127.0.0.1:$MB >>"$LAB_DIR/agent-b.log" 2>&1 &
B_PID=$!
LAB_PIDS+=("$B_PID")
bwa() { bwc "$@"; }
bwb() { "$BW" --socket "$SOCK_B" "$@"; }
b_up() { bwb status >/dev/null 2>&1; }
for _ in $(seq 1 100); do b_up && break; sleep 0.1; done
check "gateway B runs" b_up

metric() {	# PORT NAME{LABELS}: the value, 0 when absent
	curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}
drops() { "$BW" --socket "$1" status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["kernel"]["drop_block"])'; }
# has SOCK CIDR ORIGIN: the agent's block list holds CIDR with ORIGIN
has() { "$BW" --socket "$1" block list --json | grep -q "\"cidr\":\"$2\",\"action\":\"block\",\"origin\":\"$3\""; }
# wait_for SECONDS CMD...: poll CMD every 0.1 s; WAITED is the seconds taken
WAITED=
wait_for() {
	local limit=$1 t0 k; shift
	t0=$(date +%s.%N)
	for k in $(seq 1 $((limit * 10))); do
		if "$@"; then
			WAITED=$(awk -v a="$t0" -v z="$(date +%s.%N)" 'BEGIN { printf "%.2f", z - a }')
			return 0
		fi
		sleep 0.1
	done
	return 1
}
# syns SRC DST N: N SYNs to port 25 from SRC (sent from the sender namespace)
syns() { in_ns hping3 -q -S -p 25 -c "$3" -i u10000 -a "$1" "$2" >/dev/null 2>&1; }
# in_map PIN MAP CIDR: the pinned kernel map holds the prefix
in_map() {
	bpftool map dump pinned "$1/$2" -j 2>/dev/null | /usr/bin/python3 -c '
import ipaddress, json, sys
net = ipaddress.ip_network(sys.argv[1])
for e in json.load(sys.stdin):
    k = bytes(int(b, 16) for b in e["key"])
    plen = int.from_bytes(k[:4], "little")
    if net.version == 4 and len(k) == 8 and ipaddress.ip_address(k[4:8]) == net.network_address and plen == 96 + net.prefixlen:
        sys.exit(0)
    if net.version == 6 and len(k) == 20 and ipaddress.ip_address(k[4:20]) == net.network_address and plen == net.prefixlen:
        sys.exit(0)
sys.exit(1)' "$3"
}
BOUND=$((2 * POLL + 3))	# two polls, and the push's round trip

check "A: fleet client started as bouncer and watcher" \
	grep -q 'fleet url=.* bouncer=yes watcher=yes poll=1s' "$LAB_DIR/agent.log"
check "A: watcher logged in" wait_for 10 grep -q 'fleet watcher logged in' "$LAB_DIR/agent.log"
check "B: watcher logged in" wait_for 10 grep -q 'fleet watcher logged in' "$LAB_DIR/agent-b.log"
check "B warns that its config (0640, group nogroup) shows credentials to that group" \
	grep -q 'config holds crowdsec credentials but is readable by its group' "$LAB_DIR/agent-b.log"
check_not "A (0640, group root) does not warn" grep -q 'config holds crowdsec credentials' "$LAB_DIR/agent.log"

# Nothing blocked yet: B passes SMTP from everyone.
d0=$(drops "$SOCK_B")
syns $LAB_NET4.99 $B4 10
check "B drops nothing before any decision" [ "$(drops "$SOCK_B")" = "$d0" ]

# ---- an operator's block on A reaches B ----
bwa block add $LAB_NET4.61 --ttl 10m --reason "seen abusing" >/dev/null
if wait_for $BOUND has "$SOCK_B" $LAB_NET4.61/32 crowdsec; then
	ok "operator block on A enforced by B in ${WAITED}s (bound ${BOUND}s, poll ${POLL}s)"
else
	not_ok "operator block on A enforced by B within ${BOUND}s"
fi
d0=$(drops "$SOCK_B")
syns $LAB_NET4.61 $B4 10
d1=$(drops "$SOCK_B")
check "B's XDP drops the operator-blocked source's SYNs ($((d1 - d0)) of 10)" [ $((d1 - d0)) -ge 10 ]
check "A keeps its own block as the operator's (its echo from the LAPI is not taken)" \
	has "$LAB_SOCK" $LAB_NET4.61/32 operator
check "A knows the echo as its own push" \
	wait_for 5 grep -q "fleet decision cidr=$LAB_NET4.61/32 .* state=own_push" "$LAB_DIR/agent.log"

# ---- a storm blocked by A's scorer reaches B ----
srcs=()
for n in "${STORM[@]}"; do srcs+=("$LAB_NET4.$n"); done
S1=$LAB_NET4.${STORM[0]}
MTA_TIMEOUT=2 storm "${srcs[@]}" --dst $DST4 --domain $DOMAIN --per-source 200 --rate 3 \
	--concurrency 2 --max-time 20 --out "$LAB_DIR/storm.tsv" >"$LAB_DIR/storm.out" 2>&1 &
storm_pid=$!
if wait_for 25 has "$LAB_SOCK" $S1/32 scorer; then
	ok "A's scorer blocked storm source $S1"
	if wait_for $BOUND has "$SOCK_B" $S1/32 crowdsec; then
		ok "A's scorer block enforced by B ${WAITED}s later (bound ${BOUND}s)"
	else
		not_ok "A's scorer block enforced by B within ${BOUND}s"
	fi
else
	not_ok "A's scorer blocked storm source $S1"
fi
wait $storm_pid
d0=$(drops "$SOCK_B")
syns $S1 $B4 10
d1=$(drops "$SOCK_B")
check "B's XDP drops the storm source's SYNs ($((d1 - d0)) of 10)" [ $((d1 - d0)) -ge 10 ]
check "A pushed the scorer's block as bouncewall/backscatter" \
	grep -q "fleet pushed cidr=$S1/32 ttl=[0-9]*s scenario=bouncewall/backscatter" "$LAB_DIR/agent.log"
check "B pushed nothing it pulled" [ "$(metric $MB bouncewall_crowdsec_pushed_total)" = 0 ]

# ---- cscli's decisions: the allowlist wins ----
bwb allow add $LAB_NET4.72 --comment "our relay" >/dev/null
csc decisions add -i $LAB_NET4.72 -d 10m >/dev/null
check "A enforces cscli's decision" wait_for $BOUND has "$LAB_SOCK" $LAB_NET4.72/32 crowdsec
suppressed() { [ "$(metric $MB bouncewall_crowdsec_decisions_suppressed_total)" -ge 1 ]; }
check "B counts it as suppressed by its allowlist" wait_for $BOUND suppressed
check_not "B does not block it" has "$SOCK_B" $LAB_NET4.72/32 crowdsec

# ---- cscli's decisions: an address, a /24, IPv6, into both kernels ----
csc decisions add -i $LAB_NET4.71 -d 10m >/dev/null
csc decisions add -r $LAB_NET4.0/24 -d 10m >/dev/null
csc decisions add -i $LAB_NET6::73 -d 10m >/dev/null
csc decisions add -r $LAB_NET6:1::/64 -d 10m >/dev/null
cscli_set() {	# SOCK: every one of them is a crowdsec block there
	has "$1" $LAB_NET4.71/32 crowdsec && has "$1" $LAB_NET4.0/24 crowdsec &&
		has "$1" $LAB_NET6::73/128 crowdsec && has "$1" $LAB_NET6:1::/64 crowdsec
}
cscli_maps() {	# PIN: every one of them is in the pinned kernel maps
	in_map "$1" bw_block4 $LAB_NET4.71/32 && in_map "$1" bw_block4 $LAB_NET4.0/24 &&
		in_map "$1" bw_block $LAB_NET6::73/128 && in_map "$1" bw_block $LAB_NET6:1::/64
}
cscli_maps_none() {
	! in_map "$1" bw_block4 $LAB_NET4.71/32 && ! in_map "$1" bw_block4 $LAB_NET4.0/24 &&
		! in_map "$1" bw_block $LAB_NET6::73/128 && ! in_map "$1" bw_block $LAB_NET6:1::/64
}
check "A: cscli's address, /24, IPv6 address and /64 are crowdsec blocks" \
	wait_for $BOUND cscli_set "$LAB_SOCK"
check "B: the same" wait_for $BOUND cscli_set "$SOCK_B"
check "A's kernel maps hold them" cscli_maps "$BOUNCEWALL_PIN_DIR"
check "B's kernel maps hold them" cscli_maps "$PIN_B"
d0=$(drops "$SOCK_B")
syns $LAB_NET4.99 $B4 10
d1=$(drops "$SOCK_B")
check "B's XDP drops a source inside the /24 ($((d1 - d0)) of 10)" [ $((d1 - d0)) -ge 10 ]

csc decisions delete -i $LAB_NET4.71 >/dev/null
csc decisions delete -r $LAB_NET4.0/24 >/dev/null
csc decisions delete -i $LAB_NET6::73 >/dev/null
csc decisions delete -r $LAB_NET6:1::/64 >/dev/null
gone() {
	! has "$1" $LAB_NET4.71/32 crowdsec && ! has "$1" $LAB_NET4.0/24 crowdsec &&
		! has "$1" $LAB_NET6::73/128 crowdsec && ! has "$1" $LAB_NET6:1::/64 crowdsec
}
check "A: cscli decisions delete lifts them" wait_for $BOUND gone "$LAB_SOCK"
check "B: cscli decisions delete lifts them" wait_for $BOUND gone "$SOCK_B"
check "A's kernel maps no longer hold them" cscli_maps_none "$BOUNCEWALL_PIN_DIR"
check "B's kernel maps no longer hold them" cscli_maps_none "$PIN_B"
d0=$(drops "$SOCK_B")
syns $LAB_NET4.99 $B4 10
check "B passes that source again" [ "$(drops "$SOCK_B")" = "$d0" ]

# ---- the LAPI dies mid-run and comes back ----
lapi_stop
bwa block add $LAB_NET4.62 --ttl 10m >/dev/null
bwb block add $LAB_NET4.63 --ttl 10m >/dev/null
errs() { [ "$(metric $1 'bouncewall_crowdsec_errors_total{op="pull"}')" -ge 1 ] &&
	 [ "$(metric $1 'bouncewall_crowdsec_errors_total{op="push"}')" -ge 1 ]; }
check "A counts pull and push errors while the LAPI is down" wait_for 10 errs $MA
check "B counts pull and push errors while the LAPI is down" wait_for 10 errs $MB
d0=$(drops "$SOCK_B")
syns $S1 $B4 10
d1=$(drops "$SOCK_B")
check "B's kernel keeps dropping the fleet's block meanwhile ($((d1 - d0)) of 10)" [ $((d1 - d0)) -ge 10 ]
lapi_start || exit 1
# Retries back off up to ten polls, 10 s at least, +10% jitter: A's push
# and B's pull are each retried within 11 s of the LAPI's return, then B
# takes up to two polls; the rest is slack for a loaded machine.
RECOVER=$((11 + 2 * POLL + 7))
if wait_for $RECOVER has "$SOCK_B" $LAB_NET4.62/32 crowdsec; then
	ok "B enforces what A blocked while the LAPI was down, ${WAITED}s after it returned"
else
	not_ok "B enforces what A blocked while the LAPI was down (within ${RECOVER}s)"
fi
check "A enforces what B blocked while the LAPI was down" \
	wait_for $RECOVER has "$LAB_SOCK" $LAB_NET4.63/32 crowdsec
check "A logs its recovery" grep -q 'fleet pull recovered after errors=' "$LAB_DIR/agent.log"
check "B logs its recovery" grep -q 'fleet pull recovered after errors=' "$LAB_DIR/agent-b.log"
settled() { [ "$(metric $MA bouncewall_crowdsec_push_queue)" = 0 ] &&
	    [ "$(metric $MB bouncewall_crowdsec_push_queue)" = 0 ]; }
check "both push queues drained" wait_for 10 settled

# Nothing twice: one alert per pushed block, one rule per CIDR.
csc alerts list -a -o json >"$LAB_DIR/alerts.json"
/usr/bin/python3 - "$LAB_DIR/alerts.json" >"$LAB_DIR/alerts.txt" <<'PY'
import collections, json, sys
alerts = json.load(open(sys.argv[1])) or []
c = collections.Counter((a["machine_id"], a["source"]["value"]) for a in alerts
                        if a["scenario"].startswith("bouncewall/"))
for (m, v), n in sorted(c.items()):
    print(m, v, n)
PY
log "bouncewall alerts on the LAPI: $(tr '\n' ';' <"$LAB_DIR/alerts.txt")"
check "every bouncewall alert is there exactly once" awk '$3 != 1 { exit 1 }' "$LAB_DIR/alerts.txt"
check "A's pushes: the operator's two blocks and the scorer's (at least $S1)" bash -c \
	"grep -q '^gw-a $LAB_NET4.61 ' '$LAB_DIR/alerts.txt' && grep -q '^gw-a $LAB_NET4.62 ' '$LAB_DIR/alerts.txt' &&
	 grep -q '^gw-a $S1 ' '$LAB_DIR/alerts.txt'"
check "B's push: its operator's block" grep -q "^gw-b $LAB_NET4.63 1" "$LAB_DIR/alerts.txt"
check "A's pushed counter matches its alerts" \
	[ "$(metric $MA bouncewall_crowdsec_pushed_total)" = "$(grep -c '^gw-a ' "$LAB_DIR/alerts.txt")" ]
dupes() { "$BW" --socket "$1" block list --json | grep -o '"cidr":"[^"]*"' | sort | uniq -d | grep -q .; }
check_not "no CIDR listed twice in A's block list" dupes "$LAB_SOCK"
check_not "no CIDR listed twice in B's block list" dupes "$SOCK_B"

# ---- the operator lifts blocks on A: the fleet follows, no one else's decision goes ----
# lapi_has VALUE [SCENARIO]: the LAPI holds an active decision on VALUE (of
# SCENARIO); --all: without it cscli lists only its own and crowdsec's
lapi_has() {
	csc decisions list --all --limit 0 -o json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for a in json.load(sys.stdin) or []:
    for d in a.get("decisions") or []:
        if d["value"] == sys.argv[1] and (len(sys.argv) < 3 or d["scenario"] == sys.argv[2]):
            sys.exit(0)
sys.exit(1)' "$@"
}
check "before: the LAPI holds A's decision on $LAB_NET4.61" lapi_has $LAB_NET4.61 bouncewall/operator
bwa block del $LAB_NET4.61 >/dev/null
check "A's block del deletes its decision from the LAPI" wait_for $BOUND eval '! lapi_has $LAB_NET4.61'
check "... and logs it" grep -q "fleet retracted cidr=$LAB_NET4.61/32 id=[1-9]" "$LAB_DIR/agent.log"
check "B lifts it within two polls" wait_for $BOUND eval '! has "$SOCK_B" $LAB_NET4.61/32 crowdsec'
check_not "A does not take anything back for it" has "$LAB_SOCK" $LAB_NET4.61/32 crowdsec
d0=$(drops "$SOCK_B")
syns $LAB_NET4.61 $B4 10
check "B passes it again" [ "$(drops "$SOCK_B")" = "$d0" ]
# The endpoint serves what the agent last published (once a second).
retracted() { [ "$(metric $MA bouncewall_crowdsec_retracted_total)" = "$1" ]; }
check "A counts the retraction" wait_for 5 retracted 1

# cscli's ban and A's operator block on one address: A retracts only its
# own.  Its decision is shorter than cscli's, so the LAPI never streams it
# back: the id comes from the alert the push created.
csc decisions add -i $LAB_NET4.64 -d 20m -R "manual" >/dev/null
check "B enforces cscli's ban on $LAB_NET4.64" wait_for $BOUND has "$SOCK_B" $LAB_NET4.64/32 crowdsec
bwa block add $LAB_NET4.64 --ttl 10m >/dev/null
check "A's own block of it reaches the LAPI" wait_for $BOUND lapi_has $LAB_NET4.64 bouncewall/operator
bwa block del $LAB_NET4.64 >/dev/null
check "A retracts its decision on $LAB_NET4.64" \
	wait_for $BOUND grep -q "fleet retracted cidr=$LAB_NET4.64/32 id=[1-9]" "$LAB_DIR/agent.log"
check "A counts both retractions" wait_for 5 retracted 2
check "cscli's ban on it is still in the LAPI" lapi_has $LAB_NET4.64
check_not "A's is not" lapi_has $LAB_NET4.64 bouncewall/operator
sleep $((2 * POLL))	# two polls of B: time for a wrong lift to happen
check "B still enforces cscli's ban (the longer decision is the one it holds)" \
	has "$SOCK_B" $LAB_NET4.64/32 crowdsec
csc decisions delete -i $LAB_NET4.64 >/dev/null

curl -s "http://127.0.0.1:$MA/metrics" >"$LAB_DIR/a.metrics"
check "A's metrics show LAPI decisions by origin" \
	grep -Eq '^bouncewall_crowdsec_decisions\{origin="bouncewall"\} [1-9]' "$LAB_DIR/a.metrics"
if promtool check metrics <"$LAB_DIR/a.metrics" >"$LAB_DIR/promtool.log" 2>&1; then
	ok "promtool check metrics: clean"
else
	not_ok "promtool check metrics: clean"; cat "$LAB_DIR/promtool.log"
fi
check_not "no credential in either agent's log" grep -Fq -e "$KEY_A" -e "$KEY_B" -e "$PW_A" -e "$PW_B" \
	"$LAB_DIR/agent.log" "$LAB_DIR/agent-b.log"

lab_summary
