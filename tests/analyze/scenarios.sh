#!/bin/sh
# tests/analyze/scenarios.sh - the decision rules on captures with known
# truth: scripts/gen-smtp-pcap.py writes each scenario (realistic,
# provider, relay, callouts, loud, mixed) with a fixed seed into
# build/scenarios/, `bouncewall analyze --json -c CONF` replays it (CONF
# gives protected_domains and our_relays as the generator used them), and
# check_scenario.py holds the result against the truth: no legitimate
# source (innocent MTAs, providers, our relay, verifiers, legitimate mail)
# throttled or blocked, our relay never scored, callouts counted as
# callouts, every loud storm source blocked within 30 s of its first
# packet, and every counter as generated.  Also: the same seed gives the
# same bytes, and the benchmark's default capture did not change shape.
#
# Prints one ok/FAIL line per check and ends with exactly one line
# "N passed, N failed"; exits 1 if anything failed.  The captures stay in
# build/scenarios/ when a check failed (or with SCENARIO_KEEP=1), the truth
# and analyze's JSON always.
set -u

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BW=${BW:-$ROOT/build/bouncewall}
GEN=$ROOT/scripts/gen-smtp-pcap.py
CHECK=$ROOT/tests/analyze/check_scenario.py
OUT=${SCENARIO_DIR:-$ROOT/build/scenarios}
SEED=${SCENARIO_SEED:-1}
SCENARIOS=${SCENARIOS:-"realistic provider relay callouts loud mixed"}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

pass=0
fail=0
ok()  { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

if [ ! -x "$BW" ]; then
	echo "FAIL $BW not built"
	echo "0 passed, 1 failed"
	exit 1
fi
mkdir -p "$OUT" || exit 1

for s in $SCENARIOS; do
	pcap=$OUT/$s.pcap truth=$OUT/$s.truth.json conf=$OUT/$s.conf res=$OUT/$s.analyze.json
	if ! "$PY" "$GEN" --scenario "$s" --seed "$SEED" --out "$pcap" --truth "$truth" \
		>"$OUT/$s.gen.out" 2>&1; then
		bad "$s: generator failed: $(tail -n 1 "$OUT/$s.gen.out")"
		continue
	fi
	"$PY" -c 'import json, sys
for k, v in json.load(open(sys.argv[1]))["config"].items():
    print("%s = %s" % (k, v))' "$truth" >"$conf"
	if ! "$BW" analyze "$pcap" --json -c "$conf" >"$res" 2>"$OUT/$s.analyze.err"; then
		bad "$s: analyze failed: $(head -n 1 "$OUT/$s.analyze.err")"
		continue
	fi
	"$PY" "$CHECK" "$truth" "$res" >"$OUT/$s.check.out" 2>&1
	grep -v '^[0-9]* passed, [0-9]* failed$' "$OUT/$s.check.out"
	n=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$OUT/$s.check.out")
	if [ -z "$n" ]; then
		bad "$s: the checker did not finish: $(tail -n 1 "$OUT/$s.check.out")"
		continue
	fi
	pass=$((pass + ${n% *}))
	fail=$((fail + ${n#* }))
done

# Deterministic: the same seed gives the same bytes and the same truth.
s=callouts
if "$PY" "$GEN" --scenario $s --seed "$SEED" --out "$OUT/again.pcap" \
	--truth "$OUT/again.truth.json" >/dev/null 2>&1 &&
	cmp -s "$OUT/again.pcap" "$OUT/$s.pcap" && cmp -s "$OUT/again.truth.json" "$OUT/$s.truth.json"; then
	ok "$s: same seed, same capture and truth"
else
	bad "$s: a second run with seed $SEED wrote something else"
fi
"$PY" "$GEN" --scenario $s --seed $((SEED + 1)) --out "$OUT/again.pcap" >/dev/null 2>&1
if cmp -s "$OUT/again.pcap" "$OUT/$s.pcap"; then
	bad "$s: another seed wrote the same capture"
else
	ok "$s: another seed, another capture"
fi
rm -f "$OUT/again.pcap" "$OUT/again.truth.json"

# The benchmark's capture (no --scenario) is what it always was: these
# arguments have made these bytes since the generator was written.
want=56e9336409e2d3d37093270d05dd6a143818ad7f17518c6d05445eb3e63db23e
"$PY" "$GEN" --packets 20000 --out "$OUT/bench-20k.pcap" >/dev/null 2>&1
got=$(sha256sum "$OUT/bench-20k.pcap" | cut -d' ' -f1)
if [ "$got" = "$want" ]; then
	ok "default capture unchanged (--packets 20000, seed 1)"
else
	bad "default capture changed: sha256 $got"
fi
rm -f "$OUT/bench-20k.pcap"

# The captures (150 MB) are kept only when something failed, to look at.
[ $fail -eq 0 ] && [ -z "${SCENARIO_KEEP:-}" ] && rm -f "$OUT"/*.pcap
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
