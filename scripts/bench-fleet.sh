#!/bin/bash
# bench-fleet.sh - the fleet client against a real CrowdSec LAPI (Debian's
# crowdsec 1.4, offline, private to this run):
#
#  1. startup: N decisions (10k, 100k) waiting in the LAPI; the time from
#     the agent's first pull to the last of them in the kernel's maps, as
#     decisions/s.  Beside it, on the same LAPI and the same decisions:
#     crowdsec-firewall-bouncer (Debian 12 ships 0.0.25: its nftables mode,
#     run in the lab namespace) from its start to its "N decisions added",
#     and `nft -f` loading the same addresses into a set with timeouts (no
#     LAPI at all: what nftables itself costs).  While the agent loads,
#     its metrics endpoint is scraped every 5 ms: the slowest answer is how
#     long the event loop was held.
#  2. propagation: an operator's block on gateway A until gateway B has it
#     in its kernel maps, at crowdsec_poll 1 s and 10 s (both agents' log
#     timestamps, one clock; B logs a decision right after its map write).
#
# Usage: scripts/bench-fleet.sh [JSON_FILE]        (default build/bench.jsonl)
#   SIZES="10000 100000"  startup sizes
#   TRIALS=6              propagation trials per poll interval
#   POLLS="1 10"          crowdsec_poll values for the propagation runs
#   FWB_WAIT=400          seconds to wait for the firewall bouncer
#   LAB_ID=N              lab number (default 243; the lab tests use 20..219)
#
# Prints a table and appends JSON lines {name, value, unit, baseline,
# baseline_value, ratio, ...} to JSON_FILE.  Exits 0 once measured.
set -u
json=${1:-}
case $json in '' | /*) ;; *) json=$PWD/$json ;; esac
cd "$(dirname "$0")/.." || exit 1
json=${json:-$PWD/build/bench.jsonl}
SIZES=${SIZES:-10000 100000}
TRIALS=${TRIALS:-6}
POLLS=${POLLS:-1 10}
FWB_WAIT=${FWB_WAIT:-400}
export LAB_ID=${LAB_ID:-243}

mkdir -p "$(dirname "$json")" || exit 1
[ "$(id -u)" = 0 ] || { echo "bench-fleet: needs root" >&2; exit 1; }
for t in crowdsec cscli crowdsec-firewall-bouncer nft curl /usr/bin/python3; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "bench-fleet: $t missing (scripts/install-deps.sh)" >&2; exit 1; }
done

. tests/lab/lib.sh
[ -x "$BW" ] || { echo "bench-fleet: $BW not built (make)" >&2; exit 1; }
IF_B=bwl${LAB_ID}c
PEER_B=bwl${LAB_ID}d
PIN_B=$BOUNCEWALL_PIN_DIR-b
trap 'lab_cleanup; ip link del "$IF_B" 2>/dev/null; rm -rf "$PIN_B"' EXIT
lab_up 10
# The LAPI on the lab interface's address: the firewall bouncer in the
# namespace reaches it there, the agents in the root namespace too.
LAPI_HOST=$LAB_NET4.1
. tests/lab/crowdsec.sh
results=$LAB_DIR/results.tsv
: >"$results"
row() { printf '%s\t%s\t%s\n' "$@" >>"$results"; }	# name value extra-json

now_s() { date +%s.%N; }
since() { awk -v a="$1" -v z="$(now_s)" 'BEGIN { printf "%.3f", z - a }'; }

# ---- 1. startup ----

decisions_csv() {	# N FILE: N addresses, 2 h each
	/usr/bin/python3 - "$1" >"$2" <<'PY'
import sys
n = int(sys.argv[1])
print("value,duration,reason")
for i in range(n):
    print("10.%d.%d.%d,2h,bench" % (100 + (i >> 16), (i >> 8) & 255, i & 255))
PY
}

# The metrics endpoint's answer times until STOP exists: max and median ms.
probe() {	# URL STOP OUT
	/usr/bin/python3 - "$@" <<'PY' &
import os, statistics, sys, time, urllib.request
url, stop, out = sys.argv[1:]
lat = []
while not os.path.exists(stop):
    t = time.monotonic()
    try:
        urllib.request.urlopen(url, timeout=10).read()
        lat.append((time.monotonic() - t) * 1000)
    except OSError:
        pass
    time.sleep(0.005)
lat.sort()
p99 = lat[int(len(lat) * 0.99)] if lat else 0
with open(out, "w") as f:
    f.write("%.1f %.1f %.1f %d %d\n" % (lat[-1] if lat else 0, statistics.median(lat) if lat else 0,
                                       p99, len(lat), sum(1 for v in lat if v > 20)))
PY
	PROBE_PID=$!
}

startup_bouncewall() {	# N KEY
	local n=$1 key=$2 mport line ms applied stall median p99 scrapes slow hwm blocked pid
	mport=$(free_port)
	rm -rf "$LAB_DIR/state"
	cat >"$LAB_DIR/bouncewall.conf" <<CONF
crowdsec_url = $LAPI_URL
crowdsec_api_key = $key
crowdsec_poll = 60s
CONF
	chmod 600 "$LAB_DIR/bouncewall.conf"
	: >"$LAB_DIR/agent.log"
	# The probe knocks until the endpoint opens, then times every answer.
	rm -f "$LAB_DIR/probe.stop"
	probe "http://127.0.0.1:$mport/metrics" "$LAB_DIR/probe.stop" "$LAB_DIR/probe.out"
	agent_start --metrics 127.0.0.1:$mport || { touch "$LAB_DIR/probe.stop"; return 1; }
	for _ in $(seq 1 1200); do
		grep -q 'fleet pull full=yes' "$LAB_DIR/agent.log" && break
		sleep 0.1
	done
	touch "$LAB_DIR/probe.stop"
	wait "$PROBE_PID"
	line=$(grep -m1 'fleet pull full=yes' "$LAB_DIR/agent.log")
	ms=$(sed -n 's/.* ms=\([0-9]*\) .*/\1/p' <<<"$line")
	applied=$(sed -n 's/.* applied=\([0-9]*\) .*/\1/p' <<<"$line")
	read -r stall median p99 scrapes slow <"$LAB_DIR/probe.out" || stall=0 median=0 p99=0 scrapes=0 slow=0
	pid=$AGENT_PID
	hwm=$(awk '/^VmHWM/ {print $2}' /proc/$pid/status)
	blocked=$(bwc status --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["rules"]["blocked"])')
	agent_stop
	if [ -z "$ms" ] || [ "$applied" != "$n" ] || [ "$blocked" != "$n" ]; then
		log "bouncewall: pull of $n: ms=${ms:-?} applied=${applied:-?} blocked=$blocked"
		return 1
	fi
	[ "$ms" -gt 0 ] || ms=1
	BW_MS=$ms
	row "fleet.bouncewall.startup_ms.$n" "$ms" "{\"stall_max_ms\": $stall, \"scrape_median_ms\": $median, \"scrape_p99_ms\": $p99, \"scrapes\": $scrapes, \"scrapes_over_20ms\": $slow, \"peak_rss_kib\": $hwm}"
	log "bouncewall: $n decisions in the kernel ${ms} ms after its first pull; metrics answers meanwhile: slowest ${stall} ms, p99 $p99 ms, median $median ms, $slow of $scrapes over 20 ms; peak RSS $hwm KiB"
}

