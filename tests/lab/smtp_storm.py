#!/usr/bin/python3
"""smtp_storm.py - a backscatter storm: null-sender DSN bounces from several
source addresses at once, one SMTP session per bounce (what swaks does, at a
fraction of the CPU: swaks costs ~100 ms of CPU per session here, this a few).

Run it inside the sender namespace.  Each bounce: connect from SRC, EHLO
mx-SRC.bounce.example, optional STARTTLS (+EHLO), MAIL FROM:<>, RCPT TO:<random
or known local part @DOMAIN>, DATA with an RFC 3464 report (dsn.py), QUIT.
Commands are upper-case and one at a time (no pipelining), like swaks.

Other traffic of the same pace and records (--mode):
  bounce    the above (default)
  provider  a mail provider's outbound pool: ordinary messages from
            userN@provider.example to --known users, and --autoreply-share
            percent of null-sender auto-replies ("Auto-Submitted:
            auto-replied") to --autoreply-rcpt@DOMAIN (default noreply, which
            should not exist: refused at RCPT, no DATA)
  callout   sender-verification callouts: MAIL FROM:<>, RCPT TO a --known
            (or random) user, then RSET every other time, QUIT; never DATA
            (rc 0 = RCPT accepted)

One record per bounce to --out (tab-separated):
    src rcpt tls(0/1) rc start_us end_us rcpt_reply
(rcpt_reply: the RCPT reply's code and enhanced status code, "550 5.7.1";
"0" when RCPT was never answered)
rc follows swaks' exit codes: 0 accepted, 24 RCPT rejected, 2 connect failed,
6 connection lost/timeout, 21 banner, 22 EHLO, 23 MAIL, 25 DATA, 26 after the
data, 29 TLS.  Prints one summary line; exit 0 when every bounce got an SMTP
answer (accepted or rejected), 1 otherwise, 2 on bad arguments.
"""
import argparse
import os
import random
import smtplib
import ssl
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsn  # noqa: E402

CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def host_of(src, suffix="bounce.example"):
    return "mx-%s.%s" % (src.replace(":", "-").replace(".", "-"), suffix)


class Failed(Exception):
    def __init__(self, rc, code=0):
        Exception.__init__(self, rc)
        self.rc, self.code = rc, code


def send_data(s, data, rcode):
    code, _ = s.docmd("DATA")
    if code != 354:
        raise Failed(25, rcode)
    lines = [("." + l if l.startswith(".") else l) for l in data.split("\n")]
    s.send(("\r\n".join(lines).rstrip("\r\n") + "\r\n.\r\n").encode())
    code, _ = s.getreply()
    if code != 250:
        raise Failed(26, rcode)


def one(src, dst, rcpt, use_tls, body, timeout, ctx, sender="", callout=None):
    """One session: MAIL FROM:<sender>, RCPT TO:<rcpt>, DATA body; with
    callout not None no DATA (callout "rset": RSET before QUIT).  Returns
    (rc, rcpt reply: "550 5.1.1" or 0)."""
    helo = host_of(src)
    try:
        s = smtplib.SMTP(timeout=timeout, source_address=(src, 0), local_hostname=helo)
        code, _ = s.connect(dst, 25)
    except (OSError, smtplib.SMTPException):
        return 2, 0
    rcode = 0
    try:
        if code != 220:
            raise Failed(21)
        code, _ = s.docmd("EHLO", helo)
        if code != 250:
            raise Failed(22)
        if use_tls:
            code, _ = s.docmd("STARTTLS")
            if code != 220:
                raise Failed(29)
            try:
                s.sock = ctx.wrap_socket(s.sock, server_hostname=None)
                s.file = None
            except (OSError, ssl.SSLError):
                raise Failed(29)
            code, _ = s.docmd("EHLO", helo)
            if code != 250:
                raise Failed(32)
        code, _ = s.docmd("MAIL", "FROM:<%s>" % sender)
        if code != 250:
            raise Failed(23)
        rnum, rmsg = s.docmd("RCPT", "TO:<%s>" % rcpt)
        words = rmsg.decode(errors="replace").split()
        rcode = "%d %s" % (rnum, words[0] if words and words[0][:1].isdigit() else "-")
        if rnum not in (250, 251):
            raise Failed(24, rcode)
        if callout is None:
            send_data(s, body.replace("%TO_ADDRESS%", rcpt), rcode)
        elif callout == "rset" and s.docmd("RSET")[0] != 250:
            raise Failed(6, rcode)
        rc = 0
    except Failed as e:
        rc, rcode = e.rc, e.code or rcode
    except (OSError, smtplib.SMTPException):
        return 6, rcode
    try:
        s.docmd("QUIT")
        s.close()
    except (OSError, smtplib.SMTPException):
        pass
    return rc, rcode


def message(src, sender, rcpt, i):
    """An ordinary message (LF line ends; one() makes them CRLF)."""
    return ("From: <%s>\nTo: <%s>\nSubject: pool message %d from %s\n"
            "Message-ID: <%d.%s@provider.example>\n\nOrdinary mail %d from the pool.\n"
            % (sender, rcpt, i, src, i, src.replace(":", "-"), i))


