#!/usr/bin/python3
"""dsn.py - write an RFC 3464 delivery status notification to stdout.

The message a backscatter MTA sends: a multipart/report; report-type=
delivery-status with a human-readable part, a message/delivery-status part
(per-message and per-recipient fields) and a text/rfc822-headers part
carrying the headers of the "original" message -- which we never sent: its
Message-ID and Received chain are foreign (spam that forged our domain).

The output is a whole message (headers and body) for `swaks --data @FILE`.
Lines end in LF; swaks turns them into CRLF and quotes leading dots.
--to may be a swaks token (%TO_ADDRESS%) so one file serves many recipients.

Only the standard library; deterministic when --seed is given.
"""
import argparse
import email.utils
import random
import string
import sys
import time


def rand_token(rng, n):
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(n))


def build(reporting_mta="mx.remote.example", to="%TO_ADDRESS%", original_recipient=None,
          original_message_id=None, original_from=None, received=(), foreign_received=0,
          status="5.1.1", diagnostic=None, action="failed", seed=None, rng=None):
    """Return the DSN as one string with LF line ends."""
    rng = rng or random.Random(seed)
    now = time.time() if seed is None else 1700000000 + seed
    mta = reporting_mta
    orig_rcpt = original_recipient or "%s@%s" % (rand_token(rng, 8), mta.split(".", 1)[-1])
    mid = original_message_id or "%s.%s@spam-%s.example" % (
        rand_token(rng, 12), rand_token(rng, 6), rand_token(rng, 4))
    mid = mid if mid.startswith("<") else "<" + mid + ">"
    orig_from = original_from or to
    diag = diagnostic or "550 %s <%s>: Recipient address rejected: User unknown" % (
        status, orig_rcpt)
    date = email.utils.formatdate(now, localtime=False)
    orig_date = email.utils.formatdate(now - 60 - rng.randint(0, 3000), localtime=False)
    boundary = "=_bounce_%s" % rand_token(rng, 16)
    queue_id = rand_token(rng, 12).upper()
    own_id = "%s.%s@%s" % (int(now), rand_token(rng, 10), mta)

    received = list(received)
    for i in range(foreign_received):
        ip = "192.0.2.%d" % rng.randint(1, 254)
        host = "bot%d-%s.dsl.example.net" % (i, rand_token(rng, 5))
        received.append("from %s (%s [%s]) by %s with SMTP id %s; %s"
                        % (host, host, ip, mta if i == 0 else "relay%d.spam.example" % i,
                           rand_token(rng, 10), orig_date))

    out = []
    w = out.append
    w("Date: %s" % date)
    w("From: Mail Delivery System <MAILER-DAEMON@%s>" % mta)
    w("To: %s" % to)
    w("Subject: Undelivered Mail Returned to Sender")
    w("Message-ID: <%s>" % own_id)
    w("Auto-Submitted: auto-replied")
    w("MIME-Version: 1.0")
    w('Content-Type: multipart/report; report-type=delivery-status;')
    w('\tboundary="%s"' % boundary)
    w("")
    w("This is a MIME-encapsulated message.")
    w("")
    w("--%s" % boundary)
    w("Content-Description: Notification")
    w("Content-Type: text/plain; charset=us-ascii")
    w("")
    w("This is the mail system at host %s." % mta)
    w("")
    w("I'm sorry to have to inform you that your message could not")
    w("be delivered to one or more recipients. It's attached below.")
    w("")
    w("<%s>: host %s said:" % (orig_rcpt, mta))
    w("    %s" % diag)
    w("")
    w("--%s" % boundary)
    w("Content-Description: Delivery report")
    w("Content-Type: message/delivery-status")
    w("")
    w("Reporting-MTA: dns; %s" % mta)
    w("X-Postfix-Queue-ID: %s" % queue_id)
    w("Arrival-Date: %s" % orig_date)
    w("")
    w("Final-Recipient: rfc822; %s" % orig_rcpt)
    w("Original-Recipient: rfc822;%s" % orig_rcpt)
    w("Action: %s" % action)
    w("Status: %s" % status)
    w("Remote-MTA: dns; %s" % mta)
    w("Diagnostic-Code: smtp; %s" % diag)
    w("")
    w("--%s" % boundary)
    w("Content-Description: Undelivered Message Headers")
    w("Content-Type: text/rfc822-headers")
    w("")
    for r in received:
        w("Received: %s" % r)
    w("Date: %s" % orig_date)
    w("From: %s" % orig_from)
    w("To: %s" % orig_rcpt)
    w("Subject: Cheap watches %s" % rand_token(rng, 4))
    w("Message-ID: %s" % mid)
    w("")
    w("--%s--" % boundary)
    w("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reporting-mta", default="mx.remote.example",
                    help="the bouncing MTA (Reporting-MTA, From: MAILER-DAEMON@...)")
    ap.add_argument("--to", default="%TO_ADDRESS%",
                    help="bounce recipient (our forged sender); default the swaks token")
    ap.add_argument("--original-recipient", default=None,
                    help="the address the spam was sent to (Final-Recipient)")
    ap.add_argument("--original-message-id", default=None,
                    help="Message-ID of the bounced (spam) message, with or without <>")
    ap.add_argument("--original-from", default=None,
                    help="From: of the bounced message (default: the bounce recipient)")
    ap.add_argument("--received", action="append", default=[],
                    help="a Received: header value of the original (repeatable, newest first)")
    ap.add_argument("--foreign-received", type=int, default=0, metavar="N",
                    help="add N generated foreign Received: headers (TEST-NET addresses)")
    ap.add_argument("--status", default="5.1.1", help="DSN Status")
    ap.add_argument("--diagnostic", default=None, help="Diagnostic-Code text after 'smtp; '")
    ap.add_argument("--action", default="failed", choices=["failed", "delayed", "delivered",
                                                          "relayed", "expanded"])
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    sys.stdout.write(build(a.reporting_mta, a.to, a.original_recipient, a.original_message_id,
                           a.original_from, a.received, a.foreign_received, a.status,
                           a.diagnostic, a.action, a.seed))


if __name__ == "__main__":
    main()
