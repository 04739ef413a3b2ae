#!/bin/bash
# test_operator.sh - what an operator watches and touches (issue #4).
#
# A real Prometheus (Debian's) scrapes the agent in the lab every second; a
# bounded hping3 SYN flood over syn_rate must move the SYN counter and the
# ratelimit drop counter as Prometheus's own query API sees them, and every
# query of the packaged Grafana dashboard must evaluate there.  A live
# scrape passes `promtool check metrics` and carries no per-address label.
# `threshold set` bites on the next flood (seen through Prometheus);
# SIGHUP and `bouncewall reload` apply a good file at once without losing
# state, refuse a bad one with FILE:LINE and keep the old values, keep
# restart-only keys.  The metrics endpoint shrugs off an idle connection, a
# half-sent request, a 1 MB header and garbage bytes while scrapes and the
# control socket keep answering.  Every wait is bounded; every process is
# ended by PID (lab_cleanup).
. "$(dirname "$0")/lib.sh"
trap lab_cleanup EXIT

PY=/usr/bin/python3
for tool in prometheus promtool curl hping3 ss; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skipped: $tool not installed (scripts/install-deps.sh)"
		exit "$SKIP_EXIT"
	fi
done

FLOOD=10 FLOOD2=11 HOLD=12
lab_up $FLOOD $FLOOD2 $HOLD
DST4=$LAB_NET4.1
CONF=$LAB_DIR/bouncewall.conf

# free_port BASE: the first TCP port from BASE up that nothing listens on.
free_port() {
	local p=$1
	while [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; do p=$((p + 1)); done
	echo "$p"
}
MPORT=$(free_port $((19025 + LAB_ID)))
PPORT=$(free_port $((19600 + LAB_ID)))
[ "$PPORT" = "$MPORT" ] && PPORT=$(free_port $((MPORT + 1)))
METRICS=http://127.0.0.1:$MPORT/metrics
PROM=http://127.0.0.1:$PPORT

spawn $PY "$LAB_ROOT/tests/lab/listener.py" "$DST4" 25
printf '# lab\nsyn_rate = 20\nsyn_burst = 40\n' >"$CONF"
# agent_start passes --metrics off; the later flag wins.
agent_start --metrics "127.0.0.1:$MPORT" || exit 1

scrape() { curl -sS --max-time 2 -o "$1" -w '%{http_code}' "$METRICS"; }
check "--metrics after --metrics off: the agent serves /metrics" [ "$(scrape "$LAB_DIR/s0.txt")" = 200 ]
check "agent logs metrics listen=127.0.0.1:$MPORT" grep -q "metrics listen=127.0.0.1:$MPORT" "$LAB_DIR/agent.log"
check "Content-Type is the Prometheus text format" bash -c \
	"curl -sS --max-time 2 -D - -o /dev/null '$METRICS' | grep -qi '^Content-Type: text/plain; version=0.0.4'"
missing=""
for m in bouncewall_build_info bouncewall_xdp_smtp_syn_total bouncewall_xdp_dropped_packets_total \
	bouncewall_xdp_would_drop_packets_total bouncewall_smtp_sessions_total \
	bouncewall_smtp_opaque_sessions_total bouncewall_smtp_transactions_total \
	bouncewall_smtp_rcpt_rejected_total bouncewall_capture_dropped_packets_total \
	bouncewall_storm_active bouncewall_tracked_sources bouncewall_blocked_prefixes \
	bouncewall_throttled_prefixes bouncewall_decisions_total; do
	grep -q "^# TYPE $m " "$LAB_DIR/s0.txt" || missing="$missing $m"
done
check "live scrape has every SPEC §7 family${missing:+ (missing:$missing)}" [ -z "$missing" ]
for r in block ratelimit throttle; do
	check "dropped_packets_total{reason=\"$r\"} exported" \
		grep -q "^bouncewall_xdp_dropped_packets_total{reason=\"$r\"} " "$LAB_DIR/s0.txt"
done

# --- a real Prometheus ------------------------------------------------------
mkdir -p "$LAB_DIR/prom"
cat >"$LAB_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: bouncewall
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
EOF
spawn prometheus --config.file="$LAB_DIR/prometheus.yml" \
	--storage.tsdb.path="$LAB_DIR/prom" --storage.tsdb.retention.time=1h \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn \
	>>"$LAB_DIR/prometheus.log" 2>&1
PROM_PID=${LAB_PIDS[-1]}

# pq EXPR: the first sample's value of an instant query ("" when none,
# "error: ..." when Prometheus refuses the query).
pq() {
	curl -sS --max-time 3 "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
		$PY -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception as e:
    print("error: no answer"); sys.exit()
if d.get("status") != "success":
    print("error: " + d.get("error", "?")); sys.exit()
r = d["data"]["result"]
print(r[0]["value"][1] if r else "")'
}
# quiet CMD...: CMD's status, its output dropped.
quiet() { "$@" >/dev/null 2>&1; }
# wait_for SECONDS CMD...: poll CMD every 0.5 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.5
	done
}
prom_ready() { curl -sf --max-time 1 "$PROM/-/ready" >/dev/null; }
target_up() { [ "$(pq 'up{job="bouncewall"}')" = 1 ]; }
check "prometheus (pid $PROM_PID) ready on 127.0.0.1:$PPORT" wait_for 30 prom_ready ||
	tail -20 "$LAB_DIR/prometheus.log"
