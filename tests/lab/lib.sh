# shellcheck shell=bash
# lib.sh - shared pieces of the network-namespace lab tests.
#
# The protected interface and the agent stay in the root namespace (bpffs
# pins must stay visible); senders live in namespaces this test creates.
# Everything is named after LAB_ID so a leftover never collides with the
# next run, and lab_cleanup (an EXIT trap) removes all of it, ending the
# processes this test started by PID.

set -u

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BW=${BW:-$LAB_ROOT/build/bouncewall}

# The names of lab ID's pieces: sender namespace, veth pair, addresses,
# pin directory.  Everything a lab creates is named after its number, so
# reap.sh can remove a killed test's leftovers knowing only the number.
lab_names() {
	LAB_NS=bwlab-$1-snd
	LAB_IF=bwl${1}a			# protected interface (root namespace)
	LAB_PEER=bwl${1}b		# its peer, moved into $LAB_NS
	LAB_NET4=10.231.$1
	LAB_NET6=fd00:231:$1
	# Each lab pins under its own directory, so labs running side by side
	# (a developer's and CI's, or two tests) never share maps.
	export BOUNCEWALL_PIN_DIR=/sys/fs/bpf/bouncewall-lab-$1
}

# Remove what lab_up and a (possibly hard-killed) agent left: every process
# still in the sender namespace (by PID), the namespace, the veth, the
# routes, the pins.  Names must be set (lab_names).
lab_teardown_net() {
	local p
	for p in $(ip netns pids "$LAB_NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	# A hard-killed agent leaves its pinned link and maps: this lab's only.
	rm -rf "$BOUNCEWALL_PIN_DIR"
	ip link del "$LAB_IF" 2>/dev/null
	ip netns del "$LAB_NS" 2>/dev/null
	ip route del blackhole "$LAB_NET4.0/24" 2>/dev/null
	ip -6 route del blackhole "$LAB_NET6::/48" 2>/dev/null
}

# reap.sh needs only the functions above.
[ "${LAB_LIB_ONLY:-0}" = 1 ] && return 0

# A lab number nobody else holds: claimed by creating its lock directory
# under a lock every claimer takes (flock), released by lab_cleanup.  A
# claim whose owner is gone (a SIGKILLed test) is taken over; under the
# lock, two claimers cannot both take the same stale number over.  Two labs
# never share a number, so they never tear each other's namespaces down.
LAB_LOCKS=/run/bouncewall-lab
lab_claim_id() {
	local id start=$(( $$ % 200 )) k owner fd
	mkdir -p "$LAB_LOCKS"
	exec {fd}>"$LAB_LOCKS/.claim"
	flock "$fd"
	for k in $(seq 0 199); do
		id=$(( (start + k) % 200 + 20 ))
		if [ -d "$LAB_LOCKS/$id" ]; then
			owner=$(cat "$LAB_LOCKS/$id/pid" 2>/dev/null)
			[ -n "$owner" ] && kill -0 "$owner" 2>/dev/null && continue
			rm -rf "${LAB_LOCKS:?}/$id"
		fi
		mkdir "$LAB_LOCKS/$id" && echo $$ >"$LAB_LOCKS/$id/pid" || continue
		exec {fd}>&-
		LAB_ID=$id
		return 0
	done
	exec {fd}>&-
	echo "lab: no free lab number in 20..219" >&2
	exit 1
}
if [ -n "${LAB_ID:-}" ]; then
	LAB_ID_OWNED=0		# chosen by the caller (a bench): theirs to guard
else
	lab_claim_id
	LAB_ID_OWNED=1
fi
lab_names "$LAB_ID"
LAB_DIR=$(mktemp -d /tmp/bwlab.XXXXXX)
# What reap.sh needs to find this lab's Postfix if the test is killed.
[ "$LAB_ID_OWNED" = 1 ] && echo "$LAB_DIR" >"$LAB_LOCKS/$LAB_ID/dir"
LAB_SOCK=$LAB_DIR/bouncewall.sock
LAB_PIDS=()
AGENT_PID=
LAB_CLEANED=0

# Killed (run-all's timeout, ^C): exit, so the test's EXIT trap cleans up.
trap 'exit 143' TERM
trap 'exit 130' INT

PASS=0
FAIL=0
SKIP_EXIT=77			# "skipped: the kernel lacks something"

log() { printf '[lab %s] %s\n' "$LAB_ID" "$*"; }
ok() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }
# check_not WHAT CMD...: passes when CMD fails.
check_not() { local what=$1; shift; if "$@"; then not_ok "$what"; else ok "$what"; fi; }

# Idempotent: a test may call it itself (to check the teardown) and
# again from its EXIT trap; by then the number may belong to another lab.
lab_cleanup() {
	local p
	[ "$LAB_CLEANED" = 1 ] && return 0
	LAB_CLEANED=1
	set +e
	if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
	fi
	for p in "${LAB_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${LAB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	lab_teardown_net
	if [ "${LAB_KEEP:-0}" != 1 ]; then rm -rf "$LAB_DIR"; fi
	[ "$LAB_ID_OWNED" = 1 ] && rm -rf "${LAB_LOCKS:?}/$LAB_ID"
}

