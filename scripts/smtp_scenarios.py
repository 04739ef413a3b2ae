"""smtp_scenarios.py - the shapes `gen-smtp-pcap.py --scenario NAME` writes,
each with its ground truth: which source is what, and what must happen to it.

  realistic  thousands of innocent MTAs, each returning one to five bounces
             over the capture, most over STARTTLS (opaque after the 220); the
             cleartext ones to real users (accepted, delivered) or to random
             local parts (550 5.1.1); legitimate mail from providers behind.
  provider   a big provider's outbound pool: 40 addresses, each 20 ordinary
             messages and 8 null-sender auto-replies a minute, the replies to
             a local noreply@ that does not exist (550 5.1.1).
  relay      our own relay (OUR_RELAYS) returning 40 DSNs a minute to existing
             users, and sending our users' ordinary mail out (protected
             senders: the sent ledger learns them).
  callouts   sender-verification callouts from many verifiers: MAIL FROM:<>,
             RCPT to a real user (accepted), then QUIT or RSET, never DATA.
  loud       a few loud cleartext storm sources, one to two bounces a second
             each to random local parts, starting a little into the capture.
  mixed      all of the above in one capture.

The truth (JSON) names every source as analyze does (a /32, or the /64 of
an IPv6 address) with its role, what must happen to it ("must": pass = never
throttled nor blocked, unscored = never scored at all, veto_mixed = its
connection-level decision vetoed as mostly ordinary mail, callouts = its
callouts counted as callouts and not bounces, block = blocked soon after its
first packet), and what it sent in the counters of analyze's per-source
output; with the capture's totals and the config analyze must be given
(protected_domains, our_relays).

Deterministic: a session's bytes come from its own RNG, seeded by the seed
and the session's number in the plan; the plan's times from the seed.
"""
import bisect
import ipaddress
import random

from smtp_pcap import (DOMAIN, EHLO_REPLY, GREETING, LEGIT_DOMAINS, R_DATA, R_MAIL,
                       R_NOVALID, R_RCPT, R_RSET, BASE_TS, Counts,
                       Dialogue, PcapWriter, legit_session, make_body, r_queued,
                       r_unknown, rand_local, retransmitted_bytes, session_frames,
                       source_text, storm_session)

NAMES = ("realistic", "provider", "relay", "callouts", "loud", "mixed")
OUR_RELAY = "192.0.2.50"
CONFIG = {"protected_domains": DOMAIN, "our_relays": OUR_RELAY + "/32"}
# Local users that exist (accepted 250); noreply@ does not.
REAL_USERS = "alice bob carol dave erin frank grace heidi".split()
NOREPLY = "noreply@" + DOMAIN
MUST = {
    "innocent": ["pass"],
    "legit": ["pass"],
    "provider": ["pass", "veto_mixed"],
    "relay": ["pass", "unscored"],
    "verifier": ["pass", "callouts"],
    "loud": ["block"],
}

TLS_SHARE = 0.93        # innocent MTAs that speak STARTTLS (all their sessions)
KNOWN_SHARE = 0.40      # cleartext innocent bounces aimed at real users
CALLOUT_TAIL_S = 40     # every verifier calls out again within the last 40 s


class Tally(Counts):
    """A session's counts, plus the null-sender transactions the scorer
    must not take for bounces: callouts (all recipients accepted, no
    DATA)."""
    KEYS = Counts.KEYS + ("callouts",)


class Source:
    def __init__(self, role, addr, v6, rtt, idx):
        self.role, self.addr, self.v6, self.rtt, self.idx = role, addr, v6, rtt, idx
        self.key = source_text(addr, v6)
        self.c = Tally()
        self.first = self.last = self.last_callout = None
        self.bounce_times = []


class Plan:
    """The sessions of a capture before any is built: (start, n, source,
    builder, args).  n numbers them for their RNGs."""

    def __init__(self):
        self.sessions = []
        self.sources = {}

    def source(self, role, addr, v6, rtt, idx=0):
        key = source_text(addr, v6)
        s = self.sources.get(key)
        if s is None:
            s = self.sources[key] = Source(role, addr, v6, rtt, idx)
        elif s.role != role:
            raise ValueError("%s is both %s and %s" % (key, s.role, role))
        return s

    def add(self, start, src, fn, *args):
        self.sessions.append((start, len(self.sessions), src, fn, args))


