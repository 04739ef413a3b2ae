#!/bin/bash
# test_lab_timeout.sh - a lab test that outlives its time limit fails, and
# leaves nothing behind, whether it cleans up on SIGTERM or not.
#
# Two throwaway lab tests, run by tests/lab/run-all.sh with a 5 s limit:
#   polite   loops in short sleeps: SIGTERM reaches its EXIT trap, which
#            removes its lab (namespace, veth, claim) within the grace;
#   stubborn ignores SIGTERM, sits in a long foreground sleep and owns a real
#            Postfix (whose master left its process group when it
#            daemonized) and a process in its sender namespace: after the
#            grace its group is killed and reap.sh must stop that Postfix
#            and remove the lab.
. "$(dirname "$0")/lib.sh"

LAB=$ROOT/tests/lab
export LAB_TEST_TIMEOUT=5 LAB_TEST_GRACE=5 META_INFO=$META_TMP/info
cat >"$META_TMP/test_polite.sh" <<EOF
#!/bin/bash
. "$LAB/lib.sh"
trap lab_cleanup EXIT
lab_up 10
spawn sleep 1000
echo "\$LAB_ID \$LAB_DIR \$SPAWNED" >"\$META_INFO"
while :; do sleep 0.2; done
EOF
cat >"$META_TMP/test_stubborn.sh" <<EOF
#!/bin/bash
. "$LAB/lib.sh"
. "$LAB/postfix.sh"
trap 'postfix_down_all; lab_cleanup' EXIT
trap '' TERM
lab_up 10
postfix_up "\$LAB_DIR/postfix" \$LAB_NET4.1 - meta.example alice >/dev/null || exit 3
ip netns exec "\$LAB_NS" sleep 1000 &
echo "\$LAB_ID \$LAB_DIR \$! \$(postfix_master_pid "\$LAB_DIR/postfix")" >"\$META_INFO"
sleep 1000
EOF
chmod +x "$META_TMP"/test_*.sh

gone() {	# ID DIR PID...: nothing of lab ID is left
	local id=$1 dir=$2 p
	shift 2
	ip netns list | grep -qw "bwlab-$id-snd" && { echo "namespace left"; return 1; }
	ip link show "bwl${id}a" >/dev/null 2>&1 && { echo "veth left"; return 1; }
	[ -e "/run/bouncewall-lab/$id" ] && { echo "claim left"; return 1; }
	[ -e "$dir" ] && { echo "$dir left"; return 1; }
	for p in "$@"; do kill -0 "$p" 2>/dev/null && { echo "pid $p left"; return 1; }; done
	return 0
}

: >"$META_INFO"
check "a test that outlives LAB_TEST_TIMEOUT fails run-all" \
	expect_fail "$META_TMP/polite.log" "$LAB/run-all.sh" "$META_TMP/test_polite.sh"
read -r id dir pid <"$META_INFO"
check "... said so" grep -q "still running after 5s: SIGTERM" "$META_TMP/polite.log"
check "... its EXIT trap ran within the grace (no SIGKILL needed)" \
	bash -c "! grep -q SIGKILL '$META_TMP/polite.log'"
check "... and left nothing of lab $id$(gone "$id" "$dir" "$pid" | sed 's/^/: /')" gone "$id" "$dir" "$pid"

: >"$META_INFO"
# 20 s: long enough for Postfix to be up before the limit strikes.
check "a test that ignores SIGTERM fails run-all" \
	expect_fail "$META_TMP/stubborn.log" env LAB_TEST_TIMEOUT=20 "$LAB/run-all.sh" \
	"$META_TMP/test_stubborn.sh"
read -r id dir nspid master <"$META_INFO"
check "... it had a Postfix master (pid ${master:-none}) and a namespace process" \
	[ -n "${master:-}" ] && [ -n "${nspid:-}" ]
check "... its group was killed after the grace" \
	grep -q "no exit 5s after SIGTERM: SIGKILL to its process group" "$META_TMP/stubborn.log"
check "... reap.sh removed its lab" grep -q "reaped lab $id of test pid" "$META_TMP/stubborn.log"
check "... Postfix stopped, nothing of lab $id left$(gone "$id" "$dir" "${nspid:-0}" "${master:-0}" | sed 's/^/: /')" \
	gone "$id" "$dir" "${nspid:-0}" "${master:-0}"

summary
