#!/bin/bash
# test_posture.sh - `bouncewall posture` and the agent's posture checks
# against a real DNS server: dnsmasq in the lab namespace serves .test
# domains with every kind of SPF, DMARC and DKIM record (keys made here by
# OpenSSL).  The CLI's grades, findings and exit codes are asserted over
# IPv4 and IPv6, a 2 kB record that only TCP carries, a dead resolver and
# bad arguments; the agent's bouncewall_domain_posture must show the same
# grades, a reload that adds a domain must recheck, a resolver that never
# answers must not stall the control socket (and must keep the last
# grades), and a storm's onset must log the posture.
. "$(dirname "$0")/lib.sh"
trap lab_cleanup EXIT

PY=/usr/bin/python3
for tool in dnsmasq openssl smtp-sink smtp-source curl promtool ss; do
	command -v "$tool" >/dev/null 2>&1 && continue
	echo "FAIL: $tool not installed (scripts/install-deps.sh)"
	exit 1
done

DNSN=53 SND=10 MUTE=11
lab_up $DNSN $SND $MUTE
DNS4=$LAB_NET4.$DNSN DNS6=$LAB_NET6::$DNSN

# ---- keys and records ----
key() {	# key NAME BITS|ed25519: the base64 public key, cut into 250-byte strings
	if [ "$2" = ed25519 ]; then
		openssl genpkey -algorithm ed25519 -out "$LAB_DIR/$1.pem" 2>/dev/null
		openssl pkey -in "$LAB_DIR/$1.pem" -pubout -outform DER | tail -c 32 | base64 -w0
	else
		openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$2" -out "$LAB_DIR/$1.pem" 2>/dev/null
		openssl pkey -in "$LAB_DIR/$1.pem" -pubout -outform DER | base64 -w0
	fi
}
chunks() { $PY -c 'import sys; s=sys.argv[1]; print(",".join(s[i:i+250] for i in range(0, len(s), 250)))' "$1"; }

DK=(--txt-record="s2048._domainkey.keys.test,v=DKIM1; k=rsa; p=$(chunks "$(key k2048 2048)")"
    --txt-record="s1024._domainkey.keys.test,v=DKIM1; k=rsa; p=$(key k1024 1024)"
    --txt-record="s512._domainkey.keys.test,v=DKIM1; k=rsa; p=$(key k512 512)"
    --txt-record="sed._domainkey.keys.test,v=DKIM1; k=ed25519; p=$(key ked ed25519)"
    --txt-record="revoked._domainkey.keys.test,v=DKIM1; k=rsa; p="
    --txt-record="s2048._domainkey.good.test,v=DKIM1; p=$(chunks "$(key g2048 2048)")")
BIG="v=spf1 $(for i in $(seq 0 119); do printf 'ip4:10.%d.%d.0/24 ' $((i / 250)) $((i % 250)); done)-all"
DEEP=()
for i in $(seq 1 11); do DEEP+=(--txt-record="d$i.deep.test,v=spf1 include:d$((i + 1)).deep.test -all"); done
DEEP+=(--txt-record="d12.deep.test,v=spf1 ip4:192.0.2.1 -all")
MANY=()
for i in $(seq 1 70); do MANY+=(--txt-record="many.test,verification-token-$i"); done
REJECT='v=DMARC1; p=reject; rua=mailto:dmarc@lab.test'

