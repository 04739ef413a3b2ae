#!/bin/bash
# test_install.sh - `make install` into a scratch DESTDIR, and the packaged
# files checked against the code they describe (issue #4).
#
# The tree and its modes; PREFIX and SYSCONFDIR followed by the unit and
# the man page; an operator's config never overwritten; the unit through
# `systemd-analyze verify` (and its exposure score) when systemd-analyze is
# there; the man page rendered by groff with warnings on and found by man;
# every config key, metric family, command and flag named in the sources
# present in the man page; the default config complete and accepted by the
# binary; bash completion's names equal to the config table's; the Grafana
# dashboard parsed, its queries valid PromQL over metrics that exist.
# Prints `N passed, N failed`; exits non-zero on any failure.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/build/bouncewall
PY=/usr/bin/python3
PASS=0
FAIL=0
SKIP=0
ok() { PASS=$((PASS + 1)); printf 'ok   %s\n' "$*"; }
not_ok() { FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$*"; }
# A check that cannot run: a failure under BW_STRICT=1 (make check, which
# installs every tool used here), a visible skip otherwise.
skip() {
	if [ "${BW_STRICT:-0}" = 1 ]; then
		not_ok "$* (BW_STRICT=1: a skip is a failure)"
	else
		SKIP=$((SKIP + 1)); printf 'SKIP %s\n' "$*"
	fi
}
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; return 1; fi; }

