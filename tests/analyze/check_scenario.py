#!/usr/bin/python3
"""check_scenario.py TRUTH.json ANALYZE.json - judge `bouncewall analyze
--json` on a scenario capture against the generator's ground truth
(scripts/gen-smtp-pcap.py --scenario NAME --truth FILE).

Prints one ok/FAIL line per check and a per-role summary (sources,
decisions, block times); exits 1 if anything failed.  What is checked:

  - the capture's counters (sessions, opaque_sessions, transactions, ...)
    and every source's (sessions, transactions, null_sender, rcpt,
    rcpt_rejected, rcpt_unknown) equal what the generator wrote;
  - must "pass": never throttled nor blocked (no decision during the
    capture, verdict none at its end);
  - must "unscored" (our relay): score 0, every signal 0 points;
  - must "veto_mixed": its veto at the end of the capture is "mixed";
  - must "callouts": no bounce counted (bounce_rate 0) and, for a verifier
    that called out within the last CALLOUT_RECENT_S seconds, the callouts
    signal above 0 (the signal is a per-minute window);
  - must "block": blocked, at most BLOCK_WITHIN_S after its first packet
    (a correctness bound, not a speed target);
  - the sent ledger: with our relay's sends in the capture, every loud
    source's bounces (to made-up local parts) are unverified; with no send
    seen, the unverified signal is 0 for everyone;
  - the shape itself, so the generator cannot drift into an easy case:
    realistic innocents send 1-5 bounces each, 90-97% over STARTTLS, and
    their cleartext bounces hit both real users and unknown ones.
"""
import json
import sys

BLOCK_WITHIN_S = 30
CALLOUT_RECENT_S = 45
COUNT_KEYS = ("packets", "sessions", "opaque_sessions", "transactions",
              "null_sender_transactions", "rcpt_total", "rcpt_rejected", "rcpt_unknown",
              "replies", "replies_5xx", "retransmitted_bytes")
SOURCE_KEYS = ("sessions", "transactions", "null_sender", "rcpt", "rcpt_rejected",
               "rcpt_unknown")

passed = failed = 0


# Every signal analyze --json lists for a source, scored or not.
SIGNALS = {"bounce_rate", "null_share", "unknown_share", "unknown_rate", "unverified",
           "multi_rcpt", "syn_over_rate", "opaque_sessions", "callouts", "mixed"}


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what)


def veto(a):
    return a.get("veto", "?")


def signal(a, name):
    return a["signals"].get(name, {"value": 0.0, "points": 0.0})


def punished(a):
    return (a["verdict"] != "none" or a["throttled_after_s"] is not None
            or a["blocked_after_s"] is not None)


def listed(keys, n=5):
    keys = sorted(keys)
    return ", ".join(keys[:n]) + (" ..." if len(keys) > n else "")


def judge_role(name, role, truth, got):
    """Every must of one role, one line per must."""
    srcs = {k: v for k, v in truth["sources"].items() if v["role"] == role}
    musts = next(iter(srcs.values()))["must"]
    end = truth["capture_end_s"]
    if "pass" in musts:
        bad = [k for k in srcs if punished(got[k])]
        check(not bad, "%s: %s: %d of %d throttled or blocked%s" %
              (name, role, len(bad), len(srcs), (" (" + listed(bad) + ")") if bad else ""))
    if "unscored" in musts:
        bad = [k for k in srcs if got[k]["score"] != 0 or
               any(s["points"] for s in got[k]["signals"].values())]
        check(not bad, "%s: %s never scored (score 0, no signal points)%s" %
              (name, role, (": " + listed(bad)) if bad else ""))
        odd = [k for k in srcs if set(got[k]["signals"]) != SIGNALS]
        check(not odd, "%s: %s: its signals are listed by name, zeros and all%s" %
              (name, role, (": " + listed(odd)) if odd else ""))
    if "veto_mixed" in musts:
        bad = [k for k in srcs if veto(got[k]) != "mixed"]
        check(not bad, "%s: %s: veto \"mixed\" on all %d%s" %
              (name, role, len(srcs), (" (not: " + listed(bad) + ")") if bad else ""))
    if "callouts" in musts:
        bounced = [k for k in srcs if signal(got[k], "bounce_rate")["value"] != 0]
        check(not bounced, "%s: %s: callouts counted as no bounce (bounce_rate 0)%s" %
              (name, role, (": " + listed(bounced)) if bounced else ""))
        recent = [k for k, v in srcs.items() if v.get("last_callout_s", -1e9) >= end - CALLOUT_RECENT_S]
        unseen = [k for k in recent if not signal(got[k], "callouts")["value"] > 0]
        check(recent and not unseen, "%s: %s: callouts signal > 0 for the %d that called out "
              "in the last %d s%s" % (name, role, len(recent), CALLOUT_RECENT_S,
                                      (" (not: " + listed(unseen) + ")") if unseen else ""))
        check(all(got[k]["null_sender"] == v["callouts"] for k, v in srcs.items()),
              "%s: %s: every null-sender transaction of theirs is a callout" % (name, role))
    if "block" in musts:
        late = []
        for k, v in srcs.items():
            b = got[k]["blocked_after_s"]
            if b is None or b - v["first_s"] > BLOCK_WITHIN_S:
                late.append(k)
        check(not late, "%s: %s: all %d blocked within %d s of their first packet%s" %
              (name, role, len(srcs), BLOCK_WITHIN_S, (" (not: " + listed(late) + ")") if late else ""))


