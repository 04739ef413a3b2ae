#!/bin/bash
# test_postfix_lab.sh - the lab's real Postfix and its senders, without the
# agent: a private Postfix on the protected interface's addresses delivers
# legitimate mail to Maildirs, answers 550 5.1.1 to bounces for unknown
# users, takes bounces for real users, offers STARTTLS, speaks IPv6, is not
# an open relay to the lab senders but relays its own outbound mail to a sink
# in the namespace; small storms' own counts agree with Postfix's log;
# teardown leaves no master and no namespace behind.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/postfix.sh"
. "$(dirname "$0")/mta.sh"
trap 'postfix_down_all; lab_cleanup' EXIT

for tool in postfix swaks smtp-sink openssl script setpriv; do
	command -v $tool >/dev/null || { echo "skipped: $tool is not installed"; exit $SKIP_EXIT; }
done
swaks --support 2>&1 | grep -q '=== TLS supported' ||
	{ echo "skipped: swaks lacks TLS (libnet-ssleay-perl)"; exit $SKIP_EXIT; }
swaks --support 2>&1 | grep -q '=== IPv6 supported' ||
	{ echo "skipped: swaks lacks IPv6 (libio-socket-inet6-perl)"; exit $SKIP_EXIT; }

LEGIT=10 B1=21 B2=22 B3=23 B4=24 V6=30 SINK=40
lab_up $LEGIT $B1 $B2 $B3 $B4 $V6 $SINK
DST4=$LAB_NET4.1 DST6=$LAB_NET6::1 DOM=lab.example
PF=$LAB_DIR/postfix
# Our outbound mail goes to a sink in the sender namespace.
check "smtp-sink (a remote MTA for outbound mail) listening" sink_start $LAB_NET4.$SINK
export POSTFIX_RELAYHOST="[$LAB_NET4.$SINK]:25"

t0=$SECONDS
if ! postfix_up "$PF" "$DST4" "$DST6" $DOM alice bob carol; then
	not_ok "postfix_up"
	lab_summary
	exit 1
fi
ok "postfix_up: listening on $DST4 and [$DST6] port 25 ($((SECONDS - t0))s)"
MASTER=$(postfix_master_pid "$PF")
check "master PID $MASTER is alive" kill -0 "$MASTER"
check "log file in DIR shows the daemon started" postfix_wait_log "$PF" 'daemon started' 1
check "the system instance was not started" \
	bash -c '! [ -e /var/spool/postfix/pid/master.pid ] || ! kill -0 $(tr -dc 0-9 </var/spool/postfix/pid/master.pid) 2>/dev/null'

# DSN generator: a well-formed RFC 3464 report.
dsn_ok() {
	/usr/bin/python3 "$LAB_ROOT/tests/lab/dsn.py" --to x@$DOM --foreign-received 2 \
		--original-message-id abc@spam.example | /usr/bin/python3 -c '
import email, sys
m = email.message_from_binary_file(sys.stdin.buffer)
assert m.get_content_type() == "multipart/report", m.get_content_type()
assert m.get_param("report-type") == "delivery-status"
types = [p.get_content_type() for p in m.walk()]
assert "message/delivery-status" in types and "text/rfc822-headers" in types, types
ds = [p for p in m.walk() if p.get_content_type() == "message/delivery-status"][0]
f = [dict(x) for x in ds.get_payload()]
assert "Reporting-MTA" in f[0] and f[1]["Status"] == "5.1.1" and f[1]["Action"] == "failed"
hdr = [p for p in m.walk() if p.get_content_type() == "text/rfc822-headers"][0].get_payload()
assert "<abc@spam.example>" in hdr and hdr.count("Received:") == 2
'
}
check "dsn.py writes a multipart/report; report-type=delivery-status" dsn_ok

# Legitimate mail lands in the Maildir.
check "send_legit: 3 messages accepted" send_legit $LAB_NET4.$LEGIT $DST4 alice@$DOM 3
check "legit mail delivered to alice's Maildir (3)" postfix_wait_delivered "$PF" alice 3
check "postfix log: 3 x status=sent to alice" postfix_wait_log "$PF" 'to=<alice@lab\.example>.*status=sent' 3

