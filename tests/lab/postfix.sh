# shellcheck shell=bash
# postfix.sh - a private, real Postfix instance for the namespace lab.
#
# Source it (after lib.sh if you use the lab).  Everything an instance owns
# lives under its DIR:
#   DIR/conf/      main.cf, master.cf, vmailbox, tls.key/tls.crt (config dir)
#   DIR/queue/     queue_directory (pid/master.pid is the master's PID)
#   DIR/data/      data_directory (master.lock, prng_exch)
#   DIR/mail/      virtual_mailbox_base: DOMAIN/USER/{new,cur,tmp} Maildirs
#   DIR/maillog    maillog_file (postlogd), one line per event
#   DIR/start.out  what `postfix start` said
# The system instance (/etc/postfix, /var/spool/postfix) is never started or
# changed.  Mail to the lab DOMAIN goes to the virtual(8) Maildirs as
# nobody:nogroup; unknown users get 550 5.1.1; no DNS is used; nothing is
# relayed or sent out (default_transport = error) unless POSTFIX_RELAYHOST
# names a sink inside the lab (below).  STARTTLS is offered with a
# self-signed P-256 certificate; anvil rate limits are off and up to 500
# smtpd processes may run, so a storm meets Postfix, not its throttles.
# A crashed run's instance is found and stopped by the next postfix_up.
#
#   postfix_up DIR ADDR4 ADDR6 DOMAIN USER...   start; 0 when both listeners are up
#   postfix_down DIR [--remove]                 stop; 0 when its master is gone
#   postfix_delivered DIR USER                  prints messages in USER's Maildir
#   postfix_log_count DIR PATTERN               prints log lines matching (grep -E)
#   postfix_wait_log DIR PATTERN N [SECS]       waits for >= N matching lines
#   postfix_wait_delivered DIR USER N [SECS]    waits for >= N messages
#   postfix_queue_count DIR                     prints messages still queued
#   postfix_master_pid DIR                      prints the master's PID
#   postfix_down_all                            downs every instance this shell started
#   postfix_send_out DIR FROM RCPT [N]          outbound mail (needs POSTFIX_RELAYHOST)
# ADDR6 may be "-" for an IPv4-only instance.
#
# Outbound mail ("mail we sent", for the bounces-versus-sent signal): set
# POSTFIX_RELAYHOST=[ADDR]:PORT before postfix_up (a sink in the sender
# namespace, see sink_start in mta.sh).  The instance then relays everything
# not for DOMAIN there, from ADDR4/ADDR6, and accepts relaying only from its
# own addresses (postfix_send_out submits from ADDR4 in the root namespace);
# the lab senders stay non-relay clients.  Unset: nothing ever leaves.
#
# bouncewall's Postfix integration, exactly the lines the README gives:
# set POSTFIX_POLICY=inet:127.0.0.1:PORT before postfix_up and the
# recipient restrictions call the policy service (timeout 2s,
# default_action=DUNNO) before reject_unlisted_recipient; set
# POSTFIX_SOCKETMAP=inet:127.0.0.1:PORT and a submission service on
# ADDR4:587 hands mail we send to a cleanup_out that signs its envelope
# sender (table batv); postfix_send_out then submits on 587.  Tagged
# recipients are stripped by a regexp map, not the unbatv socketmap: a map
# that cannot be reached makes Postfix answer 451 for every recipient, and
# inbound mail must never wait for the agent (the policy service, which
# fails open, is what checks the tag).

POSTFIX_DIRS=()
POSTFIX_UP_TIMEOUT=${POSTFIX_UP_TIMEOUT:-60}	# only bounds a start that never comes
# Uid/gid the virtual Maildirs belong to (virtual_minimum_uid is 100).
POSTFIX_MAIL_UID=${POSTFIX_MAIL_UID:-$(id -u nobody)}
POSTFIX_MAIL_GID=${POSTFIX_MAIL_GID:-$(id -g nobody)}

