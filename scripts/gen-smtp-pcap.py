#!/usr/bin/python3
"""gen-smtp-pcap.py - a large synthetic but realistic SMTP capture for the
`analyze` benchmark: a mail gateway (mx.victim.example, 192.0.2.25 and
2001:db8::25, port 25) receiving legitimate mail from many MTAs while a
backscatter storm from ~50 sources hammers it with bounces to made-up users.

  scripts/gen-smtp-pcap.py --packets 1000000 --out build/bench/smtp-1M.pcap
  scripts/gen-smtp-pcap.py --packets 100000 --out x.pcap --check build/bouncewall

Classic pcap, Ethernet, IPv4 and some IPv6, valid IP and TCP checksums.
Every session is a whole TCP connection: SYN / SYN-ACK / ACK, sequence and
acknowledgement numbers that advance with the bytes sent, delayed ACKs while
a body streams, FIN both ways.  Timestamps (microseconds) spread over
--duration seconds (default 600); the storm starts after the first fifth.

  legitimate (about 70% of sessions; sources Zipf-distributed, a few heavy
  MTAs and a long tail, 10% over IPv6): EHLO, MAIL FROM:<user@domain> (with
  SIZE/BODY parameters sometimes), 1-3 RCPT to existing users -> 250 (1% of
  recipients mistyped -> 550 5.1.1), DATA, a small body (some with a
  "MAIL FROM:<>" line inside: body text, not a command), 250 queued, QUIT;
  40% pipelined (MAIL/RCPT/DATA in one segment); 10% with 2-3 messages;
  0.5% of messages are genuine DSNs (MAIL FROM:<>) to existing users; 3% of
  sessions go STARTTLS (opaque after the 220, a few TLS records).
  storm (about 30%; --storm-sources, default 50, 10% over IPv6): EHLO,
  MAIL FROM:<>, 1-3 RCPT to random local parts -> 550 5.1.1 User unknown,
  pipelined ones also send DATA -> 554 5.5.1; RSET between transactions, QUIT.
  0.3% of client data segments are retransmitted once (same seq, 200 ms on).

Deterministic: the same arguments give the same bytes (--seed, default 1).
Session i is drawn from its own RNG, so a capture is a prefix-stable
function of the seed.  Stdlib only, no scapy: 1M packets in about 25 s.

Scenarios (--scenario NAME, scripts/smtp_scenarios.py): the shapes the
connection-level rules are judged on, each with its ground truth (--truth
FILE: every source as analyze names it, its role, what must happen to it,
what it sent); --packets does not apply, --duration overrides the shape's:

  realistic  3000 innocent MTAs, 1-5 bounces each over 10 minutes, 93% of
             them over STARTTLS, the cleartext ones to real users (accepted)
             or to random local parts (550 5.1.1); providers' mail behind
  provider   a provider's outbound pool, 40 addresses, each 20 messages and
             8 auto-replies (null sender, to a noreply@ that does not exist)
             a minute: never to be throttled nor blocked
  relay      our relay (our_relays 192.0.2.50/32) returning 40 DSNs a minute
             to existing users and sending our users' mail: never scored
  callouts   120 verifiers: MAIL FROM:<>, RCPT accepted, RSET or QUIT, no
             DATA: callouts, not bounces
  loud       10 loud cleartext storm sources, 1-2 bounces a second each to
             random users: every one blocked within seconds
  mixed      all of them in one 5-minute capture

  scripts/gen-smtp-pcap.py --scenario mixed --out m.pcap --truth m.json
  tests/analyze/scenarios.sh         (generates, replays, judges them all)

Prints (stderr) and with --summary FILE writes as JSON what it generated,
in the key names of `bouncewall analyze --json`.  --check BOUNCEWALL runs
`BOUNCEWALL analyze OUT --json` and compares: counts, and that the storm
sources got throttle/block decisions while legitimate ones got none.
Exit 1 when the check disagrees.
"""
import argparse
import ipaddress
import json
import os
import random
import subprocess
import sys

sys.dont_write_bytecode = True      # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from smtp_pcap import (Counts, Dialogue, PcapWriter, legit_session,  # noqa: E402
                       packets_of, retransmitted_bytes, session_frames,
                       source_text, storm_session, BASE_TS)
import smtp_scenarios  # noqa: E402

STORM_SHARE = 0.30          # of sessions
STORM_START = 0.20          # of the duration
HOT_RATE = 5.0              # storm sessions/min per source that must be caught
V6_SHARE_LEGIT = 0.10
V6_SHARE_STORM = 0.10


