# shellcheck shell=bash
# mta.sh - sender-side generators for the namespace lab: legitimate mail,
# backscatter bounces (null sender, RFC 3464 DSN bodies) and bounce storms.
#
# Source it after lib.sh: every client runs in the sender namespace through
# in_ns (or `ip netns exec $LAB_NS` when in_ns is not defined) and binds the
# given source address.  SRC and DST may be IPv4 or IPv6 addresses.
#
#   send_legit SRC DST RCPT [N]
#       N (default 1) ordinary messages from $MTA_LEGIT_FROM; prints
#       "legit SRC: accepted A of N"; exit 0 only when all N were accepted.
#   send_bounce SRC DST RCPT [--tls|--tlso] [--dsn FILE] [--reporting-mta HOST]
#       One bounce: MAIL FROM:<>, a multipart/report DSN from dsn.py.  RCPT
#       "@DOMAIN" picks a random local part.  Prints nothing; returns swaks'
#       status: 0 accepted, 24 recipient rejected (550 5.1.1), 2 no connection,
#       29 TLS failed, others per swaks(1).
#   storm SRC... --dst DST [--dst DST6] --domain DOMAIN --per-source N --rate R
#         [--tls-share P] [--known-share P --known USER[,USER...]]
#         [--concurrency C] [--max-time S] [--out FILE] [--engine python|swaks]
#         [--mode bounce|provider|callout] [--autoreply-share P]
#       Each SRC talks to the --dst of its own address family (give --dst
#       twice, v4 and v6, for mixed sources; a source without one is an
#       error, exit 2).
#       N bounces from each SRC, all sources concurrently, R per second per
#       source (0: as fast as C in-flight sessions per source allow), P% of
#       them over STARTTLS, random 10-character local parts (P% to --known
#       users instead).  Stops launching after S seconds (default 120).
#       Engine python (default, smtp_storm.py: one process, ~1 ms of CPU per
#       session: 600-850 bounces/s plain, ~270/s all-STARTTLS, here) or swaks
#       (one swaks per bounce, 150-220 ms each, CPU-bound: ~5 bounces/s from
#       one source and only 6-8/s in all on this 2-CPU machine, however many
#       sources or --concurrency).  Prints one line:
#         storm: sources=5 sent=200 accepted=20 rejected=180 failed=0 tls=40 seconds=9.8 rate=20.4/s
#       and, with --out, appends one record per bounce (tab-separated):
#         src rcpt tls(0/1) rc start_us end_us rcpt_reply
#       (rc as swaks: 0 accepted, 24 rejected; rcpt_reply "-" under swaks).
#       Exit 0 when every bounce got an SMTP answer (accepted or rejected).
#       --mode (python engine only; smtp_storm.py says more): provider sends
#       ordinary mail to --known users with P% null-sender auto-replies to
#       noreply@DOMAIN among it; callout checks a user exists (MAIL FROM:<>,
#       RCPT, RSET or QUIT, never DATA).  Same pacing, records and summary.
#   sink_start ADDR [PORT]
#       A remote MTA for our outbound mail: smtp-sink on ADDR:PORT (25) in
#       the sender namespace, accepting everything; with MTA_SINK_DUMP=FILE
#       every transaction is appended to FILE (smtp-sink -D: its envelope
#       sender on an X-Mail-Args: line).  Started with spawn (its
#       PID in LAB_PIDS, ended by lab_cleanup) and left in MTA_SINK_PID; do
#       not call it in $(...).  0 once listening.

MTA_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MTA_PY=${MTA_PY:-/usr/bin/python3}
MTA_LEGIT_FROM=${MTA_LEGIT_FROM:-alice@example.org}
MTA_TIMEOUT=${MTA_TIMEOUT:-20}

_mta_ns() {
	if declare -F in_ns >/dev/null; then in_ns "$@"; else ip netns exec "$LAB_NS" "$@"; fi
}

_mta_fam() { case $1 in *:*) echo IPv6 ;; *) echo IPv4 ;; esac; }

_mta_rand() {	# N: random [a-z0-9]{N}, no fork
	local s='' c=abcdefghijklmnopqrstuvwxyz0123456789 i
	for ((i = 0; i < $1; i++)); do s+=${c:RANDOM % 36:1}; done
	printf '%s' "$s"
}

# The host name a source presents (HELO and DSN Reporting-MTA).
_mta_host() { printf 'mx-%s.%s' "$(printf '%s' "$1" | tr ':.' '--')" "${2:-bounce.example}"; }

_mta_swaks() {	# SRC DST swaks-args...
	local src=$1 dst=$2
	shift 2
	_mta_ns swaks --server "$dst" --port 25 --local-interface "$src" \
		--timeout "$MTA_TIMEOUT" --silent 3 "$@" </dev/null
}

