#!/usr/bin/python3
"""bench-mta-probe.py - legitimate mail through a real Postfix, timed.

  bench-mta-probe.py SRC DST RCPT MAILDIR N INTERVAL

Sends N messages from SRC to DST:25 one every INTERVAL seconds (each its own
SMTP session, cleartext, a unique Message-ID), then waits (at most 60 s) for
each to land in MAILDIR/new or cur.  Prints one JSON object: sent, accepted,
delivered, and the delivery latency (session start to the file's arrival,
milliseconds) p50/p90/max, and the SMTP session's own time (connect to
QUIT's answer) and of its connection (connect to the 220 greeting) p50/p90,
which tell a slow smtpd from a slow queue.  Run it inside the sender
namespace; MAILDIR is read from there too (the namespace shares the file
system).
"""
import glob
import json
import os
import smtplib
import sys
import time

def main():
    src, dst, rcpt, maildir = sys.argv[1:5]
    n, interval = int(sys.argv[5]), float(sys.argv[6])
    start = {}
    session = []
    greeting = []
    accepted = 0
    t0 = time.time()
    for i in range(n):
        due = t0 + i * interval
        if due > time.time():
            time.sleep(due - time.time())
        mid = "<probe-%d-%d@legit.example>" % (os.getpid(), i)
        msg = ("From: alice@legit.example\r\nTo: %s\r\nSubject: probe %d\r\n"
               "Message-ID: %s\r\n\r\nA legitimate message, number %d.\r\n" % (rcpt, i, mid, i))
        st = time.time()
        try:
            s = smtplib.SMTP(dst, 25, source_address=(src, 0), timeout=30,
                             local_hostname="mx.legit.example")
            greeting.append((time.time() - st) * 1000)
            s.sendmail("alice@legit.example", [rcpt], msg)
            s.quit()
            session.append((time.time() - st) * 1000)
            accepted += 1
            start[mid] = st
        except (OSError, smtplib.SMTPException):
            pass
    lat = []
    deadline = time.time() + 60
    seen = set()
    while time.time() < deadline and len(seen) < len(start):
        for f in glob.glob(os.path.join(maildir, "new", "*")) + glob.glob(os.path.join(maildir, "cur", "*")):
            if f in seen:
                continue
            try:
                with open(f, errors="replace") as fh:
                    head = fh.read(4096)
                mtime = os.stat(f).st_mtime
            except OSError:
                continue
            for mid, st in start.items():
                if mid in head:
                    seen.add(f)
                    lat.append((mtime - st) * 1000)
                    break
        time.sleep(0.05)
    lat.sort()
    session.sort()
    greeting.sort()
    pick = lambda v, q: round(v[min(len(v) - 1, int(q * len(v)))], 1) if v else None
    print(json.dumps({"sent": n, "accepted": accepted, "delivered": len(lat),
                      "p50_ms": pick(lat, 0.5), "p90_ms": pick(lat, 0.9),
                      "max_ms": round(lat[-1], 1) if lat else None,
                      "session_p50_ms": pick(session, 0.5),
                      "session_p90_ms": pick(session, 0.9),
                      "greeting_p50_ms": pick(greeting, 0.5),
                      "greeting_p90_ms": pick(greeting, 0.9)}))

if __name__ == "__main__":
    main()