# --------------------------------------------------------------- dialogue

def opening(rng, d, c, helo):
    d.s(GREETING, dt=rng.uniform(0.001, 0.005))
    d.c(("EHLO %s\r\n" % helo).encode())
    d.s(EHLO_REPLY)
    c.replies += 2


def closing(d, c):
    d.quit()
    c.replies += 1


def starttls(d, c, mss):
    d.starttls(mss)
    c.replies += 1
    c.opaque_sessions += 1


def txn(rng, d, c, mss, sender, rcpts, body, pipelining):
    """One transaction: MAIL FROM:<sender>, RCPT for each (address, exists),
    then DATA and body when body is not None (a pipelining client sends DATA
    blind and gets 554 when no recipient was accepted; a plain one does not
    send it).  Returns True when a message was queued."""
    oks = [ok for _, ok in rcpts]
    any_ok = any(oks)
    rej = oks.count(False)
    c.transactions += 1
    c.null_sender_transactions += sender == ""
    c.rcpt_total += len(rcpts)
    c.rcpt_rejected += rej
    c.rcpt_unknown += rej
    c.callouts += sender == "" and body is None and rej == 0
    mail = ("MAIL FROM:<%s>\r\n" % sender).encode()
    lines = [("RCPT TO:<%s>\r\n" % a).encode() for a, _ in rcpts]
    replies = [R_RCPT if ok else r_unknown(a) for a, ok in rcpts]
    data = body is not None and (any_ok or pipelining)
    c.replies += 1 + len(rcpts) + data + (data and any_ok)
    c.replies_5xx += rej + (data and not any_ok)
    if pipelining:
        d.c(mail + b"".join(lines) + (b"DATA\r\n" if data else b""))
        d.s(R_MAIL + b"".join(replies) + ((R_DATA if any_ok else R_NOVALID) if data else b""),
            dt=rng.uniform(0.001, 0.006))
    else:
        d.c(mail)
        d.s(R_MAIL)
        for line, rep in zip(lines, replies):
            d.c(line)
            d.s(rep, dt=rng.uniform(0.0005, 0.004))
        if data:
            d.c(b"DATA\r\n")
            d.s(R_DATA)
    if data and any_ok:
        d.body(body, mss)
        d.s(r_queued(rng), dt=rng.uniform(0.005, 0.04))
        return True
    return False


def rset(d, c):
    d.c(b"RSET\r\n")
    d.s(R_RSET)
    c.replies += 1


def dsn_body(rng, rcpt):
    return make_body(rng, "", [rcpt], True, rng.randint(1500, 4000))


def mail_body(rng, sender, rcpts):
    return make_body(rng, sender, rcpts, False, min(int(rng.lognormvariate(7.3, 0.9)), 30000))


# --------------------------------------------------------------- sessions
# Each: fn(rng, d, c, mss, src, *args), d a fresh Dialogue, c a Tally.

def innocent_bounce(rng, d, c, mss, src, tls):
    """An innocent MTA returns one bounce of the forged mail: over TLS
    nothing of it shows; in clear, to a real user (delivered) or to a made-up
    local part (550 5.1.1)."""
    opening(rng, d, c, "mx%d.isp%d.example" % (src.idx, src.idx % 97))
    if tls:
        starttls(d, c, mss)
        return
    if rng.random() < KNOWN_SHARE:
        rcpt = (rng.choice(REAL_USERS) + "@" + DOMAIN, True)
    else:
        rcpt = (rand_local(rng) + "@" + DOMAIN, False)
    txn(rng, d, c, mss, "", [rcpt], dsn_body(rng, rcpt[0]), rng.random() < 0.5)
    closing(d, c)