# --------------------------------------------------------------- sources

def legit_source(i):
    """Legitimate MTA i: (16-byte-form key text, packed addr, is_v6)."""
    h = random.Random(0x1e9 + i)
    if h.random() < V6_SHARE_LEGIT:
        a = ipaddress.IPv6Address((0x20010db8 << 96) | (0x1000 + i) << 64 | h.getrandbits(32) | 1)
        return a, True
    # 198.18.0.0/15 (RFC 2544, benchmarking): one address per MTA
    return ipaddress.IPv4Address((198 << 24) | (18 << 16) | (i * 7919 + 1) % 65534 + 1), False


def storm_source(i):
    h = random.Random(0x570 + i)
    if h.random() < V6_SHARE_STORM:
        a = ipaddress.IPv6Address((0x20010db8 << 96) | (0xbad0 + i) << 64 | h.getrandbits(32) | 1)
        return a, True
    return ipaddress.IPv4Address((198 << 24) | (19 << 16) | (i * 1031 + 5) % 65534 + 1), False


def make_session(seed, i, n_legit, storm_w, legit_cum, counts):
    """Session i's dialogue: deterministic in (seed, i)."""
    rng = random.Random(seed * 1000003 + i)
    storm = rng.random() < STORM_SHARE
    if storm:
        src = rng.choices(range(len(storm_w)), cum_weights=storm_w)[0]
        addr, v6 = STORM_SRC[src]
        rtt = 0.02 + (src % 13) * 0.02
    else:
        src = rng.choices(range(n_legit), cum_weights=legit_cum)[0]
        addr, v6 = legit_source(src)
        rtt = 0.005 + (src % 37) * 0.005
    mss = 1440 if v6 else 1460
    d = Dialogue(rng, rtt)
    counts.sessions += 1
    (storm_session if storm else legit_session)(rng, d, src, counts, mss)
    return storm, src, addr, v6, rtt, d.ev, rng


STORM_SRC = []


# --------------------------------------------------------------- main

