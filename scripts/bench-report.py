#!/usr/bin/python3
"""bench-report.py - the performance section of the README, from bench.json.

Usage: scripts/bench-report.py [BENCH_JSON [ENV_JSON]] [--readme README.md]

Reads the measurements `make bench` wrote (build/bench.json, one object per
measurement: name, value, unit, baseline, baseline_value) and the machine
they were taken on (build/bench-env.json), prints the section as Markdown,
and with --readme replaces the text between the bench markers in that file.
A measurement that is missing (a bench that could not run) leaves its row
or table out; nothing is invented: every figure in the section comes from
those two files.  A target judged "at least X" is met at >= X, "under" or
"within" at <= (or <) its bound, nothing rounded in its favour.
"""
import json
import re
import sys

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

XDP_ROWS = [
    ("non_smtp", "non-SMTP (TCP 443)"),
    ("smtp_syn_unknown", "SMTP SYN, unknown IPv4 source"),
    ("smtp_syn_unknown_v6", "SMTP SYN, unknown IPv6 source"),
    ("smtp_syn_ratelimited", "SMTP SYN, over its rate"),
    ("smtp_syn_throttled", "SMTP SYN, throttled source"),
    ("smtp_syn_blocked_host", "SMTP SYN, blocked host"),
    ("smtp_syn_blocked_ttl", "SMTP SYN, blocked host with TTL"),
    ("smtp_syn_blocked_cidr", "SMTP SYN, blocked IPv4 /24"),
    ("smtp_syn_blocked_v6_64", "SMTP SYN, blocked IPv6 /64"),
]
XDP_COLS = [
    ("trivial_pass", "trivial XDP_PASS"),
    ("xdp_filter_all", "xdp-filter (default)"),
    ("xdp_filter_ip", "xdp-filter (ipv4,ipv6)"),
    ("bouncewall", "bouncewall"),
    ("bouncewall_loaded", "bouncewall, loaded"),
]
# Rows measured on the program as the agent loads it (kern_open: the
# embedded object, default settings, one host block); their bouncewall
# cell is that program.
XDP_AGENT_ROWS = [
    ("non_smtp", "non-SMTP (TCP 443), as the agent attaches it"),
    ("smtp_syn_blocked_host", "SMTP SYN, blocked host, as the agent attaches it"),
]
SIZES = ["1", "1k", "10k", "100k", "1M"]


def size_key(name):
    """Sort 'x.1k' before 'x.10k' before 'x.1M'."""
    m = re.match(r"(.*?)([0-9]+)([kM]?)$", name)
    if not m:
        return (name, 0)
    return (m.group(1), int(m.group(2)) * {"": 1, "k": 1000, "M": 1000000}[m.group(3)])


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def fmt(v, unit=""):
    if v is None:
        return "—"
    if v == 0:
        s = "0"
    elif abs(v) >= 100:
        s = "%.0f" % v
    elif abs(v) >= 10:
        s = "%.1f" % v
    else:
        s = "%.2f" % v if abs(v) < 1 else "%.1f" % v
    return s + unit


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt3(v, unit=""):
    """A ratio judged against a bound near 1: enough digits that the figure
    shown never looks met when it is not (0.97 is not 1.0)."""
    if v is None:
        return "—"
    return ("%.2f" % v) + unit


def verdict(ok):
    """True, False, None (not measured) or a string said as it is."""
    if isinstance(ok, str):
        return ok
    return "—" if ok is None else ("met" if ok else "**missed**")


def rate_verdict(r, k, base_bound, bw_bound):
    """A drop rate against a baseline's, as bench-wire.sh judges it: a
    generator-bound rate is only a lower bound on what that filter drops."""
    if r >= k and not base_bound:
        return True
    if r < k and not bw_bound:
        return False
    return "inconclusive (generator-bound)"


