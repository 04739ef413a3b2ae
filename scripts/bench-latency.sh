#!/bin/bash
# bench-latency.sh - detection-to-enforcement latency in the lab (issue #6):
# from the bounce whose processing put a source past a threshold to the
# first packet from that source the kernel dropped, over several storms.
#
# Usage: scripts/bench-latency.sh [JSON_FILE]      (default build/bench.jsonl)
#   STORMS=N       storms, each from a fresh source address (default 7)
#   RATE=R         bounces/s of each storm (default 5)
#   PROBE_US=U     gap between probe packets, microseconds (default 5000)
#   BACKGROUND=N   allowlisted sources storming all along at BG_RATE/s each
#                  (default 0: the agent otherwise idle), to see the latency
#                  under load
#   LAB_ID=N       lab number (default 242; the lab tests use 20..219)
#   BW=PATH        the binary to measure (default build/bouncewall)
#
# The lab: a real Postfix for victim.example on the protected interface
# (root namespace), the agent in enforce mode on it, senders in a
# namespace.  Kernel SYN rate limiting is off (syn_rate = 0), so every drop
# is the scorer's throttle or block.  Each storm, from its own address S:
#   - smtp_storm.py sends null-sender DSN bounces to unknown users at RATE/s;
#   - hping3 sends a SYN to port 25 from S every PROBE_US (a throttle drops
#     SYNs), and a bare ACK from S every PROBE_US (only a block drops those),
#     so the first drop follows the enforcement by about one probe gap (the
#     SYN probe stops 0.3 s after the first decision: the one SYN a second
#     a throttle admits then goes to the storm, whose bounces bring the block);
#   - tcpdump captures S's packets to port 25 on the sender's veth (all that
#     was sent) and on the protected interface (only what XDP passed): a
#     packet on the first and not on the second was dropped by the kernel;
#   - the agent logs each decision with trigger_ts, the capture time of the
#     input that put the source past the threshold.
# All three are stamped by the same kernel clock.  Latency = first drop -
# trigger of the source's first decision (throttle, or block if the score
# jumped straight past both); throttle -> first SYN drop and block -> first
# non-SYN drop are reported too.  A throttle admits one SYN per second, the
# first of them right after it takes effect: its first drop comes up to two
# probe gaps after the enforcement; a block's, up to one.
#
# Prints a table with the 500 ms target (met/MISSED) and appends JSON lines
# {name, value, unit, baseline, baseline_value, ratio, ...} to JSON_FILE.
# Exits 0 once measured, whatever the numbers; 1 when it could not run.
set -u
json=${1:-}
case $json in '' | /*) ;; *) json=$PWD/$json ;; esac
cd "$(dirname "$0")/.." || exit 1
json=${json:-$PWD/build/bench.jsonl}
STORMS=${STORMS:-7}
RATE=${RATE:-5}
PROBE_US=${PROBE_US:-5000}
BACKGROUND=${BACKGROUND:-0}
BG_RATE=${BG_RATE:-10}
TARGET_MS=500
DECIDE_WAIT=${DECIDE_WAIT:-20}	# s for a storm's first decision
BLOCK_WAIT=${BLOCK_WAIT:-10}	# s after it for a block, if it comes
export LAB_ID=${LAB_ID:-242}

mkdir -p "$(dirname "$json")" || exit 1
[ "$(id -u)" = 0 ] || { echo "bench-latency: needs root" >&2; exit 1; }
for t in hping3 tcpdump postfix postconf /usr/bin/python3; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "bench-latency: $t missing (scripts/install-deps.sh)" >&2; exit 1; }
done
if ! [ "$STORMS" -ge 1 ] 2>/dev/null || [ "$STORMS" -gt 90 ]; then
	echo "bench-latency: STORMS must be 1..90" >&2; exit 1
fi
if ! [ "$BACKGROUND" -ge 0 ] 2>/dev/null || [ "$BACKGROUND" -gt 50 ]; then
	echo "bench-latency: BACKGROUND must be 0..50" >&2; exit 1
fi
if ! [ "$RATE" -ge 1 ] 2>/dev/null || ! [ "$PROBE_US" -ge 500 ] 2>/dev/null; then
	echo "bench-latency: RATE must be >= 1, PROBE_US >= 500" >&2; exit 1
fi

. tests/lab/lib.sh
. tests/lab/postfix.sh
. tests/lab/mta.sh
[ -x "$BW" ] || { echo "bench-latency: $BW not built (make)" >&2; exit 1; }
trap 'postfix_down_all >/dev/null 2>&1; lab_cleanup' EXIT

DOMAIN=victim.example
hosts=()
for ((k = 1; k <= STORMS; k++)); do hosts+=($((100 + k))); done
for ((k = 1; k <= BACKGROUND; k++)); do hosts+=($((200 + k))); done
lab_up "${hosts[@]}"
DST4=$LAB_NET4.1
PF=$LAB_DIR/postfix
postfix_up "$PF" "$DST4" "$LAB_NET6::1" $DOMAIN alice >/dev/null ||
	{ echo "bench-latency: postfix did not start" >&2; exit 1; }
cat >"$LAB_DIR/bouncewall.conf" <<CONF
protected_domains = $DOMAIN
# No posture lookups: the lab's names are not in any DNS we may ask.
posture_resolver = off
syn_rate = 0
CONF
# shellcheck disable=SC2119 # no extra run options
agent_start || { echo "bench-latency: agent did not start" >&2; exit 1; }
if [ "$BACKGROUND" -gt 0 ]; then
	bg=()
	for ((k = 1; k <= BACKGROUND; k++)); do
		bg+=("$LAB_NET4.$((200 + k))")
		bwc allow add "${bg[-1]}" --comment "bench-latency background" >/dev/null ||
			{ echo "bench-latency: allow add failed" >&2; exit 1; }
	done
	ip netns exec "$LAB_NS" /usr/bin/python3 tests/lab/smtp_storm.py "${bg[@]}" --dst "$DST4" \
		--domain $DOMAIN --per-source 1000000 --rate "$BG_RATE" --concurrency 4 \
		--max-time 100000 --timeout 3 >"$LAB_DIR/background.out" 2>&1 &
	LAB_PIDS+=("$!")
	sleep 3
fi
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat" 2>/dev/null || echo 0; }
cpu0=$(cpu_ticks)
t_run0=$EPOCHREALTIME

# wait_listening FILE: tcpdump has said "listening on" in FILE.
wait_listening() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q 'listening on' "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

decided() { grep -q "decision action=$1 source=$2/32 " "$LAB_DIR/agent.log"; }

stop_pids() {	# PID...: TERM, wait for each, and forget it (no stale PID is
	local p q keep	# ever signalled later, by us or by lab_cleanup)
	for p in "$@"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
	for p in "$@"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
	keep=()
	for q in "${LAB_PIDS[@]}"; do
		for p in "$@"; do [ "$q" = "$p" ] && continue 2; done
		keep+=("$q")
	done
	LAB_PIDS=("${keep[@]}")
}

results=$LAB_DIR/storms.tsv
: >"$results"
for ((k = 1; k <= STORMS; k++)); do
	S=$LAB_NET4.$((100 + k))
	d=$LAB_DIR/storm-$k
	mkdir -p "$d"
	# Started directly, not through a function: $! is tcpdump or hping3
	# itself (ip netns exec execs), ended by PID.
	ip netns exec "$LAB_NS" tcpdump -i "$LAB_PEER" -n -U --immediate-mode --time-stamp-precision=nano \
		-w "$d/sent.pcap" "src host $S and tcp dst port 25" 2>"$d/sent.err" &
	tsnd=$!
	tcpdump -i "$LAB_IF" -n -U --immediate-mode --time-stamp-precision=nano \
		-w "$d/passed.pcap" "src host $S and tcp dst port 25" 2>"$d/passed.err" &
	trcv=$!
	LAB_PIDS+=("$tsnd" "$trcv")
	if ! wait_listening "$d/sent.err" || ! wait_listening "$d/passed.err"; then
		echo "bench-latency: tcpdump did not start" >&2
		exit 1
	fi
	# A random phase: no storm starts in step with the agent's 1 s tick.
	sleep "0.$(printf '%03d' $((RANDOM % 1000)))"
	ip netns exec "$LAB_NS" hping3 -q -S -p 25 -i "u$PROBE_US" -a "$S" "$DST4" \
		>"$d/probe-syn.out" 2>&1 &
	psyn=$!
	ip netns exec "$LAB_NS" hping3 -q -A -p 25 -s 2525 -k -i "u$PROBE_US" -a "$S" "$DST4" \
		>"$d/probe-ack.out" 2>&1 &
	pack=$!
	ip netns exec "$LAB_NS" /usr/bin/python3 tests/lab/smtp_storm.py "$S" --dst "$DST4" \
		--domain $DOMAIN --per-source 100000 --rate "$RATE" --concurrency 2 \
		--max-time $((DECIDE_WAIT + BLOCK_WAIT + 5)) --timeout 2 \
		--out "$d/storm.tsv" >"$d/storm.out" 2>&1 &
	pstorm=$!
	LAB_PIDS+=("$psyn" "$pack" "$pstorm")

	for ((i = 0; i < DECIDE_WAIT * 50; i++)); do
		decided '[a-z]*' "$S" && break
		sleep 0.02
	done
	if decided '[a-z]*' "$S"; then
		# Throttled: once its first SYN drop is surely captured, the SYN
		# probe stops taking the one SYN a second the throttle admits, so
		# the storm's own sessions get through, add to the score and
		# bring the block (measured with the ACK probe).
		sleep 0.3
		stop_pids "$psyn"
		psyn=
		for ((i = 0; i < BLOCK_WAIT * 50; i++)); do
			decided block "$S" && break
			sleep 0.02
		done
		sleep 0.5	# the ACK probe keeps going past the last decision
	fi
	t_stop=$EPOCHREALTIME
	stop_pids "$psyn" "$pack" "$pstorm"
	sleep 0.3	# let both captures see the last packets
	stop_pids "$tsnd" "$trcv"
	printf '%d\t%s\t%s\t%s\n' "$k" "$S" "$d" "$t_stop" >>"$results"
	sleep 1
done
cpu1=$(cpu_ticks)
t_run1=$EPOCHREALTIME
status_json=$(bwc status --json 2>/dev/null)
agent_stop

/usr/bin/python3 - "$results" "$LAB_DIR/agent.log" "$json" "$TARGET_MS" "$RATE" "$PROBE_US" \
	"$(( cpu1 - cpu0 ))" "$(getconf CLK_TCK)" "$t_run0" "$t_run1" "$BW" "$status_json" \
	"$BACKGROUND" "$BG_RATE" <<'PY'
import datetime, json, re, statistics, struct, sys

(res_path, log_path, jpath, target_ms, rate, probe_us, cpu_ticks, clk_tck,
 t0, t1, bw, status, background, bg_rate) = sys.argv[1:15]
background = int(background)
target_ms = float(target_ms)


def read_pcap(path):
    """[(ts_ns, sport, flags, seq, ipid, doff)] of the IPv4/TCP packets in a pcap."""
    out = []
    try:
        data = open(path, "rb").read()
    except OSError:
        return None
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    endian, nano = {0xa1b2c3d4: ("<", False), 0xa1b23c4d: ("<", True),
                    0xd4c3b2a1: (">", False), 0x4d3cb2a1: (">", True)}.get(magic, (None, None))
    if endian is None:
        return None
    link = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        ts = sec * 10**9 + (frac if nano else frac * 1000)
        if link == 1:
            if len(pkt) < 14:
                continue
            et, l3 = struct.unpack(">H", pkt[12:14])[0], 14
            if et == 0x8100 and len(pkt) >= 18:
                et, l3 = struct.unpack(">H", pkt[16:18])[0], 18
            if et != 0x0800:
                continue
        elif link == 113:	# Linux cooked
            l3 = 16
        else:
            continue
        ip = pkt[l3:]
        if len(ip) < 20 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        ipid = struct.unpack(">H", ip[4:6])[0]
        tcp = ip[ihl:]
        if len(tcp) < 14:
            continue
        sport = struct.unpack(">H", tcp[0:2])[0]
        seq = struct.unpack(">I", tcp[4:8])[0]
        out.append((ts, sport, tcp[13], seq, ipid, tcp[12] >> 4))
    return out


def drops(sent, passed):
    """Sent packets with no passed twin (same ports/flags/seq/IP id, seen on
    the protected side within 1 s after): the kernel dropped them."""
    pending = {}
    for p in sent:
        pending.setdefault(p[1:], []).append(p[0])
    for p in passed:
        q = pending.get(p[1:])
        if not q:
            continue
        # the latest sent copy not after this one (a retransmission of a
        # dropped SYN is the same packet but for the IP id)
        best = None
        for i, ts in enumerate(q):
            if ts <= p[0] + 10**6 and p[0] - ts < 10**9:
                best = i
        if best is not None:
            q.pop(best)
    out = [(ts,) + k for k, q in pending.items() for ts in q]
    return sorted(out)


SYN, ACK = 0x02, 0x10
dec_re = re.compile(r"decision action=(\w+) source=(\S+) .*?renewal=(\w+) .*?"
                    r"trigger_ts=(\S+)")
ts_re = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z")
decisions = {}
for line in open(log_path, errors="replace"):
    m = dec_re.search(line)
    if not m or m.group(3) != "no":
        continue
    act, src, _, trig = m.groups()
    t = None
    if trig != "-":
        s, _, ns = trig.partition(".")
        t = int(s) * 10**9 + int(ns.ljust(9, "0")[:9])
    lm = ts_re.search(line)
    logged = None
    if lm:
        dt = datetime.datetime.strptime(lm.group(1), "%Y-%m-%dT%H:%M:%S.%f")
        logged = int(dt.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000) * 10**6
    decisions.setdefault(src.split("/")[0], []).append((act, t, logged))

rows, problems = [], []
gaps_all = []
for line in open(res_path):
    k, src, d, t_stop = line.rstrip("\n").split("\t")
    sent, passed = read_pcap(d + "/sent.pcap"), read_pcap(d + "/passed.pcap")
    for f in ("sent.err", "passed.err"):
        m = re.search(r"(\d+) packets? dropped by kernel", open(d + "/" + f).read())
        if m and int(m.group(1)):
            problems.append("storm %s: tcpdump lost %s packets (%s)" % (k, m.group(1), f))
    r = {"storm": int(k), "source": src, "first": None, "latency_ms": None,
         "throttle_ms": None, "block_ms": None, "decide_ms": None, "gap_ms": None}
    dl = decisions.get(src, [])
    if sent is None or passed is None:
        problems.append("storm %s: no capture" % k)
        rows.append(r)
        continue
    if not dl:
        problems.append("storm %s: no decision for %s within the wait" % (k, src))
        rows.append(r)
        continue
    # What the senders sent while being stopped may have missed the end
    # of the protected side's capture: not counted as drops.
    end = int(float(t_stop) * 1e6) * 1000
    dr = [p for p in drops(sent, passed) if p[0] <= end]
    syn_ts = [p[0] for p in sent if p[2] & SYN and not p[2] & ACK]
    # the probe's SYNs (hping3: no TCP options) until the probe stopped
    probe = [p[0] for p in sent if p[2] == SYN and p[5] == 5]
    gaps = [b - a for a, b in zip(probe, probe[1:])]
    gaps_all += gaps
    act0, trig0, logged0 = dl[0]
    r["first"] = act0
    if trig0 is None:
        problems.append("storm %s: first decision has no trigger_ts (agent too old?)" % k)
        rows.append(r)
        continue
    if logged0:	# log stamps are cut to the ms: an upper bound
        r["decide_ms"] = (logged0 + 10**6 - trig0) / 1e6
    early = [p for p in dr if p[0] < trig0]
    if early:
        problems.append("storm %s: %d drops before the trigger (first %.1f ms before)"
                        % (k, len(early), (trig0 - early[0][0]) / 1e6))
    after = [p for p in dr if p[0] >= trig0]
    if after:
        r["latency_ms"] = (after[0][0] - trig0) / 1e6
        prev = [t for t in syn_ts if t < after[0][0]]
        if prev:
            r["gap_ms"] = (after[0][0] - prev[-1]) / 1e6
    else:
        problems.append("storm %s: no kernel drop after the decision" % k)
    for act, trig, _ in dl:
        if trig is None:
            continue
        if act == "throttle" and r["throttle_ms"] is None:
            s = [p for p in dr if p[0] >= trig and p[2] & SYN and not p[2] & ACK]
            r["throttle_ms"] = (s[0][0] - trig) / 1e6 if s else None
        if act == "block" and r["block_ms"] is None:
            s = [p for p in dr if p[0] >= trig and not p[2] & SYN]
            r["block_ms"] = (s[0][0] - trig) / 1e6 if s else None
    rows.append(r)

fmt = lambda v: "-" if v is None else "%.1f" % v
print("detection-to-enforcement latency: %d storms, real Postfix, %s bounces/s from a fresh "
      "source each, probe SYN + ACK every %.1f ms" % (len(rows), rate, int(probe_us) / 1000))
print("binary: %s" % bw)
if background:
    print("background: %d allowlisted sources storming at %s bounces/s each" % (background, bg_rate))
print("%-5s %-16s %-9s %11s %12s %9s %13s %8s" % (
    "storm", "source", "first", "latency ms", "throttle ms", "block ms", "logged <= ms",
    "gap ms"))
for r in rows:
    print("%-5d %-16s %-9s %11s %12s %9s %13s %8s" % (
        r["storm"], r["source"], r["first"] or "-", fmt(r["latency_ms"]),
        fmt(r["throttle_ms"]), fmt(r["block_ms"]), fmt(r["decide_ms"]), fmt(r["gap_ms"])))
print("  latency: trigger (capture time of the input that crossed the threshold) to the")
print("  source's first dropped packet; throttle: to its first dropped SYN; block: to its")
print("  first dropped non-SYN; logged: to the first decision's log line (stamped in ms);")
print("  gap: from the SYN sent before the first dropped packet to it (the resolution)")
lat = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
thr = [r["throttle_ms"] for r in rows if r["throttle_ms"] is not None]
blk = [r["block_ms"] for r in rows if r["block_ms"] is not None]
gmed = statistics.median(gaps_all) / 1e6 if gaps_all else None
gmax = max(gaps_all) / 1e6 if gaps_all else None
for p in problems:
    print("  note: " + p)
if gaps_all:
    print("resolution: sender inter-SYN gap median %.2f ms, max %.2f ms (the first drop comes "
          "<= 1 gap after a block, <= 2 after a throttle)" % (gmed, gmax))
cpu_s = int(cpu_ticks) / int(clk_tck)
wall = float(t1) - float(t0)
print("agent CPU: %.2f s over %.1f s of storms (%.1f%% of one CPU)" % (cpu_s, wall,
      100 * cpu_s / wall if wall > 0 else 0))
try:
    k = json.loads(status)["kernel"]
    print("kernel drops: block %s, throttle %s, ratelimit %s" % (
        k.get("drop_block"), k.get("drop_throttle"), k.get("drop_ratelimit")))
except (ValueError, KeyError, TypeError):
    pass
print("\ntargets")
if lat:
    med, worst = statistics.median(lat), max(lat)
    print("  detection -> first drop, median %.1f ms, worst %.1f ms over %d storms "
          "(target: median < %d ms) %s" % (med, worst, len(lat), target_ms,
                                         "met" if med < target_ms else "MISSED"))
else:
    print("  detection -> first drop: not measured (no storm gave a trigger and a drop)")

with open(jpath, "a") as f:
    def line(name, value, unit, **extra):
        o = {"name": name, "value": round(value, 3), "unit": unit,
             "baseline": None, "baseline_value": None, "ratio": None}
        o.update(extra)
        f.write(json.dumps(o) + "\n")

    common = {"storms": len(lat), "resolution_ms": round(gmed, 3) if gmed else None}
    if background:
        common["background_sources"] = background
        common["background_rate"] = float(bg_rate)
    if lat:
        line("latency.detect_to_drop_ms.median", statistics.median(lat), "ms",
             target_ms=target_ms, per_storm=[round(v, 3) for v in lat], **common)
        line("latency.detect_to_drop_ms.worst", max(lat), "ms", **common)
    if thr:
        line("latency.throttle_to_syn_drop_ms.median", statistics.median(thr), "ms",
             per_storm=[round(v, 3) for v in thr], **common)
        line("latency.throttle_to_syn_drop_ms.worst", max(thr), "ms", **common)
    if blk:
        line("latency.block_to_drop_ms.median", statistics.median(blk), "ms",
             per_storm=[round(v, 3) for v in blk], **common)
        line("latency.block_to_drop_ms.worst", max(blk), "ms", **common)
    if gaps_all:
        line("latency.probe_syn_gap_ms.median", gmed, "ms", max_ms=round(gmax, 3))
    line("latency.agent_cpu_s", cpu_s, "s", wall_s=round(wall, 3))
sys.exit(0 if lat else 1)
PY