check "prometheus scrapes the agent: up{job=\"bouncewall\"} == 1" wait_for 15 target_up

syn0=$(pq 'bouncewall_xdp_smtp_syn_total{job="bouncewall"}')
drop0=$(pq 'bouncewall_xdp_dropped_packets_total{job="bouncewall",reason="ratelimit"}')
log "before the flood, as Prometheus sees it: smtp_syn_total=$syn0 dropped{ratelimit}=$drop0"
check "Prometheus has the SYN and drop counters" [ -n "$syn0" -a -n "$drop0" ]

# flood SRC COUNT: hping3 SYNs to port 25, bounded; prints the seconds it took.
flood() {
	local t0 t1
	t0=$(date +%s.%N)
	in_ns timeout 30 hping3 -q -S -p 25 -a "$1" -i u2000 -c "$2" "$DST4" >/dev/null 2>&1
	t1=$(date +%s.%N)
	awk -v a="$t0" -v z="$t1" 'BEGIN { printf "%.2f", z - a }'
}
# grown EXPR MIN: Prometheus's value of EXPR is at least MIN.
grown() { local v; v=$(pq "$1"); [ -n "$v" ] && [ "${v#error}" = "$v" ] && awk -v v="$v" -v m="$2" 'BEGIN { exit !(v >= m) }'; }

secs=$(flood "$LAB_NET4.$FLOOD" 300)
log "flood 1: 300 SYNs in ${secs}s at syn_rate=20 syn_burst=40"
check "Prometheus: bouncewall_xdp_smtp_syn_total grew by >= 300" \
	wait_for 10 grown 'bouncewall_xdp_smtp_syn_total{job="bouncewall"}' $((${syn0:-0} + 300))
min_drops=$(awk -v s="$secs" 'BEGIN { printf "%d", 300 - (40 + 20 * (s + 1) + 5) }')
check "Prometheus: dropped_packets_total{reason=\"ratelimit\"} grew by >= $min_drops" \
	wait_for 10 grown 'bouncewall_xdp_dropped_packets_total{job="bouncewall",reason="ratelimit"}' \
	$((${drop0:-0} + min_drops))
check "Prometheus: rate(bouncewall_xdp_smtp_syn_total[30s]) > 0" \
	grown 'rate(bouncewall_xdp_smtp_syn_total{job="bouncewall"}[30s])' 0.001
syn1=$(pq 'bouncewall_xdp_smtp_syn_total{job="bouncewall"}')
drop1=$(pq 'bouncewall_xdp_dropped_packets_total{job="bouncewall",reason="ratelimit"}')
kdrop=$(bwc status --json | grep -o '"drop_ratelimit":[0-9]*' | cut -d: -f2)
log "after flood 1: smtp_syn_total=$syn1 dropped{ratelimit}=$drop1 (status --json: $kdrop)"
check "Prometheus and status --json agree on ratelimit drops" [ "$drop1" = "$kdrop" ]