startup_fwb() {	# N KEY
	local n=$1 key=$2 dir=$LAB_DIR/fwb-$1 t0 secs pid count
	mkdir -p "$dir"
	cat >"$dir/fwb.yaml" <<CONF
mode: nftables
pid_dir: $dir/
update_frequency: 60s
daemonize: false
log_mode: file
log_dir: $dir/
log_level: info
api_url: $LAPI_URL/
api_key: $key
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: bwbench-fwb
    chain: crowdsec-chain
  ipv6:
    enabled: true
    set-only: false
    table: bwbench-fwb6
    chain: crowdsec6-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
CONF
	t0=$(now_s)
	in_ns crowdsec-firewall-bouncer -c "$dir/fwb.yaml" >"$dir/out.log" 2>&1 &
	pid=$!
	LAB_PIDS+=("$pid")
	secs=
	for _ in $(seq 1 $((FWB_WAIT * 20))); do
		if grep -q "$n decisions added" "$dir/crowdsec-firewall-bouncer.log" 2>/dev/null; then
			secs=$(since "$t0")
			break
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	count=$(in_ns nft -j list set ip bwbench-fwb crowdsec-blacklists 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys
d = json.load(sys.stdin)["nftables"]
print(sum(len(o["set"].get("elem", [])) for o in d if "set" in o))' 2>/dev/null)
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	in_ns nft delete table ip bwbench-fwb 2>/dev/null
	in_ns nft delete table ip6 bwbench-fwb6 2>/dev/null
	if [ -z "$secs" ]; then
		log "crowdsec-firewall-bouncer: not done with $n decisions after ${FWB_WAIT}s (set holds ${count:-?})"
		FWB_MS=
		return 0
	fi
	FWB_MS=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 }')
	row "fleet.fwb.startup_ms.$n" "$FWB_MS" "{\"set_elements\": ${count:-null}}"
	log "crowdsec-firewall-bouncer 0.0.25 (nftables): $n decisions added ${FWB_MS} ms after its start (set holds ${count:-?})"
}

