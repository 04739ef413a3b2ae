#!/bin/bash
# bench-rss.sh - the REAL agent's memory (issue #6, item 5): its resident
# set against tracked sources and open flows, 1k to 1M, per entry; and the
# kernel memory of its BPF maps at the configured sizes.
#
# Usage: scripts/bench-rss.sh [JSON_FILE]        (default build/bench.jsonl)
#   JSON_FILE  one JSON object per measurement is appended to it
# Environment:
#   POINTS       source counts (default "1000 10000 100000 1000000")
#   FLOW_POINTS  open-flow counts (default the same; "" for none)
#   QUICK=1      POINTS and FLOW_POINTS default to "1000 10000" (~35 s)
#   PPS          replay rate of the source points, packets/s (default 100000)
#   FLOW_PPS     replay rate of the flow points (default 50000)
#   RT=1         run the agent at SCHED_FIFO 10 (default: normal priority)
#   RETRY=0      do not repeat a point that had capture drops
#   OFFLOADS=off turn TSO/GSO/GRO off on the lab interface (default: on,
#                as a real NIC has them)
#   LAB_ID       lab number, 220..255 (default 243; the tests use 20..219)
#
# How: a lab veth (tests/lab/lib.sh), the protected end in the root
# namespace with `bouncewall run` on it in monitor mode (nothing dropped),
# the other end in a namespace from which tcpreplay sends prepared
# captures (scripts/bench-rss-gen.c, built into build/bench/).  The
# sources are spoofed in 10.LAB_ID.0.0/16 and fd00:LAB_ID::/32, blackholed
# in the root namespace so no answer leaves.  For each point a fresh
# agent, max_sources / max_flows sized for the point in its config file:
#
#   base        max_sources 1024, max_flows 256: the smallest agent, idle.
#   sources N   max_sources = the power of two >= N (at least 1024),
#               max_flows = 256 (the minimum: flows are not what is
#               measured).  N sources (IPv4 alternating with IPv6 /64s,
#               past 65,024 IPv4 ones IPv6 only), each one connection:
#               SYN, "EHLO / MAIL FROM:<> / RCPT TO" pipelined, RST.  The
#               RST ends the session, the parser emits the null-sender
#               transaction, the scorer tracks the source.
#   flows N     max_flows = the power of two >= N + 600, syn_rate = 0 (no
#               kernel over-rate events: those would create sources), N
#               connections left open (SYN, EHLO) from 10.LAB_ID.255.x.
#
# Before the idle reading every agent gets a warm-up replay (600
# connections from two sources, one transaction each, the rest EHLO and
# RST): it touches every entry of a 256-flow table, the capture ring and
# each code path once, so the point's growth is the entries alone.
# Readings (VmRSS, VmHWM from /proc/PID/status): at start, idle (after the
# warm-up) and after the point, once the sampler has counted every packet
# sent and the scorer has run.  Per entry = (VmRSS after - VmRSS idle) /
# (entries after - entries idle), entries as the agent counts them
# (`bouncewall status --json`: scorer.tracked_sources,
# sampler.flows_active).  What the agent touches at start for its
# configured size (the scorer's hash heads, 4 bytes x max_sources, are
# written at start) is in the idle reading; "all-in" charges it too:
# (VmRSS after - VmRSS idle of the base agent) / entries.
#
# The agent must see every packet, or it samples (fewer entries).  It
# does at the default rate, with offloads on and at normal priority, since
# its capture uses TPACKET_V3 blocks (user/capture.h says why); RT=1 and
# OFFLOADS=off are there to rule the machine out when a point drops.  The
# capture ring (8 MiB) is resident: it is in every VmRSS here.
# A point that still had capture drops is repeated once at half the rate.
#
# Kernel: the maps of the agent's XDP program (`bpftool prog show` of the
# program behind its pinned link, then `bpftool map show` of each),
# bytes_memlock per map and in total, idle and after each point.  The map
# sizes are compile-time (include/bouncewall.h): max_sources and
# max_flows do not change them.
#
# Target (issue #6): under 200 bytes per tracked source.  Prints a table;
# exit 0 once measured whatever the numbers; 1 when it cannot run.
# Needs root, tcpreplay, bpftool, gcc (ethtool for OFFLOADS=off, chrt for
# RT=1).  About 2.5 minutes at the default points (5.5M
# packets; 1M flows take 2 GB of agent memory).
set -u

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
json=${1:-build/bench.jsonl}
case $json in /*) ;; *) json=$ROOT/$json ;; esac

die() {
	echo "bench-rss: $*" >&2
	exit 1
}

if [ "${QUICK:-0}" = 1 ]; then
	POINTS=${POINTS:-"1000 10000"}
	FLOW_POINTS=${FLOW_POINTS-"1000 10000"}
fi
POINTS=${POINTS-"1000 10000 100000 1000000"}
FLOW_POINTS=${FLOW_POINTS-"1000 10000 100000 1000000"}
PPS=${PPS:-100000}
FLOW_PPS=${FLOW_PPS:-50000}
RT=${RT:-0}
RETRY=${RETRY:-1}
WARM=600
for n in $POINTS; do
	case $n in '' | *[!0-9]*) die "POINTS: '$n' is not a count" ;; esac
	if [ "$n" -lt 1 ] || [ "$n" -gt 4194304 ]; then die "POINTS: $n outside 1..4194304 (max_sources)"; fi
done
for n in $FLOW_POINTS; do
	case $n in '' | *[!0-9]*) die "FLOW_POINTS: '$n' is not a count" ;; esac
	if [ "$n" -lt 1 ] || [ "$n" -gt 1048576 ]; then die "FLOW_POINTS: $n outside 1..1048576 (max_flows)"; fi
done
for p in "$PPS" "$FLOW_PPS"; do
	case $p in '' | *[!0-9]* | 0) die "PPS / FLOW_PPS: '$p' is not a rate" ;; esac
done

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP, bpffs)"
command -v tcpreplay >/dev/null 2>&1 || die "tcpreplay not found (Debian: apt-get install tcpreplay)"
for t in ip bpftool gcc chrt /usr/bin/python3; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found (scripts/install-deps.sh installs it)"
done
if [ ! -x build/bouncewall ]; then
	make -s --no-print-directory build/bouncewall >/dev/null || die "cannot build build/bouncewall"
fi

export LAB_ID=${LAB_ID:-243}
case $LAB_ID in
2[2-4][0-9] | 25[0-5]) [ "$LAB_ID" != 231 ] || die "LAB_ID 231: 10.231.0.0/16 is the lab tests' range" ;;
*) die "LAB_ID=$LAB_ID: use 220..255 (the tests take 20..219; the sources go in 10.LAB_ID.0.0/16)" ;;
esac
# shellcheck source=tests/lab/lib.sh
. tests/lab/lib.sh

# Never take over a lab someone else is running under the same number:
# lab_up would delete its veth and namespace, our cleanup its pins.
if ip link show "$LAB_IF" >/dev/null 2>&1 || [ -e "/run/netns/$LAB_NS" ] ||
	[ -e "$BOUNCEWALL_PIN_DIR" ]; then
	rmdir "$LAB_DIR" 2>/dev/null
	die "lab $LAB_ID is in use ($LAB_IF, $LAB_NS or $BOUNCEWALL_PIN_DIR exists): set LAB_ID to another of 220..255"
fi

NET4=10.$LAB_ID.0.0/16		# the replayed sources (bench-rss-gen.c)
NET6=fd00:$LAB_ID::/32
WORK=$ROOT/build/bench/rss.$$
GEN=$ROOT/build/bench/bench-rss-gen
T_START=$(date +%s)

rss_cleanup() {
	set +e
	lab_cleanup
	ip route del blackhole "$NET4" 2>/dev/null
	ip -6 route del blackhole "$NET6" 2>/dev/null
	rm -rf "$WORK"
}
trap rss_cleanup EXIT

mkdir -p "$WORK" "$(dirname "$json")" || die "cannot create $WORK"
gcc -O2 -Wall -Wextra -o "$GEN" scripts/bench-rss-gen.c || die "cannot build $GEN"

# shellcheck disable=SC2119 # no sender addresses: tcpreplay sends raw frames
lab_up >/dev/null || die "cannot set up the lab veth"
# What the root namespace answers the replayed sources goes nowhere.
ip route replace blackhole "$NET4" metric 4000 || die "cannot add blackhole route $NET4"
ip -6 route replace blackhole "$NET6" metric 4000 || die "cannot add blackhole route $NET6"
# Offloads stay on unless asked: that is what a gateway's NIC does, and
# what the agent's capture must keep up with.
OFFLOADS=${OFFLOADS:-on}
if [ "$OFFLOADS" = off ]; then
	if command -v ethtool >/dev/null 2>&1; then
		ethtool -K "$LAB_IF" tso off gso off gro off >/dev/null 2>&1 ||
			log "ethtool -K $LAB_IF failed: offloads stay on (expect capture drops)"
	else
		log "no ethtool (apt-get install ethtool): offloads stay on, expect capture drops"
		OFFLOADS=on
	fi
fi
DMAC=$(cat "/sys/class/net/$LAB_IF/address")
SMAC=$(ip -n "$LAB_NS" -o link show "$LAB_PEER" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
DST4=$LAB_NET4.1
DST6=$LAB_NET6::1

# gen MODE N FILE: writes FILE, prints its packet count.
gen() {
	"$GEN" "$1" "$2" "$3" "$DMAC" "$SMAC" "$DST4" "$DST6" "$LAB_ID"
}

# replay FILE PPS: from the sender namespace; prints the seconds taken.
replay() {
	local t0 t1
	t0=$(date +%s.%N)
	in_ns tcpreplay -q -i "$LAB_PEER" --pps="$2" --pps-multi=16 "$1" \
		>"$WORK/tcpreplay.log" 2>&1 || {
		cat "$WORK/tcpreplay.log" >&2
		return 1
	}
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{printf "%.2f", $2 - $1}'
}

# The agent's status as "frames tracked flows_active capture_drops
# not_sampled sampling xdp_packets evictions sessions".
status_line() {
	bwc status --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
try:
    s = json.load(sys.stdin)
except Exception:
    print("- - - - - - - - -"); sys.exit()
sm, sc, k = s.get("sampler", {}), s.get("scorer", {}), s.get("kernel", {})
print(sm.get("frames", 0), sc.get("tracked_sources", 0), sm.get("flows_active", 0),
      sm.get("capture_drops", 0), sm.get("flows_not_sampled", 0),
      1 if sm.get("sampling") else 0, k.get("packets", 0), sc.get("evictions", 0),
      sm.get("sessions", 0))'
}

# The resident KiB of the agent's capture ring (its packet socket mapping).
ring_kib() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { ring = ($6 ~ /^socket:/) } ring && /^Rss:/ { s += $2 }
		END { print s + 0 }' "/proc/$AGENT_PID/smaps"
}

# proc KEY: the agent's /proc/PID/status field in KiB.
proc() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$AGENT_PID/status"
}

# The agent's CPU time so far in clock ticks: utime + stime, or "user".
cpu_ticks() {
	awk -v u="${1:-}" '{ print u == "user" ? $14 : $14 + $15 }' "/proc/$AGENT_PID/stat"
}

# Wait until the sampler has counted `want` frames (or stopped moving for
# 3 s), then two scorer ticks.  Sets ST to the status line.
settle() {
	local want=$1 last=-1 still=0 f
	while :; do
		ST=$(status_line)
		f=${ST%% *}
		[ "$f" = - ] && return 1
		[ "$f" -ge "$want" ] && break
		if [ "$f" = "$last" ]; then
			still=$((still + 1))
			[ "$still" -ge 15 ] && break
		else
			still=0
		fi
		last=$f
		sleep 0.2
	done
	sleep 2.2	# the scorer decides once a second; capture_drops are read per tick
	ST=$(status_line)
}

# Kernel maps of the program behind our pinned link: "name bytes" lines.
kernel_maps() {
	/usr/bin/python3 - "$BOUNCEWALL_PIN_DIR/link_$LAB_IF" <<'PY'
import json, subprocess, sys
def bt(*a):
    return json.loads(subprocess.run(["bpftool", "-j", *a], check=True,
                                     capture_output=True, text=True).stdout)
try:
    link = bt("link", "show", "pinned", sys.argv[1])
    prog = bt("prog", "show", "id", str(link["prog_id"]))
    print("prog:%s %d" % (prog.get("name", "?"), prog.get("bytes_memlock", 0)))
    for mid in prog.get("map_ids", []):
        m = bt("map", "show", "id", str(mid))
        print("%s %d %s %d" % (m.get("name", "?"), m.get("bytes_memlock", 0),
                               m.get("type", "?"), m.get("max_entries", 0)))
except Exception as e:
    print("error: %s" % e, file=sys.stderr)
    sys.exit(1)
PY
}

pow2_at_least() {
	local v=$2
	while [ "$v" -lt "$1" ]; do v=$((v * 2)); done
	echo "$v"
}

label() {
	local n=$1
	if [ "$n" -ge 1000000 ] && [ $((n % 1000000)) -eq 0 ]; then echo "$((n / 1000000))M"
	elif [ "$n" -ge 1000 ] && [ $((n % 1000)) -eq 0 ]; then echo "$((n / 1000))k"
	else echo "$n"; fi
}

warm_pcap=$WORK/warm.pcap
warm_pkts=$(gen warm $WARM "$warm_pcap") || die "cannot generate the warm-up capture"

RESULTS=$WORK/results.txt
ROW=$WORK/row.txt
MAPS=$WORK/maps.txt
: >"$RESULTS"

# point KIND N PPS: one agent, one measurement; a line of key=value in
# $ROW.  KIND base (N 0): the smallest configuration, warm-up only.
point() {
	local kind=$1 n=$2 pps=$3 msrc mflows syn pcap="" pkts=0 start idle ring st0 st1
	local t_replay=0 c0 c1 u0 u1 maps_idle maps_after anon_idle
	case $kind in
	sources)
		msrc=$(pow2_at_least "$n" 1024) mflows=256 syn=20 ;;
	flows)
		# the warm-up's ended flows linger (30 s) beside the point's
		msrc=1024 mflows=$(pow2_at_least $((n + WARM)) 256) syn=0 ;;
	base)
		msrc=1024 mflows=256 syn=20 ;;
	esac
	if [ "$kind" != base ]; then
		pcap=$WORK/$kind-$n.pcap
		pkts=$(gen "$kind" "$n" "$pcap") || {
			echo "bench-rss: cannot generate $pcap" >&2
			return 1
		}
	fi
	cat >"$LAB_DIR/bouncewall.conf" <<-EOF
	mode = monitor
	max_sources = $msrc
	max_flows = $mflows
	syn_rate = $syn
	EOF
	rm -rf "$LAB_DIR/state"
	# shellcheck disable=SC2119 # the config file says it all
	agent_start || return 1
	# Woken at once for each packet: the capture ring never fills while
	# the replay and everything else on the machine compete for the CPU.
	if [ "$RT" = 1 ]; then
		chrt -f -p 10 "$AGENT_PID" >/dev/null 2>&1 || log "chrt failed: the agent runs at normal priority"
	fi
	sleep 0.5
	start=$(proc VmRSS)
	replay "$warm_pcap" "$PPS" >/dev/null || return 1
	settle "$warm_pkts" || return 1
	st0=$ST
	idle=$(proc VmRSS)
	anon_idle=$(proc RssAnon)
	ring=$(ring_kib)
	[ -s "$MAPS" ] || kernel_maps >"$MAPS" || true
	maps_idle=$(kernel_maps | awk '!/^prog:/ { s += $2 } END { print s + 0 }')
	c0=$(cpu_ticks) u0=$(cpu_ticks user)
	if [ "$kind" != base ]; then
		t_replay=$(replay "$pcap" "$pps") || return 1
		settle "$(( ${st0%% *} + pkts ))" || return 1
	fi
	st1=$ST
	c1=$(cpu_ticks) u1=$(cpu_ticks user)
	maps_after=$(kernel_maps | awk '!/^prog:/ { s += $2 } END { print s + 0 }')
	{
		echo -n "kind=$kind n=$n max_sources=$msrc max_flows=$mflows packets=$pkts pps=$pps"
		echo -n " start=$start idle=$idle ring=$ring rss=$(proc VmRSS) hwm=$(proc VmHWM)"
		echo -n " anon_idle=$anon_idle anon=$(proc RssAnon) maps_idle=$maps_idle maps_after=$maps_after"
		echo -n " replay_s=$t_replay cpu_ticks=$((c1 - c0)) user_ticks=$((u1 - u0)) hz=$(getconf CLK_TCK)"
		echo -n " $(echo "$st0" | status_kv i_) $(echo "$st1" | status_kv a_)"
		echo
	} >"$ROW"
	agent_stop
	[ -z "$pcap" ] || rm -f "$pcap"
	DROPS=$(( $(echo "$st1" | cut -d' ' -f4) - $(echo "$st0" | cut -d' ' -f4) ))
	log "$kind $(label "$n"): VmRSS ${idle} -> $(row_get rss) KiB (RssAnon $anon_idle -> $(row_get anon)), replay ${t_replay} s at ${pps}/s, $DROPS capture drops, agent CPU $(( (c1 - c0) * 1000 / $(getconf CLK_TCK) )) ms ($(( $(date +%s) - T_START )) s so far)"
}

row_get() {
	tr ' ' '\n' <"$ROW" | sed -n "s/^$1=//p"
}

# measure KIND N PPS: a point; when the capture dropped packets (the agent
# then samples: fewer entries), once more at half the rate.
measure() {
	point "$1" "$2" "$3" || return 1
	if [ "$DROPS" -gt 0 ] && [ "$RETRY" = 1 ] && [ "$3" -ge 2000 ]; then
		log "$1 $(label "$2"): capture drops, once more at $(($3 / 2)) packets/s"
		point "$1" "$2" $(($3 / 2)) || return 1
	fi
	cat "$ROW" >>"$RESULTS"
}

# "frames tracked ..." (status_line) as prefixed key=value words.
status_kv() {
	awk -v p="$1" '{ split("frames tracked flows drops not_sampled sampling xdp evictions sessions", k, " ")
		for (i = 1; i <= 9; i++) printf "%s%s=%s ", p, k[i], $i }'
}

log "agent memory: sources [$POINTS] at $PPS pkt/s, flows [$FLOW_POINTS] at $FLOW_PPS pkt/s"
measure base 0 "$PPS" || die "the agent did not run (see above)"
for n in $POINTS; do
	measure sources "$n" "$PPS" || die "sources $n: the agent did not run (see above)"
done
for n in $FLOW_POINTS; do
	measure flows "$n" "$FLOW_PPS" || die "flows $n: the agent did not run (see above)"
done

ELAPSED=$(( $(date +%s) - T_START ))
/usr/bin/python3 - "$RESULTS" "$MAPS" "$json" "$ELAPSED" "$OFFLOADS" "$RT" <<'PY'
import json, sys

res, maps_f, jpath = sys.argv[1], sys.argv[2], sys.argv[3]
elapsed, offloads, rt = int(sys.argv[4]), sys.argv[5], sys.argv[6]
TARGET = 200.0
TARGET_NAME = "rss.agent.bytes_per_source.target"


def label(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def num(v):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


rows = []
for ln in open(res):
    r = {}
    for w in ln.split():
        k, _, v = w.partition("=")
        r[k] = num(v)
    if "kind" in r:
        rows.append(r)
base = next((r for r in rows if r["kind"] == "base"), None)

maps, prog = [], None
for ln in open(maps_f):
    f = ln.split()
    if f and f[0].startswith("prog:"):
        prog = (f[0][5:], int(f[1]))
    elif len(f) >= 4:
        maps.append((f[0], int(f[1]), f[2], int(f[3])))

out = open(jpath, "a")


def line(name, value, unit, base_name=None, bval=None, **extra):
    o = {"name": name, "value": round(value, 6), "unit": unit,
         "baseline": base_name, "baseline_value": None if bval is None else round(bval, 6)}
    if base_name is not None and bval:
        o["ratio"] = round(value / bval, 4)
    o.update(extra)
    out.write(json.dumps(o) + "\n")


print("\nagent memory (KiB: VmRSS / VmHWM from /proc/PID/status; B/entry = (VmRSS after - VmRSS idle)"
      " / entries added;\n  all-in = (RssAnon after - RssAnon idle of the base agent) / entries added:"
      " also charges what the configured size costs at start)")
print("%-7s %5s %8s %8s %8s %8s %8s %8s %7s %7s %6s %8s %6s %6s" % (
    "what", "N", "entries", "capacity", "start", "idle", "after", "peak",
    "B/entry", "all-in", "drops", "replay", "pps", "us/pkt"))
if base:
    print("%-7s %5s %8s %8d %8d %8d %8s %8d %7s %7s %6s %8s %6s %6s" % (
        "base", "-", "-", base["max_sources"], base["start"], base["idle"], "-", base["hwm"],
        "-", "-", "-", "-", "-", "-"))
notes, verdicts = [], []
for r in rows:
    if r["kind"] == "base":
        continue
    L = label(r["n"])
    src = r["kind"] == "sources"
    what = "source" if src else "flow"
    added = (r["a_tracked"] - r["i_tracked"]) if src else (r["a_flows"] - r["i_flows"])
    cap = r["max_sources"] if src else r["max_flows"]
    per = (r["rss"] - r["idle"]) * 1024.0 / added if added > 0 else float("nan")
    # all-in on the anonymous memory alone: the file-backed part of VmRSS
    # (code and libraries paged in) varies by ~100 KiB from agent to agent
    # (sources only: a flow point's idle already holds the warm-up's flows)
    allin = ((r["anon"] - base["anon_idle"]) * 1024.0 / added if src and base and added > 0
             else float("nan"))
    seen = r["a_frames"] - r["i_frames"]
    drops = r["a_drops"] - r["i_drops"]
    pkts = r["packets"]
    cpu_us = r["cpu_ticks"] * 1e6 / r["hz"] / pkts if pkts else 0.0
    rate = pkts / r["replay_s"] if r["replay_s"] else 0.0
    print("%-7s %5s %8d %8d %8d %8d %8d %8d %7.1f %7s %6d %7.1fs %6.0f %6.1f" % (
        r["kind"], L, added, cap, r["start"], r["idle"], r["rss"], r["hwm"], per,
        "-" if allin != allin else "%.1f" % allin,
        drops, r["replay_s"], rate, cpu_us))
    if r["a_xdp"] - r["i_xdp"] < pkts:
        notes.append("%s %s: XDP saw %d of %d packets sent (lost on the veth)"
                     % (r["kind"], L, r["a_xdp"] - r["i_xdp"], pkts))
    if seen < pkts:
        notes.append("%s %s: the sampler saw %d of %d packets sent" % (r["kind"], L, seen, pkts))
    if r["a_not_sampled"] > r["i_not_sampled"]:
        notes.append("%s %s: sampling refused %d segments (capture drops halve the share of new flows parsed)"
                     % (r["kind"], L, r["a_not_sampled"] - r["i_not_sampled"]))
    if r["a_evictions"] > r["i_evictions"]:
        notes.append("%s %s: %d scorer evictions" % (r["kind"], L, r["a_evictions"] - r["i_evictions"]))
    sessions = r["a_sessions"] - r["i_sessions"]
    if not src and sessions == r["n"] and added < r["n"] and r["a_flows"] >= r["n"]:
        notes.append("flows %s: all %d connections followed; %d new table entries (the warm-up's"
                     " ended flows, past their 30 s linger, were reused)" % (L, r["n"], added))
    elif added != r["n"]:
        notes.append("%s %s: %d of %d %ss counted" % (r["kind"], L, added, r["n"], what))
    extra = dict(entries=added, sent=r["n"], max_sources=r["max_sources"], max_flows=r["max_flows"],
                 packets=pkts, capture_drops=drops, replay_pps=r["pps"])
    key = L if src else "flows." + L
    if added > 0:
        if src:
            line("rss.agent.bytes_per_source.%s" % L, per, "bytes", TARGET_NAME, TARGET, **extra)
            if base:
                line("rss.agent.bytes_per_source_all_in.%s" % L, allin, "bytes", TARGET_NAME, TARGET,
                     **extra)
            verdicts.append((L, per, allin))
        else:
            line("rss.agent.bytes_per_flow.%s" % L, per, "bytes", **extra)
    line("rss.agent.%s.%s" % ("tracked_sources" if src else "flows_active", L), added, "count",
         **extra)
    line("rss.agent.peak_kib.%s" % key, r["hwm"], "KiB", "rss.agent.idle_kib.%s" % key, r["idle"], **extra)
    line("rss.agent.rss_kib.%s" % key, r["rss"], "KiB", **extra)
    line("rss.agent.idle_kib.%s" % key, r["idle"], "KiB", "rss.agent.idle_kib.base",
         base["idle"] if base else None, **extra)
    line("rss.agent.cpu_us_per_packet.%s" % key, cpu_us, "us", packets=pkts,
         user_share=round(r["user_ticks"] / r["cpu_ticks"], 3) if r["cpu_ticks"] else None,
         replay_pps=round(rate))
if base:
    line("rss.agent.start_kib.base", base["start"], "KiB", max_sources=base["max_sources"],
         max_flows=base["max_flows"])
    line("rss.agent.idle_kib.base", base["idle"], "KiB", max_sources=base["max_sources"],
         max_flows=base["max_flows"])
    line("rss.agent.capture_ring_kib", base["ring"], "KiB", offloads=offloads)
    print("\nof the idle VmRSS, the capture ring (libpcap's packet mmap) is %d KiB (offloads %s), "
          "the agent's own heap (RssAnon) %d KiB" % (base["ring"], offloads, base["anon_idle"]))
for nline in notes:
    print("note: " + nline)

print("\nkernel: the maps of the agent's XDP program (bpftool bytes_memlock)")
print("  %-14s %-14s %12s %14s" % ("map", "type", "max_entries", "bytes"))
total = 0
for name, b, typ, me in maps:
    total += b
    print("  %-14s %-14s %12d %14d" % (name, typ, me, b))
    line("kernel.map_bytes.%s" % name.replace(".", "_"), b, "bytes", map=name, max_entries=me, type=typ)
print("  %-14s %-14s %12s %14d  (%.1f MiB)" % ("total", "", "", total, total / 1048576.0))
line("kernel.map_bytes.total", total, "bytes")
if prog:
    print("  and the program %s: %d bytes" % prog)
    line("kernel.prog_bytes", prog[1], "bytes", prog=prog[0])
grown = [(r["kind"], label(r["n"]), r["maps_after"] - r["maps_idle"]) for r in rows
         if r["maps_after"] != r["maps_idle"]]
if grown:
    print("  grew during: " + ", ".join("%s %s %+d bytes" % g for g in grown))
else:
    print("  the same before and after every point: sized by max_entries (compile time), "
          "not by max_sources / max_flows")
line("kernel.map_bytes.total_after_largest", max([r["maps_after"] for r in rows] or [total]), "bytes")

print("\ntarget (issue #6): under %.0f bytes per tracked source in the agent" % TARGET)
line(TARGET_NAME, TARGET, "bytes", note="issue #6: under this per tracked source")
for L, per, allin in verdicts:
    print("  %-5s %6.1f bytes/source  %-6s (all-in, with the index sized for max_sources: %.1f)" % (
        L, per, "met" if per < TARGET else "MISSED", allin))
if base:
    print("  (all-in compares two agents' readings: a few KiB of run-to-run difference is a few"
          " bytes/source at 1k)")
print("\n%d s in all (agent at %s priority)" % (elapsed, "SCHED_FIFO" if rt == "1" else "normal"))
line("rss.bench_seconds", elapsed, "s")
PY
