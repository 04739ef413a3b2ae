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

scrape() { curl -sS --max-time 20 -o "$1" -w '%{http_code}' "$METRICS"; }
check "--metrics after --metrics off: the agent serves /metrics" [ "$(scrape "$LAB_DIR/s0.txt")" = 200 ]
check "agent logs metrics listen=127.0.0.1:$MPORT" grep -q "metrics listen=127.0.0.1:$MPORT" "$LAB_DIR/agent.log"
check "Content-Type is the Prometheus text format" bash -c \
	"curl -sS --max-time 20 -D - -o /dev/null '$METRICS' | grep -qi '^Content-Type: text/plain; version=0.0.4'"
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
	curl -sS --max-time 20 "$PROM/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
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
# num V...: every V is a number (an empty answer or "error: ..." is not).
num() { local v; for v in "$@"; do [[ $v =~ ^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?$ ]] || return 1; done; }
prom_ready() { curl -sf --max-time 1 "$PROM/-/ready" >/dev/null; }
target_up() { [ "$(pq 'up{job="bouncewall"}')" = 1 ]; }
check "prometheus (pid $PROM_PID) ready on 127.0.0.1:$PPORT" wait_for 30 prom_ready ||
	tail -20 "$LAB_DIR/prometheus.log"
check "prometheus scrapes the agent: up{job=\"bouncewall\"} == 1" wait_for 60 target_up

syn0=$(pq 'bouncewall_xdp_smtp_syn_total{job="bouncewall"}')
drop0=$(pq 'bouncewall_xdp_dropped_packets_total{job="bouncewall",reason="ratelimit"}')
log "before the flood, as Prometheus sees it: smtp_syn_total=$syn0 dropped{ratelimit}=$drop0"
check "Prometheus has the SYN and drop counters (numbers: '$syn0' '$drop0')" num "$syn0" "$drop0"

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
	wait_for 60 grown 'bouncewall_xdp_smtp_syn_total{job="bouncewall"}' $((${syn0:-0} + 300))
min_drops=$(awk -v s="$secs" 'BEGIN { printf "%d", 300 - (40 + 20 * (s + 1) + 5) }')
check "Prometheus: dropped_packets_total{reason=\"ratelimit\"} grew by >= $min_drops" \
	wait_for 60 grown 'bouncewall_xdp_dropped_packets_total{job="bouncewall",reason="ratelimit"}' \
	$((${drop0:-0} + min_drops))
check "Prometheus: rate(bouncewall_xdp_smtp_syn_total[30s]) > 0" \
	grown 'rate(bouncewall_xdp_smtp_syn_total{job="bouncewall"}[30s])' 0.001
syn1=$(pq 'bouncewall_xdp_smtp_syn_total{job="bouncewall"}')
drop1=$(pq 'bouncewall_xdp_dropped_packets_total{job="bouncewall",reason="ratelimit"}')
kdrop=$(bwc status --json | grep -o '"drop_ratelimit":[0-9]*' | cut -d: -f2)
log "after flood 1: smtp_syn_total=$syn1 dropped{ratelimit}=$drop1 (status --json: $kdrop)"
check "Prometheus and status --json agree on ratelimit drops ('$drop1' '$kdrop')" \
	bash -c "[[ '$drop1' =~ ^[1-9][0-9]*\$ ]] && [ '$drop1' = '$kdrop' ]"

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
# The scrape right after may still hold the previous second's text: wait
# for the next one.
threshold_gauge_is() {
	curl -sS --max-time 20 "$METRICS" 2>/dev/null | grep -q "^bouncewall_threshold{name=\"$1\"} $2\$"
}
check "scrape: bouncewall_threshold{name=\"syn_rate\"} 7" wait_for 30 threshold_gauge_is syn_rate 7
check "scrape: bouncewall_threshold{name=\"syn_burst\"} 5" threshold_gauge_is syn_burst 5
secs=$(flood "$LAB_NET4.$FLOOD2" 300)
max_pass=$(awk -v s="$secs" 'BEGIN { printf "%d", 5 + 7 * (s + 1) + 5 }')
log "flood 2: 300 SYNs in ${secs}s at syn_rate=7 syn_burst=5: at most $max_pass may pass"
check "Prometheus: flood 2 dropped >= $((300 - max_pass)) (the new limit bit)" \
	wait_for 60 grown 'bouncewall_xdp_dropped_packets_total{job="bouncewall",reason="ratelimit"}' \
	$((${drop1:-0} + 300 - max_pass))

