#!/bin/bash
# bench-mta.sh - what a storm costs the MTA, with bouncewall and without:
# a real Postfix in the lab, legitimate mail timed from its SMTP session to
# its Maildir file (scripts/bench-mta-probe.py), and Postfix's own CPU time
# (every process of the instance, from /proc) while a storm runs.
#
# Four phases, the same probe and the same storm each time:
#   calm, plain        Postfix alone, no storm
#   storm, plain       Postfix alone (no bouncewall lines, no agent)
#   calm, bouncewall   Postfix with the policy service and socketmap lines,
#                      the agent enforcing
#   storm, bouncewall  the same, under the storm
# The storm: STORM_SOURCES innocent MTAs (default 150) bouncing to random
# and real users, 90% over TLS, plus 5 loud cleartext sources; the probe:
# PROBES legitimate messages (default 100), one every 0.1 s, all inside the
# storm.
#
# The storm comes from other machines in real life: here its generator runs
# on the last CPU and Postfix, the agent and the probe on the others, so the
# phases compare what the storm costs the MTA, not what generating it costs
# the machine (on one CPU they share it, and the run says so).
#
# Target: legitimate delivery latency during the storm within 10% of calm,
# with bouncewall.  Usage: scripts/bench-mta.sh [JSON_FILE]   (root)
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
json=${1:-$ROOT/build/bench.jsonl}
export LAB_ID=${LAB_ID:-246}
. "$ROOT/tests/lab/lib.sh"
. "$ROOT/tests/lab/postfix.sh"
. "$ROOT/tests/lab/mta.sh"
trap 'postfix_down_all; lab_cleanup' EXIT
PY=/usr/bin/python3
NSRC=${STORM_SOURCES:-150}
PROBES=${PROBES:-100}
DOMAIN=victim.example
LEGIT=10 LOUD=(21 22 23 24 25)
storm_hosts=()
for ((k = 0; k < NSRC; k++)); do storm_hosts+=($((30 + k))); done
lab_up $LEGIT "${LOUD[@]}" "${storm_hosts[@]}"
DST4=$LAB_NET4.1 DST6=$LAB_NET6::1
PF=$LAB_DIR/postfix
PPORT=$(free_port 21140)
SPORT=$(free_port $((PPORT + 1)))

