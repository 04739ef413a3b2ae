#!/bin/bash
# test_sampling.sh - the sampler under capture overload: when libpcap drops
# frames the agent halves the share of new SMTP flows it parses, says so
# (status, log, metric), and doubles it back after calm seconds.
#
# The overload is real: the agent is stopped (SIGSTOP) while tcpreplay
# pours full-size SMTP segments into the protected veth from the sender
# namespace, so its capture ring (a few MiB) overflows and the kernel
# counts drops; the agent is then continued and must notice.
. "$(dirname "$0")/lib.sh"
trap 'kill -CONT "$AGENT_PID" 2>/dev/null; lab_cleanup' EXIT

SRC=10
lab_up $SRC
DST4=$LAB_NET4.1
: >"$LAB_DIR/bouncewall.conf"
agent_start --metrics off || exit 1

# sampler KEY: one field of status --json's sampler object.
sampler() {
	bwc status --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)["sampler"][sys.argv[1]]
print(str(v).lower())' "$1"
}
keep=$(sampler flows_kept_per_1024)
check "calm: every new flow parsed (flows_kept_per_1024 = $keep, sampling $(sampler sampling))" \
	bash -c "[ '$keep' = 1024 ] && [ '$(sampler sampling)' = false ]"

DMAC=$(cat "/sys/class/net/$LAB_IF/address")
SMAC=$(ip -n "$LAB_NS" -o link show "$LAB_PEER" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
/usr/bin/python3 "$LAB_ROOT/tests/lab/flood_pcap.py" "$LAB_DIR/flood.pcap" "$DMAC" "$SMAC" \
	$LAB_NET4.$SRC $DST4 2000 4 >/dev/null || exit 1

drops0=$(sampler capture_drops)
frames0=$(sampler frames)
kill -STOP "$AGENT_PID"
# 8000 frames of 1.4 kB, six times: about 70 MB into a stopped reader.
in_ns tcpreplay -q -i "$LAB_PEER" --topspeed --loop=6 "$LAB_DIR/flood.pcap" \
	>"$LAB_DIR/tcpreplay.log" 2>&1
replay=$?
kill -CONT "$AGENT_PID"
check "tcpreplay sent the flood (exit $replay)" [ "$replay" = 0 ]

overloaded() { [ "$(sampler sampling)" = true ] && [ "$(sampler flows_kept_per_1024)" -lt 1024 ]; }
check "after capture drops: sampling on, fewer than 1024/1024 new flows parsed" wait_for 60 overloaded
log "capture_drops $drops0 -> $(sampler capture_drops), frames $frames0 -> $(sampler frames)," \
	"flows_kept_per_1024 $(sampler flows_kept_per_1024)"
check "the kernel counted capture drops" [ "$(sampler capture_drops)" -gt "$drops0" ]
check "the agent logged the halving" grep -Eq 'sampling flows=(512|256|128|64|32|16|8|4|2|1)/1024' \
	"$LAB_DIR/agent.log"

# Calm again: ten drop-free seconds double the share, up to every flow.
# The bound only catches a sampler that never recovers.
calm() { [ "$(sampler sampling)" = false ] && [ "$(sampler flows_kept_per_1024)" = 1024 ]; }
check "after calm: sampling off, every new flow parsed again" wait_for 180 calm
check "the agent logged the recovery" grep -q 'sampling flows=1024/1024' "$LAB_DIR/agent.log"
check "agent still running" kill -0 "$AGENT_PID"

lab_summary