scrape "$LAB_DIR/s1.txt" >/dev/null
if promtool check metrics <"$LAB_DIR/s1.txt" >"$LAB_DIR/promtool.log" 2>&1; then
	ok "promtool check metrics on a live scrape: clean"
else
	not_ok "promtool check metrics on a live scrape: clean"; cat "$LAB_DIR/promtool.log"
fi
check "no metric carries an address label (per-source detail is top --json's)" \
	bash -c "! grep -v '^#' '$LAB_DIR/s1.txt' | grep -Eq '\{[^}]*(\"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+|\"[0-9a-f]*:[0-9a-f:]*:)'"

# Every query of the packaged dashboard evaluates in this Prometheus.
$PY - "$LAB_ROOT/packaging/grafana-dashboard.json" >"$LAB_DIR/dash-queries" <<'EOF'
import json, sys
out = []
def walk(o):
    if isinstance(o, dict):
        if isinstance(o.get("expr"), str):
            out.append(o["expr"])
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(json.load(open(sys.argv[1])))
for e in out:
    print(e.replace("$__rate_interval", "30s").replace("$instance", ".*"))
EOF
nq=0 nerr=0 ndata=0
while IFS= read -r q; do
	nq=$((nq + 1))
	v=$(pq "$q")
	case $v in
	error*) nerr=$((nerr + 1)); log "dashboard query refused: $q -> $v" ;;
	"") ;;
	*) ndata=$((ndata + 1)) ;;
	esac
done <"$LAB_DIR/dash-queries"
log "dashboard: $nq queries, $ndata returned data, $nerr refused"
check "every dashboard query evaluates in Prometheus ($nq queries)" [ "$nq" -gt 0 -a "$nerr" = 0 ]
has_data() { local v; v=$(pq "$1"); [ -n "$v" ] && [ "${v#error}" = "$v" ]; }
for pat in 'rate(bouncewall_xdp_smtp_syn_total' 'bouncewall_xdp_dropped_packets_total' \
	'max by (instance) (bouncewall_storm_active' 'bouncewall_null_sender_rate_per_minute' 'bouncewall_capture_dropped_packets_total'; do
	q=$(grep -F "$pat" "$LAB_DIR/dash-queries" | head -1)
	check "dashboard panel over ${pat##*(} has data" has_data "$q"
done

# --- threshold set: bites at once, seen through Prometheus ------------------
check "threshold set syn_rate 7" quiet bwc threshold set syn_rate 7
check "threshold set syn_burst 5" quiet bwc threshold set syn_burst 5
check "threshold get syn_rate says 7" [ "$(bwc threshold get syn_rate)" = 7 ]
check "a scrape right after threshold set still answers 200" [ "$(scrape "$LAB_DIR/s2.txt")" = 200 ]
if grep -q '^bouncewall_threshold{' "$LAB_DIR/s2.txt"; then
	check "scrape: bouncewall_threshold{name=\"syn_rate\"} 7" \
		grep -q '^bouncewall_threshold{name="syn_rate"} 7$' "$LAB_DIR/s2.txt"
else
	log "note: no bouncewall_threshold gauge family: the setting itself is not a metric"
fi
secs=$(flood "$LAB_NET4.$FLOOD2" 300)
max_pass=$(awk -v s="$secs" 'BEGIN { printf "%d", 5 + 7 * (s + 1) + 5 }')
log "flood 2: 300 SYNs in ${secs}s at syn_rate=7 syn_burst=5: at most $max_pass may pass"
check "Prometheus: flood 2 dropped >= $((300 - max_pass)) (the new limit bit)" \
	wait_for 10 grown 'bouncewall_xdp_dropped_packets_total{job="bouncewall",reason="ratelimit"}' \
	$((${drop1:-0} + 300 - max_pass))