# CPU seconds of every process of the Postfix instance, so far.
pf_cpu() {
	local p t=0 hz
	hz=$(getconf CLK_TCK)
	for p in $(_pf_instance_pids "$PF"); do
		t=$((t + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	awk -v t=$t -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }'
}

NCPU=$(nproc)
if [ "$NCPU" -ge 2 ]; then
	MTA_CPUS=0-$((NCPU - 2)) GEN_CPU=$((NCPU - 1))
	taskset -pc "$MTA_CPUS" $$ >/dev/null
	echo "cpus: Postfix, agent and probe on $MTA_CPUS; storm generator on $GEN_CPU"
else
	GEN_CPU=
	echo "cpus: one CPU: the storm generator shares it with Postfix"
fi

storm_bg() {	# OUT: the storm in the background, PID in STORM_PID
	local srcs=() n
	[ -n "$GEN_CPU" ] && taskset -pc "$GEN_CPU" $BASHPID >/dev/null
	for n in "${storm_hosts[@]}"; do srcs+=("$LAB_NET4.$n"); done
	storm "${srcs[@]}" --dst $DST4 --domain $DOMAIN --per-source 5 --rate 0.5 \
		--tls-share 90 --known-share 30 --known alice,bob --concurrency 1 --max-time 40 \
		--out "$1.tsv" >"$1.out" 2>&1 &
	STORM_PID=$!
	LAB_PIDS+=("$STORM_PID")
	srcs=()
	for n in "${LOUD[@]}"; do srcs+=("$LAB_NET4.$n"); done
	MTA_TIMEOUT=3 storm "${srcs[@]}" --dst $DST4 --domain $DOMAIN --per-source 100 --rate 5 \
		--concurrency 2 --max-time 40 --out "$1.loud.tsv" >"$1.loud.out" 2>&1 &
	LAB_PIDS+=("$!")
	LOUD_PID=$!
}

# phase NAME STORM(0/1): probe (and storm), Postfix CPU over the phase.
phase() {
	local name=$1 c0 c1 t0 t1 out
	[ "$2" = 1 ] && storm_bg "$LAB_DIR/$name"
	[ -n "$GEN_CPU" ] && taskset -pc "$MTA_CPUS" $BASHPID >/dev/null
	sleep 1
	c0=$(pf_cpu)
	t0=$(date +%s.%N)
	out=$(in_ns $PY "$ROOT/scripts/bench-mta-probe.py" $LAB_NET4.$LEGIT $DST4 bob@$DOMAIN \
		"$PF/mail/$DOMAIN/bob" "$PROBES" 0.1)
	c1=$(pf_cpu)
	t1=$(date +%s.%N)
	[ "$2" = 1 ] && wait "$STORM_PID" "$LOUD_PID" 2>/dev/null
	RES[$name]=$out
	CPU[$name]=$(awk -v a="$c0" -v b="$c1" -v s="$t0" -v e="$t1" 'BEGIN { printf "%.1f", 100 * (b - a) / (e - s) }')
	if [ "$2" = 1 ]; then
		SENT[$name]=$(cat "$LAB_DIR/$name.tsv" "$LAB_DIR/$name.loud.tsv" | wc -l)
		REFUSED[$name]=$(awk -F'\t' '$4 == 24' "$LAB_DIR/$name.tsv" "$LAB_DIR/$name.loud.tsv" | wc -l)
	fi
	echo "$name: probe $out; Postfix CPU ${CPU[$name]}%${SENT[$name]:+; storm bounces ${SENT[$name]} (${REFUSED[$name]} refused at RCPT)}"
}
declare -A RES CPU SENT REFUSED

postfix_up "$PF" $DST4 $DST6 $DOMAIN alice bob >/dev/null || { echo "postfix did not start"; exit 1; }
phase calm_plain 0
phase storm_plain 1
postfix_down "$PF"
POSTFIX_POLICY=inet:127.0.0.1:$PPORT POSTFIX_SOCKETMAP=inet:127.0.0.1:$SPORT \
	postfix_up "$PF" $DST4 $DST6 $DOMAIN alice bob >/dev/null || { echo "postfix did not start"; exit 1; }
cat >"$LAB_DIR/bouncewall.conf" <<EOF
protected_domains = $DOMAIN
policy_listen = 127.0.0.1:$PPORT
socketmap_listen = 127.0.0.1:$SPORT
bounce_policy = always
batv_secret = 1:bench-$LAB_ID
EOF
agent_start || { echo "agent did not start"; exit 1; }
phase calm_bw 0
phase storm_bw 1

p50() { pfield "$1" p50_ms; }
pfield() { $PY -c 'import json,sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print(-1 if v is None else v)' "${RES[$1]}" "$2"; }
emit() {
	$PY - "$json" "$@" <<'PYEOF'
import json, sys
f, name, value, unit, base, bval = sys.argv[1:7]
rec = {"name": name, "value": float(value), "unit": unit}
if base:
    rec.update(baseline=base, baseline_value=float(bval), ratio=float(value) / float(bval) if float(bval) else None)
open(f, "a").write(json.dumps(rec) + "\n")
PYEOF
}
for ph in calm_plain storm_plain calm_bw storm_bw; do
	emit "mta.legit_p50_ms.$ph" "$(p50 $ph)" ms "" ""
	emit "mta.legit_p90_ms.$ph" "$(pfield $ph p90_ms)" ms "" ""
	emit "mta.legit_delivered.$ph" "$(pfield $ph delivered)" messages "" ""
	emit "mta.legit_sent.$ph" "$(pfield $ph sent)" messages "" ""
	emit "mta.postfix_cpu_pct.$ph" "${CPU[$ph]}" % "" ""
	if [ -n "${SENT[$ph]:-}" ]; then
		emit "mta.storm_bounces.$ph" "${SENT[$ph]}" bounces "" ""
		emit "mta.storm_refused_at_rcpt.$ph" "${REFUSED[$ph]}" bounces "" ""
	fi
done
ratio=$(awk -v a="$(p50 storm_bw)" -v b="$(p50 calm_bw)" 'BEGIN { printf "%.2f", a / b }')
echo "target: legit delivery during the storm within 10% of calm, with bouncewall: ${ratio}x $(awk -v r="$ratio" 'BEGIN { print (r <= 1.10 ? "met" : "MISSED") }')"