class Report:
    def __init__(self, rows):
        self.m = {r["name"]: r for r in rows}
        self.out = []

    def v(self, name):
        r = self.m.get(name)
        return None if r is None else r.get("value")

    def has(self, prefix):
        """prefix: a string or a tuple of them."""
        return any(n.startswith(prefix) for n in self.m)

    def p(self, line=""):
        self.out.append(line)

    def table(self, head, rows):
        self.p("| " + " | ".join(head) + " |")
        self.p("|" + "---|" * len(head))
        for r in rows:
            self.p("| " + " | ".join(r) + " |")
        self.p()

    def xdp(self):
        if not self.has("xdp."):
            return
        self.p("XDP cost per packet, ns, through BPF_PROG_TEST_RUN (this thread's CPU "
               "time over a million runs, median of the rounds, pinned to one CPU, all "
               "programs in one run).  xdp-filter's default program has every feature "
               "(`xdp-filter load`), the other only `-f ipv4,ipv6`; bouncewall is "
               "`build/bouncewall.bpf.o` set up by the agent's own code with a handful "
               "of rules, \"loaded\" adds 100k host blocks, 10k CIDR blocks and 100k "
               "tracked sources; the last rows are the program exactly as the agent "
               "loads it (default settings, three SMTP ports, one host block):")
        self.p()
        cols = [c for c in XDP_COLS if self.has("xdp.%s." % c[0])]
        rows = []
        for key, label in XDP_ROWS:
            cells = [fmt(self.v("xdp.%s.%s" % (c, key))) for c, _ in cols]
            if any(c != "—" for c in cells):
                rows.append([label] + cells)
        for key, label in XDP_AGENT_ROWS:
            agent = self.v("xdp.bouncewall_agent.%s" % key)
            if agent is None:
                continue
            cells = [fmt(agent if c == "bouncewall" else
                         None if c == "bouncewall_loaded" else
                         self.v("xdp.%s.%s" % (c, key))) for c, _ in cols]
            rows.append([label] + cells)
        self.table(["packet"] + [c[1] for c in cols], rows)
        for kind, sizes, keys in (("hosts", ["1", "1k", "100k", "1M"],
                                   ["smtp_syn_unknown", "smtp_syn_unknown_v6",
                                    "smtp_syn_blocked_host"]),
                                  ("cidrs", ["1", "1k", "10k", "100k"],
                                   ["smtp_syn_unknown", "smtp_syn_unknown_v6",
                                    "smtp_syn_blocked_cidr", "smtp_syn_blocked_v6_64"])):
            if not self.has("xdp.bouncewall_%s_" % kind):
                continue
            rows = []
            for key in keys:
                vals = [self.v("xdp.bouncewall_%s_%s.%s" % (kind, s, key)) for s in sizes]
                if all(x is None for x in vals):
                    continue
                label = dict(XDP_ROWS).get(key, key)
                rows.append([label] + [fmt(x) for x in vals] +
                            [fmt(ratio(vals[-1], vals[0]), "×")])
            self.p("The same as %s block entries grow (ns/packet):" %
                   ("host" if kind == "hosts" else "CIDR"))
            self.p()
            self.table(["packet"] + ["%s %s" % (s, kind) for s in sizes] +
                       ["%s / 1" % sizes[-1]], rows)

    def wire(self):
        if not self.has("wire."):
            return
        self.p("On the wire, in the namespace lab: a flood of SMTP SYNs from one source "
               "(BPF_PROG_RUN live frames into the protected veth; generator and receiver "
               "share one core), each filter told to drop it, one after another in the "
               "same run. Receiver cost is that core's softirq time per packet:")
        self.p()
        rows = []
        for key, label in (("bouncewall_block", "bouncewall, block (XDP native)"),
                           ("xdp_filter", "xdp-filter (ip), native"),
                           ("nftables", "nftables, netdev ingress"),
                           ("nftables_input", "nftables, inet input"),
                           ("none", "no filter (reaches TCP)")):
            d = self.v("wire.drop_pps.%s" % key)
            if d is None:
                d = self.v("wire.pass_pps.%s" % key)
            ns = self.v("wire.rx_ns_per_pkt.%s" % key)
            if d is not None:
                rows.append([label, fmt(d / 1e6), fmt(ns)])
        self.table(["filter", "Mpps dropped (passed, for none)", "receiver ns/packet"], rows)

    def analyze(self):
        if not self.has("analyze."):
            return
        self.p("`analyze` on generated captures (legitimate mail plus a storm; "
               "counts checked against the generator), seconds, best of the runs:")
        self.p()
        rows = []
        for s in SIZES:
            a = self.v("analyze.bouncewall.%s" % s)
            if a is None:
                continue
            d = self.v("analyze.tcpdump.%s" % s)
            t = self.v("analyze.tshark.%s" % s)
            rows.append([s, fmt(a), fmt(d), fmt(t), fmt(ratio(a, d), "×"),
                         fmt(ratio(t, a), "×")])
        self.table(["packets", "analyze", "tcpdump -r", "tshark", "analyze / tcpdump",
                    "tshark / analyze"], rows)
        net = [(s, self.v("analyze.bouncewall_net_ns_per_pkt.%s" % s)) for s in SIZES]
        net = [(s, x) for s, x in net if x is not None]
        if net:
            self.p("Per packet, net of the fixed start-up cost: " +
                   ", ".join("%s ns at %s" % (fmt(x), s) for s, x in net) + ".")
            self.p()

    def latency(self):
        med = self.m.get("latency.detect_to_drop_ms.median")
        if not med:
            return
        worst = self.m.get("latency.detect_to_drop_ms.worst", {})
        per = ", ".join(fmt(x) for x in med.get("per_storm", []))
        self.p("Detection to enforcement, in the lab with a real Postfix and a fresh "
               "source per storm: from the capture time of the bounce that put the "
               "source past a threshold (`trigger_ts` in the decision log) to the "
               "first packet from it the kernel dropped, seen missing behind XDP:")
        self.p()
        rows = [["crossing → first drop", fmt(med.get("value"), " ms"),
                 fmt(worst.get("value"), " ms"), per]]
        b = self.m.get("latency.block_to_drop_ms.median")
        bw = self.m.get("latency.block_to_drop_ms.worst", {})
        if b:
            rows.append(["block decision → first dropped segment", fmt(b.get("value"), " ms"),
                         fmt(bw.get("value"), " ms"),
                         ", ".join(fmt(x) for x in b.get("per_storm", []))])
        self.table(["", "median", "worst", "per storm (ms)"], rows)
        gap = self.v("latency.probe_syn_gap_ms.median")
        if gap is not None:
            self.p("Resolution: the probe sends a SYN every %s ms; a throttle lets one "
                   "SYN through before it drops, so the first drop comes up to two gaps "
                   "after enforcement." % fmt(gap))
            self.p()

    def memory(self):
        if not self.has(("memory.", "rss.", "kernel.")):
            return
        self.p("Memory per entry, bytes. *In-process*: the real scorer and flow table "
               "filled in one process; *agent*: the running agent's VmRSS growth while "
               "tcpreplay feeds it N sources (or N open connections) on a lab veth; "
               "*all-in* also charges the index the agent allocates for `max_sources`:")
        self.p()
        rows = []
        for s in SIZES:
            cells = [self.v("memory.score.bytes_per_source.%s" % s),
                     self.v("rss.agent.bytes_per_source.%s" % s),
                     self.v("rss.agent.bytes_per_source_all_in.%s" % s),
                     self.v("rss.agent.peak_kib.%s" % s),
                     self.v("memory.flow.bytes_per_flow.%s" % s),
                     self.v("rss.agent.bytes_per_flow.%s" % s),
                     self.v("rss.agent.peak_kib.flows.%s" % s)]
            if any(c is not None for c in cells):
                rows.append([s] + [fmt(c) for c in cells])
        self.table(["N", "scorer, in-process", "agent", "agent, all-in",
                    "agent peak RSS, KiB", "flow, in-process", "agent, per flow",
                    "agent peak RSS, KiB"], rows)
        k = self.v("kernel.map_bytes.total")
        idle = self.v("rss.agent.idle_kib.base")
        ring = self.v("rss.agent.capture_ring_kib")
        extra = []
        if idle is not None:
            extra.append("an idle agent's RSS is %s KiB%s" % (
                fmt(idle), "" if ring is None else
                ", %s KiB of it the capture ring (libpcap's packet mmap)" % fmt(ring)))
        if k is not None:
            extra.append("the BPF maps take %s MiB at the default `max_rules` (the rule "
                         "maps are sized from it at start)" % fmt(k / 1048576))
        if extra:
            self.p("Fixed costs: " + "; ".join(extra) + ".")
            self.p()

    def generic(self, names):
        rows = []
        for n in names:
            r = self.m[n]
            base = r.get("baseline")
            rows.append(["`%s`" % n, fmt(r.get("value")), r.get("unit") or "",
                         "`%s`" % base if base else "",
                         fmt(r.get("baseline_value")),
                         fmt(ratio(r.get("value"), r.get("baseline_value")), "×")
                         if base else ""])
        self.table(["measurement", "value", "unit", "baseline", "baseline value",
                    "ratio"], rows)

    def policy(self):
        if not self.has("policy."):
            return
        self.p("The Postfix policy service beside the policy servers operators run today "
               "(`scripts/bench-policy.sh`): 50 connections, open-loop RCPT requests (two "
               "thirds bounces to a protected domain) for a few seconds per rate; postfwd2 "
               "with the same bounce rule, postgrey with its default setup. Answer time "
               "from the request's last byte, µs:")
        self.p()
        rows = []
        for srv in ("bouncewall", "postfwd", "postgrey"):
            for rate in ("1000", "5000", "20000"):
                p50, p99, ach = (self.v("policy.%s.%s.%s" % (k, srv, rate))
                                 for k in ("p50_us", "p99_us", "achieved_rps"))
                if p50 is None:
                    continue
                rows.append([srv, rate, fmt(ach), fmt(p50), fmt(p99)])
        self.table(["server", "offered/s", "answered/s", "p50 µs", "p99 µs"], rows)
        rows = []
        for b in ("1ms", "10ms"):
            cells = [fmt(self.v("policy.sustained_rps.%s.p99_%s" % (srv, b)))
                     for srv in ("bouncewall", "postfwd", "postgrey")]
            if any(c != "—" for c in cells):
                rows.append(["p99 ≤ %s" % b.replace("ms", " ms")] + cells)
        if rows:
            self.p("Highest rate of the ladder (100 … 80,000/s) answered in full within "
                   "the bound, requests/s (0: not even 100/s):")
            self.p()
            self.table(["", "bouncewall", "postfwd", "postgrey"], rows)

    def mta(self):
        if not self.has("mta."):
            return
        self.p("What a storm costs a real Postfix (`scripts/bench-mta.sh`): legitimate "
               "messages timed from their SMTP session to their Maildir file, one every "
               "0.1 s, while 150 innocent MTAs bounce (90% over TLS, 5 each) and 5 loud "
               "sources flood (100 each); the same storm without bouncewall and with it "
               "(policy service, socketmap, XDP). The storm generator has a CPU of its "
               "own; with bouncewall the loud sources' bounces never reach RCPT (dropped "
               "in XDP), so fewer are refused there:")
        self.p()
        rows = []
        for ph, label in (("calm_plain", "calm, Postfix alone"),
                          ("storm_plain", "storm, Postfix alone"),
                          ("calm_bw", "calm, with bouncewall"),
                          ("storm_bw", "storm, with bouncewall")):
            if self.v("mta.legit_p50_ms.%s" % ph) is None:
                continue
            sent, refused = (self.v("mta.%s.%s" % (k, ph))
                             for k in ("storm_bounces", "storm_refused_at_rcpt"))
            rows.append([label, fmt(self.v("mta.legit_p50_ms.%s" % ph), " ms"),
                         fmt(self.v("mta.legit_p90_ms.%s" % ph), " ms"),
                         "%s of %s" % (fmt(self.v("mta.legit_delivered.%s" % ph)),
                                       fmt(self.v("mta.legit_sent.%s" % ph))),
                         fmt(self.v("mta.postfix_cpu_pct.%s" % ph), " %"),
                         "—" if sent is None else "%s (%s refused at RCPT)" % (fmt(sent), fmt(refused))])
        self.table(["phase", "legit p50", "legit p90", "delivered", "Postfix CPU",
                    "storm bounces"], rows)

    def fleet(self):
        if not self.has("fleet."):
            return
        self.p("The fleet client against a real CrowdSec LAPI (`scripts/bench-fleet.sh`): "
               "decisions at startup into the kernel, beside Debian 12's "
               "crowdsec-firewall-bouncer (nftables) on the same LAPI and `nft -f` loading "
               "the same set from a file; and an operator block on gateway A until it is in "
               "gateway B's kernel:")
        self.p()
        rows = []
        for n in ("10000", "100000"):
            r = self.m.get("fleet.startup_decisions_per_s.%s" % n)
            if not r:
                continue
            nf = self.m.get("fleet.startup_decisions_per_s_vs_nft.%s" % n, {})
            st = self.m.get("fleet.startup_loop_stall_ms.%s" % n, {})
            rows.append([n, fmt(r.get("value"), "/s"), fmt(r.get("baseline_value"), "/s"),
                         fmt(nf.get("baseline_value"), "/s"),
                         "%s (p99 %s)" % (fmt(st.get("value"), " ms"),
                                          fmt(st.get("scrape_p99_ms"), " ms"))])
        self.table(["decisions", "bouncewall", "firewall bouncer", "nft -f (no LAPI)",
                    "slowest metrics answer meanwhile"], rows)
        rows = []
        for k in sorted((k for k in self.m if k.startswith("fleet.block_a_to_b_ms.median.")),
                        key=lambda k: self.m[k].get("baseline_value") or 0):
            r = self.m[k]
            trials = r.get("per_trial") or []
            rows.append([k.rsplit(".", 1)[1].replace("poll_", "crowdsec_poll = "),
                         fmt(r.get("value"), " ms"),
                         fmt(max(trials) if trials else None, " ms"), str(len(trials))])
        if rows:
            self.table(["block on A → B's kernel", "median", "worst", "trials"], rows)

    def targets(self):
        rows = []

        def add(what, got, ok):
            if got is not None:
                rows.append([what, got, verdict(ok)])

        def q(name, base):
            return ratio(self.v(name), self.v(base))

        r = q("xdp.bouncewall_agent.non_smtp", "xdp.trivial_pass.non_smtp")
        add("non-SMTP within 1.3× a trivial program, as the agent attaches it",
            None if r is None else fmt3(r, "×"), None if r is None else r <= 1.3)
        r = q("xdp.bouncewall_agent.smtp_syn_blocked_host",
              "xdp.xdp_filter_all.smtp_syn_blocked_host")
        add("blocked-source drop at most 0.5× xdp-filter's default program, as the agent "
            "attaches it", None if r is None else fmt3(r, "× xdp-filter"),
            None if r is None else r <= 0.5)
        worst = None
        for key in ("smtp_syn_blocked_cidr", "smtp_syn_blocked_v6_64"):
            r = q("xdp.bouncewall.%s" % key, "xdp.xdp_filter_all.%s" % key)
            if r is not None and (worst is None or r > worst[0]):
                worst = (r, {"smtp_syn_blocked_cidr": "IPv4 /24",
                             "smtp_syn_blocked_v6_64": "IPv6 /64"}[key])
        add("blocked-prefix drop at most 0.5× xdp-filter's default program (worst of "
            "IPv4 /24, IPv6 /64)", None if worst is None else
            "%s (%s)" % (fmt3(worst[0], "× xdp-filter"), worst[1]),
            None if worst is None else worst[0] <= 0.5)
        r = q("xdp.bouncewall.smtp_syn_blocked_host", "xdp.xdp_filter_ip.smtp_syn_blocked_host")
        add("blocked-source drop no slower than xdp-filter -f ipv4,ipv6",
            None if r is None else fmt3(r, "× xdp-filter"), None if r is None else r <= 1.0)
        worst = None
        for key in ("smtp_syn_unknown", "smtp_syn_unknown_v6", "smtp_syn_blocked_host"):
            r = q("xdp.bouncewall_hosts_1M.%s" % key, "xdp.bouncewall_hosts_1.%s" % key)
            if r is not None and (worst is None or r > worst):
                worst = r
        add("flat cost up to 1M host entries (within 1.5×)",
            None if worst is None else fmt3(worst, "× (worst row)"),
            None if worst is None else worst <= 1.5)
        bw = self.v("wire.drop_pps.bouncewall_block")
        xf = self.v("wire.drop_pps.xdp_filter")
        nf = self.v("wire.drop_pps.nftables")
        def bound(name):
            return bool((self.m.get(name) or {}).get("generator_bound"))
        bwb = bound("wire.drop_pps.bouncewall_block")
        if bw is not None and xf:
            add("wire drop rate at least xdp-filter's", fmt3(bw / xf, "× xdp-filter"),
                rate_verdict(bw / xf, 1.0, bound("wire.drop_pps.xdp_filter"), bwb))
        if bw is not None and nf:
            add("wire drop rate at least 1.5× nftables'", fmt3(bw / nf, "× nftables"),
                rate_verdict(bw / nf, 1.5, bound("wire.drop_pps.nftables"), bwb))
        an = []
        for s in SIZES:
            a, d, t = (self.v("analyze.%s.%s" % (k, s)) for k in ("bouncewall", "tcpdump", "tshark"))
            if a is not None and d and t:
                an.append((s, a / d, t / a))
        if an:
            s, r, _ = max(an, key=lambda x: x[1])
            add("analyze within 2× tcpdump (worst of %s packets)" % "/".join(x[0] for x in an),
                "%s at %s" % (fmt3(r, "×"), s), r <= 2)
            s, _, r = min(an, key=lambda x: x[2])
            add("analyze 20× faster than tshark (worst of the same)",
                "%s at %s" % (fmt(r, "×"), s), r >= 20)
        lo, hi = (self.v("analyze.bouncewall_net_ns_per_pkt.%s" % s) for s in ("100k", "1M"))
        if lo and hi:
            add("analyze linear in capture size (net ns/packet at 1M within 1.2× 100k's)",
                fmt3(hi / lo, "×"), hi / lo <= 1.2)
        p99 = self.v("policy.p99_us.bouncewall.5000")
        add("policy service p99 under 1 ms at 5k requests/s",
            None if p99 is None else fmt(p99, " µs"), None if p99 is None else p99 < 1000)
        for b in ("1ms", "10ms"):
            bw, pf = (self.v("policy.sustained_rps.%s.p99_%s" % (x, b)) for x in ("bouncewall", "postfwd"))
            if bw is None or pf is None:
                continue
            r = bw / pf if pf else None
            add("policy service at least 10× postfwd's throughput at the same p99 (≤ %s)" %
                b.replace("ms", " ms"),
                "%s vs %s/s%s" % (fmt(bw), fmt(pf), "" if r is None else " (%s)" % fmt(r, "×")),
                bw >= 10 * pf and bw > 0)
        c, st = self.v("mta.legit_p50_ms.calm_bw"), self.v("mta.legit_p50_ms.storm_bw")
        if c and st is not None and st >= 0:
            add("legitimate delivery during a storm within 10% of calm, with bouncewall",
                "%s vs %s ms (%s)" % (fmt(st), fmt(c), fmt3(st / c, "×")), st <= 1.1 * c)
        med = self.v("latency.detect_to_drop_ms.median")
        add("detection to drop under 500 ms median", None if med is None else fmt(med, " ms"),
            None if med is None else med < 500)
        for what, pre in (("scorer, in-process", "memory.score.bytes_per_source."),
                          ("running agent, all-in", "rss.agent.bytes_per_source_all_in.")):
            worst = [(self.v(pre + s), s) for s in SIZES if self.v(pre + s) is not None]
            # The smallest N carries the allocator's fixed overhead: judge from 10k up.
            worst = [w for w in worst if w[1] not in ("1", "1k")] or worst
            if worst:
                b, s = max(worst)
                add("under 200 bytes per tracked source (%s, worst of 10k..1M)" % what,
                    "%s at %s" % (fmt(b, " B"), s), b < 200)
        if rows:
            self.p("Against the targets:")
            self.p()
            self.table(["target", "measured", ""], rows)
        self.non_smtp_note()

    def non_smtp_note(self):
        """What the non-SMTP target leaves to spend, from the same run."""
        bw, triv, xf = (self.v("xdp.%s.non_smtp" % c)
                        for c in ("bouncewall", "trivial_pass", "xdp_filter_ip"))
        if bw is None or not triv:
            return
        self.p("Non-SMTP packets: bouncewall costs %s ns over the %s ns of a trivial program "
               "run the same way (%s%s); the 1.3× target leaves %s ns for parsing "
               "Ethernet, IP and TCP and counting the packet." % (
                   fmt(bw - triv), fmt(triv), fmt3(bw / triv, "×"),
                   "" if xf is None else "; xdp-filter %s" % fmt3(xf / triv, "×"),
                   fmt(0.3 * triv)))
        self.p()