# --- reload: a good file, SIGHUP ---------------------------------------------
bwc block add 192.0.2.0/24 --reason "before reload" >/dev/null
syn_before=$(curl -s --max-time 2 "$METRICS" | sed -n 's/^bouncewall_xdp_smtp_syn_total //p')
printf '# lab\nsyn_rate = 20\nsyn_burst = 40\nnull_rate = 40\n' >"$CONF"
kill -HUP "$AGENT_PID"
null_is() { [ "$(bwc threshold get null_rate)" = "$1" ]; }
check "SIGHUP with null_rate = 40: threshold get null_rate says 40" wait_for 3 null_is 40
check "SIGHUP: agent logged reloaded config=$CONF" grep -q "reloaded config=$CONF" "$LAB_DIR/agent.log"
check "reload applies the file's live keys (syn_rate back to 20 from the file)" \
	[ "$(bwc threshold get syn_rate)" = 20 ]
check "reload keeps state: the block is still listed" bash -c "'$BW' --socket '$LAB_SOCK' block list | grep -q 192.0.2.0/24"
syn_after=$(curl -s --max-time 2 "$METRICS" | sed -n 's/^bouncewall_xdp_smtp_syn_total //p')
check "reload keeps counters (smtp_syn_total $syn_before -> $syn_after)" \
	[ "${syn_after:-0}" -ge "${syn_before:-1}" ]
check "agent still running after SIGHUP" kill -0 "$AGENT_PID"

# A restart-only key changed in the file: kept, with a warning.
printf '# lab\nsyn_rate = 20\nsyn_burst = 40\nnull_rate = 40\nprefix_v4 = 24\n' >"$CONF"
check "reload with prefix_v4 changed: exit 0" quiet bwc reload
check "restart-only prefix_v4 kept at 32" [ "$(bwc threshold get prefix_v4)" = 32 ]
check "restart-only change logged as kept" grep -q 'reload key=prefix_v4 old=32 new=24' "$LAB_DIR/agent.log"

# --- reload: a bad file --------------------------------------------------------
printf '# lab\nsyn_rate = 20\nsyn_burst = 40\nnull_rate = 55\nsyn_rate = banana\n' >"$CONF"
bwc reload >"$LAB_DIR/reload.out" 2>"$LAB_DIR/reload.err"
rc=$?
check "bouncewall reload with a bad line: exit 2" [ $rc = 2 ]
check "bouncewall reload names $CONF:5 ($(head -c 120 "$LAB_DIR/reload.err"))" \
	grep -q "$CONF:5:" "$LAB_DIR/reload.err"
check "bad reload changes nothing: null_rate still 40" null_is 40
kill -HUP "$AGENT_PID"
sleep 1
check "SIGHUP with the bad file: agent alive, logged the refusal" \
	bash -c "kill -0 $AGENT_PID && grep -q 'reload refused.*$CONF:5:' '$LAB_DIR/agent.log'"
check "SIGHUP with the bad file: null_rate still 40" null_is 40
printf '# lab\nsyn_rate = 20\nsyn_burst = 40\nnull_rate = 40\nscore_throttle = 500\n' >"$CONF"
bwc reload >/dev/null 2>"$LAB_DIR/reload2.err"
check "reload breaking a cross-key rule (score_throttle >= score_block): exit 2" [ $? = 2 ]
check "... and score_throttle keeps 50" [ "$(bwc threshold get score_throttle)" = 50 ]
bwc reload --now >/dev/null 2>&1
check "reload with an unknown option: exit 2" [ $? = 2 ]

# --- the endpoint under abuse ------------------------------------------------
# A helper holding connections open: idle (nothing sent) and half-sent
# (request line only), for HOLD seconds; ended by PID.
cat >"$LAB_DIR/hold.py" <<'EOF'
import socket, sys, time
port, idle, half, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
big = int(sys.argv[5]) if len(sys.argv) > 5 else 0
socks = []
for i in range(idle + half + big):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    if i >= idle + half:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
    elif i >= idle:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
print("holding", len(socks), flush=True)
time.sleep(secs)
EOF
# timed_scrape: seconds a full scrape takes; fails unless 200 within 2 s.
timed_scrape() {
	local out
	out=$(curl -sS --max-time 2 -o /dev/null -w '%{http_code} %{time_total}' "$METRICS" 2>/dev/null) || return 1
	log "scrape: HTTP ${out% *} in ${out#* }s"
	[ "${out% *}" = 200 ]
}
spawn timeout 10 $PY "$LAB_DIR/hold.py" "$MPORT" 1 1 8 >/dev/null
HOLD_PID=${LAB_PIDS[-1]}
sleep 0.5
check "an idle and a half-sent connection held open: scrape still 200 within 2 s" timed_scrape
check "... and the control socket still answers" quiet bwc status
kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null