# Spawned through ip netns exec itself (which execs), not the in_ns shell
# function, so the PID lab_cleanup ends is the server's own.
# --keep-in-foreground, not --no-daemon: the latter is dnsmasq's debug
# mode, which serves a TCP connection inline and answers nothing else
# until the client closes it (c-ares keeps it open after a TC retry).
spawn ip netns exec "$LAB_NS" dnsmasq --keep-in-foreground --log-facility=- --no-resolv --no-hosts \
	--bind-interfaces --cache-size=0 \
	--listen-address="$DNS4" --listen-address="$DNS6" --local=/test/ \
	--txt-record="good.test,v=spf1 ip4:192.0.2.0/24 mx -all" \
	--txt-record="good.test,some-site-verification=abc" \
	--mx-host=good.test,mx.good.test,10 --host-record=mx.good.test,192.0.2.25 \
	--txt-record="_dmarc.good.test,$REJECT" \
	--txt-record="soft.test,v=spf1 ip4:192.0.2.0/24 ~all" \
	--txt-record="_dmarc.soft.test,v=DMARC1; p=none; rua=mailto:d@soft.test" \
	--txt-record="open.test,v=spf1 +all" \
	--txt-record="_dmarc.open.test,v=DMARC1; p=reject; pct=50; rua=mailto:d@open.test" \
	--txt-record="none.test,some-site-verification=abc" \
	--txt-record="_dmarc.none.test,v=DMARC1; p=quarantine; rua=mailto:d@none.test" \
	--txt-record="dup.test,v=spf1 -all" --txt-record="dup.test,v=spf1 mx -all" \
	--txt-record="loop.test,v=spf1 include:loop2.test -all" \
	--txt-record="loop2.test,v=spf1 include:loop.test -all" \
	--txt-record="_dmarc.loop.test,$REJECT" \
	--txt-record="deep.test,v=spf1 include:d1.deep.test -all" "${DEEP[@]}" \
	--txt-record="_dmarc.deep.test,$REJECT" \
	--txt-record="void.test,v=spf1 a:gone1.test a:gone2.test mx:gone3.test -all" \
	--txt-record="_dmarc.void.test,$REJECT" \
	--txt-record="big.test,$(chunks "$BIG")" --txt-record="_dmarc.big.test,$REJECT" \
	"${MANY[@]}" \
	--txt-record="keys.test,v=spf1 -all" --txt-record="_dmarc.keys.test,$REJECT" \
	"${DK[@]}" >"$LAB_DIR/dnsmasq.log" 2>&1
for _ in $(seq 1 100); do
	[ -n "$(in_ns ss -Hlun "sport = :53")" ] && break
	sleep 0.1
done
check "dnsmasq serves the lab's .test zone" [ -n "$(in_ns ss -Hlun "sport = :53")" ]

