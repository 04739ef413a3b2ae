#!/bin/bash
# demo.sh - `make demo`: a real Postfix under a real backscatter storm, and
# bouncewall stopping it at both levels, in about a minute and a half.
#
# Topology (all on this machine, nothing leaves it): the protected veth and
# the agent in the root namespace with a private Postfix for victim.example
# wired to bouncewall's policy service and BATV socketmap (the README's
# lines); legitimate MTAs, a remote MTA that receives our mail and bounces
# some back, and backscatter MTAs (null sender, RFC 3464 DSNs) in a sender
# namespace.  Two storms at once, as real ones come:
#   - the realistic one: 40 innocent MTAs, a few bounces each, 90% over
#     STARTTLS, half of them to real users (alice was joe-jobbed): refused
#     one by one with 550 5.7.1 at RCPT once the storm is declared; none of
#     these MTAs is blocked;
#   - a few loud sources and a SYN flooder: dropped in XDP within seconds.
# Alice's own mail is signed (BATV) on its way out; its real bounce comes
# home and is delivered.  Phases: calm -> storm -> storm over, blocks
# expire.  Then a summary with what was measured.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/tests/lab/lib.sh"
. "$ROOT/tests/lab/postfix.sh"
. "$ROOT/tests/lab/mta.sh"
trap 'postfix_down_all >/dev/null 2>&1; lab_cleanup >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM

DOMAIN=victim.example
LEGIT=(10 11) REMOTE=40 STORM=(21 22 23 24 25) STORM6=29 FLOODER=30 CALM=8 STORM_S=25 TAIL=45
WIDE=()
for n in $(seq 101 140); do WIDE+=("$n"); done
say() { printf '\033[1m%s\033[0m\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v z="$(now)" 'BEGIN { printf "%.1f", z - a }'; }

say "== bouncewall demo: setting up the lab (veth $LAB_IF, namespace $LAB_NS)"
lab_up "${LEGIT[@]}" $REMOTE "${STORM[@]}" $STORM6 $FLOODER "${WIDE[@]}"
DST4=$LAB_NET4.1 DST6=$LAB_NET6::1
PF=$LAB_DIR/postfix
PPORT=$(free_port $((20040 + LAB_ID * 4)))
SPORT=$(free_port $((PPORT + 1)))
MTA_SINK_DUMP=$LAB_DIR/sink/dump sink_start $LAB_NET4.$REMOTE 25 || exit 1
POSTFIX_RELAYHOST="[$LAB_NET4.$REMOTE]:25" POSTFIX_POLICY=inet:127.0.0.1:$PPORT \
	POSTFIX_SOCKETMAP=inet:127.0.0.1:$SPORT \
	postfix_up "$PF" $DST4 $DST6 $DOMAIN alice bob carol || { echo "demo: Postfix did not start" >&2; exit 1; }
METRICS=127.0.0.1:$(free_port $((19000 + LAB_ID)))
cat >"$LAB_DIR/bouncewall.conf" <<CONF
# the default config, plus the lab's domain, its ports, a BATV key and
# short blocks so they expire before the demo ends (production: block_ttl =
# 10m, block_ttl_max = 24h)
protected_domains = $DOMAIN
policy_listen = 127.0.0.1:$PPORT
socketmap_listen = 127.0.0.1:$SPORT
batv_secret = 1:demo-$LAB_ID
bounce_policy = storm
# No posture lookups: the lab's names are not in any DNS we may ask.
posture_resolver = off
block_ttl = 15s
block_ttl_max = 30s
CONF
agent_start --metrics "$METRICS" || exit 1
say "== Postfix for $DOMAIN on $DST4 and [$DST6] with the policy service and BATV socketmap;"
say "   agent enforcing on $LAB_IF (metrics http://$METRICS/metrics)"

# Legitimate mail for the whole demo: each MTA one message every 1.5 s.
legit_sent=$LAB_DIR/legit.sent
: >"$legit_sent"
for n in "${LEGIT[@]}"; do
	(
		end=$((SECONDS + CALM + STORM_S + 15))
		while [ $SECONDS -lt $end ]; do
			send_legit $LAB_NET4.$n $DST4 alice@$DOMAIN 1 >/dev/null 2>&1
			echo "$n $?" >>"$legit_sent"
			sleep 1.5
		done
	) &
	LAB_PIDS+=("$!")
done

# The live view: every 2 s, the agent's own top and counters.
view() {
	local j
	j=$(bwc status --json 2>/dev/null) || return
	/usr/bin/python3 - "$j" "$1" <<'PY'
import json, sys
s = json.loads(sys.argv[1]); k = s["kernel"]; sm = s.get("sampler", {}); sc = s.get("scorer", {})
p = s.get("policy", {})
print(f"[{sys.argv[2]:>9}] storm={'ACTIVE' if sc.get('storm_active') else 'no':6} "
      f"null/min={sc.get('null_rate_per_min', 0):6.1f}  refused at RCPT={p.get('requests', {}).get('reject', 0):4}  "
      f"blocked={s['rules']['blocked']} throttled={s['rules']['throttled']}  "
      f"xdp drops: block={k['drop_block']} throttle={k['drop_throttle']} ratelimit={k['drop_ratelimit']}")
PY
	bwc top -n 6 2>/dev/null | sed -n '2,7p' | sed 's/^/            /'
}

first_drop_file=$LAB_DIR/first_drop
watch_drops() {	# record when the kernel first drops a storm packet
	local t0=$1 j
	while :; do
		j=$(bwc status --json 2>/dev/null)
		if grep -Eq '"drop_(block|throttle)":[1-9]' <<<"$j"; then
			since "$t0" >"$first_drop_file"
			return
		fi
		sleep 0.1
	done
}

say "== phase 1: calm (${CALM}s): legitimate mail; alice writes to a friend (signed on the way out)"
postfix_send_out "$PF" alice@$DOMAIN friend@remote.example 1 >/dev/null 2>&1
# The sink's dump, not Postfix's log: it is what the remote MTA saw.  The
# bound only catches a hang (a first delivery attempt may be deferred).
tagged=
for ((i = 0; i < 300; i++)); do
	tagged=$(sed -n 's/^X-Mail-Args: .*<\(prvs=[^>]*\)>.*/\1/p' "$LAB_DIR/sink/dump" 2>/dev/null | head -1)
	[ -n "$tagged" ] && break
	sleep 0.1
done
say "   the remote MTA saw her as: ${tagged:-(not signed?)}"
t=$(now)
while [ "$(since "$t" | cut -d. -f1)" -lt $CALM ]; do view calm; sleep 2; done

say "== phase 2: two storms (${STORM_S}s): ${#WIDE[@]} innocent MTAs, a few bounces each, 90% over TLS, half to"
say "   real users; and ${#STORM[@]} loud IPv4 sources, one IPv6, a SYN flooder; legitimate mail still flowing"
storm_srcs=()
for n in "${STORM[@]}"; do storm_srcs+=("$LAB_NET4.$n"); done
wide_srcs=()
for n in "${WIDE[@]}"; do wide_srcs+=("$LAB_NET4.$n"); done
t_storm=$(now)
watch_drops "$t_storm" &
LAB_PIDS+=("$!")
MTA_TIMEOUT=2 storm "${storm_srcs[@]}" $LAB_NET6::$STORM6 --dst $DST4 --dst $DST6 \
	--domain $DOMAIN --per-source 200 --rate 3 --tls-share 10 --concurrency 2 \
	--max-time $STORM_S --out "$LAB_DIR/storm.tsv" >"$LAB_DIR/storm.out" 2>&1 &
storm_pid=$!
LAB_PIDS+=("$storm_pid")
base_alice=$(postfix_delivered "$PF" alice) base_bob=$(postfix_delivered "$PF" bob)
storm "${wide_srcs[@]}" --dst $DST4 --domain $DOMAIN --per-source 4 --rate 0.25 \
	--tls-share 90 --known-share 50 --known alice,bob --concurrency 1 \
	--max-time $STORM_S --out "$LAB_DIR/wide.tsv" >"$LAB_DIR/wide.out" 2>&1 &
LAB_PIDS+=("$!")
# Midway, alice's real bounce comes home (her friend's server refused her mail).
(
	sleep 10
	[ -n "$tagged" ] && send_bounce $LAB_NET4.$REMOTE $DST4 "$tagged" --tls >/dev/null 2>&1
	echo $? >"$LAB_DIR/realbounce.rc"
) &
LAB_PIDS+=("$!")
# A SYN flooder too: 200 SYN/s for 10 s, held by the kernel's syn_rate.
ip netns exec "$LAB_NS" hping3 -q -S -p 25 -a $LAB_NET4.$FLOODER -i u5000 -c 2000 $DST4 \
	>/dev/null 2>&1 &
LAB_PIDS+=("$!")
while kill -0 $storm_pid 2>/dev/null; do view "storm $(since "$t_storm" | cut -d. -f1)s"; sleep 2; done

say "== phase 3: the storm is over; blocks expire on their own (kernel-enforced TTL)"
t=$(now)
while [ "$(since "$t" | cut -d. -f1)" -lt $TAIL ]; do
	view "after $(since "$t" | cut -d. -f1)s"
	[ "$(bwc block list --json | grep -c '"origin":"scorer"')" = 0 ] && break
	sleep 2
done
# Everything the demo started but the remote MTA (it serves until the end).
for p in "${LAB_PIDS[@]}"; do [ "$p" = "$MTA_SINK_PID" ] || wait "$p" 2>/dev/null; done
postfix_wait_delivered "$PF" alice "$(awk '$2 == 0' "$legit_sent" | wc -l)" 20 >/dev/null 2>&1

# ---- summary ---------------------------------------------------------------
legit_total=$(wc -l <"$legit_sent")
# alice's Maildir also holds her real bounce (and storm bounces that came
# before the storm was declared): count the legitimate messages by subject.
legit_delivered=$(grep -l '^Subject: lab legit' "$PF"/mail/$DOMAIN/alice/new/* \
	"$PF"/mail/$DOMAIN/alice/cur/* 2>/dev/null | wc -l)
blocked=$(grep -c 'decision action=block ' "$LAB_DIR/agent.log")
throttled=$(grep -c 'decision action=throttle ' "$LAB_DIR/agent.log")
srcs_blocked=$(grep 'decision action=block ' "$LAB_DIR/agent.log" | grep -o 'source=[^ ]*' | sort -u | wc -l)
srcs_throttled=$(grep 'decision action=throttle ' "$LAB_DIR/agent.log" | grep -o 'source=[^ ]*' | sort -u | wc -l)
attempts=$(wc -l <"$LAB_DIR/storm.tsv")
reached=$(awk -F'\t' '$4 == 0 || $4 == 24' "$LAB_DIR/storm.tsv" | wc -l)
legit_blocked=0
for n in "${LEGIT[@]}"; do grep -q "source=$LAB_NET4.$n/" "$LAB_DIR/agent.log" && legit_blocked=$((legit_blocked + 1)); done
wide_sent=$(wc -l <"$LAB_DIR/wide.tsv")
wide_refused=$(awk -F'\t' '$7 ~ /^550 5\.7\.1/' "$LAB_DIR/wide.tsv" | wc -l)
wide_tls=$(awk -F'\t' '$3 == 1' "$LAB_DIR/wide.tsv" | wc -l)
wide_blocked=0
for n in "${WIDE[@]}"; do grep -q "decision action=[a-z]* source=$LAB_NET4.$n/" "$LAB_DIR/agent.log" && wide_blocked=$((wide_blocked + 1)); done
real_users_hit=$(( $(postfix_delivered "$PF" bob) - base_bob ))
say "== summary"
printf '  the realistic storm: bounces sent               %s from %s MTAs, %s of them over TLS\n' "$wide_sent" "${#WIDE[@]}" "$wide_tls"
printf '    refused at RCPT with 550 5.7.1 (per message) %s\n' "$wide_refused"
printf '    storm bounces delivered to bob (real user)   %s  (before the storm was declared, bounce_policy = storm)\n' "$real_users_hit"
printf '    innocent MTAs throttled or blocked in XDP    %s\n' "$wide_blocked"
printf '  alice'"'"'s real bounce (BATV-tagged) delivered     %s\n' \
	"$( [ "$(cat "$LAB_DIR/realbounce.rc" 2>/dev/null)" = 0 ] && echo yes || echo NO)"
printf '  the loud storm: time from its start to first kernel drop   %s s\n' "$(cat "$first_drop_file" 2>/dev/null || echo '-')"
printf '  storm sources throttled / blocked             %s / %s  (%s throttle and %s block decisions, TTL doubling on repeat)\n' \
	"$srcs_throttled" "$srcs_blocked" "$throttled" "$blocked"
printf '  bounces attempted / reached Postfix           %s / %s  (the rest were dropped in XDP: %s absorbed)\n' \
	"$attempts" "$reached" "$((attempts - reached))"
printf '  SYN flooder: SYNs dropped by the rate limit    %s\n' \
	"$(bwc status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["kernel"]["drop_ratelimit"])')"
printf '  legitimate messages delivered                 %s of %s  (counted in the Maildir)\n' "$legit_delivered" "$legit_total"
printf '  legitimate sources throttled or blocked       %s\n' "$legit_blocked"
printf '  blocks still in force                         %s\n' "$(bwc block list --json | grep -o '"origin":"scorer"' | wc -l)"
say "== metrics snapshot (curl http://$METRICS/metrics)"
curl -s "http://$METRICS/metrics" | grep -E '^bouncewall_(xdp_smtp_syn_total|xdp_dropped_packets_total|smtp_sessions_total|smtp_opaque_sessions_total|decisions_total|storm_active|blocked_prefixes|policy_requests_total|bounces_total|outbound_signed_total)' | sed 's/^/  /'
say "== the lab is torn down on exit; nothing is left behind"
[ "$legit_delivered" = "$legit_total" ] && [ "$wide_blocked" = 0 ]