# --- reload: a good file, SIGHUP ---------------------------------------------
bwc block add 192.0.2.0/24 --reason "before reload" >/dev/null
syn_before=$(curl -s --max-time 20 "$METRICS" | sed -n 's/^bouncewall_xdp_smtp_syn_total //p')
printf '# lab\nsyn_rate = 20\nsyn_burst = 40\nnull_rate = 40\n' >"$CONF"
kill -HUP "$AGENT_PID"
null_is() { [ "$(bwc threshold get null_rate)" = "$1" ]; }
check "SIGHUP with null_rate = 40: threshold get null_rate says 40" wait_for 30 null_is 40
check "SIGHUP: agent logged reloaded config=$CONF" grep -q "reloaded config=$CONF" "$LAB_DIR/agent.log"
check "reload applies the file's live keys (syn_rate back to 20 from the file)" \
	[ "$(bwc threshold get syn_rate)" = 20 ]
check "reload keeps state: the block is still listed" bash -c "'$BW' --socket '$LAB_SOCK' block list | grep -q 192.0.2.0/24"
syn_after=$(curl -s --max-time 20 "$METRICS" | sed -n 's/^bouncewall_xdp_smtp_syn_total //p')
check "reload keeps counters (smtp_syn_total $syn_before -> $syn_after)" \
	bash -c "[[ '$syn_before' =~ ^[1-9][0-9]*\$ && '$syn_after' =~ ^[0-9]+\$ ]] && [ '$syn_after' -ge '$syn_before' ]"
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
# Only what the agent logs after the signal counts (bwc reload above may
# have logged the same refusal).
mark=$(wc -l <"$LAB_DIR/agent.log")
logged_since() { tail -n +$((mark + 1)) "$LAB_DIR/agent.log" | grep -q "$1"; }
kill -HUP "$AGENT_PID"
check "SIGHUP with the bad file: agent logged the refusal" \
	wait_for 30 logged_since "reload refused.*$CONF:5:"
check "SIGHUP with the bad file: agent alive" kill -0 "$AGENT_PID"
check "SIGHUP with the bad file: null_rate still 40" null_is 40
printf '# lab\nsyn_rate = 20\nsyn_burst = 40\nnull_rate = 40\nscore_throttle = 500\n' >"$CONF"
bwc reload >/dev/null 2>"$LAB_DIR/reload2.err"
check "reload breaking a cross-key rule (score_throttle >= score_block): exit 2" [ $? = 2 ]
check "... and score_throttle keeps 50" [ "$(bwc threshold get score_throttle)" = 50 ]
bwc reload --now >/dev/null 2>&1
check "reload with an unknown option: exit 2" [ $? = 2 ]

# --- the endpoint under abuse ------------------------------------------------
# A helper holding connections open: idle (nothing sent), half-sent
# (request line only) and oversized (64 KiB of header), for SECS seconds;
# it prints its clients' port numbers once all are connected.  Ended by PID.
cat >"$LAB_DIR/hold.py" <<'EOF'
import socket, sys, time
port, idle, half, secs = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
big = int(sys.argv[5]) if len(sys.argv) > 5 else 0
socks = []
for i in range(idle + half + big):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    if i >= idle + half:
        try:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
        except OSError:
            pass        # answered 431 and closed before all of it was sent
    elif i >= idle:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