# ---- the CLI ----
pst() { "$BW" posture --resolver "$DNS4" "$@"; }
# jget FILE DOMAIN PATH...: a field of a domain in posture --json output.
jget() {
	$PY - "$@" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
v = [d for d in doc["domains"] if d["domain"] == sys.argv[2]][0]
for k in sys.argv[3:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(json.dumps(v) if isinstance(v, (dict, list)) else v)
EOF
}
# expect DOMAIN CHECK VERDICT [FINDING]: from $OUT.
expect() {
	local got
	got=$(jget "$OUT" "$1" "$2" verdict 2>/dev/null)
	if [ "$got" != "$3" ]; then
		not_ok "$1 $2 is $3 (got '$got')"
		return
	fi
	if [ -n "${4:-}" ] && ! jget "$OUT" "$1" "$2" findings | grep -qF -- "$4"; then
		not_ok "$1 $2 is $3 with a finding about '$4'"
		jget "$OUT" "$1" "$2" findings
		return
	fi
	ok "$1 $2 is $3${4:+ ($4)}"
}

OUT=$LAB_DIR/all.json
pst good.test soft.test open.test none.test dup.test loop.test deep.test void.test big.test \
	many.test --json >"$OUT"
rc=$?
check "posture over many domains exits 1 (some fail)" [ $rc = 1 ]
check "--json is one JSON document" $PY -c "import json,sys; json.load(open(sys.argv[1]))" "$OUT"
expect good.test spf pass
expect good.test dmarc pass
check "good.test's SPF record is shown" [ "$(jget "$OUT" good.test spf record)" = "v=spf1 ip4:192.0.2.0/24 mx -all" ]
check "good.test's mx counts as 1 lookup" [ "$(jget "$OUT" good.test spf dns_lookups)" = 1 ]
expect soft.test spf warn "~all"
expect soft.test dmarc warn "p=none"
expect open.test spf fail "+all"
expect open.test dmarc warn "pct=50"
expect none.test spf fail "has no SPF record"
expect none.test dmarc pass
expect dup.test spf fail "2 SPF records"
expect dup.test dmarc fail "no DMARC record"
expect loop.test spf fail "loops back"
expect deep.test spf fail "at least 11 DNS lookups"
expect void.test spf fail "3 SPF lookups find nothing"
check "void.test counts 3 void lookups" [ "$(jget "$OUT" void.test spf void_lookups)" = 3 ]
expect big.test spf pass
check "big.test's 2 kB record came through whole (TCP)" \
	[ "$(jget "$OUT" big.test spf record | wc -c)" -gt 1000 ]
expect many.test spf fail "not all were read"
check "DKIM is left out without selectors" [ "$(jget "$OUT" good.test dkim)" = "[]" ]
check "no DNS error on answered lookups" [ "$(jget "$OUT" dup.test spf dns_error)" = False ]

pst good.test >"$LAB_DIR/good.txt"
check "good.test alone exits 0" [ $? = 0 ]
check "text output says good.test: pass" grep -q '^good.test: pass$' "$LAB_DIR/good.txt"
pst soft.test >"$LAB_DIR/soft.txt"
check "warnings exit 0 (soft.test: ~all and p=none)" [ $? = 0 ]
check "text output shows the ~all warning" grep -q -- '- warn: soft.test.s SPF ends in ~all' "$LAB_DIR/soft.txt"
check_not "open.test exits non-zero" pst open.test >/dev/null
"$BW" posture --resolver "[$DNS6]:53" good.test --selector s2048 >/dev/null
check "over IPv6 ([addr]:53) good.test passes with its DKIM key" [ $? = 0 ]

OUT=$LAB_DIR/keys.json
pst keys.test --json --selector s2048 --selector s1024 --selector s512 --selector sed \
	--selector revoked --selector missing >"$OUT"
check "keys.test with a weak, a revoked and a missing key exits 1" [ $? = 1 ]
dk() { jget "$OUT" keys.test dkim "$1" "$2"; }
check "DKIM 2048-bit RSA passes" [ "$(dk 0 verdict)/$(dk 0 key_bits)" = pass/2048 ]
check "DKIM 1024-bit RSA warns" [ "$(dk 1 verdict)/$(dk 1 key_bits)" = warn/1024 ]
check "DKIM 512-bit RSA fails" [ "$(dk 2 verdict)/$(dk 2 key_bits)" = fail/512 ]
check "DKIM Ed25519 passes" [ "$(dk 3 verdict)/$(dk 3 key_type)" = pass/ed25519 ]
check "DKIM revoked key fails" bash -c "[ '$(dk 4 verdict)' = fail ] && grep -q revoked <<<'$(dk 4 findings)'"
check "DKIM missing selector fails" bash -c "[ '$(dk 5 verdict)' = fail ] && grep -q 'no DKIM key' <<<'$(dk 5 findings)'"
pst keys.test --selector s1024 >/dev/null
check "a 1024-bit key alone is a warning: exit 0" [ $? = 0 ]

# A resolver that refuses (nothing listens): a DNS failure exits 1.
OUT=$LAB_DIR/dead.json
"$BW" posture --resolver "$LAB_NET4.$SND:5399" good.test --json >"$OUT"
check "a dead resolver exits 1" [ $? = 1 ]
check "... and says it was a DNS error" [ "$(jget "$OUT" good.test spf dns_error)" = True ]
"$BW" posture --resolver bogus good.test 2>"$LAB_DIR/usage.err"
check "--resolver bogus is a usage error (2)" [ $? = 2 ]
check "... naming the bad value" grep -q "invalid --resolver 'bogus'" "$LAB_DIR/usage.err"
"$BW" posture --resolver "$DNS4" 'bad_domain!' 2>/dev/null
check "a bad domain is a usage error (2)" [ $? = 2 ]

CONF=$LAB_DIR/bouncewall.conf
printf 'protected_domains = good.test soft.test\nposture_resolver = %s\n' "$DNS4" >"$CONF"
"$BW" posture -c "$CONF" >"$LAB_DIR/conf.txt"
rc=$?
check "posture -c grades protected_domains through posture_resolver" \
	bash -c "grep -q '^good.test: pass' '$LAB_DIR/conf.txt' && grep -q '^soft.test: warn' '$LAB_DIR/conf.txt'"
check "... and exits 0 (warnings only)" [ $rc = 0 ]

# ---- the agent ----
free_port() {
	local p=$1
	while [ -n "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; do p=$((p + 1)); done
	echo "$p"
}
MPORT=$(free_port $((19300 + LAB_ID)))
cat >"$CONF" <<CONF
protected_domains = good.test soft.test open.test
dkim_selectors = s2048
posture_resolver = $DNS4
syn_rate = 0
mode = monitor
CONF
spawn smtp-sink -u nobody "$LAB_NET4.1:25" 64
agent_start --metrics "127.0.0.1:$MPORT" || exit 1
scrape() { curl -sS --max-time 2 "http://127.0.0.1:$MPORT/metrics"; }
gauge() { scrape | sed -n "s/^bouncewall_domain_posture{domain=\"$1\",check=\"$2\"} //p"; }
wait_gauge() {	# wait_gauge DOMAIN CHECK VALUE: bounded wait for the series
	local _
	for _ in $(seq 1 150); do [ "$(gauge "$1" "$2")" = "$3" ] && return 0; sleep 0.1; done
	return 1
}
check "agent: good.test spf = 2 (pass)" wait_gauge good.test spf 2
check "agent: good.test dmarc = 2, dkim = 2" \
	bash -c "[ '$(gauge good.test dmarc)/$(gauge good.test dkim)' = 2/2 ]"
check "agent: soft.test spf = 1, dmarc = 1 (warn)" \
	bash -c "[ '$(gauge soft.test spf)/$(gauge soft.test dmarc)' = 1/1 ]"
check "agent: soft.test dkim = 0 (no key at s2048)" [ "$(gauge soft.test dkim)" = 0 ]
check "agent: open.test spf = 0 (+all)" [ "$(gauge open.test spf)" = 0 ]
check "agent logs each domain's posture" \
	grep -q 'posture checked domain=open.test spf=fail dmarc=warn dkim=fail' "$LAB_DIR/agent.log"
check "agent logs what to change" grep -q 'posture checked domain=open.test check=spf advice=".*+all' \
	"$LAB_DIR/agent.log"
scrape >"$LAB_DIR/scrape.txt"
if promtool check metrics <"$LAB_DIR/scrape.txt" >"$LAB_DIR/promtool.log" 2>&1; then
	ok "promtool check metrics: clean with the posture series"
else
	not_ok "promtool check metrics: clean with the posture series"; cat "$LAB_DIR/promtool.log"
fi

# A reload that adds a domain rechecks at once.
sed -i 's/^protected_domains = .*/protected_domains = good.test soft.test open.test none.test/' "$CONF"
bwc reload >/dev/null
check "after a reload adding none.test: its spf = 0" wait_gauge none.test spf 0

# A resolver that never answers: lookups time out on the loop, the
# control socket keeps answering at once, the grades stay.
spawn ip netns exec "$LAB_NS" $PY -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('$LAB_NET4.$MUTE', 53))
end = time.monotonic() + 120
while time.monotonic() < end:
    s.settimeout(1)
    try: s.recv(4096)
    except OSError: pass
"
sed -i "s/^posture_resolver = .*/posture_resolver = $LAB_NET4.$MUTE/" "$CONF"
errs0=$(scrape | sed -n 's/^bouncewall_posture_checks_total{result="dns_error"} //p')
bwc reload >/dev/null
slow=0
for _ in $(seq 1 20); do
	s=$(date +%s%N)
	timeout 2 "$BW" --socket "$LAB_SOCK" status >/dev/null || slow=$((slow + 1))
	[ $(( ($(date +%s%N) - s) / 1000000 )) -gt 500 ] && slow=$((slow + 1))
	sleep 0.2
done
check "control socket answers within 0.5 s while DNS times out" [ $slow = 0 ]
for _ in $(seq 1 300); do
	errs=$(scrape | sed -n 's/^bouncewall_posture_checks_total{result="dns_error"} //p')
	[ "${errs:-0}" -gt "${errs0:-0}" ] && break
	sleep 0.1
done
check "the timed-out check is counted as a DNS error" [ "${errs:-0}" -gt "${errs0:-0}" ]
check "... and good.test keeps its last grade (spf = 2)" [ "$(gauge good.test spf)" = 2 ]

# A storm's onset logs the posture of the protected domains.
sed -i "s/^posture_resolver = .*/posture_resolver = $DNS4/" "$CONF"
bwc reload >/dev/null
# Monitor mode: the scorer may decide to block the flood's source, but
# nothing is dropped, so smtp-source never hangs on a dropped SYN.
spawn ip netns exec "$LAB_NS" smtp-source -f '' -t postmaster@good.test -m 400 -s 4 "$LAB_NET4.1:25" \
	>"$LAB_DIR/source.log" 2>&1
for _ in $(seq 1 300); do
	grep -q 'posture storm=onset domain=good.test spf=pass' "$LAB_DIR/agent.log" && break
	sleep 0.1
done
check "a storm's onset logs good.test's posture" \
	grep -q 'posture storm=onset domain=good.test spf=pass dmarc=pass dkim=pass' "$LAB_DIR/agent.log"
check "... and open.test's, with what to change" \
	grep -q 'posture storm=onset domain=open.test check=spf advice=' "$LAB_DIR/agent.log"

agent_stop
lab_summary
