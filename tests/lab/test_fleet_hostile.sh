#!/bin/bash
# test_fleet_hostile.sh - a LAPI that answers garbage, an endless body,
# nothing at all, or 403 (tests/lab/fake_lapi.py): each failure is counted
# in bouncewall_crowdsec_errors_total and logged, the body cap holds (the
# agent's memory does not follow the body), the agent answers its control
# socket throughout, and once the LAPI behaves the agent recovers.
. "$(dirname "$0")/lib.sh"
trap 'lab_cleanup' EXIT

lab_up 10
MODE=$LAB_DIR/mode
FAKE_LOG=$LAB_DIR/fake.log
BAN=$LAB_NET4.91
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo garbage >"$MODE"
: >"$FAKE_LOG"
spawn /usr/bin/python3 "$LAB_ROOT/tests/lab/fake_lapi.py" "$PORT" "$MODE" "$FAKE_LOG" "$BAN"
for _ in $(seq 1 50); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
	sleep 0.1
done
cat >"$LAB_DIR/bouncewall.conf" <<CONF
crowdsec_url = http://127.0.0.1:$PORT
crowdsec_api_key = fake-key-1234
crowdsec_login = gw
crowdsec_password = fake-password-5678
crowdsec_poll = 1s
CONF
chmod 600 "$LAB_DIR/bouncewall.conf"
MP=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
agent_start --metrics 127.0.0.1:$MP || exit 1

metric() { curl -s "http://127.0.0.1:$MP/metrics" | awk -v m="$1" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'; }
# The retries back off up to 10 s: every wait below allows for that.
wait_for() {
	local limit=$1 k; shift
	for k in $(seq 1 $((limit * 10))); do "$@" && return 0; sleep 0.1; done
	return 1
}
logged() { grep -q -- "$1" "$LAB_DIR/agent.log"; }
alive() { kill -0 "$AGENT_PID" 2>/dev/null; }
# The control socket answers within a second: the loop is not held.
responsive() { timeout 1 "$BW" --socket "$LAB_SOCK" status >/dev/null 2>&1; }

check "garbage: the pull fails, counted" wait_for 15 logged 'fleet pull failed .*err="the body is not a JSON object"'
login_errors() { [ "$(metric 'bouncewall_crowdsec_errors_total{op="login"}')" -ge 1 ]; }
check "garbage: the login fails, counted" wait_for 15 login_errors
check "garbage: pull errors in the metrics" [ "$(metric 'bouncewall_crowdsec_errors_total{op="pull"}')" -ge 1 ]

echo huge >"$MODE"
check "huge: an endless body is cut at its limit" wait_for 30 logged 'fleet pull failed .*err="body over its limit"'
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$AGENT_PID/status")
log "agent peak RSS after the endless body: $hwm KiB"
check "huge: the agent's memory did not follow the body (peak RSS $hwm KiB < 64 MiB)" \
	[ "$hwm" -lt 65536 ]

echo hang >"$MODE"
check "hang: the LAPI holds a pull" wait_for 15 grep -q '^hang GET /v1/decisions/stream' "$FAKE_LOG"
check "hang: the agent answers its control socket meanwhile" responsive
bwc block add $LAB_NET4.92 --ttl 5m >/dev/null
check "hang: an operator block still goes into the kernel" \
	bash -c "'$BW' --socket '$LAB_SOCK' block list | grep -q '$LAB_NET4.92/32 .*operator'"

echo deny >"$MODE"
check "deny: a refused API key is logged as such" wait_for 30 logged 'fleet pull failed .*status=403 err="API key refused"'

echo ok >"$MODE"
check "ok: the pull recovers" wait_for 30 logged 'fleet pull recovered after errors='
check "ok: the fleet's ban is enforced" wait_for 5 bash -c \
	"'$BW' --socket '$LAB_SOCK' block list --json | grep -q '\"cidr\":\"$BAN/32\",\"action\":\"block\",\"origin\":\"crowdsec\"'"
check "ok: the block made during the hang is pushed" wait_for 30 logged "fleet pushed cidr=$LAB_NET4.92/32"
check "the agent ran throughout" alive
check_not "no credential in the log" grep -Fq -e fake-key-1234 -e fake-password-5678 "$LAB_DIR/agent.log"

lab_summary