_pf_say() { printf '[postfix] %s\n' "$*" >&2; }

postfix_master_pid() {
	local f=$1/queue/pid/master.pid pid
	[ -r "$f" ] || return 1
	pid=$(tr -dc 0-9 <"$f")
	[ -n "$pid" ] || return 1
	echo "$pid"
}

# PIDs of every process working in DIR's queue (the master and its
# children chdir there), found through /proc, not by name.
_pf_instance_pids() {
	local q
	q=$(cd "$1/queue" 2>/dev/null && pwd -P) || return 0
	find /proc/[0-9]*/cwd -maxdepth 0 -printf '%p\t%l\n' 2>/dev/null |
		awk -F'\t' -v q="$q" '$2 == q || $2 == q " (deleted)" || index($2, q "/") == 1 {
			split($1, a, "/"); print a[3] }'
}

# Lab masters left behind by a crashed run (a postfix master working in a
# /tmp/bw*/.../queue that is not DIR): those whose directory is gone,
# none of whose addresses exists any more (their lab was torn down without
# them), or that still hold one of the addresses we want (a crashed run with
# the same LAB_ID: the socket outlives the interface and would make our bind
# fail).  Found through /proc, stopped through their own config or by PID.
_pf_reap_stale() {	# DIR ADDR...
	local self pid cwd d a live want
	self=$(cd "$1" 2>/dev/null && pwd -P) || self=$1
	shift
	while IFS=$'\t' read -r pid cwd; do
		case $(readlink "/proc/$pid/exe" 2>/dev/null) in
		*/postfix/sbin/master | */postfix/master) ;;
		*) continue ;;
		esac
		case $cwd in
		*" (deleted)")
			_pf_say "ending stale lab postfix master $pid (${cwd% (deleted)} is gone)"
			kill -TERM "$pid" 2>/dev/null
			continue ;;
		esac
		d=${cwd%/queue}
		[ "$d" = "$self" ] && continue
		[ -f "$d/conf/main.cf" ] || continue
		live='' want=''
		for a in $(sed -n 's/^inet_interfaces = //p' "$d/conf/main.cf" | tr -d '[],'); do
			ip -o addr show | grep -qF " $a/" && live=1
			case " $* " in *" $a "*) want=1 ;; esac
		done
		[ -n "$live" ] && [ -z "$want" ] && continue
		_pf_say "stopping stale lab postfix in $d (master $pid)"
		postfix_down "$d" >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
	done < <(find /proc/[0-9]*/cwd -maxdepth 0 -printf '%p\t%l\n' 2>/dev/null |
		awk -F'\t' '$2 ~ /^\/tmp\/bw[^\/]*\/[^ ]*queue( \(deleted\))?$/ {
			split($1, x, "/"); print x[3] "\t" $2 }')
}

_pf_listening() {	# ADDR (v4 or v6, no brackets)
	local want=$1
	case $want in *:*) want="[$want]:25" ;; *) want="$want:25" ;; esac
	ss -Hltn 2>/dev/null | awk -v w="$want" '$4 == w { f = 1 } END { exit !f }'
}