# probe NAME: send one kind of abuse, print what came back (status line,
# "closed" or "reset"), bounded to 8 s (past the endpoint's 5 s idle
# timeout, so a connection it reaps counts as closed).
cat >"$LAB_DIR/probe.py" <<'EOF'
import os, socket, sys
port, kind = int(sys.argv[1]), sys.argv[2]
if kind == "huge":
    data = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n"
elif kind == "garbage":
    data = os.urandom(65536)
elif kind == "post":
    data = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"
elif kind == "path":
    data = b"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
s = socket.create_connection(("127.0.0.1", port), timeout=8)
s.settimeout(8)
try:
    s.sendall(data)
except (BrokenPipeError, ConnectionResetError):
    pass
try:
    got = s.recv(200)
    print(got.split(b"\r\n")[0].decode("latin-1") if got else "closed")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
EOF
probe() { timeout 12 $PY "$LAB_DIR/probe.py" "$MPORT" "$1" 2>&1; }
refused() { case $1 in "HTTP/1."[01]" 4"[0-9][0-9]*|closed|reset) return 0 ;; *) return 1 ;; esac; }

r=$(probe huge)
log "1 MB header -> $r"
check "a 1 MB header: 4xx or connection closed ($r)" refused "$r"
check "after the 1 MB header: scrape 200 within 2 s" timed_scrape
r=$(probe garbage)
log "64 KiB of random bytes -> $r"
check "garbage bytes: 4xx or connection closed ($r)" refused "$r"
check "after garbage: scrape 200 within 2 s" timed_scrape
r=$(probe post)
check "POST /metrics: 405 ($r)" [ "${r#HTTP/1.1 405}" != "$r" ]
r=$(probe path)
check "GET of another path: 404 ($r)" [ "${r#HTTP/1.1 404}" != "$r" ]
# As many oversized-header connections as the per-address limit (8),
# held open: the endpoint must answer or reap them, not keep the slots.
spawn timeout 15 $PY "$LAB_DIR/hold.py" "$MPORT" 0 0 12 8 >/dev/null
HOLD_PID=${LAB_PIDS[-1]}
sleep 0.5
scrape_ok() { [ "$(curl -s --max-time 1 -o /dev/null -w '%{http_code}' "$METRICS")" = 200 ]; }
t0=$SECONDS
check "8 held connections with 64 KiB headers: a scrape succeeds again within 7 s" wait_for 7 scrape_ok
log "scrape back after $((SECONDS - t0))s with 8 oversized-header connections held"
kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null
check "agent alive after the abuse" kill -0 "$AGENT_PID"
check "control socket answers after the abuse" quiet bwc status
check "Prometheus still scrapes the agent (up == 1)" wait_for 5 target_up

# Measured, not asserted: with as many idle connections as the per-address
# limit (8, user/metrics.c), a scrape from the same address waits for the
# idle timeout (5 s) to free a slot.
spawn timeout 10 $PY "$LAB_DIR/hold.py" "$MPORT" 8 0 7 >"$LAB_DIR/hold.out" 2>&1
HOLD_PID=${LAB_PIDS[-1]}
sleep 0.5
log "idle holder: $(head -c 100 "$LAB_DIR/hold.out")"
t0=$(date +%s.%N)
code=$(curl -sS --max-time 8 -o /dev/null -w '%{http_code}' "$METRICS" 2>/dev/null)
t1=$(date +%s.%N)
log "with 8 idle connections from 127.0.0.1: scrape HTTP ${code:-none} after $(awk -v a="$t0" -v z="$t1" 'BEGIN{printf "%.1f", z-a}')s"
kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null

check "prometheus (pid $PROM_PID) still running, ends by PID at cleanup" kill -0 "$PROM_PID"
lab_summary