def provider_session(rng, d, c, mss, src, kinds):
    """A pool address's connection, reused for a few messages: ordinary
    mail to real users, auto-replies (null sender) to noreply@, refused."""
    opening(rng, d, c, "out-%d.mail.provider.example" % src.idx)
    pipelining = rng.random() < 0.7
    for i, kind in enumerate(kinds):
        if kind == "auto":
            queued = txn(rng, d, c, mss, "", [(NOREPLY, False)],
                         make_body(rng, "", [NOREPLY], False, 800), pipelining)
        else:
            sender = "user%d@provider.example" % rng.randint(1, 99999)
            rcpts = [(u + "@" + DOMAIN, True) for u in rng.sample(REAL_USERS, rng.choice((1, 1, 1, 2)))]
            queued = txn(rng, d, c, mss, sender, rcpts,
                         mail_body(rng, sender, [a for a, _ in rcpts]), pipelining)
        if not queued and i + 1 < len(kinds):
            rset(d, c)
    closing(d, c)


def relay_session(rng, d, c, mss, src, kinds):
    """Our relay: DSNs to existing users (their typos bounced back), and
    our users' mail going out (protected senders)."""
    opening(rng, d, c, "relay.victim.example")
    for kind in kinds:
        if kind == "dsn":
            rcpt = rng.choice(REAL_USERS) + "@" + DOMAIN
            txn(rng, d, c, mss, "", [(rcpt, True)], dsn_body(rng, rcpt), True)
        else:
            sender = rng.choice(REAL_USERS) + "@" + DOMAIN
            rcpt = "%s@%s" % (rand_local(rng), rng.choice(LEGIT_DOMAINS))
            txn(rng, d, c, mss, sender, [(rcpt, True)], mail_body(rng, sender, [rcpt]), True)
    closing(d, c)


def callout_session(rng, d, c, mss, src, n):
    """A verifier checks that senders of ours exist: MAIL FROM:<>, RCPT
    (accepted), no DATA; RSET between checks, QUIT (sometimes RSET first)."""
    opening(rng, d, c, "verify%d.callout.example" % src.idx)
    for i in range(n):
        rcpt = rng.choice(REAL_USERS) + "@" + DOMAIN
        txn(rng, d, c, mss, "", [(rcpt, True)], None, rng.random() < 0.5)
        if i + 1 < n or rng.random() < 0.4:
            rset(d, c)
    closing(d, c)


def loud_session(rng, d, c, mss, src):
    storm_session(rng, d, src.idx, c, mss)


def legit_bg(rng, d, c, mss, src):
    legit_session(rng, d, src.idx, c, mss)


# --------------------------------------------------------------- sources

def v4(a, b, n):
    return ipaddress.IPv4Address((a << 24) | (b << 16) | n)


def v6_net(net48, i):
    """An address in the i-th /64 of a /48 (one /64 per source)."""
    return ipaddress.IPv6Address(int(ipaddress.IPv6Address(net48)) | i << 64 | 0x25)


def innocent_source(plan, i):
    h = random.Random(0x1110 + i)
    if h.random() < 0.10:
        return plan.source("innocent", v6_net("2001:db8:1::", i), True, 0.03 + (i % 29) * 0.01, i)
    # 100.64.0.0/10: one address per MTA, thousands of them
    return plan.source("innocent", v4(100, 64, i + 1), False, 0.02 + (i % 31) * 0.01, i)


def legit_source(plan, i):
    # 198.18.0.0/15 as the benchmark's legitimate MTAs; 10% over IPv6
    if random.Random(0x1e9 + i).random() < 0.10:
        return plan.source("legit", v6_net("2001:db8:4::", i), True, 0.01 + (i % 37) * 0.005, i)
    return plan.source("legit", v4(198, 18, (i * 7919 + 1) % 65534 + 1), False,
                       0.005 + (i % 37) * 0.005, i)


# --------------------------------------------------------------- shapes

def poisson(rng, rate, t0, t1):
    """Event times of a Poisson process of rate/s in [t0, t1)."""
    out = []
    t = t0 + rng.expovariate(rate)
    while t < t1:
        out.append(t)
        t += rng.expovariate(rate)
    return out


