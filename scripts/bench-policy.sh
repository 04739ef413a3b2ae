#!/bin/bash
# bench-policy.sh - the policy service's answer time beside the policy
# servers operators run today, same requests, same machine, one after
# another: bouncewall's policy service, postfwd (postfwd2, a ruleset with
# the same bounce rule) and postgrey (greylisting, its default setup).
#
# For each server: 50 connections (Postfix's smtpd processes), open-loop
# load at 1k, 5k and 20k requests/s for BENCH_SECONDS (default 5), then a
# ladder of rates to find the highest one each sustains with p99 <= 1 ms
# (and <= 10 ms, for servers that never get under 1 ms).  Requests: RCPT
# requests, two thirds bounces to a protected domain, three quarters over
# TLS, 64 client addresses (scripts/bench-policy-load.c).
#
# Usage: scripts/bench-policy.sh [JSON_FILE]    (root; default build/bench.jsonl)
# Prints a table and appends one JSON object per measurement.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
json=${1:-$ROOT/build/bench.jsonl}
SECS=${BENCH_SECONDS:-5}
CONNS=50
export LAB_ID=${LAB_ID:-245}
. "$ROOT/tests/lab/lib.sh"
LOAD=$ROOT/build/bench/bench-policy-load
WORK=$LAB_DIR
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	[ -f "$WORK/postfwd.pid" ] && kill -TERM "$(cat "$WORK/postfwd.pid")" 2>/dev/null
	lab_cleanup
}
trap cleanup EXIT

mkdir -p "$ROOT/build/bench"
gcc -O2 -Wall -Wextra -o "$LOAD" scripts/bench-policy-load.c || exit 1
for t in postfwd2 postgrey; do
	command -v $t >/dev/null || { echo "bench-policy: $t not installed (scripts/install-deps.sh)"; exit 1; }
done

wait_port() {
	local k
	for k in $(seq 1 100); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

BW_PORT=$(free_port 21040)
PF_PORT=$(free_port $((BW_PORT + 1)))
PG_PORT=$(free_port $((PF_PORT + 1)))

lab_up 10
cat >"$LAB_DIR/bouncewall.conf" <<EOF
protected_domains = victim.example
policy_listen = 127.0.0.1:$BW_PORT
socketmap_listen = off
bounce_policy = always
EOF
agent_start || { echo "bench-policy: agent did not start"; exit 1; }
postfwd2 -d --nodns -i 127.0.0.1 -p "$PF_PORT" --pidfile "$WORK/postfwd.pid" -u nobody -g nogroup \
	--rule 'sender=~^$; recipient=~@victim\.example$; action=REJECT bounce refused' \
	--rule 'action=DUNNO' >"$WORK/postfwd.log" 2>&1
mkdir -p "$WORK/postgrey"
chown postgrey "$WORK/postgrey"
chmod o+x "$WORK"
postgrey --inet=127.0.0.1:"$PG_PORT" --dbdir="$WORK/postgrey" >"$WORK/postgrey.log" 2>&1 &
PIDS+=("$!")
for p in $BW_PORT $PF_PORT $PG_PORT; do
	wait_port "$p" || { echo "bench-policy: nothing listens on $p"; exit 1; }
done

# run SERVER PORT RATE: one load; prints its JSON.
run() { "$LOAD" 127.0.0.1 "$2" "$CONNS" "$3" "$SECS"; }
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
emit() {	# NAME VALUE UNIT BASELINE BASELINE_VALUE
	/usr/bin/python3 - "$json" "$@" <<'PY'
import json, sys
f, name, value, unit, base, bval = sys.argv[1:7]
rec = {"name": name, "value": float(value), "unit": unit}
if base:
    rec.update(baseline=base, baseline_value=float(bval),
               ratio=(float(value) / float(bval)) if float(bval) else None)
open(f, "a").write(json.dumps(rec) + "\n")
PY
}

declare -A P50 P99 ACH
printf '%-10s %8s %10s %10s %10s\n' server rate achieved p50_us p99_us
for srv in bouncewall postfwd postgrey; do
	case $srv in bouncewall) port=$BW_PORT ;; postfwd) port=$PF_PORT ;; postgrey) port=$PG_PORT ;; esac
	for rate in 1000 5000 20000; do
		out=$(run $srv "$port" $rate)
		ACH[$srv,$rate]=$(field "$out" achieved)
		P50[$srv,$rate]=$(field "$out" p50_us)
		P99[$srv,$rate]=$(field "$out" p99_us)
		printf '%-10s %8s %10s %10s %10s\n' $srv $rate "${ACH[$srv,$rate]}" \
			"${P50[$srv,$rate]}" "${P99[$srv,$rate]}"
	done
done
for srv in bouncewall postfwd postgrey; do
	for rate in 1000 5000 20000; do
		emit "policy.p50_us.$srv.$rate" "${P50[$srv,$rate]}" us "" ""
		emit "policy.p99_us.$srv.$rate" "${P99[$srv,$rate]}" us "" ""
		emit "policy.achieved_rps.$srv.$rate" "${ACH[$srv,$rate]}" req/s "" ""
	done
done

# sustained SERVER PORT BOUND_US: the highest rate of the ladder answered
# in full with p99 under BOUND_US (0 when none).
sustained() {
	local best=0 rate out a p
	for rate in 100 200 500 1000 2000 5000 10000 20000 40000 80000; do
		out=$(run "$1" "$2" $rate)
		a=$(field "$out" achieved)
		p=$(field "$out" p99_us)
		awk -v a="$a" -v r=$rate -v p="$p" -v b="$3" 'BEGIN { exit !(a >= 0.95 * r && p <= b) }' || break
		best=$rate
	done
	echo $best
}
for bound in 1000 10000; do
	bw=$(sustained bouncewall $BW_PORT $bound)
	pf=$(sustained postfwd $PF_PORT $bound)
	pg=$(sustained postgrey $PG_PORT $bound)
	echo "sustained with p99 <= $((bound / 1000)) ms: bouncewall $bw/s, postfwd $pf/s, postgrey $pg/s"
	emit "policy.sustained_rps.bouncewall.p99_$((bound / 1000))ms" "$bw" req/s postfwd "$pf"
	emit "policy.sustained_rps.postfwd.p99_$((bound / 1000))ms" "$pf" req/s "" ""
	emit "policy.sustained_rps.postgrey.p99_$((bound / 1000))ms" "$pg" req/s "" ""
done