def generate(args):
    global STORM_SRC
    seed = args.seed
    n_storm = args.storm_sources
    STORM_SRC = [storm_source(i) for i in range(n_storm)]
    # Storm sources: weights 0.5..1.5 (some bounce harder than others).
    sw = [0.5 + random.Random(seed * 7 + i).random() for i in range(n_storm)]
    storm_cum = []
    acc = 0.0
    for x in sw:
        acc += x
        storm_cum.append(acc)
    # Legitimate MTAs: Zipf-like, a few heavy senders and a long tail.
    n_legit = args.legit_sources or max(20, min(20000, args.packets // 200))
    legit_cum = []
    acc = 0.0
    for i in range(n_legit):
        acc += 1.0 / (i + 1) ** 0.8
        legit_cum.append(acc)

    # Pass 1: how many sessions make the packet target (contents only).
    nsess = 0
    total = 0
    kinds = []
    while total < args.packets:
        c = Counts()
        storm, src, addr, v6, rtt, ev, _ = make_session(seed, nsess, n_legit, storm_cum, legit_cum, c)
        total += packets_of(ev)
        kinds.append(storm)
        nsess += 1

    # Start times: legitimate mail all along, the storm after STORM_START.
    trng = random.Random(seed ^ 0x7153)
    dur = args.duration
    starts = []
    for i, storm in enumerate(kinds):
        lo = dur * STORM_START if storm else 0.0
        starts.append((lo + trng.random() * (dur * 0.995 - lo), i))
    starts.sort()

    counts = Counts()
    per_src = {}
    out = PcapWriter(args.out)
    for start, i in starts:
        t0 = BASE_TS + start
        storm, src, addr, v6, rtt, ev, rng = make_session(seed, i, n_legit, storm_cum, legit_cum, counts)
        key = source_text(addr, v6)
        s = per_src.setdefault(key, {"storm": storm, "sessions": 0})
        s["sessions"] += 1
        out.session(t0, session_frames(t0, addr, v6, rtt, ev, rng))
        counts.retransmitted_bytes += retransmitted_bytes(ev)
    counts.packets = out.close()
    return counts, per_src, n_legit


def check(bw, path, counts, per_src, duration):
    """Run analyze --json and compare.  True when everything agrees."""
    res = subprocess.run([bw, "analyze", path, "--json"], stdout=subprocess.PIPE, check=False)
    if res.returncode != 0:
        print("check: analyze exited %d" % res.returncode, file=sys.stderr)
        return False
    doc = json.loads(res.stdout)
    ok = True
    print("%-26s %12s %12s" % ("count", "generated", "analyze"))
    for k, v in counts.as_dict().items():
        got = doc.get(k)
        if got is None:
            continue
        mark = "" if got == v else "   <-- differs"
        ok &= got == v
        print("%-26s %12d %12d%s" % (k, v, got, mark))
    srcs = {s["source"]: s for s in doc["sources"]}
    storm_hit = storm_miss = legit_hit = legit_ok = hot_hit = hot_miss = 0
    missing = 0
    storm_min = duration * (1 - STORM_START) / 60.0
    for key, s in per_src.items():
        a = srcs.get(key)
        if a is None:
            missing += 1
            continue
        punished = (a["verdict"] != "none" or a["throttled_after_s"] is not None
                    or a["blocked_after_s"] is not None)
        if s["storm"]:
            storm_hit += punished
            storm_miss += not punished
            if s["sessions"] / storm_min >= HOT_RATE:
                hot_hit += punished
                hot_miss += not punished
        else:
            legit_hit += punished
            legit_ok += not punished
    print("storm sources throttled/blocked: %d of %d (of those bouncing >= %g/min: %d of %d)"
          % (storm_hit, storm_hit + storm_miss, HOT_RATE, hot_hit, hot_hit + hot_miss))
    print("legitimate sources punished:     %d of %d" % (legit_hit, legit_hit + legit_ok))
    if missing:
        print("sources not in analyze output:   %d" % missing)
    print("decisions: %s, storms: %s" % (doc.get("decisions"), doc.get("storms")))
    # A storm source bouncing slower than HOT_RATE may stay under the
    # thresholds (small captures): reported, not a disagreement.
    ok &= legit_hit == 0 and hot_miss == 0 and missing == 0
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--packets", type=int, default=1000000, help="approximate packet count")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--duration", type=float, default=None,
                    help="seconds of capture (default 600; a scenario's own)")
    ap.add_argument("--storm-sources", type=int, default=50)
    ap.add_argument("--legit-sources", type=int, default=0,
                    help="default: packets/200, 20..20000")
    ap.add_argument("--summary", help="write what was generated as JSON here")
    ap.add_argument("--check", metavar="BOUNCEWALL",
                    help="run BOUNCEWALL analyze OUT --json and compare")
    ap.add_argument("--scenario", choices=smtp_scenarios.NAMES,
                    help="write this shape instead of the benchmark's capture")
    ap.add_argument("--truth", help="with --scenario: write its ground truth (JSON) here")
    args = ap.parse_args()
    if args.scenario:
        return scenario(args, ap)
    if args.truth:
        ap.error("--truth goes with --scenario")
    if args.duration is None:
        args.duration = 600.0
    if args.packets < 50 or args.storm_sources < 1 or args.duration <= 0:
        ap.error("--packets >= 50, --storm-sources >= 1, --duration > 0")

    counts, per_src, n_legit = generate(args)
    d = counts.as_dict()
    storm_sources = sum(1 for s in per_src.values() if s["storm"])
    legit_sources = len(per_src) - storm_sources
    storm_sessions = sum(s["sessions"] for s in per_src.values() if s["storm"])
    d.update({"storm_sources": storm_sources, "legit_sources": legit_sources,
              "storm_sessions": storm_sessions, "duration_s": args.duration,
              "seed": args.seed})
    print("gen-smtp-pcap: %s: %s" % (args.out, ", ".join("%s %s" % kv for kv in d.items())),
          flush=True)
    if args.summary:
        d["storm"] = sorted(k for k, s in per_src.items() if s["storm"])
        with open(args.summary, "w") as f:
            json.dump(d, f, indent=1)
    if args.check:
        return 0 if check(args.check, args.out, counts, per_src, args.duration) else 1
    return 0


def scenario(args, ap):
    if args.summary or args.check:
        ap.error("--summary and --check are for the benchmark capture; a scenario has --truth")
    if args.duration is not None and args.duration < 60:
        ap.error("--duration >= 60 for a scenario")
    truth = smtp_scenarios.generate(args.scenario, args.seed, args.out, args.duration)
    roles = ", ".join("%s %d" % (r, v["sources"]) for r, v in sorted(truth["roles"].items()))
    print("gen-smtp-pcap: %s: scenario %s, seed %d, %.0f s: %s; sources: %s" %
          (args.out, args.scenario, args.seed, truth["duration_s"],
           ", ".join("%s %s" % kv for kv in truth["counts"].items()), roles), flush=True)
    if args.truth:
        with open(args.truth, "w") as f:
            json.dump(truth, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
