#!/bin/bash
# test_analyze_row.sh - a capture added to tests/pcaps without its reference
# counts fails make analyze-test, and so does a row whose capture is gone
# or whose counts are wrong.  Run on a copy of tests/pcaps (PCAPS=).
. "$(dirname "$0")/lib.sh"

P=$META_TMP/pcaps
cp -r "$ROOT/tests/pcaps" "$P"
run() { PCAPS=$P "$ROOT/tests/analyze/run.sh"; }
check "control: the copy passes as the tree's does" expect_pass "$META_TMP/copy.log" run

cp "$P/zeek_smtp-2sessions-auth-login.pcap" "$P/added-without-a-row.pcap"
check "a capture without a row in expected.tsv: fails" expect_fail "$META_TMP/norow.log" run
check "... naming it" grep -q '^FAIL added-without-a-row.pcap has no row' "$META_TMP/norow.log"
rm "$P/added-without-a-row.pcap"

rm "$P/zeek_client-side-only.pcap"
check "a row whose capture is gone: fails" expect_fail "$META_TMP/nofile.log" run
check "... naming it" grep -q '^FAIL expected.tsv names zeek_client-side-only.pcap' "$META_TMP/nofile.log"
cp "$ROOT/tests/pcaps/zeek_client-side-only.pcap" "$P/"

# One count off by one in one row.
awk -F'\t' -v OFS='\t' '$1 == "zeek_smtp-2sessions-auth-login.pcap" { $2 = $2 + 1 } { print }' \
	"$ROOT/tests/pcaps/expected.tsv" >"$P/expected.tsv"
check "a wrong reference count: fails" expect_fail "$META_TMP/wrong.log" run
check "... for that capture, and for its pcapng and VLAN copies" \
	bash -c "[ \$(grep -c '^FAIL zeek_smtp-2sessions-auth-login.pcap' '$META_TMP/wrong.log') = 4 ]"

summary
