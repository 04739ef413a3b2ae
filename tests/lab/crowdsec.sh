# shellcheck shell=bash
# crowdsec.sh - a private CrowdSec Local API for the lab: Debian's crowdsec
# 1.4 run as the LAPI alone (-no-cs), offline (no online_client), with its
# own sqlite database, log directory and a free port.  The
# system service is never used or touched.
#
# Source it after lib.sh.
#
#   lapi_up DIR            write DIR/config.yaml, register a machine for
#                          cscli, start the LAPI (PID in LAPI_PID, also in
#                          LAB_PIDS) and wait until it answers; LAPI_URL set.
#                          It listens on $LAPI_HOST (default 127.0.0.1; the
#                          lab interface's address reaches the namespace)
#   lapi_start / lapi_stop the same LAPI again, or stopped (SIGTERM), DB kept
#   csc ARGS...            cscli against it
#   free_port              a TCP port nobody listens on now
#   lapi_bouncer NAME      a bouncer API key (stdout)
#   lapi_machine NAME PW   a validated watcher

LAPI_DIR=
LAPI_PID=
LAPI_URL=
LAPI_HOST=${LAPI_HOST:-127.0.0.1}

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

csc() { cscli -c "$LAPI_DIR/config.yaml" --error "$@"; }

lapi_start() {
	local i code
	crowdsec -c "$LAPI_DIR/config.yaml" -no-cs >>"$LAPI_DIR/lapi.out" 2>&1 &
	LAPI_PID=$!
	LAB_PIDS+=("$LAPI_PID")
	# Up when it answers an unauthenticated stream request with 403.
	for i in $(seq 1 200); do
		code=$(curl -s -o /dev/null -w '%{http_code}' -m 1 "$LAPI_URL/v1/decisions/stream" 2>/dev/null)
		[ "$code" = 403 ] && return 0
		kill -0 "$LAPI_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "lapi: did not start:"; tail -5 "$LAPI_DIR/lapi.out" "$LAPI_DIR/crowdsec_api.log" 2>/dev/null
	return 1
}

lapi_stop() {
	[ -n "$LAPI_PID" ] || return 0
	kill -TERM "$LAPI_PID" 2>/dev/null
	wait "$LAPI_PID" 2>/dev/null
	LAPI_PID=
}

lapi_up() {
	local port
	LAPI_DIR=$1
	mkdir -p "$LAPI_DIR"
	port=$(free_port)
	LAPI_URL=http://$LAPI_HOST:$port
	# The package's config, minus the Central API, with our own paths.
	/usr/bin/python3 - /etc/crowdsec/config.yaml "$LAPI_DIR" "$LAPI_HOST:$port" \
		>"$LAPI_DIR/config.yaml" <<'PY' || return 1
import re, sys
src, d, port = sys.argv[1:]
t = open(src).read()
t = re.sub(r"\n    online_client:[^\n]*\n(      [^\n]*\n)*", "\n", t)
t = re.sub(r"daemonize: \w+", "daemonize: false", t)
t = re.sub(r"log_dir: [^\n]*", "log_dir: %s/" % d, t)
t = re.sub(r"db_path: [^\n]*", "db_path: %s/crowdsec.db\n  use_wal: true" % d, t)
t = re.sub(r"listen_uri: [^\n]*", "listen_uri: %s" % port, t)
t = re.sub(r"(client:\n(?:[^\n]*\n)*?\s+credentials_path: )[^\n]*", r"\g<1>%s/cli.yaml" % d, t, count=1)
t = re.sub(r"(prometheus:\n\s+enabled: )\w+", r"\g<1>false", t)
assert "online_client" not in t and port in t and d + "/cli.yaml" in t
print(t, end="")
PY
	printf 'url: %s\n' "$LAPI_URL" >"$LAPI_DIR/cli.yaml"
	csc machines add lab-cscli --auto -f "$LAPI_DIR/cli.yaml" --force >/dev/null || return 1
	lapi_start
}

lapi_bouncer() { csc bouncers add "$1" -o raw; }

lapi_machine() { csc machines add "$1" --password "$2" -f /dev/null --force >/dev/null; }