send_legit() {
	local src=$1 dst=$2 rcpt=$3 n=${4:-1} i ok=0
	for ((i = 1; i <= n; i++)); do
		_mta_swaks "$src" "$dst" --helo "$(_mta_host "$src" legit.example)" \
			--from "$MTA_LEGIT_FROM" --to "$rcpt" \
			--header "Subject: lab legit $i of $n from $src" \
			--body "Legitimate lab message $i of $n from $src." && ok=$((ok + 1))
	done
	echo "legit $src: accepted $ok of $n"
	[ "$ok" = "$n" ]
}

# _mta_dsn FILE SRC [dsn.py args]: a DSN template (To: %TO_ADDRESS%).
_mta_dsn() {
	local f=$1 src=$2
	shift 2
	"$MTA_PY" "$MTA_LIB_DIR/dsn.py" --reporting-mta "$(_mta_host "$src")" \
		--foreign-received 2 "$@" >"$f"
}

send_bounce() {
	local src=$1 dst=$2 rcpt=$3 tls=() dsn='' mta='' tmp='' rc
	shift 3
	while [ $# -gt 0 ]; do
		case $1 in
		--tls) tls=(-tls) ;;
		--tlso) tls=(-tlso) ;;
		--dsn) dsn=$2; shift ;;
		--reporting-mta) mta=$2; shift ;;
		*) echo "send_bounce: unknown option $1" >&2; return 1 ;;
		esac
		shift
	done
	case $rcpt in
	'') echo "send_bounce: no recipient" >&2; return 2 ;;
	@*) rcpt=$(_mta_rand 10)$rcpt ;;
	esac
	if [ -z "$dsn" ]; then
		tmp=$(mktemp "${LAB_DIR:-/tmp}/bwlab-dsn.XXXXXX")
		dsn=$tmp
		_mta_dsn "$dsn" "$src" ${mta:+--reporting-mta "$mta"} || { rm -f "$tmp"; return 1; }
	fi
	_mta_swaks "$src" "$dst" --helo "$(_mta_host "$src")" --from '<>' --to "$rcpt" \
		--data "@$dsn" "${tls[@]}"
	rc=$?
	[ -n "$tmp" ] && rm -f "$tmp"
	return $rc
}

# One storm bounce; appends its record to OUT.
_mta_storm_one() {	# OUT SRC DST RCPT TLS DSN
	local t0=${EPOCHREALTIME/./} rc tls=()
	[ "$5" = 1 ] && tls=(-tls)
	_mta_swaks "$2" "$3" --helo "$(_mta_host "$2")" --from '<>' --to "$4" \
		--data "@$6" "${tls[@]}"
	rc=$?
	printf '%s\t%s\t%s\t%s\t%s\t%s\t-\n' "$2" "$4" "$5" "$rc" "$t0" "${EPOCHREALTIME/./}" >>"$1"
}