WORK=$(mktemp -d /tmp/bwinstall.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

if [ ! -x "$BIN" ]; then
	echo "test_install: $BIN missing: run make first" >&2
	exit 1
fi

# --- names the sources define --------------------------------------------
# Config keys: "name default live" per line, from user/core/settings.c's table.
$PY - "$ROOT/user/core/settings.c" >"$WORK/keys" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
start = src.index("table[S_COUNT] = {")
body = src[start:src.index("\n};", start)]
for m in re.finditer(r'\[S_\w+\]\s*=\s*\{\s*"(\w+)",\s*"([^"]*)",(.*?)(true|false)\s*\}', body, re.S):
    print(m.group(1), m.group(2) or "-", m.group(4))
EOF
KEYS=$(awk '{print $1}' "$WORK/keys")
LIVE=$(awk '$3 == "true" {print $1}' "$WORK/keys")
# Every metric family the agent renders, wherever it is rendered.
METRICS=$(grep -rhoE '"(# TYPE )?bouncewall_[a-z_]+' "$ROOT/user" | sed 's/^"\(# TYPE \)\{0,1\}//' |
	sed -E 's/_(bucket|sum|count)$//' | sort -u)
# Commands from core/usage.c's usage table (run, analyze and the client's).
COMMANDS="$(grep -o '{ "[a-z]*", "' "$ROOT/user/core/usage.c" | sed 's/{ "\([a-z]*\)".*/\1/' | grep -vx help)"
# run's long options, from agent.c.
RUN_OPTS=$(sed -n '/static const struct option opts\[\]/,/{ 0 }/p' "$ROOT/user/cmd/agent.c" |
	grep -o '{ "[a-z-]*"' | sed 's/{ "\(.*\)"/\1/')
check "sources: config keys found (>= 19)" [ "$(echo "$KEYS" | wc -w)" -ge 19 ]
check "sources: metric families found (>= 13)" [ "$(echo "$METRICS" | wc -w)" -ge 13 ]
check "sources: run options found" [ "$(echo "$RUN_OPTS" | wc -w)" -ge 8 ]

# --- install into DESTDIR, PREFIX=/usr -----------------------------------
D=$WORK/dest
if DESTDIR=$D PREFIX=/usr "$ROOT/scripts/install.sh" >"$WORK/install.log" 2>&1; then
	ok "install.sh DESTDIR=... PREFIX=/usr exits 0"
else
	not_ok "install.sh DESTDIR=... PREFIX=/usr exits 0"; cat "$WORK/install.log"
fi

# has_mode PATH MODE
has_mode() { [ -f "$1" ] && [ "$(stat -c %a "$1")" = "$2" ]; }
check "binary     usr/sbin/bouncewall 0755" has_mode "$D/usr/sbin/bouncewall" 755
check "config     etc/bouncewall/bouncewall.conf 0640" has_mode "$D/etc/bouncewall/bouncewall.conf" 640
check "unit       usr/lib/systemd/system/bouncewall.service 0644" \
	has_mode "$D/usr/lib/systemd/system/bouncewall.service" 644
check "man page   usr/share/man/man8/bouncewall.8 0644" has_mode "$D/usr/share/man/man8/bouncewall.8" 644
check "completion usr/share/bash-completion/completions/bouncewall 0644" \
	has_mode "$D/usr/share/bash-completion/completions/bouncewall" 644
check "dashboard  usr/share/bouncewall/grafana-dashboard.json 0644" \
	has_mode "$D/usr/share/bouncewall/grafana-dashboard.json" 644
check "defaults   usr/share/bouncewall/bouncewall.conf.default 0644" \
	has_mode "$D/usr/share/bouncewall/bouncewall.conf.default" 644
check "nothing else installed (7 files)" [ "$(find "$D" -type f | wc -l)" = 7 ]
check "installed binary is the build" cmp -s "$BIN" "$D/usr/sbin/bouncewall"
check "installed binary runs" bash -c "'$D/usr/sbin/bouncewall' --version | grep -q '^bouncewall '"
check "installed config is the packaged one" cmp -s "$ROOT/packaging/bouncewall.conf" "$D/etc/bouncewall/bouncewall.conf"
UNIT=$D/usr/lib/systemd/system/bouncewall.service
check "unit: ExecStart=/usr/sbin/bouncewall run -c /etc/bouncewall/bouncewall.conf" \
	grep -qx 'ExecStart=/usr/sbin/bouncewall run -c /etc/bouncewall/bouncewall.conf' "$UNIT"
VERSION=$("$BIN" --version | sed 's/^bouncewall //')
check "man page carries the binary's version ($VERSION)" \
	grep -q "^\.TH BOUNCEWALL 8 .*\"bouncewall $VERSION\"" "$D/usr/share/man/man8/bouncewall.8"

# An operator's config survives a second install.
echo "syn_rate = 7   # mine" >>"$D/etc/bouncewall/bouncewall.conf"
chmod 600 "$D/etc/bouncewall/bouncewall.conf"
cp "$D/etc/bouncewall/bouncewall.conf" "$WORK/mine.conf"
DESTDIR=$D PREFIX=/usr "$ROOT/scripts/install.sh" >"$WORK/install2.log" 2>&1
check "re-install keeps an existing config (content and mode)" \
	bash -c "cmp -s '$WORK/mine.conf' '$D/etc/bouncewall/bouncewall.conf' && [ \$(stat -c %a '$D/etc/bouncewall/bouncewall.conf') = 600 ]"
check "re-install says it kept the config" grep -q 'KEEP' "$WORK/install2.log"

# Default PREFIX (/usr/local) and a custom SYSCONFDIR.
L=$WORK/local
env -u PREFIX DESTDIR="$L" "$ROOT/scripts/install.sh" >/dev/null 2>&1
check "default PREFIX is /usr/local (binary in usr/local/sbin)" [ -x "$L/usr/local/sbin/bouncewall" ]
check "PREFIX=/usr/local: unit runs /usr/local/sbin/bouncewall" \
	grep -q '^ExecStart=/usr/local/sbin/bouncewall run -c /etc/bouncewall/bouncewall.conf$' \
	"$L/usr/local/lib/systemd/system/bouncewall.service"
check "PREFIX=/usr/local: man page under usr/local/share/man/man8" [ -f "$L/usr/local/share/man/man8/bouncewall.8" ]
check "PREFIX=/usr/local: man page names the dashboard under /usr/local/share" \
	grep -q '/usr/local/share/bouncewall/grafana' "$L/usr/local/share/man/man8/bouncewall.8"
check "PREFIX=/usr/local: config still in /etc (the binary's default path)" [ -f "$L/etc/bouncewall/bouncewall.conf" ]
S=$WORK/sysconf
DESTDIR=$S PREFIX=/opt/bw SYSCONFDIR=/opt/bw/etc "$ROOT/scripts/install.sh" >/dev/null 2>&1
check "SYSCONFDIR=/opt/bw/etc: config there and the unit points at it" \
	bash -c "[ -f '$S/opt/bw/etc/bouncewall/bouncewall.conf' ] && grep -q '^ExecStart=/opt/bw/sbin/bouncewall run -c /opt/bw/etc/bouncewall/bouncewall.conf$' '$S/opt/bw/lib/systemd/system/bouncewall.service'"
DESTDIR=$WORK/rel PREFIX=usr "$ROOT/scripts/install.sh" >/dev/null 2>&1
check "relative PREFIX refused with exit 2" [ $? = 2 ]
check "relative PREFIX installs nothing" [ ! -e "$WORK/rel" ]
BIN=/nonexistent DESTDIR=$WORK/nobin "$ROOT/scripts/install.sh" >/dev/null 2>&1
check "missing binary: exit 1, nothing installed" bash -c "[ $? = 1 ] && [ ! -e '$WORK/nobin' ]"

# --- the systemd unit ------------------------------------------------------
unit_has() { grep -qx "$1" "$UNIT"; }
# shellcheck disable=SC2016 # $MAINPID is literal unit text
for line in 'Type=exec' 'ExecReload=/bin/kill -HUP $MAINPID' 'Restart=on-failure' \
	'RestartPreventExitStatus=2' \
	'CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_NET_RAW CAP_SYS_ADMIN' \
	'ProtectSystem=strict' 'ReadWritePaths=/sys/fs/bpf' 'StateDirectory=bouncewall' \
	'RuntimeDirectory=bouncewall' 'ProtectHome=yes' 'PrivateTmp=yes' 'NoNewPrivileges=yes' \
	'LimitMEMLOCK=infinity' 'Documentation=man:bouncewall(8)' 'WantedBy=multi-user.target'; do
	check "unit: $line" unit_has "$line"
done
check "unit: no AmbientCapabilities (runs as root, bounded set)" bash -c "! grep -q '^AmbientCapabilities=.' '$UNIT'"
check "unit: no PrivateNetwork (must see the real interfaces)" bash -c "! grep -q '^PrivateNetwork=yes' '$UNIT'"
check "unit: RuntimeDirectory matches the default control_socket" \
	grep -q '^control_socket /run/bouncewall/bouncewall.sock ' "$WORK/keys"
check "unit: StateDirectory matches the default state_dir" \
	grep -q '^state_dir /var/lib/bouncewall ' "$WORK/keys"

if command -v systemd-analyze >/dev/null 2>&1; then
	# verify checks that ExecStart exists and that man:bouncewall(8)
	# resolves: point both at the DESTDIR tree.
	sed "s|^ExecStart=/usr/sbin/|ExecStart=$D/usr/sbin/|" "$UNIT" >"$WORK/bouncewall.service"
	if (cd "$WORK" && MANPATH=$D/usr/share/man systemd-analyze verify "$WORK/bouncewall.service") \
		>"$WORK/verify.log" 2>&1 && [ ! -s "$WORK/verify.log" ]; then
		ok "systemd-analyze verify: clean"
	else
		not_ok "systemd-analyze verify: clean"; cat "$WORK/verify.log"
	fi
	exposure=$(cd "$WORK" && systemd-analyze security --offline=yes "$WORK/bouncewall.service" 2>/dev/null |
		sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -n "$exposure" ]; then
		echo "     systemd-analyze security exposure: $exposure (0 safest, 10 unsafe)"
		check "systemd-analyze security: exposure $exposure <= 3.0" \
			awk -v e="$exposure" 'BEGIN { exit !(e <= 3.0) }'
	else
		skip "systemd-analyze security --offline not supported here"
	fi
else
	skip "systemd-analyze not installed: unit not verified"
fi

# --- the man page ----------------------------------------------------------
MAN=$D/usr/share/man/man8/bouncewall.8
if command -v groff >/dev/null 2>&1; then
	groff -man -Tutf8 -ww -z "$MAN" >"$WORK/groff.log" 2>&1
	check "groff -man -ww: no warnings" bash -c "[ $? = 0 ] && [ ! -s '$WORK/groff.log' ]" ||
		cat "$WORK/groff.log"
else
	skip "groff not installed (groff-base)"
fi
if command -v man >/dev/null 2>&1; then
	check "man -l renders it" bash -c "MANWIDTH=80 man -l '$MAN' >'$WORK/man.txt' 2>'$WORK/man.err' && [ -s '$WORK/man.txt' ] && [ ! -s '$WORK/man.err' ]"
	check "man finds it on the installed MANPATH" \
		bash -c "[ \"\$(MANPATH='$D/usr/share/man' man -w bouncewall)\" = '$MAN' ]"
	# Rendered text, hyphen variants folded, for the name checks below.
	sed 's/‐/-/g; s/−/-/g' "$WORK/man.txt" >"$WORK/man.flat"
	missing=""
	for k in $KEYS; do grep -qw -- "$k" "$WORK/man.flat" || missing="$missing $k"; done
	check "man page names every config key${missing:+ (missing:$missing)}" [ -z "$missing" ]
	missing=""
	# shellcheck disable=SC2013 # one word per key
	for k in $(awk '$2 != "-" {print $1 "=" $2}' "$WORK/keys"); do
		grep -q -- "^ *${k%%=*} (.*default ${k#*=})" "$WORK/man.flat" || missing="$missing $k"
	done
	check "man page gives every key's default${missing:+ (missing:$missing)}" [ -z "$missing" ]
	missing=""
	for m in $METRICS; do grep -q -- "$m" "$WORK/man.flat" || missing="$missing $m"; done
	check "man page names every metric family${missing:+ (missing:$missing)}" [ -z "$missing" ]
	missing=""
	for c in $COMMANDS; do grep -q -- "bouncewall .*$c" "$WORK/man.flat" || missing="$missing $c"; done
	check "man page synopsis has every command${missing:+ (missing:$missing)}" [ -z "$missing" ]
	missing=""
	for o in $RUN_OPTS; do grep -q -- "--$o" "$WORK/man.flat" || missing="$missing --$o"; done
	check "man page has every run option${missing:+ (missing:$missing)}" [ -z "$missing" ]
	missing=""
	for s in 'EXIT STATUS' SIGNALS FILES ENVIRONMENT METRICS CONFIGURATION BOUNCEWALL_SOCKET SIGHUP SIGTERM; do
		grep -q "$s" "$WORK/man.flat" || missing="$missing $s"
	done
	check "man page has exit codes, signals, files, environment${missing:+ (missing:$missing)}" [ -z "$missing" ]
else
	skip "man not installed (man-db): man page not rendered"
fi

# --- the default config ----------------------------------------------------
CONF=$ROOT/packaging/bouncewall.conf
missing=""
# shellcheck disable=SC2013 # one word per key
for k in $(awk '{print $1 "=" $2}' "$WORK/keys"); do
	key=${k%%=*} def=${k#*=}
	if [ "$def" = - ]; then
		grep -q "^#$key = " "$CONF" || grep -q "^#$key =$" "$CONF" || missing="$missing $key"
	else
		grep -qx "#$key = $def" "$CONF" || missing="$missing $key"
	fi
done
check "config: every key, commented out, with its default${missing:+ (missing:$missing)}" [ -z "$missing" ]
check "config: advises monitor mode first and allowlisting relays" \
	bash -c "grep -q 'mode = monitor' '$CONF' && grep -q 'allow add' '$CONF'"
PCAP=$ROOT/tests/pcaps/zeek_smtp-2sessions-auth-login.pcap
"$BIN" analyze "$PCAP" -c "$CONF" >/dev/null 2>"$WORK/conf.err"
check "config: the binary accepts it as shipped" [ $? = 0 ]
sed 's/^#\([a-z_0-9]* =\)/\1/' "$CONF" >"$WORK/uncommented.conf"
"$BIN" analyze "$PCAP" -c "$WORK/uncommented.conf" >/dev/null 2>"$WORK/conf.err"
check "config: the binary accepts it with every key uncommented" [ $? = 0 ] || cat "$WORK/conf.err"

# --- bash completion -------------------------------------------------------
COMP=$D/usr/share/bash-completion/completions/bouncewall
check "completion: bash -n" bash -n "$COMP"
# complete WORDS...: what the completion offers for the last word.
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _bouncewall; echo "${COMPREPLY[*]}"' \
		_ "$COMP" "$@"
}
check "completion: registered for bouncewall" \
	bash -c ". '$COMP'; complete -p bouncewall | grep -q _bouncewall"
got=$(complete_words bouncewall "" | tr ' ' '\n' | sort | tr '\n' ' ')
want=$(echo "$COMMANDS help" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
check "completion: every command [$got]" [ "$got" = "$want" ]
got=$(complete_words bouncewall threshold get "" | tr ' ' '\n' | sort | tr '\n' ' ')
want=$(echo "$KEYS" | tr ' ' '\n' | sort | tr '\n' ' ')
check "completion: threshold get offers every config key" [ "$got" = "$want" ]
got=$(complete_words bouncewall --socket /x threshold set "" | tr ' ' '\n' | sort | tr '\n' ' ')
want=$(echo "$LIVE" | tr ' ' '\n' | sort | tr '\n' ' ')
check "completion: threshold set offers exactly the live keys" [ "$got" = "$want" ]
got=$(complete_words bouncewall run -- | tr ' ' '\n' | grep -- '^--' | sed 's/^--//' | sort | tr '\n' ' ')
want=$(echo "$RUN_OPTS" | sort | tr '\n' ' ')
check "completion: run offers every run option" [ "$got" = "$want" ]
check "completion: threshold set mode -> enforce monitor" \
	[ "$(complete_words bouncewall threshold set mode "")" = "enforce monitor" ]
check "completion: block add --ttl offers durations" \
	bash -c "[[ '$(complete_words bouncewall block add 10.0.0.1 --ttl "")' == *10m* ]]"

# --- the Grafana dashboard ---------------------------------------------------
DASH=$D/usr/share/bouncewall/grafana-dashboard.json
echo "$METRICS" >"$WORK/metrics"
if $PY - "$DASH" "$WORK/metrics" "$WORK/rules.yml" >"$WORK/dash.log" 2>&1 <<'EOF'; then
import json, re, sys
d = json.load(open(sys.argv[1]))
known = set(open(sys.argv[2]).read().split())
errors = []
if not (36 <= d.get("schemaVersion", 0) <= 39):
    errors.append("schemaVersion %r" % d.get("schemaVersion"))
tv = d.get("templating", {}).get("list", [])
if not any(v.get("type") == "datasource" and v.get("query") == "prometheus" for v in tv):
    errors.append("no Prometheus datasource variable")
exprs = []
def walk(o):
    if isinstance(o, dict):
        if isinstance(o.get("expr"), str):
            exprs.append(o["expr"])
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(d)
used = set()
for e in exprs:
    for name in re.findall(r"\bbouncewall_[a-z_]+\b", e):
        used.add(name)
        if name not in known:
            errors.append("unknown metric %s in %s" % (name, e))
for need in ["bouncewall_storm_active", "bouncewall_xdp_dropped_packets_total",
             "bouncewall_xdp_smtp_syn_total", "bouncewall_null_sender_rate_per_minute",
             "bouncewall_null_sender_baseline_per_minute", "bouncewall_blocked_prefixes",
             "bouncewall_throttled_prefixes", "bouncewall_capture_dropped_packets_total",
             "bouncewall_decisions_total"]:
    if need not in used:
        errors.append("no panel over " + need)
ids = [p["id"] for p in d["panels"]]
if len(ids) != len(set(ids)):
    errors.append("duplicate panel ids")
# Grafana's variables made concrete, for promtool.
with open(sys.argv[3], "w") as f:
    f.write("groups:\n- name: dashboard\n  rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "1m").replace("$instance", ".*")
        f.write("  - record: dashboard:expr%d\n    expr: %s\n" % (i, json.dumps(e)))
print("%d queries over %d metric families" % (len(exprs), len(used)))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
	ok "dashboard: JSON, datasource variable, every query over existing metrics ($(cat "$WORK/dash.log"))"
else
	not_ok "dashboard: JSON, datasource variable, every query over existing metrics"; cat "$WORK/dash.log"
fi
if command -v promtool >/dev/null 2>&1; then
	check "dashboard: every query is valid PromQL (promtool check rules)" \
		bash -c "promtool check rules '$WORK/rules.yml' >'$WORK/promtool.log' 2>&1" ||
		cat "$WORK/promtool.log"
else
	skip "promtool not installed: dashboard PromQL not checked"
fi

echo "$PASS passed, $FAIL failed, $SKIP skipped"
[ "$FAIL" -eq 0 ]