startup_nft() {	# N CSV
	local n=$1 f=$LAB_DIR/nft-$1.nft t0 secs
	/usr/bin/python3 - "$2" >"$f" <<'PY'
import sys
rows = [l.split(",")[0] for l in open(sys.argv[1]).read().split("\n")[1:] if l]
print("table ip bwbench-nft {\n set s {\n  type ipv4_addr\n  flags timeout\n  elements = {")
print(",\n".join("   %s timeout 2h" % r for r in rows))
print("  }\n }\n}")
PY
	t0=$(now_s)
	in_ns nft -f "$f" || { log "nft -f failed"; return 1; }
	secs=$(since "$t0")
	in_ns nft delete table ip bwbench-nft
	NFT_MS=$(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 }')
	[ "$NFT_MS" -gt 0 ] || NFT_MS=1
	row "fleet.nft_file.startup_ms.$n" "$NFT_MS" "{}"
	log "nft -f: the same $n addresses into a set in ${NFT_MS} ms"
}

for n in $SIZES; do
	log "== startup with $n decisions"
	lapi_up "$LAB_DIR/lapi-$n" || exit 1
	decisions_csv "$n" "$LAB_DIR/d-$n.csv"
	t0=$(now_s)
	csc decisions import -i "$LAB_DIR/d-$n.csv" >/dev/null 2>&1 || { log "cscli import failed"; exit 1; }
	log "cscli imported $n decisions in $(since "$t0") s"
	k=$(lapi_bouncer "curl-$n")
	dl=$(curl -s -o /dev/null -w '%{time_total}' -H "X-Api-Key: $k" "$LAPI_URL/v1/decisions/stream?startup=true")
	DL_MS=$(awk -v s="$dl" 'BEGIN { printf "%d", s * 1000 }')
	row "fleet.lapi_stream_download_ms.$n" "$DL_MS" "{}"
	log "curl downloads the startup stream in $DL_MS ms"
	startup_bouncewall "$n" "$(lapi_bouncer "bw-$n")" || exit 1
	startup_fwb "$n" "$(lapi_bouncer "fwb-$n")"
	startup_nft "$n" "$LAB_DIR/d-$n.csv" || exit 1
	lapi_stop
done

# ---- 2. propagation: block on A, in B's kernel ----

ip link add "$IF_B" type veth peer name "$PEER_B"
ip link set "$PEER_B" netns "$LAB_NS"
ip addr add "$LAB_NET4.129/25" dev "$IF_B"
ip link set "$IF_B" up
ip -n "$LAB_NS" link set "$PEER_B" up