def batches(rng, events, sizes, weights):
    """Group (time, kind) events into connections of a few each."""
    out = []
    i = 0
    while i < len(events):
        k = rng.choices(sizes, weights)[0]
        grp = events[i:i + k]
        out.append((grp[0][0], [kind for _, kind in grp]))
        i += k
    return out


def shape_legit(plan, rng, dur, rate, n_src=200):
    """Legitimate background: rate sessions/s, Zipf over n_src MTAs."""
    cum = []
    acc = 0.0
    for i in range(n_src):
        acc += 1.0 / (i + 1) ** 0.8
        cum.append(acc)
    for t in poisson(rng, rate, 0.0, dur):
        i = bisect.bisect_left(cum, rng.random() * acc)
        plan.add(t, legit_source(plan, i), legit_bg)


def shape_realistic(plan, rng, dur, n=3000):
    for i in range(n):
        src = innocent_source(plan, i)
        tls = rng.random() < TLS_SHARE
        for _ in range(rng.randint(1, 5)):
            plan.add(rng.uniform(0, dur * 0.99), src, innocent_bounce, tls)


def shape_provider(plan, rng, dur, n=40, msgs=20, autos=8):
    """n pool addresses (198.51.100.10 on), msgs + autos a minute each."""
    rate = (msgs + autos) / 60.0
    for i in range(n):
        src = plan.source("provider", v4(198, 51, 100 * 256 + 10 + i), False, 0.01 + i % 5 * 0.005, i)
        ev = [(t, "auto" if rng.random() < autos / (msgs + autos) else "msg")
              for t in poisson(rng, rate, 0.0, dur)]
        for t, kinds in batches(rng, ev, (1, 2, 3), (5, 3, 2)):
            plan.add(t, src, provider_session, kinds)


def shape_relay(plan, rng, dur, dsns=40, sends=20):
    src = plan.source("relay", ipaddress.IPv4Address(OUR_RELAY), False, 0.001)
    ev = sorted([(t, "dsn") for t in poisson(rng, dsns / 60.0, 0.0, dur)] +
                [(t, "out") for t in poisson(rng, sends / 60.0, 0.0, dur)])
    for t, kinds in batches(rng, ev, (1, 2, 3, 4, 5), (3, 3, 2, 1, 1)):
        plan.add(t, src, relay_session, kinds)


def shape_callouts(plan, rng, dur, n=120):
    """n verifiers (203.0.113.0/24, a tenth over IPv6), 2-6 sessions
    each, the last within CALLOUT_TAIL_S of the end (so the per-minute
    window analyze reports at the end still holds one)."""
    for i in range(n):
        if i % 10 == 9:
            src = plan.source("verifier", v6_net("2001:db8:2::", i), True, 0.05, i)
        else:
            src = plan.source("verifier", v4(203, 0, 113 * 256 + 1 + i), False, 0.02 + i % 7 * 0.01, i)
        k = rng.randint(2, 6)
        times = [rng.uniform(0, dur - CALLOUT_TAIL_S) for _ in range(k - 1)]
        times.append(rng.uniform(dur - CALLOUT_TAIL_S, dur - 5))
        for t in times:
            plan.add(t, src, callout_session, 1 if rng.random() < 0.8 else 2)


def shape_loud(plan, rng, dur, n=10, start=(0.08, 0.33)):
    """n loud sources (198.19.0.0/16, two over IPv6), each from a start in
    the given range (shares of the duration) to the end at 1-2 bounces a
    second (storm_session carries 1.55 bounces on average)."""
    for i in range(n):
        if i % 5 == 4:
            src = plan.source("loud", v6_net("2001:db8:3::", i), True, 0.06, i)
        else:
            src = plan.source("loud", v4(198, 19, (i * 1031 + 5) % 65534 + 1), False,
                              0.02 + (i % 13) * 0.02, i)
        per_s = rng.uniform(1.0, 2.0) / 1.55
        t0 = rng.uniform(start[0] * dur, start[1] * dur)
        for t in [t0] + poisson(rng, per_s, t0, dur):
            plan.add(t, src, loud_session)