# One source's share of a storm: paced launches, at most C in flight.
_mta_storm_source() {	# OUT SRC DST DOMAIN N RATE TLS% KNOWN% DEADLINE_US C TMP KNOWN...
	local out=$1 src=$2 dst=$3 dom=$4 n=$5 rate=$6 tlsp=$7 knownp=$8 deadline=$9 conc=${10} tmp=${11}
	shift 11
	local known=("$@") i t0 now due rcpt tls k dsns=() running=0
	for k in 1 2 3 4; do
		dsns+=("$tmp/dsn-$src-$k")
		_mta_dsn "${dsns[-1]}" "$src" || return 1
	done
	t0=${EPOCHREALTIME/./}
	for ((i = 0; i < n; i++)); do
		now=${EPOCHREALTIME/./}
		[ "$now" -ge "$deadline" ] && break
		if [ "$rate" -gt 0 ]; then
			due=$((t0 + i * 1000000 / rate))
			if [ "$due" -gt "$now" ]; then
				sleep "$(printf '%d.%06d' $(((due - now) / 1000000)) $(((due - now) % 1000000)))"
			fi
		fi
		while [ "$running" -ge "$conc" ]; do
			wait -n 2>/dev/null
			running=$((running - 1))
		done
		if [ ${#known[@]} -gt 0 ] && [ $((RANDOM % 100)) -lt "$knownp" ]; then
			rcpt=${known[RANDOM % ${#known[@]}]}@$dom
		else
			rcpt=$(_mta_rand 10)@$dom
		fi
		tls=0
		[ $((RANDOM % 100)) -lt "$tlsp" ] && tls=1
		_mta_storm_one "$out" "$src" "$dst" "$rcpt" "$tls" "${dsns[RANDOM % 4]}" &
		running=$((running + 1))
	done
	wait
}

storm() {
	local srcs=() dsts=() dom='' per=10 rate=5 tlsp=0 knownp=0 known=() conc=8 maxt=120 out='' engine=python
	local mode=bounce autop=0
	while [ $# -gt 0 ]; do
		case $1 in
		--dst) dsts+=("$2"); shift ;;
		--domain) dom=$2; shift ;;
		--per-source) per=$2; shift ;;
		--rate) rate=$2; shift ;;
		--tls-share) tlsp=$2; shift ;;
		--known-share) knownp=$2; shift ;;
		--known) IFS=', ' read -r -a known <<<"$2"; shift ;;
		--concurrency) conc=$2; shift ;;
		--max-time) maxt=$2; shift ;;
		--out) out=$2; shift ;;
		--engine) engine=$2; shift ;;
		--mode) mode=$2; shift ;;
		--autoreply-share) autop=$2; shift ;;
		--*) echo "storm: unknown option $1" >&2; return 2 ;;
		*) srcs+=("$1") ;;
		esac
		shift
	done
	if [ ${#srcs[@]} = 0 ] || [ ${#dsts[@]} = 0 ] || [ -z "$dom" ]; then
		echo "usage: storm SRC... --dst DST [--dst DST6] --domain DOMAIN --per-source N --rate R [--tls-share P]" >&2
		return 2
	fi
	local src d dst dst_for=()
	for src in "${srcs[@]}"; do
		d=''
		for dst in "${dsts[@]}"; do
			[ "$(_mta_fam "$src")" = "$(_mta_fam "$dst")" ] && { d=$dst; break; }
		done
		[ -n "$d" ] || { echo "storm: no $(_mta_fam "$src") --dst for source $src" >&2; return 2; }
		dst_for+=("$d")
	done
	if [ "$engine" = python ]; then
		local dargs=()
		for dst in "${dsts[@]}"; do dargs+=(--dst "$dst"); done
		_mta_ns "$MTA_PY" "$MTA_LIB_DIR/smtp_storm.py" "${srcs[@]}" "${dargs[@]}" --domain "$dom" \
			--per-source "$per" --rate "$rate" --tls-share "$tlsp" --known-share "$knownp" \
			--known "$(IFS=,; echo "${known[*]}")" --concurrency "$conc" --max-time "$maxt" \
			--timeout "$MTA_TIMEOUT" --mode "$mode" --autoreply-share "$autop" ${out:+--out "$out"}
		return
	fi
	[ "$engine" = swaks ] || { echo "storm: unknown engine $engine" >&2; return 2; }
	[ "$mode" = bounce ] || { echo "storm: --mode $mode needs --engine python" >&2; return 2; }
	local tmp t0 t1 deadline i pids=() rec sent acc rej fail tls
	tmp=$(mktemp -d "${LAB_DIR:-/tmp}/bwlab-storm.XXXXXX") || return 1
	rec=$tmp/records
	: >"$rec"
	t0=${EPOCHREALTIME/./}
	deadline=$((t0 + maxt * 1000000))
	for i in "${!srcs[@]}"; do
		_mta_storm_source "$rec" "${srcs[i]}" "${dst_for[i]}" "$dom" "$per" "$rate" "$tlsp" "$knownp" \
			"$deadline" "$conc" "$tmp" "${known[@]}" &
		pids+=("$!")
	done
	wait "${pids[@]}"
	t1=${EPOCHREALTIME/./}
	read -r sent acc rej fail tls < <(awk -F'\t' '
		{ n++; if ($4 == 0) a++; else if ($4 == 24) r++; else f++; if ($3 == 1) t++ }
		END { printf "%d %d %d %d %d\n", n, a, r, f, t }' "$rec")
	[ -n "$out" ] && cat "$rec" >>"$out"
	rm -rf "$tmp"
	awk -v s=${#srcs[@]} -v n="$sent" -v a="$acc" -v r="$rej" -v f="$fail" -v t="$tls" \
		-v us=$((t1 - t0)) 'BEGIN {
		printf "storm: sources=%d sent=%d accepted=%d rejected=%d failed=%d tls=%d seconds=%.1f rate=%.1f/s\n",
			s, n, a, r, f, t, us / 1e6, (us > 0 ? n * 1e6 / us : 0) }'
	[ "$fail" = 0 ]
}

sink_start() {
	local addr=$1 port=${2:-25} k hp
	case $addr in *:*) hp="[$addr]:$port" ;; *) hp="$addr:$port" ;; esac
	if [ -n "${MTA_SINK_DUMP:-}" ]; then
		# smtp-sink writes as postfix: its directory (and the path to
		# it, mktemp's 0700 included) must let it.
		mkdir -p "$(dirname "$MTA_SINK_DUMP")"
		chown postfix "$(dirname "$MTA_SINK_DUMP")"
		chmod o+x "$(dirname "$(dirname "$MTA_SINK_DUMP")")"
	fi
	# ip netns exec execs smtp-sink: the PID spawn records is smtp-sink's.
	spawn ip netns exec "$LAB_NS" smtp-sink -u postfix ${MTA_SINK_DUMP:+-D "$MTA_SINK_DUMP"} \
		-h "$(_mta_host "$addr" sink.example)" "$hp" 64 >/dev/null 2>&1
	# shellcheck disable=SC2034 # for the caller
	MTA_SINK_PID=${LAB_PIDS[-1]}
	for ((k = 0; k < 300; k++)); do	# bounds only a sink that never listens
		if _mta_ns ss -Hltn | awk -v w="$hp" '$4 == w { f = 1 } END { exit !f }'; then
			return 0
		fi
		sleep 0.1
	done
	echo "sink_start: smtp-sink did not listen on $hp" >&2
	return 1
}