# Bounce to an unknown user: 550 5.1.1, swaks exit 24.
send_bounce $LAB_NET4.$B1 $DST4 nosuchuser@$DOM
check "bounce to an unknown user: swaks exit 24 (RCPT rejected)" [ $? = 24 ]
check "postfix log: 550 5.1.1 for it, from=<>" \
	postfix_wait_log "$PF" 'NOQUEUE: reject: RCPT from unknown\[[0-9.]+\]:[0-9]+: 550 5\.1\.1 <nosuchuser@lab\.example>.*from=<>' 1

# Bounce to a real user: accepted, delivered, a DSN with a null Return-Path.
check "bounce to bob accepted" send_bounce $LAB_NET4.$B1 $DST4 bob@$DOM
check "bounce delivered to bob's Maildir" postfix_wait_delivered "$PF" bob 1
check "delivered bounce: Return-Path <> and multipart/report" bash -c \
	"grep -l '^Return-Path: <>' '$PF'/mail/$DOM/bob/new/* | xargs grep -l 'report-type=delivery-status' | grep -q ."

# STARTTLS.
check "STARTTLS bounce (swaks -tls) to carol accepted" send_bounce $LAB_NET4.$B2 $DST4 carol@$DOM --tls
check "postfix log: TLS connection from the bounce source" \
	postfix_wait_log "$PF" "TLS connection established from unknown\[$LAB_NET4.$B2\]" 1
check "TLS bounce delivered to carol" postfix_wait_delivered "$PF" carol 1

# IPv6.
check "IPv6 legit mail accepted" send_legit $LAB_NET6::$V6 $DST6 bob@$DOM 1
check "IPv6 legit mail delivered (bob: 2)" postfix_wait_delivered "$PF" bob 2
check "postfix log: IPv6 client" postfix_wait_log "$PF" "client=unknown\[$LAB_NET6::$V6\]" 1
send_bounce $LAB_NET6::$V6 $DST6 @$DOM --tls
check "IPv6 STARTTLS bounce to a random user: 550 (exit 24)" [ $? = 24 ]

# Not an open relay for the lab senders (they share the protected subnet).
_mta_swaks $LAB_NET4.$LEGIT $DST4 --from "$MTA_LEGIT_FROM" --to someone@example.net
check "relay to a foreign domain refused (exit 24)" [ $? = 24 ]
check "postfix log: Relay access denied" postfix_wait_log "$PF" 'Relay access denied' 1

# Outbound mail ("mail we sent"): relayed from the protected address to the sink.
check "postfix_send_out: 2 outbound messages accepted" \
	postfix_send_out "$PF" postmaster@$DOM someone@remote.example 2
check "postfix log: 2 relayed to the sink, status=sent" \
	postfix_wait_log "$PF" "to=<someone@remote\.example>, relay=[^ ]*\[$LAB_NET4.$SINK\]:25.*status=sent" 2
check "postfix log: the submission came from the instance's own address" \
	postfix_wait_log "$PF" "client=unknown\[$DST4\]" 2