# name: (default duration, [(shape, kwargs)...]); legit background in all.
SCENARIOS = {
    "realistic": (600, [(shape_realistic, {}), (shape_legit, {"rate": 2.0})]),
    "provider": (180, [(shape_provider, {}), (shape_legit, {"rate": 0.5})]),
    "relay": (180, [(shape_relay, {}), (shape_legit, {"rate": 0.5})]),
    "callouts": (180, [(shape_callouts, {}), (shape_legit, {"rate": 0.5})]),
    "loud": (120, [(shape_loud, {}), (shape_legit, {"rate": 0.5})]),
    "mixed": (300, [(shape_realistic, {"n": 1500}), (shape_provider, {}), (shape_relay, {}),
                    (shape_callouts, {}), (shape_loud, {"start": (0.33, 0.53)}),
                    (shape_legit, {"rate": 1.0})]),
}


# --------------------------------------------------------------- writing

def max_in_window(times, w=60.0):
    best = j = 0
    for i, t in enumerate(times):
        while t - times[j] > w:
            j += 1
        best = max(best, i - j + 1)
    return best


def generate(name, seed, out_path, duration=None):
    """Write the capture; returns the truth (a dict, JSON-ready)."""
    dur, shapes = SCENARIOS[name]
    dur = duration or dur
    plan = Plan()
    for k, (shape, kw) in enumerate(shapes):
        shape(plan, random.Random(seed * 1009 + k * 7 + NAMES.index(name)), dur, **kw)
    plan.sessions.sort(key=lambda s: (s[0], s[1]))

    total = Tally()
    out = PcapWriter(out_path)
    for start, n, src, fn, args in plan.sessions:
        rng = random.Random(seed << 32 | n)
        t0 = BASE_TS + start
        d = Dialogue(rng, src.rtt)
        c = Tally()
        c.sessions = 1
        fn(rng, d, c, 1440 if src.v6 else 1460, src, *args)
        c.retransmitted_bytes = retransmitted_bytes(d.ev)
        out.session(t0, session_frames(t0, src.addr, src.v6, src.rtt, d.ev, rng))
        total.add(c)
        src.c.add(c)
        src.first = t0 if src.first is None else src.first
        src.last = t0
        bounces = c.null_sender_transactions - c.callouts
        src.bounce_times += [start] * bounces
        if c.callouts:
            src.last_callout = t0
    total.packets = out.close()
    first = out.first_ts

    sources = {}
    roles = {}
    for s in plan.sources.values():
        if s.first is None:
            continue
        rec = {"role": s.role, "must": MUST[s.role],
               "sessions": s.c.sessions, "opaque_sessions": s.c.opaque_sessions,
               "transactions": s.c.transactions, "null_sender": s.c.null_sender_transactions,
               "rcpt": s.c.rcpt_total, "rcpt_rejected": s.c.rcpt_rejected,
               "rcpt_unknown": s.c.rcpt_unknown, "callouts": s.c.callouts,
               "bounces": len(s.bounce_times),
               "max_bounces_60s": max_in_window(s.bounce_times),
               "first_s": round(s.first - first, 6), "last_s": round(s.last - first, 6)}
        if s.last_callout is not None:
            rec["last_callout_s"] = round(s.last_callout - first, 6)
        sources[s.key] = rec
        r = roles.setdefault(s.role, {"sources": 0, "sessions": 0, "opaque_sessions": 0,
                                      "transactions": 0, "bounces": 0, "callouts": 0})
        r["sources"] += 1
        for k in ("sessions", "opaque_sessions", "transactions", "callouts"):
            r[k] += s.c.as_dict()[k]
        r["bounces"] += len(s.bounce_times)
    counts = total.as_dict()
    return {"scenario": name, "seed": seed, "duration_s": dur,
            "capture_end_s": round(out.last_ts - first, 6),
            "config": dict(CONFIG), "counts": counts, "roles": roles, "sources": sources}
