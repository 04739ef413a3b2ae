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

# A lab number nobody else holds: claimed by creating its lock directory
# (mkdir is atomic), released by lab_cleanup.  A claim whose owner is gone
# (a SIGKILLed test) is taken over.  Two labs never share a number, so
# they never tear each other's namespaces down.
LAB_LOCKS=/run/bouncewall-lab
lab_claim_id() {
	local id start=$(( $$ % 200 )) k owner
	mkdir -p "$LAB_LOCKS"
	for k in $(seq 0 199); do
		id=$(( (start + k) % 200 + 20 ))
		if mkdir "$LAB_LOCKS/$id" 2>/dev/null; then
			echo $$ > "$LAB_LOCKS/$id/pid"
			LAB_ID=$id
			return 0
		fi
		owner=$(cat "$LAB_LOCKS/$id/pid" 2>/dev/null)
		if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
			rm -rf "$LAB_LOCKS/$id"
			if mkdir "$LAB_LOCKS/$id" 2>/dev/null; then
				echo $$ > "$LAB_LOCKS/$id/pid"
				LAB_ID=$id
				return 0
			fi
		fi
	done
	echo "lab: no free lab number in 20..219" >&2
	exit 1
}
if [ -n "${LAB_ID:-}" ]; then
	LAB_ID_OWNED=0		# chosen by the caller (a bench): theirs to guard
else
	lab_claim_id
	LAB_ID_OWNED=1
fi
LAB_NS=bwlab-$LAB_ID-snd
LAB_IF=bwl${LAB_ID}a		# protected interface (root namespace)
LAB_PEER=bwl${LAB_ID}b		# its peer, moved into $LAB_NS
LAB_NET4=10.231.$LAB_ID
LAB_NET6=fd00:231:$LAB_ID
LAB_DIR=$(mktemp -d /tmp/bwlab.XXXXXX)
LAB_SOCK=$LAB_DIR/bouncewall.sock
LAB_PIDS=()
AGENT_PID=
# Each lab pins under its own directory, so labs running side by side (a
# developer's and CI's, or two tests) never share maps.
export BOUNCEWALL_PIN_DIR=/sys/fs/bpf/bouncewall-lab-$LAB_ID

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

lab_cleanup() {
	local p
	set +e
	if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null
	fi
	for p in "${LAB_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${LAB_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	# A hard-killed agent leaves its pinned link: remove only ours.
	rm -f "$BOUNCEWALL_PIN_DIR/link_$LAB_IF"
	# and a hard-killed agent's maps: this lab's own directory only.
	rm -rf "$BOUNCEWALL_PIN_DIR"
	ip link del "$LAB_IF" 2>/dev/null
	ip netns del "$LAB_NS" 2>/dev/null
	ip route del blackhole "$LAB_NET4.0/24" 2>/dev/null
	ip -6 route del blackhole "$LAB_NET6::/48" 2>/dev/null
	if [ "${LAB_KEEP:-0}" != 1 ]; then rm -rf "$LAB_DIR"; fi
	[ "$LAB_ID_OWNED" = 1 ] && rm -rf "$LAB_LOCKS/$LAB_ID"
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
# set free ports.
agent_conf_defaults() {
	local c=$LAB_DIR/bouncewall.conf k
	touch "$c"
	for k in policy_listen socketmap_listen; do
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
	for i in $(seq 1 100); do
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

# Start a background process and remember its PID for cleanup.
spawn() { "$@" & LAB_PIDS+=("$!"); }

# tcp_probe SRC DST PORT: exit 0 when a TCP handshake from SRC completes
# within a second (run inside the sender namespace).
tcp_probe() {
	in_ns /usr/bin/python3 "$LAB_ROOT/tests/lab/tcp_probe.py" "$1" "$2" "$3" 1
}

lab_summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