def tree(env):
    """The commit measured, and whether the tree held more than it."""
    rev = env.get("commit", "?")
    dirty = env.get("dirty")
    if dirty is None:
        return "commit %s (tree state not recorded)" % rev
    if not dirty:
        return "commit %s, clean tree" % rev
    files = env.get("dirty_files") or []
    return "commit %s plus %d uncommitted change%s (%s)" % (
        rev, len(files), "" if len(files) == 1 else "s",
        ", ".join("`%s`" % f for f in files[:6]) + (", …" if len(files) > 6 else ""))


def machine(env):
    if not env:
        return "an unrecorded machine"
    return "%s: %s CPUs (%s), %s GiB, kernel %s, %s, %s" % (
        env.get("host", "?"), env.get("cpus", "?"), env.get("cpu_model", "?"),
        env.get("mem_gib", "?"), env.get("kernel", "?"), env.get("date", "?"), tree(env))


def duration(env):
    """How long the run took, when bench.sh recorded it."""
    if not env or env.get("seconds") is None:
        return ""
    what = "" if env.get("benches", "all") == "all" else " (%s only)" % env["benches"]
    return " This run%s took %d min." % (what, round(env["seconds"] / 60))


def main(argv):
    readme = None
    if "--readme" in argv:
        i = argv.index("--readme")
        if i + 1 >= len(argv):
            sys.exit("bench-report: --readme needs a file")
        readme = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    bench = argv[1] if len(argv) > 1 else "build/bench.json"
    envp = argv[2] if len(argv) > 2 else "build/bench-env.json"
    rows = load(bench)
    if not isinstance(rows, list):
        sys.exit("bench-report: %s: not a bench.json (run make bench)" % bench)
    rep = Report(rows)
    rep.p(BEGIN)
    rep.p("Generated by `make bench` (scripts/bench-report.py) from `build/bench.json`, "
          "measured on %s. Every ratio compares programs run side by side in the same "
          "invocation; on a shared VM absolute figures move between runs, so compare "
          "the ratios.%s" % (machine(load(envp)), duration(load(envp))))
    rep.p()
    rep.xdp()
    rep.wire()
    rep.analyze()
    rep.latency()
    rep.memory()
    rep.policy()
    rep.mta()
    rep.fleet()
    rep.targets()
    rep.p(END)
    text = "\n".join(rep.out) + "\n"
    if not readme:
        sys.stdout.write(text)
        return
    with open(readme) as f:
        old = f.read()
    pat = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", re.S)
    if not pat.search(old):
        sys.exit("bench-report: %s has no %s ... %s markers" % (readme, BEGIN, END))
    new = pat.sub(lambda _m: text, old, count=1)
    with open(readme + ".tmp", "w") as f:
        f.write(new)
    import os
    os.replace(readme + ".tmp", readme)
    print("bench-report: %s performance section regenerated" % readme)


if __name__ == "__main__":
    main(sys.argv)