def shape(name, truth):
    inn = [v for v in truth["sources"].values() if v["role"] == "innocent"]
    if not inn:
        return
    sess = sum(v["sessions"] for v in inn)
    opaque = sum(v["opaque_sessions"] for v in inn)
    check(len(inn) >= 1000 and all(1 <= v["sessions"] <= 5 for v in inn),
          "%s: shape: %d innocent MTAs, 1-5 bounces each" % (name, len(inn)))
    check(0.90 <= opaque / sess <= 0.97,
          "%s: shape: %.1f%% of their bounces over STARTTLS" % (name, 100.0 * opaque / sess))
    real = sum(v["rcpt"] - v["rcpt_rejected"] for v in inn)
    unknown = sum(v["rcpt_unknown"] for v in inn)
    check(real > 0 and unknown > 0,
          "%s: shape: cleartext bounces to real users (%d) and to unknown ones (%d)" %
          (name, real, unknown))


def ledger(name, truth, got):
    """Our relay's mail teaches the sent ledger: with it, bounces to local
    parts that never sent anything are unverified; without any send seen,
    nothing is checked and the signal stays 0 for everyone."""
    sends = sum(v["transactions"] - v["null_sender"] for v in truth["sources"].values()
                if v["role"] == "relay")
    loud = [k for k, v in truth["sources"].items() if v["role"] == "loud"]
    if sends and loud:
        bad = [k for k in loud if signal(got[k], "unverified")["value"] != 1]
        check(not bad, "%s: the relay's %d sends taught the ledger: every loud source's bounces "
              "unverified%s" % (name, sends, (" (not: " + listed(bad) + ")") if bad else ""))
    elif not sends:
        bad = [k for k in truth["sources"] if signal(got[k], "unverified")["value"] != 0]
        check(not bad, "%s: no send seen, nothing checked: unverified 0 for every source%s" %
              (name, (" (not: " + listed(bad) + ")") if bad else ""))


def summary(name, truth, got):
    for role, r in sorted(truth["roles"].items()):
        srcs = [(k, v) for k, v in truth["sources"].items() if v["role"] == role]
        thr = sum(1 for k, _ in srcs if got[k]["throttled_after_s"] is not None)
        blk = [got[k]["blocked_after_s"] - v["first_s"] for k, v in srcs
               if got[k]["blocked_after_s"] is not None]
        vetoes = {}
        for k, _ in srcs:
            vetoes[veto(got[k])] = vetoes.get(veto(got[k]), 0) + 1
        top = max(got[k]["score"] for k, _ in srcs)
        mb = max(v["max_bounces_60s"] for _, v in srcs)
        line = ("  %-9s %5d sources %6d sessions (%d opaque) %6d bounces in clear %5d callouts; "
                "max score %.1f, max bounces in clear/60s %d; throttled %d, blocked %d" %
                (role, r["sources"], r["sessions"], r["opaque_sessions"], r["bounces"],
                 r["callouts"], top, mb, thr, len(blk)))
        if blk:
            blk.sort()
            line += " after %.1f/%.1f/%.1f s (min/median/max)" % (blk[0], blk[len(blk) // 2], blk[-1])
        line += "; veto " + ", ".join("%s %d" % kv for kv in sorted(vetoes.items()))
        print(line)


def main():
    truth = json.load(open(sys.argv[1]))
    doc = json.load(open(sys.argv[2]))
    name = truth["scenario"]
    diff = ["%s %s != %s" % (k, doc.get(k), truth["counts"][k]) for k in COUNT_KEYS
            if doc.get(k) != truth["counts"][k]]
    check(not diff, "%s: capture counters agree with the generator%s" %
          (name, (": " + ", ".join(diff)) if diff else ""))
    got = {s["source"]: s for s in doc["sources"]}
    missing = [k for k in truth["sources"] if k not in got]
    check(not missing, "%s: all %d sources in analyze's output%s" %
          (name, len(truth["sources"]), (" (missing " + listed(missing) + ")") if missing else ""))
    if missing:
        return 1
    off = [k for k, v in truth["sources"].items()
           if any(got[k][f] != v[f] for f in SOURCE_KEYS)]
    check(not off, "%s: per-source counters agree%s" %
          (name, (" (not: " + listed(off) + ")") if off else ""))
    want = sum(v.get("callouts", 0) for v in truth["sources"].values())
    check(doc.get("callouts") == want, "%s: callouts in the totals: %s, generated %d" %
          (name, doc.get("callouts"), want))
    shape(name, truth)
    ledger(name, truth, got)
    for role in sorted(truth["roles"]):
        judge_role(name, role, truth, got)
    print("%s: decisions %s, storms %s" % (name, doc["decisions"], doc["storms"]))
    summary(name, truth, got)
    return 1 if failed else 0


if __name__ == "__main__":
    rc = main()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(rc)