def autoreply(src, rcpt, rng):
    """An out-of-office reply: null sender, Auto-Submitted (RFC 3834)."""
    return ("From: <%s>\nTo: <%s>\nSubject: Out of office\nAuto-Submitted: auto-replied\n"
            "Message-ID: <%x@%s>\n\nI am away until Monday.\n"
            % ("someone@provider.example", rcpt, rng.getrandbits(48), host_of(src, "provider.example")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sources", nargs="+")
    ap.add_argument("--dst", required=True, action="append",
                    help="server address; give it twice (IPv4 and IPv6) for mixed sources")
    ap.add_argument("--domain", required=True)
    ap.add_argument("--per-source", type=int, default=10)
    ap.add_argument("--rate", type=float, default=5, help="bounces/s per source; 0 = no pacing")
    ap.add_argument("--tls-share", type=float, default=0, help="percent over STARTTLS")
    ap.add_argument("--known-share", type=float, default=0, help="percent to --known users")
    ap.add_argument("--known", default="", help="comma-separated real local parts")
    ap.add_argument("--concurrency", type=int, default=8, help="sessions in flight per source")
    ap.add_argument("--max-time", type=float, default=120, help="stop launching after S seconds")
    ap.add_argument("--timeout", type=float, default=20, help="per-command timeout")
    ap.add_argument("--out", default=None)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--mode", choices=("bounce", "provider", "callout"), default="bounce")
    ap.add_argument("--autoreply-share", type=float, default=0,
                    help="provider: percent of null-sender auto-replies")
    ap.add_argument("--autoreply-rcpt", default="noreply",
                    help="provider: the local part auto-replies go to")
    a = ap.parse_args()
    if a.per_source < 0 or a.rate < 0 or a.concurrency < 1:
        ap.error("bad --per-source, --rate or --concurrency")
    known = [k for k in a.known.replace(" ", ",").split(",") if k]
    dst_of = {}
    for s in a.sources:
        fam = [d for d in a.dst if (":" in d) == (":" in s)]
        if not fam:
            ap.error("no %s --dst for source %s" % ("IPv6" if ":" in s else "IPv4", s))
        dst_of[s] = fam[0]
    rng = random.Random(a.seed)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    # A few DSN templates per source (different Message-IDs and chains).
    bodies = {s: [dsn.build(reporting_mta=host_of(s), foreign_received=2, rng=rng)
                  for _ in range(4)] for s in a.sources}
    lock = threading.Lock()
    records = []
    out = open(a.out, "a") if a.out else None
    t0 = time.monotonic()
    deadline = t0 + a.max_time

    def job(src, rcpt, use_tls, body, sender="", callout=None):
        st = time.time()
        rc, rcode = one(src, dst_of[src], rcpt, use_tls, body, a.timeout, ctx, sender, callout)
        rec = (src, rcpt, int(use_tls), rc, int(st * 1e6), int(time.time() * 1e6), rcode)
        with lock:
            records.append(rec)
            if out:
                out.write("\t".join(map(str, rec)) + "\n")
                out.flush()

    def source(src, pool):
        srng = random.Random(rng.random())
        start = time.monotonic()
        futs = []
        for i in range(a.per_source):
            now = time.monotonic()
            if now >= deadline:
                break
            if a.rate > 0:
                due = start + i / a.rate
                if due > now:
                    time.sleep(due - now)
            if known and srng.random() * 100 < a.known_share:
                rcpt = "%s@%s" % (srng.choice(known), a.domain)
            else:
                rcpt = "%s@%s" % ("".join(srng.choice(CHARS) for _ in range(10)), a.domain)
            use_tls = srng.random() * 100 < a.tls_share
            body, sender, callout = srng.choice(bodies[src]), "", None
            if a.mode == "provider":
                if srng.random() * 100 < a.autoreply_share:
                    rcpt = "%s@%s" % (a.autoreply_rcpt, a.domain)
                    body = autoreply(src, rcpt, srng)
                else:
                    sender = "user%d@provider.example" % srng.randint(1, 99999)
                    body = message(src, sender, rcpt, i)
            elif a.mode == "callout":
                callout = "rset" if i % 2 else "quit"
            futs.append(pool.submit(job, src, rcpt, use_tls, body, sender, callout))
        for f in futs:
            f.result()

    pools = [ThreadPoolExecutor(max_workers=a.concurrency) for _ in a.sources]
    launchers = [threading.Thread(target=source, args=(s, p)) for s, p in zip(a.sources, pools)]
    for t in launchers:
        t.start()
    for t in launchers:
        t.join()
    for p in pools:
        p.shutdown(wait=True)
    el = time.monotonic() - t0
    if out:
        out.close()
    n = len(records)
    acc = sum(1 for r in records if r[3] == 0)
    rej = sum(1 for r in records if r[3] == 24)
    tls = sum(1 for r in records if r[2])
    fail = n - acc - rej
    print("storm: sources=%d sent=%d accepted=%d rejected=%d failed=%d tls=%d seconds=%.1f rate=%.1f/s"
          % (len(a.sources), n, acc, rej, fail, tls, el, n / el if el > 0 else 0))
    return 0 if fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
