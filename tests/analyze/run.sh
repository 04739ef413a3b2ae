#!/bin/sh
# tests/analyze/run.sh - `bouncewall analyze` on every capture in
# tests/pcaps/ (a copy of the reference set, ../shared/pcaps) must
# reproduce tests/pcaps/expected.tsv, every capture must have its row, and
# it must fail the right way on a truncated file, a missing file and bad
# usage.  Each capture is also read as pcapng (converted by Wireshark's
# editcap) and with every frame behind one 802.1Q tag and behind QinQ
# (802.1ad + 802.1Q, vlan_tag.py): the counts must not change.
#
# PCAPS=DIR runs it on another directory of captures and its expected.tsv
# (tests/meta uses that to show a capture without a row fails).
#
# Prints one ok/FAIL line per check and ends with exactly one line
# "N passed, N failed"; exits 1 if anything failed.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BW=${BW:-$ROOT/build/bouncewall}
PCAPS=${PCAPS:-$ROOT/tests/pcaps}
EDITCAP=${EDITCAP:-editcap}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

ok()   { pass=$((pass + 1)); echo "ok   $*"; }
bad()  { fail=$((fail + 1)); echo "FAIL $*"; }

if [ ! -x "$BW" ]; then
	echo "FAIL $BW not built"
	echo "0 passed, 1 failed"
	exit 1
fi

# JSON keys for the expected.tsv columns, in order.
keys="sessions transactions null_sender_transactions rcpt_total replies_5xx opaque_sessions"

tail -n +2 "$PCAPS/expected.tsv" | tr -d '\r' > "$tmp/rows"

# Every capture has a row, and every row a capture: a file added without
# its reference counts must not pass unnoticed.
for p in "$PCAPS"/*.pcap "$PCAPS"/*.pcapng; do
	[ -e "$p" ] || continue
	n=$(basename "$p")
	if cut -f1 "$tmp/rows" | grep -qxF "$n"; then ok "$n has a row in expected.tsv"
	else bad "$n has no row in expected.tsv"; fi
done
while IFS='	' read -r file _; do
	[ -n "$file" ] || continue
	[ -e "$PCAPS/$file" ] || bad "expected.tsv names $file, which is not in tests/pcaps"
done < "$tmp/rows"

# counts_match NAME PATH WANT [PORTS]: analyze PATH and compare its counts
# with WANT (the row's six numbers, space-separated).
counts_match() {
	name=$1 path=$2 want=$3 ports=${4:-}
	set -- --json
	[ -n "$ports" ] && set -- --ports "$ports" --json
	if ! "$BW" analyze "$path" "$@" > "$tmp/out" 2> "$tmp/err"; then
		bad "$name: exit status $? ($(head -n 1 "$tmp/err"))"
		return
	fi
	got=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(str(d[k]) for k in sys.argv[2:]))' "$tmp/out" $keys 2>&1) || {
		bad "$name: output is not the expected JSON: $got"
		return
	}
	if [ "$got" = "$want" ]; then
		ok "$name"
	else
		bad "$name: got [$got] want [$want] ($keys)"
	fi
}

while IFS='	' read -r file sessions mft mfn rcpt r5 tls ports; do
	[ -n "$file" ] || continue
	want="$sessions $mft $mfn $rcpt $r5 $tls"
	counts_match "$file" "$PCAPS/$file" "$want" "${ports:-}"
	case $file in *.pcap) ;; *) continue ;; esac
	# The same frames in the other file format, and behind VLAN tags.
	base=${file%.pcap}
	if "$EDITCAP" -F pcapng "$PCAPS/$file" "$tmp/$base.pcapng" > "$tmp/err" 2>&1 &&
	   [ "$(head -c 4 "$tmp/$base.pcapng" | od -An -tx1 | tr -d ' ')" = 0a0d0d0a ]; then
		counts_match "$file as pcapng" "$tmp/$base.pcapng" "$want" "${ports:-}"
	else
		bad "$file as pcapng: $EDITCAP -F pcapng failed ($(head -n 1 "$tmp/err"))"
	fi
	for n in 1 2; do
		if "$PY" "$ROOT/tests/analyze/vlan_tag.py" "$PCAPS/$file" "$tmp/$base-vlan$n.pcap" "$n" \
			> "$tmp/err" 2>&1; then
			counts_match "$file behind $n VLAN tag(s)" "$tmp/$base-vlan$n.pcap" "$want" "${ports:-}"
		else
			bad "$file behind $n VLAN tag(s): vlan_tag.py failed ($(head -n 1 "$tmp/err"))"
		fi
	done
done < "$tmp/rows"

# A capture cut in the middle of a packet: report what was read, exit 1.
head -c 20000 "$PCAPS/zeek_smtp-2sessions-auth-login.pcap" > "$tmp/cut.pcap"
"$BW" analyze "$tmp/cut.pcap" --json > "$tmp/out" 2> "$tmp/err"
st=$?
if [ $st -eq 1 ] && [ -s "$tmp/err" ] &&
   "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["complete"] is False and d["packets"] > 0 and d["sessions"] >= 1 else 1)' "$tmp/out"; then
	ok "truncated capture: exit 1, partial report, error on stderr"
else
	bad "truncated capture: exit $st, stderr '$(head -n 1 "$tmp/err")'"
fi

# A file cut inside the pcap file header cannot be opened at all.
head -c 10 "$PCAPS/zeek_smtp-2sessions-auth-login.pcap" > "$tmp/hdr.pcap"
"$BW" analyze "$tmp/hdr.pcap" > /dev/null 2> "$tmp/err"
st=$?
[ $st -eq 1 ] && [ -s "$tmp/err" ] && ok "truncated header: exit 1" ||
	bad "truncated header: exit $st"

# Not a capture at all.
printf 'hello\n' > "$tmp/text.pcap"
"$BW" analyze "$tmp/text.pcap" > /dev/null 2> "$tmp/err"
st=$?
[ $st -eq 1 ] && ok "not a capture: exit 1" || bad "not a capture: exit $st"

"$BW" analyze "$tmp/does-not-exist.pcap" > /dev/null 2> "$tmp/err"
st=$?
[ $st -eq 1 ] && [ "$(wc -l < "$tmp/err")" -ge 1 ] && ok "missing file: exit 1" ||
	bad "missing file: exit $st"

# Usage errors: exit 2 with a line naming the problem.
check_usage() {
	name=$1
	shift
	"$BW" analyze "$@" > /dev/null 2> "$tmp/err"
	st=$?
	if [ $st -eq 2 ] && [ -s "$tmp/err" ]; then
		ok "usage: $name: exit 2"
	else
		bad "usage: $name: exit $st"
	fi
}
f=$PCAPS/zeek_smtp-2sessions-auth-login.pcap
check_usage "unknown flag" "$f" --frobnicate
check_usage "no file"
check_usage "two files" "$f" "$f"
check_usage "bad port" "$f" --ports 25,70000
check_usage "port list garbage" "$f" --ports 25,,587
check_usage "missing --ports value" "$f" --ports

# The table output names the counters.
if "$BW" analyze "$f" > "$tmp/out" 2>&1 && grep -q '^sessions ' "$tmp/out"; then
	ok "table output"
else
	bad "table output"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