postfix_up() {
	if [ $# -lt 5 ]; then
		_pf_say "usage: postfix_up DIR ADDR4 ADDR6|- DOMAIN USER..."
		return 2
	fi
	local dir=$1 a4=$2 a6=$3 domain=$4 u parent i k ifaces pid
	shift 4
	case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
	[ "$a6" = - ] && a6=
	command -v postfix >/dev/null || { _pf_say "postfix is not installed"; return 1; }

	_pf_reap_stale "$dir" "$a4" $a6
	if pid=$(postfix_master_pid "$dir") && kill -0 "$pid" 2>/dev/null; then
		_pf_say "an instance is already running in $dir (master $pid): stopping it"
		postfix_down "$dir" || return 1
	fi
	for i in "$a4" $a6; do
		# a stale master just told to stop needs a moment to let go
		for ((k = 0; k < 300; k++)); do _pf_listening "$i" || break; sleep 0.1; done
		if _pf_listening "$i"; then
			_pf_say "something already listens on $i port 25"
			return 1
		fi
	done

	mkdir -p "$dir/conf" "$dir/queue" "$dir/data" "$dir/mail/$domain" || return 1
	chmod 755 "$dir" "$dir/conf" "$dir/mail" "$dir/mail/$domain"
	# virtual(8) writes the Maildirs as nobody, so it must be able to reach
	# DIR.  mktemp -d makes 0700 directories: open the parent for search.
	parent=$(dirname "$dir")
	if [ "$(stat -c %u "$parent")" = 0 ] && ! setpriv --reuid="$POSTFIX_MAIL_UID" \
		--regid="$POSTFIX_MAIL_GID" --clear-groups test -x "$parent" 2>/dev/null; then
		chmod o+x "$parent"
	fi
	if ! setpriv --reuid="$POSTFIX_MAIL_UID" --regid="$POSTFIX_MAIL_GID" --clear-groups \
		test -x "$dir/mail/$domain"; then
		_pf_say "uid $POSTFIX_MAIL_UID cannot reach $dir/mail: put DIR on a searchable path"
		return 1
	fi
	chown postfix "$dir/data"
	chown "$POSTFIX_MAIL_UID:$POSTFIX_MAIL_GID" "$dir/mail/$domain"

	: >"$dir/conf/vmailbox"
	for u in "$@"; do
		echo "$u@$domain $domain/$u/" >>"$dir/conf/vmailbox"
		mkdir -p "$dir/mail/$domain/$u/new" "$dir/mail/$domain/$u/cur" "$dir/mail/$domain/$u/tmp"
		chown -R "$POSTFIX_MAIL_UID:$POSTFIX_MAIL_GID" "$dir/mail/$domain/$u"
		chmod -R 700 "$dir/mail/$domain/$u"
	done

	if [ ! -s "$dir/conf/tls.crt" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$dir/conf/tls.key" -out "$dir/conf/tls.crt" -days 30 \
			-subj "/CN=mx.$domain" -addext "subjectAltName=DNS:mx.$domain" \
			>/dev/null 2>&1 || { _pf_say "openssl could not make a certificate"; return 1; }
		chmod 600 "$dir/conf/tls.key"
	fi

	ifaces=$a4
	[ -n "$a6" ] && ifaces="$a4, [$a6]"
	local nets="127.0.0.0/8 [::1]/128" out
	if [ -n "${POSTFIX_RELAYHOST:-}" ]; then
		nets="$nets $a4/32${a6:+ [$a6]/128}"
		out="relayhost = $POSTFIX_RELAYHOST
default_transport = smtp
relay_transport = smtp
smtp_bind_address = $a4${a6:+
smtp_bind_address6 = $a6}"
	else
		out="default_transport = error:5.7.1 bouncewall lab sends no mail out
relay_transport = error:5.7.1 bouncewall lab sends no mail out"
	fi
	local restrictions='' canon=''
	if [ -n "${POSTFIX_POLICY:-}" ]; then
		restrictions="smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
    check_policy_service { $POSTFIX_POLICY, timeout=2s, default_action=DUNNO },
    reject_unlisted_recipient"
	fi
	if [ -n "${POSTFIX_SOCKETMAP:-}" ]; then
		printf '%s\n' '/^prvs=[0-9]{4}[0-9a-fA-F]{6}=(.+@.+)$/ ${1}' >"$dir/conf/batv-strip"
		canon="recipient_canonical_maps = regexp:$dir/conf/batv-strip
recipient_canonical_classes = envelope_recipient"
	fi
	cat >"$dir/conf/main.cf" <<EOF
# bouncewall lab instance: generated by tests/lab/postfix.sh
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.$domain
mydomain = $domain
myorigin = \$myhostname
mydestination =
inet_interfaces = $ifaces
inet_protocols = $([ -n "$a6" ] && echo all || echo ipv4)
# The lab senders share the protected /24 and /64: they must not be
# mynetworks (relay) clients.
mynetworks = $nets
relay_domains =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = $domain
virtual_mailbox_maps = texthash:$dir/conf/vmailbox
virtual_mailbox_base = $dir/mail
virtual_uid_maps = static:$POSTFIX_MAIL_UID
virtual_gid_maps = static:$POSTFIX_MAIL_GID
alias_maps =
alias_database =
local_recipient_maps =
# Nothing leaves the lab: no DNS; outbound SMTP only to POSTFIX_RELAYHOST.
$out
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
notify_classes =
biff = no
delay_warning_time = 0
# Logging into DIR.
maillog_file_prefixes = /var, /dev/stdout, $dir
maillog_file = $dir/maillog
smtpd_client_port_logging = yes
smtpd_tls_loglevel = 1
# STARTTLS offered (self-signed).
smtpd_tls_security_level = may
smtpd_tls_cert_file = $dir/conf/tls.crt
smtpd_tls_key_file = $dir/conf/tls.key
smtp_tls_security_level = none
smtpd_banner = \$myhostname ESMTP bouncewall-lab
# A storm of a few hundred connections must reach smtpd, not anvil limits.
default_process_limit = 500
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_client_new_tls_session_rate_limit = 0
smtpd_client_auth_rate_limit = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 1000
smtpd_timeout = 60s
in_flow_delay = 0
$restrictions
$canon
EOF
	# master.cf: the dist services, chroot off, a single smtpd listener.
	cat >"$dir/conf/master.cf" <<'EOF'
# service type  private unpriv  chroot  wakeup  maxproc command
smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	if [ -n "${POSTFIX_SOCKETMAP:-}" ]; then
		cat >>"$dir/conf/master.cf" <<EOF
# Mail we send: submitted here, signed by cleanup_out (bouncewall's batv).
$a4:587 inet n  -       n       -       -       smtpd
  -o cleanup_service_name=cleanup_out
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
cleanup_out unix n      -       n       -       0       cleanup
  -o sender_canonical_maps=socketmap:$POSTFIX_SOCKETMAP:batv
  -o sender_canonical_classes=envelope_sender
EOF
	fi
	: >>"$dir/maillog"

	# `postfix check` creates the queue tree with the right owners; both
	# it and `start` can fail without a word on a terminal-less stderr,
	# so run them under script(1) and keep what they said.
	script -eqc "postfix -c '$dir/conf' start" \
		"$dir/start.out" >/dev/null 2>&1 </dev/null
	local rc=$?
	POSTFIX_DIRS+=("$dir")
	for i in $(seq 1 $((POSTFIX_UP_TIMEOUT * 10))); do
		if [ $rc = 0 ] && pid=$(postfix_master_pid "$dir") && kill -0 "$pid" 2>/dev/null &&
			_pf_listening "$a4" && { [ -z "$a6" ] || _pf_listening "$a6"; }; then
			return 0
		fi
		[ $rc = 0 ] || break
		sleep 0.1
	done
	_pf_say "postfix in $dir did not come up (rc $rc); it said:"
	sed 's/^/  | /' "$dir/start.out" >&2
	tail -n 20 "$dir/maillog" 2>/dev/null | sed 's/^/  | /' >&2
	postfix_down "$dir" >/dev/null 2>&1
	return 1
}

postfix_down() {
	local dir=$1 remove=${2:-} pid p i left
	case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
	[ -d "$dir" ] || return 0
	pid=$(postfix_master_pid "$dir") || pid=
	if [ -f "$dir/conf/main.cf" ]; then
		script -eqc "postfix -c '$dir/conf' stop" /dev/null >/dev/null 2>&1 </dev/null
	fi
	# `postfix stop` returns at once: wait for the master, then its children.
	for i in $(seq 1 100); do
		[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		_pf_say "master $pid ignored postfix stop: SIGKILL"
		kill -KILL "$pid" 2>/dev/null
	fi
	for i in $(seq 1 50); do
		left=$(_pf_instance_pids "$dir")
		[ -z "$left" ] && break
		[ "$i" = 30 ] && for p in $left; do kill -KILL "$p" 2>/dev/null; done
		sleep 0.1
	done
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		_pf_say "postfix master $pid in $dir is still running"
		return 1
	fi
	[ -n "$(_pf_instance_pids "$dir")" ] && { _pf_say "postfix processes left in $dir"; return 1; }
	[ "$remove" = --remove ] && rm -rf "$dir"
	return 0
}

postfix_down_all() {
	local d rc=0
	for d in "${POSTFIX_DIRS[@]}"; do postfix_down "$d" || rc=1; done
	return $rc
}

# Prints the number of messages delivered to USER (any domain of DIR).
postfix_delivered() {
	local dir=$1 user=$2
	find "$dir"/mail/*/"$user"/new "$dir"/mail/*/"$user"/cur -type f 2>/dev/null | wc -l
}

postfix_log_count() {
	[ -f "$1/maillog" ] || { echo 0; return; }
	grep -cE -- "$2" "$1/maillog" || true
}

postfix_queue_count() {
	find "$1/queue/incoming" "$1/queue/active" "$1/queue/deferred" "$1/queue/hold" \
		"$1/queue/maildrop" -type f 2>/dev/null | wc -l
}

# postfix_wait_log DIR PATTERN N [SECS]: log lines reach postlogd
# asynchronously; wait until at least N match.  SECS (default 60) only
# bounds a wait for something that never comes: it returns as soon as the
# lines are there.
postfix_wait_log() {
	local i end=$(( ${4:-60} * 10 ))
	for ((i = 0; i < end; i++)); do
		[ "$(postfix_log_count "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	[ "$(postfix_log_count "$1" "$2")" -ge "$3" ]
}

postfix_wait_delivered() {
	local i end=$(( ${4:-60} * 10 ))
	for ((i = 0; i < end; i++)); do
		[ "$(postfix_delivered "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.1
	done
	[ "$(postfix_delivered "$1" "$2")" -ge "$3" ]
}

# postfix_send_out DIR FROM RCPT [N]: N messages submitted from the
# instance's own IPv4 address (a mynetworks client), relayed to
# POSTFIX_RELAYHOST.  Prints "sent-out: accepted A of N"; 0 when all were
# accepted for relay (check delivery with postfix_wait_log ... 'relay=.*status=sent').
postfix_send_out() {
	local dir=$1 from=$2 rcpt=$3 n=${4:-1} a4 i ok=0 port=25
	a4=$(sed -n 's/^inet_interfaces = \([^, ]*\).*/\1/p' "$dir/conf/main.cf")
	grep -q '^[^#].*:587 inet' "$dir/conf/master.cf" && port=587
	grep -q '^relayhost = ' "$dir/conf/main.cf" ||
		{ _pf_say "postfix_send_out: $dir has no relayhost (set POSTFIX_RELAYHOST)"; return 1; }
	for ((i = 1; i <= n; i++)); do
		swaks --server "$a4" --port "$port" --local-interface "$a4" --timeout 20 --silent 3 \
			--helo "$(sed -n 's/^myhostname = //p' "$dir/conf/main.cf")" \
			--from "$from" --to "$rcpt" --header "Subject: lab outbound $i of $n" \
			--body "Outbound lab message $i of $n." </dev/null && ok=$((ok + 1))
	done
	echo "sent-out: accepted $ok of $n"
	[ "$ok" = "$n" ]
}