log_ms() {	# LOGFILE PATTERN: the first matching line's timestamp, unix ms
	grep -m1 -- "$2" "$1" | awk '{print $1}' | /usr/bin/python3 -c '
import datetime, sys
t = sys.stdin.read().strip()
if t:
    d = datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    print(int(d.timestamp() * 1000))'
}

for poll in $POLLS; do
	log "== propagation at crowdsec_poll ${poll}s"
	lapi_up "$LAB_DIR/lapi-prop-$poll" || exit 1
	pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
	lapi_machine gw-a "$pw" || exit 1
	rm -rf "$LAB_DIR/state" "$LAB_DIR/b-state"
	cat >"$LAB_DIR/bouncewall.conf" <<CONF
crowdsec_url = $LAPI_URL
crowdsec_login = gw-a
crowdsec_password = $pw
crowdsec_poll = ${poll}s
CONF
	cat >"$LAB_DIR/b.conf" <<CONF
crowdsec_url = $LAPI_URL
crowdsec_api_key = $(lapi_bouncer gw-b)
crowdsec_poll = ${poll}s
CONF
	chmod 600 "$LAB_DIR/bouncewall.conf" "$LAB_DIR/b.conf"
	: >"$LAB_DIR/agent.log"
	: >"$LAB_DIR/agent-b.log"
	agent_start || exit 1
	BOUNCEWALL_PIN_DIR=$PIN_B "$BW" run -i "$IF_B" --socket "$LAB_DIR/b.sock" \
		--state-dir "$LAB_DIR/b-state" -c "$LAB_DIR/b.conf" --metrics off \
		>>"$LAB_DIR/agent-b.log" 2>&1 &
	b_pid=$!
	LAB_PIDS+=("$b_pid")
	for _ in $(seq 1 100); do grep -q 'fleet pull full=yes' "$LAB_DIR/agent-b.log" && break; sleep 0.1; done
	for _ in $(seq 1 100); do grep -q 'fleet watcher logged in' "$LAB_DIR/agent.log" && break; sleep 0.1; done
	lat=()
	for k in $(seq 1 "$TRIALS"); do
		ip4=$LAB_NET4.$((160 + k))
		bwc block add "$ip4" --ttl 10m >/dev/null
		for _ in $(seq 1 $((poll * 40 + 100))); do
			grep -q "fleet decision cidr=$ip4/32 .*state=enforced" "$LAB_DIR/agent-b.log" && break
			sleep 0.05
		done
		a=$(log_ms "$LAB_DIR/agent.log" "block add cidr=$ip4/32")
		b=$(log_ms "$LAB_DIR/agent-b.log" "fleet decision cidr=$ip4/32 .*state=enforced")
		[ -n "$a" ] && [ -n "$b" ] && lat+=($((b - a)))
		# The next trial starts at a random point of B's poll cycle.
		sleep "$(awk -v p="$poll" -v r=$RANDOM 'BEGIN { printf "%.2f", p * r / 32768 }')"
	done
	kill -TERM "$b_pid"; wait "$b_pid" 2>/dev/null
	agent_stop
	lapi_stop
	log "poll ${poll}s: block on A -> in B's kernel, ms: ${lat[*]:-none}"
	[ ${#lat[@]} -gt 0 ] && row "fleet.propagation_ms.poll_${poll}s" \
		"$(printf '%s\n' "${lat[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
		"{\"per_trial\": [$(IFS=,; echo "${lat[*]}")], \"poll_ms\": $((poll * 1000))}"
done

# ---- the table and the JSON lines ----
/usr/bin/python3 - "$results" "$json" <<'PY'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    name, value, extra = line.rstrip("\n").split("\t")
    rows[name] = (float(value), json.loads(extra))
out = []

def emit(name, value, unit, base=None, base_value=None, **extra):
    ratio = round(value / base_value, 3) if base_value else None
    o = {"name": name, "value": round(value, 3), "unit": unit, "baseline": base,
         "baseline_value": None if base_value is None else round(base_value, 3), "ratio": ratio}
    o.update(extra)
    out.append(o)

print("\n%-44s %14s %14s %14s" % ("startup: decisions in force", "bouncewall", "fw-bouncer", "nft -f"))
for n in sorted({int(k.rsplit(".", 1)[1]) for k in rows if ".startup_ms." in k}):
    bw = rows.get("fleet.bouncewall.startup_ms.%d" % n)
    fw = rows.get("fleet.fwb.startup_ms.%d" % n)
    nf = rows.get("fleet.nft_file.startup_ms.%d" % n)
    dl = rows.get("fleet.lapi_stream_download_ms.%d" % n)
    rate = lambda r: n / (r[0] / 1000) if r else None
    cell = lambda r: "%10.0f /s" % rate(r) if r else "%14s" % "-"
    print("%-44s %s %s %s" % ("%d decisions, per second" % n, cell(bw), cell(fw), cell(nf)))
    if bw:
        extra = dict(bw[1], startup_ms=bw[0], decisions=n,
                     lapi_stream_download_ms=dl[0] if dl else None)
        emit("fleet.startup_decisions_per_s.%d" % n, rate(bw), "decisions/s",
             "crowdsec-firewall-bouncer 0.0.25 nftables" if fw else None,
             rate(fw) if fw else None, **extra)
        if nf:
            emit("fleet.startup_decisions_per_s_vs_nft.%d" % n, rate(bw), "decisions/s",
                 "nft -f, same set", rate(nf))
        emit("fleet.startup_loop_stall_ms.%d" % n, bw[1]["stall_max_ms"], "ms",
             scrape_median_ms=bw[1]["scrape_median_ms"], scrape_p99_ms=bw[1]["scrape_p99_ms"],
             scrapes=bw[1]["scrapes"], scrapes_over_20ms=bw[1]["scrapes_over_20ms"])
        emit("fleet.startup_peak_rss_kib.%d" % n, bw[1]["peak_rss_kib"], "KiB")
        print("%-44s %11.0f ms   (curl alone downloads the stream in %s ms)" %
              ("  first pull to last map write", bw[0], "%.0f" % dl[0] if dl else "?"))
        print("%-44s %11.1f ms   (p99 %.1f, median %.1f ms; %d of %d over 20 ms)" %
              ("  slowest metrics answer meanwhile", bw[1]["stall_max_ms"],
               bw[1]["scrape_p99_ms"], bw[1]["scrape_median_ms"],
               bw[1]["scrapes_over_20ms"], bw[1]["scrapes"]))
print("\npropagation: operator block on A -> in B's kernel maps")
for k in sorted((k for k in rows if k.startswith("fleet.propagation_ms.")),
               key=lambda k: rows[k][1]["poll_ms"]):
    v, extra = rows[k]
    emit(k.replace("fleet.propagation_ms", "fleet.block_a_to_b_ms.median"), v, "ms",
         "crowdsec_poll", extra["poll_ms"], per_trial=extra["per_trial"])
    print("  %-20s median %6.0f ms, worst %6.0f ms over %d trials" %
          (k.rsplit(".", 1)[1], v, max(extra["per_trial"]), len(extra["per_trial"])))
print("\nnote: the slowest answers during a large load are the state file's saves (all rules"
      " rewritten, ~60-80 ms at 100k, at most once a second while rules change), not the"
      " fleet's batches.")
print("note: nft -f reads a local file: no LAPI, no HTTP, no JSON.")
print("note: crowdsec-firewall-bouncer is in Debian 12 (0.0.25-4~deb12u1, bookworm main);"
      " its nftables mode adds 200 addresses per netlink batch and re-reads the whole set"
      " before each, and it takes no ranges.")
with open(sys.argv[2], "a") as f:
    for o in out:
        f.write(json.dumps(o) + "\n")
PY