print("ports", " ".join(str(s.getsockname()[1]) for s in socks), flush=True)
time.sleep(secs)
EOF
# accepted FILE: the agent has taken every connection hold.py listed in FILE
# out of its listen queue.  A server-side socket still ESTABLISHED and
# owned by no process is waiting in the queue; one owned by the agent was
# accepted; one no longer ESTABLISHED was accepted and closed.
accepted() {
	local p ports line
	ports=$(sed -n 's/^ports //p' "$1" 2>/dev/null)
	[ -n "$ports" ] || return 1
	for p in $ports; do
		line=$(ss -Htnp state established "( sport = :$MPORT and dport = :$p )")
		[ -z "$line" ] || [[ $line == *"pid=$AGENT_PID,"* ]] || return 1
	done
}
# hold NAME SECS IDLE HALF [BIG]: start hold.py, wait until the agent has
# accepted every connection it opened.
hold() {
	local name=$1
	shift
	spawn timeout $(($1 + 10)) $PY "$LAB_DIR/hold.py" "$MPORT" "$2" "$3" "$1" "${@:4}" \
		>"$LAB_DIR/hold-$name.out" 2>&1
	HOLD_PID=$SPAWNED
	wait_for 60 accepted "$LAB_DIR/hold-$name.out"
}
unhold() { kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; }
# scrape_200: one full scrape answers 200.  Its bound (20 s) only catches a
# wedged endpoint; the holders below outlive it, so an endpoint that waited
# on a held connection fails here instead of just being slow.
scrape_200() {
	local out
	out=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code} %{time_total}' "$METRICS" 2>/dev/null)
	log "scrape: HTTP ${out% *} in ${out#* }s"
	[ "${out% *}" = 200 ]
}
check "an idle and a half-sent connection, accepted by the agent" hold idle-half 60 1 1
check "... held open: a scrape still answers 200" scrape_200
check "... and the control socket still answers" quiet bwc status
unhold

# probe NAME: send one kind of abuse, print what came back (status line,
# "closed" or "reset").  Its 30 s bound only catches an endpoint that
# neither answers nor closes (its own request deadline is 3 s).
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
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.settimeout(30)
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
probe() { timeout 40 $PY "$LAB_DIR/probe.py" "$MPORT" "$1" 2>&1; }
refused() { case $1 in "HTTP/1."[01]" 4"[0-9][0-9]*|closed|reset) return 0 ;; *) return 1 ;; esac; }

r=$(probe huge)
log "1 MB header -> $r"
check "a 1 MB header: 4xx or connection closed ($r)" refused "$r"
check "after the 1 MB header: a scrape answers 200" scrape_200
r=$(probe garbage)
log "64 KiB of random bytes -> $r"
check "garbage bytes: 4xx or connection closed ($r)" refused "$r"
check "after garbage: a scrape answers 200" scrape_200
r=$(probe post)
check "POST /metrics: 405 ($r)" [ "${r#HTTP/1.1 405}" != "$r" ]
r=$(probe path)
check "GET of another path: 404 ($r)" [ "${r#HTTP/1.1 404}" != "$r" ]
# Eight oversized-header connections held open (never reading): the
# endpoint must answer or close them, not keep the slots.
check "8 connections with 64 KiB headers, accepted by the agent" hold big 60 0 0 8
check "... held open: a scrape answers 200" scrape_200
unhold
# As many idle connections as the endpoint takes clients (HTTP_CLIENTS_MAX,
# 64): a new client evicts the one waiting longest, so a scrape is served.
check "64 idle connections (the endpoint's client limit), accepted by the agent" hold full 60 64 0
check "... held open: a scrape answers 200" scrape_200
unhold
check "agent alive after the abuse" kill -0 "$AGENT_PID"
check "control socket answers after the abuse" quiet bwc status
check "Prometheus still scrapes the agent (up == 1)" wait_for 30 target_up

check "prometheus (pid $PROM_PID) still running, ends by PID at cleanup" kill -0 "$PROM_PID"
lab_summary