# Sender namespace with one veth pair and the given host numbers as
# addresses (10.231.ID.N and fd00:231:ID::N).
lab_up() {
	local n
	[ -d /sys/fs/bpf ] && mount | grep -q ' /sys/fs/bpf type bpf' ||
		mount -t bpf bpf /sys/fs/bpf
	ip netns del "$LAB_NS" 2>/dev/null
	ip link del "$LAB_IF" 2>/dev/null
	ip netns add "$LAB_NS"
	ip link add "$LAB_IF" type veth peer name "$LAB_PEER"
	ip link set "$LAB_PEER" netns "$LAB_NS"
	sysctl -qw "net.ipv6.conf.$LAB_IF.accept_dad=0"
	ip addr add "$LAB_NET4.1/24" dev "$LAB_IF"
	ip addr add "$LAB_NET6::1/64" dev "$LAB_IF" nodad
	ip link set "$LAB_IF" up
	ip -n "$LAB_NS" link set lo up
	ip netns exec "$LAB_NS" sysctl -qw "net.ipv6.conf.$LAB_PEER.accept_dad=0"
	for n in "$@"; do
		ip -n "$LAB_NS" addr add "$LAB_NET4.$n/24" dev "$LAB_PEER"
		ip -n "$LAB_NS" addr add "$LAB_NET6::$n/64" dev "$LAB_PEER" nodad
	done
	ip -n "$LAB_NS" link set "$LAB_PEER" up
	# Whatever the kernel answers to spoofed or stray lab addresses goes
	# nowhere: no reply may follow a default route off the machine.
	ip route replace blackhole "$LAB_NET4.0/24" metric 4000 2>/dev/null
	ip -6 route replace blackhole "$LAB_NET6::/48" metric 4000 2>/dev/null
	ip -n "$LAB_NS" route replace blackhole 10.231.0.0/16
	ip -n "$LAB_NS" -6 route replace blackhole fd00:231::/32
}

# Run a command in the sender namespace.
in_ns() { ip netns exec "$LAB_NS" "$@"; }

# The Postfix services listen on fixed default ports: two agents (two
# tests, or two gateways in one test) would fight over them.  A lab
# config that does not name them turns them off; tests that want them
# set free ports.  Posture checks are off too: the lab's names are in no
# DNS a test may ask (test_posture.sh names its own dnsmasq).
agent_conf_defaults() {
	local c=$LAB_DIR/bouncewall.conf k
	touch "$c"
	for k in policy_listen socketmap_listen posture_resolver; do
		grep -q "^[[:space:]]*$k[[:space:]]*=" "$c" || echo "$k = off" >>"$c"
	done
}

# free_port BASE: the first TCP port from BASE up that nothing listens on.
free_port() {
	local p=$1
	while [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; do p=$((p + 1)); done
	echo "$p"
}

# Start the agent on the lab interface; extra args go to `run`.
agent_start() {
	agent_conf_defaults
	"$BW" run -i "$LAB_IF" --socket "$LAB_SOCK" --state-dir "$LAB_DIR/state" \
		-c "$LAB_DIR/bouncewall.conf" --metrics off "$@" \
		>>"$LAB_DIR/agent.log" 2>&1 &
	AGENT_PID=$!
	local i
	# A bound that only catches a hang: a loaded CI machine may be slow.
	for i in $(seq 1 300); do
		[ -S "$LAB_SOCK" ] && bwc status >/dev/null 2>&1 && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	log "agent did not start:"; tail -20 "$LAB_DIR/agent.log"
	return 1
}

agent_stop() {
	[ -n "$AGENT_PID" ] || return 0
	kill -TERM "$AGENT_PID" 2>/dev/null
	wait "$AGENT_PID" 2>/dev/null
	AGENT_PID=
}

# The CLI, pointed at this lab's agent.
bwc() { "$BW" --socket "$LAB_SOCK" "$@"; }

# Start a background process (or shell function) and remember its PID for
# cleanup; SPAWNED is that PID.
spawn() { "$@" & SPAWNED=$!; LAB_PIDS+=("$SPAWNED"); }

# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds; fail
# once SECONDS have passed.  Tests wait for conditions, never sleep for
# them; the bound only turns a hang into a failure, so it is generous and
# never a speed limit (those are make bench's).
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.2
	done
}

# listening ADDR PORT: a TCP socket listens on ADDR:PORT (root namespace).
listening() {
	local hp=$1:$2
	case $1 in *:*) hp="[$1]:$2" ;; esac
	ss -Hltn | awk -v w="$hp" '$4 == w { f = 1 } END { exit !f }'
}

# cap_start FILE IFACE FILTER [NETNS]: tcpdump writing each packet to FILE
# as it comes (-U), remembered for cleanup; returns once tcpdump says it is
# listening (its filter is on), so nothing sent after is missed.  CAP_PID
# is tcpdump's PID (ip netns exec execs it).
cap_start() {
	local file=$1 ifc=$2 filter=$3 ns=${4:-}
	if [ -n "$ns" ]; then
		ip netns exec "$ns" tcpdump -i "$ifc" -n -U -w "$file" "$filter" 2>"$file.err" &
	else
		tcpdump -i "$ifc" -n -U -w "$file" "$filter" 2>"$file.err" &
	fi
	CAP_PID=$!
	LAB_PIDS+=("$CAP_PID")
	wait_for 30 grep -qs 'listening on' "$file.err" ||
		{ log "tcpdump on $ifc did not start: $(cat "$file.err")"; return 1; }
}
cap_stop() { kill -INT "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# cap_count FILE FILTER: packets in FILE matching FILTER.
cap_count() { tcpdump -nr "$1" "$2" 2>/dev/null | wc -l; }

# tcp_probe SRC DST PORT: exit 0 when a TCP handshake from SRC completes
# within a second (run inside the sender namespace).
tcp_probe() {
	in_ns /usr/bin/python3 "$LAB_ROOT/tests/lab/tcp_probe.py" "$1" "$2" "$3" 1
}

lab_summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