# Storms: their own tallies must match Postfix's log exactly -- the python
# engine (4 IPv4 + 1 IPv6 sources x 20, 20/s each, a third over TLS, 10% to
# real users) and the swaks engine (2 sources x 4).
REJ='NOQUEUE: reject: RCPT from .* 550 5\.1\.1 .*from=<>'
ACC='qmgr\[[0-9]+\]: [0-9A-F]+: from=<>,'
TLS="TLS connection established from unknown\["
# storm_vs_log NAME PER_SOURCE SRC... -- STORM-OPTIONS...
storm_vs_log() {
	local name=$1 per=$2 srcs=() s line rc sent acc rej tls rej0 acc0 tls0 rec t0
	shift 2
	while [ "$1" != -- ]; do srcs+=("$1"); shift; done
	shift
	declare -A conn0
	rej0=$(postfix_log_count "$PF" "$REJ") acc0=$(postfix_log_count "$PF" "$ACC")
	tls0=$(postfix_log_count "$PF" "$TLS")
	for s in "${srcs[@]}"; do conn0[$s]=$(postfix_log_count "$PF" ": connect from unknown\[$s\]"); done
	rec=$LAB_DIR/storm-$name.tsv
	t0=$SECONDS
	line=$(storm "${srcs[@]}" --dst "$DST4" --dst "$DST6" --domain $DOM --per-source "$per" --out "$rec" "$@")
	rc=$?
	log "$name: $line"
	check "$name storm: every bounce answered" [ $rc = 0 ]
	# How long it took is logged, not judged: the storm's own --max-time
	# bounds it, and the lab's speed is no product target.
	log "$name storm took $((SECONDS - t0))s"
	read -r sent acc rej tls < <(sed -E 's/.* sent=([0-9]+) accepted=([0-9]+) rejected=([0-9]+) failed=[0-9]+ tls=([0-9]+).*/\1 \2 \3 \4/' <<<"$line")
	check "$name storm sent $((per * ${#srcs[@]}))" [ "${sent:-x}" = $((per * ${#srcs[@]})) ]
	check "$name storm: one record per bounce" [ "$(wc -l <"$rec")" = "${sent:-x}" ]
	check "$name storm: most recipients unknown (rejected ${rej:-?} > accepted ${acc:-?})" \
		[ "${rej:-0}" -gt "${acc:-0}" ]
	postfix_wait_log "$PF" "$REJ" $((rej0 + ${rej:-0}))
	check "$name: log's 550 5.1.1 null-sender rejects = storm's rejected (${rej:-?})" \
		[ $(($(postfix_log_count "$PF" "$REJ") - rej0)) = "${rej:-x}" ]
	postfix_wait_log "$PF" "$ACC" $((acc0 + ${acc:-0}))
	check "$name: log's null-sender messages queued = storm's accepted (${acc:-?})" \
		[ $(($(postfix_log_count "$PF" "$ACC") - acc0)) = "${acc:-x}" ]
	check "$name: log's TLS sessions = storm's TLS bounces (${tls:-?})" \
		[ $(($(postfix_log_count "$PF" "$TLS") - tls0)) = "${tls:-x}" ]
	local bad=
	for s in "${srcs[@]}"; do
		[ $(($(postfix_log_count "$PF" ": connect from unknown\[$s\]") - conn0[$s])) = \
			"$(awk -F'\t' -v s="$s" '$1 == s' "$rec" | wc -l)" ] || bad="$bad $s"
	done
	check "$name: log's connections per source = storm's records per source" [ -z "$bad" ]
}
storm_vs_log python 20 $LAB_NET4.$B1 $LAB_NET4.$B2 $LAB_NET4.$B3 $LAB_NET4.$B4 $LAB_NET6::$V6 -- \
	--rate 20 --tls-share 33 --known-share 10 --known alice,bob,carol --max-time 60
storm_vs_log swaks 4 $LAB_NET4.$B3 $LAB_NET4.$B4 -- \
	--engine swaks --rate 0 --concurrency 2 --tls-share 50 --max-time 60
queue_empty() { [ "$(postfix_queue_count "$PF")" = 0 ]; }
check "queue drained (nothing deferred)" wait_for 60 queue_empty

storm $LAB_NET6::$V6 --dst "$DST4" --domain $DOM --per-source 1 2>/dev/null
check "storm: an IPv6 source without an IPv6 --dst is refused (exit 2)" [ $? = 2 ]

# Teardown: the master is gone, then the namespace.  postfix_down's own
# waits are bounded; how long it took is only logged.
t0=$SECONDS
check "postfix_down" postfix_down "$PF"
log "postfix_down took $((SECONDS - t0))s"
check_not "master $MASTER is gone" bash -c "kill -0 $MASTER 2>/dev/null"
check "nothing listens on $DST4:25 any more" bash -c "! ss -Hltn | grep -q '$DST4:25 '"
check "no process left in the instance's queue dir" [ -z "$(_pf_instance_pids "$PF")" ]
lab_cleanup
check_not "namespace $LAB_NS is gone" bash -c "ip netns list | grep -qw '$LAB_NS'"
check_not "interface $LAB_IF is gone" bash -c "ip link show $LAB_IF 2>/dev/null"
check_not "lab directory removed" [ -e "$LAB_DIR" ]

lab_summary
