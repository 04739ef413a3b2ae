"""smtp_pcap.py - the wire for scripts/gen-smtp-pcap.py and its scenarios:
SMTP dialogues as timed segments, whole TCP connections as Ethernet frames
with valid IP and TCP checksums, and a classic pcap writer that merges the
sessions' frames in time order.

The mail gateway is mx.victim.example, 192.0.2.25 and 2001:db8::25, port
25.  A dialogue is written as the client and server take turns
(Dialogue.c / Dialogue.s); session_frames() turns it into the frames of one
connection (handshake, sequence and acknowledgement numbers that advance
with the bytes sent, FIN both ways); PcapWriter interleaves connections by
timestamp.  Counts tallies what a dialogue holds in the key names of
`bouncewall analyze --json`.  Stdlib only, deterministic: every random
choice comes from the rng a caller hands in.
"""
import heapq
import ipaddress
import struct

SERVER4 = ipaddress.IPv4Address("192.0.2.25").packed
SERVER6 = ipaddress.IPv6Address("2001:db8::25").packed
SERVER_NAME = "mx.victim.example"
DOMAIN = "victim.example"
MAC_SERVER = bytes.fromhex("020000000025")
MAC_ROUTER = bytes.fromhex("02000000fe01")
BASE_TS = 1714989600.0      # 2024-05-06 10:00:00 UTC

USERS = ("alice bob carol dave erin frank grace heidi ivan judy mallory "
         "niaj olivia peggy rupert sybil trent victor walter yolanda "
         "sales info support billing hr jobs press noc abuse admin").split()
WORDS = ("the a of to and in for on with as at by from meeting report "
         "invoice attached please find regards thanks week quarter update "
         "project schedule review draft numbers team budget call notes "
         "tomorrow monday friday office shipping order confirmed").split()
LEGIT_DOMAINS = ("example.org example.net example.com mail.example.org "
                 "lists.example.net corp.example.com shop.example.org "
                 "bank.example.net uni.example.edu").split()

EHLO_REPLY = ("250-" + SERVER_NAME + "\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
              "250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n"
              "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n").encode()
GREETING = ("220 " + SERVER_NAME + " ESMTP Postfix (Debian/GNU)\r\n").encode()
R_MAIL = b"250 2.1.0 Ok\r\n"
R_RCPT = b"250 2.1.5 Ok\r\n"
R_DATA = b"354 End data with <CR><LF>.<CR><LF>\r\n"
R_NOVALID = b"554 5.5.1 Error: no valid recipients\r\n"
R_RSET = b"250 2.0.0 Ok\r\n"
R_QUIT = b"221 2.0.0 Bye\r\n"
R_TLS = b"220 2.0.0 Ready to start TLS\r\n"

SYN, FIN, ACK, PSH, RST = 0x02, 0x01, 0x10, 0x08, 0x04


def tls_rec(rtype, body):
    return bytes((rtype, 3, 3)) + len(body).to_bytes(2, "big") + body


def r_unknown(rcpt):
    return ("550 5.1.1 <%s>: Recipient address rejected: User unknown in "
            "virtual mailbox table\r\n" % rcpt).encode()


def r_queued(rng):
    return ("250 2.0.0 Ok: queued as %010X\r\n" % rng.getrandbits(40)).encode()


class Counts:
    KEYS = ("packets", "sessions", "opaque_sessions", "transactions",
            "null_sender_transactions", "rcpt_total", "rcpt_rejected",
            "rcpt_unknown", "replies", "replies_5xx", "retransmitted_bytes")

    def __init__(self):
        for k in self.KEYS:
            setattr(self, k, 0)

    def add(self, other):
        for k in self.KEYS:
            setattr(self, k, getattr(self, k) + getattr(other, k))

    def as_dict(self):
        return {k: getattr(self, k) for k in self.KEYS}


def source_text(addr, v6):
    """The source as analyze --json names it (prefix_v4 32, prefix_v6 64)."""
    if v6:
        net = ipaddress.IPv6Network((int(addr) >> 64 << 64, 64))
        return str(net)
    return "%s/32" % addr


# --------------------------------------------------------------- dialogue

class Dialogue:
    """A session as a list of (dt_s, from_client, flags, payload, retrans):
    retrans 0 no, 1 a retransmission, 2 one after STARTTLS."""

    def __init__(self, rng, rtt):
        self.rng = rng
        self.rtt = rtt
        self.ev = []
        self.opaque = False     # after STARTTLS: analyze stops reassembling

    def c(self, payload, dt=None, flags=PSH | ACK):
        """Client sends: one RTT after the server's last packet."""
        if dt is None:
            dt = self.rtt * self.rng.uniform(0.9, 1.2)
        self.ev.append((dt, True, flags, payload, False))
        if payload and self.rng.random() < 0.003:
            self.ev.append((0.2, True, flags, payload, 2 if self.opaque else 1))

    def s(self, payload, dt=None, flags=PSH | ACK):
        if dt is None:
            dt = self.rng.uniform(0.0002, 0.003)
        self.ev.append((dt, False, flags, payload, False))

    def stream(self, from_client, data, mss, dt):
        """Data larger than a segment, back to back (e.g. a TLS flight)."""
        for off in range(0, len(data), mss):
            seg = data[off:off + mss]
            last = off + mss >= len(data)
            if from_client:
                self.c(seg, dt=dt, flags=ACK | (PSH if last else 0))
            else:
                self.s(seg, dt=dt, flags=ACK | (PSH if last else 0))
            dt = self.rng.uniform(0.00002, 0.0002)

    def body(self, data, mss):
        """Client streams data in MSS segments; server ACKs every second."""
        rng = self.rng
        n = 0
        for off in range(0, len(data), mss):
            seg = data[off:off + mss]
            self.c(seg, dt=(self.rtt * 1.05 if off == 0 else rng.uniform(0.00005, 0.0008)),
                   flags=ACK | (PSH if off + mss >= len(data) else 0))
            n += 1
            if n % 2 == 0 and off + mss < len(data):
                self.s(b"", dt=rng.uniform(0.00002, 0.0002), flags=ACK)

    def starttls(self, mss):
        """STARTTLS and the rest of the session as a capture shows TLS 1.3:
        hellos in clear, then records of application data (lengths right,
        contents random), closed by the server.  The caller counts it:
        one reply (the 220) and one opaque session."""
        rng = self.rng
        self.c(b"STARTTLS\r\n")
        self.s(R_TLS)
        self.opaque = True
        ch = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + \
            b"\x00\x06\x13\x01\x13\x02\x13\x03\x01\x00\x00\x00"
        self.c(tls_rec(0x16, b"\x01" + len(ch).to_bytes(3, "big") + ch))
        sh = b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + b"\x13\x01\x00\x00\x00"
        self.stream(False, tls_rec(0x16, b"\x02" + len(sh).to_bytes(3, "big") + sh) +
                    tls_rec(0x14, b"\x01") + tls_rec(0x17, rng.randbytes(rng.randint(2000, 4000))),
                    mss, rng.uniform(0.001, 0.004))
        self.c(tls_rec(0x14, b"\x01") + tls_rec(0x17, rng.randbytes(rng.randint(60, 120))))
        self.s(tls_rec(0x17, rng.randbytes(rng.randint(200, 300))))
        for _ in range(rng.randint(2, 6)):
            self.c(tls_rec(0x17, rng.randbytes(rng.randint(40, 1300))))
            self.s(tls_rec(0x17, rng.randbytes(rng.randint(30, 80))))
        self.c(tls_rec(0x17, rng.randbytes(24)))
        self.s(b"", flags=FIN | ACK)
        self.c(b"", flags=FIN | ACK)
        self.s(b"", dt=self.rtt * 1.0, flags=ACK)

    def quit(self):
        """QUIT, 221 and the close; the caller counts the reply."""
        self.c(b"QUIT\r\n")
        self.s(R_QUIT)
        self.s(b"", dt=0.00005, flags=FIN | ACK)
        self.c(b"", flags=FIN | ACK)
        self.s(b"", dt=self.rtt * 1.0, flags=ACK)


def rand_local(rng):
    if rng.random() < 0.5:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789")
                       for _ in range(rng.randint(6, 12)))
    first = rng.choice(("john", "mary", "peter", "linda", "mike", "sarah", "tom",
                        "anna", "chris", "kate", "paul", "lisa"))
    last = rng.choice(("smith", "jones", "brown", "miller", "davis", "wilson",
                       "moore", "taylor", "clark", "lewis"))
    return "%s.%s%d" % (first, last, rng.randint(1, 99))


def sender_domain_for_dsn(rng):
    return rng.choice(LEGIT_DOMAINS)


def make_body(rng, sender, rcpts, dsn, size):
    qid = "%010X" % rng.getrandbits(40)
    msgid = "<%x.%x@%s>" % (rng.getrandbits(48), rng.getrandbits(24),
                            sender.split("@")[-1] if sender else "bounce.example")
    hdr = ["Received: from mta.example (mta.example [198.51.100.7])",
           "\tby relay.example (Postfix) with ESMTPS id %s" % qid,
           "\tfor <%s>; Mon, 6 May 2024 10:%02d:%02d +0000" % (rcpts[0], rng.randint(0, 59), rng.randint(0, 59)),
           "Date: Mon, 6 May 2024 10:%02d:%02d +0000" % (rng.randint(0, 59), rng.randint(0, 59)),
           "Message-ID: %s" % msgid,
           "To: <%s>" % rcpts[0]]
    if dsn:
        hdr += ["From: MAILER-DAEMON@%s (Mail Delivery System)" % sender_domain_for_dsn(rng),
                "Subject: Undelivered Mail Returned to Sender",
                "Auto-Submitted: auto-replied",
                "MIME-Version: 1.0",
                'Content-Type: multipart/report; report-type=delivery-status;',
                '\tboundary="%s"' % qid, "", "--%s" % qid,
                "Content-Description: Notification", "Content-Type: text/plain; charset=us-ascii", "",
                "This is the mail system at host relay.example.", "",
                "I'm sorry to have to inform you that your message could not",
                "be delivered to one or more recipients.", "",
                "<%s>: host mx.remote.example said: 550 5.1.1 unknown user" % rand_local(rng),
                "    (in reply to RCPT TO command)", "", "--%s" % qid,
                "Content-Description: Delivery report", "Content-Type: message/delivery-status", "",
                "Reporting-MTA: dns; relay.example", "Action: failed", "Status: 5.1.1", "",
                "--%s--" % qid]
    else:
        hdr += ["From: <%s>" % sender,
                "Subject: %s" % " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))),
                "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", ""]
        if rng.random() < 0.05:
            # A command-looking line inside a body: text, never a command.
            hdr.append("MAIL FROM:<> is what a bounce says; RCPT TO:<x@y> too.")
    text = "\r\n".join(hdr) + "\r\n"
    lines = []
    total = len(text)
    while total < size:
        ln = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14)))
        lines.append(ln)
        total += len(ln) + 2
    text += "\r\n".join(lines) + ("\r\n" if lines else "") + ".\r\n"
    return text.encode()


# ------------------------------------------------- the benchmark's sessions

def legit_session(rng, d, src_idx, counts, mss):
    """A legitimate MTA's session: 1-3 messages to existing users (1% of
    recipients mistyped -> 550 5.1.1), 0.5% of them genuine DSNs, 40%
    pipelined, 3% over STARTTLS."""
    dom = LEGIT_DOMAINS[src_idx % len(LEGIT_DOMAINS)]
    d.s(GREETING, dt=rng.uniform(0.001, 0.005))
    d.c(("EHLO mta%d.%s\r\n" % (src_idx, dom)).encode())
    d.s(EHLO_REPLY)
    counts.replies += 2
    if rng.random() < 0.03:
        d.starttls(mss)
        counts.replies += 1
        counts.opaque_sessions += 1
        return
    ntx = 1 if rng.random() < 0.90 else rng.randint(2, 3)
    pipelining = rng.random() < 0.40
    for t in range(ntx):
        counts.transactions += 1
        dsn = rng.random() < 0.005
        if dsn:
            counts.null_sender_transactions += 1
            sender = ""
        else:
            sender = "%s%d@%s" % (rng.choice(USERS), rng.randint(1, 999), dom)
        nr = 1 if rng.random() < 0.8 else rng.randint(2, 3)
        rcpts = []
        oks = []
        for _ in range(nr):
            if rng.random() < 0.01:
                rcpts.append("%s@%s" % (rand_local(rng), DOMAIN))
                oks.append(False)
            else:
                rcpts.append("%s@%s" % (rng.choice(USERS), DOMAIN))
                oks.append(True)
        counts.rcpt_total += nr
        counts.rcpt_rejected += oks.count(False)
        counts.rcpt_unknown += oks.count(False)
        size = min(int(rng.lognormvariate(7.3, 0.9)), 30000)
        body = make_body(rng, sender, rcpts, dsn, size)
        params = ""
        if rng.random() < 0.5:
            params = " SIZE=%d" % len(body)
            if rng.random() < 0.5:
                params += " BODY=8BITMIME"
        mail = ("MAIL FROM:<%s>%s\r\n" % (sender, params)).encode()
        rcpt_lines = [("RCPT TO:<%s>\r\n" % r).encode() for r in rcpts]
        rcpt_replies = [R_RCPT if ok else r_unknown(r) for r, ok in zip(rcpts, oks)]
        any_ok = any(oks)
        counts.replies += 2 + nr + (1 if any_ok else 0)  # MAIL, RCPTs, DATA, [dot]
        counts.replies_5xx += oks.count(False) + (0 if any_ok else 1)
        if pipelining:
            d.c(mail + b"".join(rcpt_lines) + b"DATA\r\n")
            d.s(R_MAIL + b"".join(rcpt_replies) + (R_DATA if any_ok else R_NOVALID),
                dt=rng.uniform(0.001, 0.006))
        else:
            d.c(mail)
            d.s(R_MAIL)
            for line, rep in zip(rcpt_lines, rcpt_replies):
                d.c(line)
                d.s(rep, dt=rng.uniform(0.0005, 0.004))
            d.c(b"DATA\r\n")
            d.s(R_DATA if any_ok else R_NOVALID)
        if any_ok:
            d.body(body, mss)
            d.s(r_queued(rng), dt=rng.uniform(0.005, 0.04))
        elif t + 1 < ntx:
            d.c(b"RSET\r\n")
            d.s(R_RSET)
            counts.replies += 1
    d.quit()
    counts.replies += 1


def storm_session(rng, d, src_idx, counts, mss):
    """A loud backscatter source's session: 1-3 null-sender transactions
    to random local parts (550 5.1.1 each), half pipelined with DATA
    (554), RSET between them."""
    d.s(GREETING, dt=rng.uniform(0.001, 0.005))
    d.c(("EHLO bounce%d.backscatter.example\r\n" % src_idx).encode())
    d.s(EHLO_REPLY)
    counts.replies += 2
    r = rng.random()
    ntx = 1 if r < 0.6 else (2 if r < 0.85 else 3)
    pipelining = rng.random() < 0.5
    for t in range(ntx):
        counts.transactions += 1
        counts.null_sender_transactions += 1
        nr = 1 if rng.random() < 0.8 else rng.randint(2, 3)
        rcpts = ["%s@%s" % (rand_local(rng), DOMAIN) for _ in range(nr)]
        counts.rcpt_total += nr
        counts.rcpt_rejected += nr
        counts.rcpt_unknown += nr
        mail = b"MAIL FROM:<>\r\n" if rng.random() < 0.7 else b"MAIL FROM:<> SIZE=3120\r\n"
        rcpt_lines = [("RCPT TO:<%s>\r\n" % x).encode() for x in rcpts]
        if pipelining:
            d.c(mail + b"".join(rcpt_lines) + b"DATA\r\n")
            d.s(R_MAIL + b"".join(r_unknown(x) for x in rcpts) + R_NOVALID,
                dt=rng.uniform(0.001, 0.006))
            counts.replies += 2 + nr
            counts.replies_5xx += nr + 1
        else:
            d.c(mail)
            d.s(R_MAIL)
            for line, x in zip(rcpt_lines, rcpts):
                d.c(line)
                d.s(r_unknown(x), dt=rng.uniform(0.0005, 0.004))
            counts.replies += 1 + nr
            counts.replies_5xx += nr
        if t + 1 < ntx:
            d.c(b"RSET\r\n")
            d.s(R_RSET)
            counts.replies += 1
    d.quit()
    counts.replies += 1


def retransmitted_bytes(ev):
    """What analyze counts as retransmitted: reassembled streams only (not
    the opaque rest of a STARTTLS session)."""
    return sum(len(e[3]) for e in ev if e[4] == 1)


# --------------------------------------------------------------- packets

def csum_fold(data):
    """Internet checksum of data (any length): one's complement sum via the
    identity sum(16-bit words) = int(data) mod 0xffff."""
    if len(data) & 1:
        data += b"\0"
    r = int.from_bytes(data, "big") % 0xffff
    return 0xffff - r if r else 0


class Conn:
    """Builds the frames of one TCP connection, both directions."""

    def __init__(self, rng, caddr, v6):
        self.v6 = v6
        self.c = caddr.packed
        self.s = SERVER6 if v6 else SERVER4
        self.cport = rng.randint(32768, 60999)
        self.seq = {True: rng.getrandbits(32), False: rng.getrandbits(32)}
        self.last_seq = {True: 0, False: 0}
        self.ipid = {True: rng.getrandbits(16), False: rng.getrandbits(16)}
        self.ttl = 64 - rng.randint(3, 20) if rng.random() < 0.7 else 128 - rng.randint(3, 20)
        self.eth = {True: MAC_SERVER + MAC_ROUTER + (b"\x86\xdd" if v6 else b"\x08\x00"),
                    False: MAC_ROUTER + MAC_SERVER + (b"\x86\xdd" if v6 else b"\x08\x00")}
        self.ph = {True: self.c + self.s, False: self.s + self.c}

    def frame(self, from_client, flags, payload, retrans):
        if from_client:
            sport, dport, win = self.cport, 25, 64240 if flags & SYN else 502
        else:
            sport, dport, win = 25, self.cport, 65160 if flags & SYN else 509
        if retrans:
            seq = self.last_seq[from_client]
        else:
            seq = self.seq[from_client]
            self.last_seq[from_client] = seq
        ack = self.seq[not from_client] if flags & ACK else 0
        if flags & SYN:
            opts = struct.pack("!BBHBBBBBB", 2, 4, 1440 if self.v6 else 1460, 4, 2, 1, 3, 3, 7) + b"\0\0"
        else:
            opts = b""
        tcp_len = 20 + len(opts) + len(payload)
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, ack,
                          (20 + len(opts)) << 2, flags, win, 0, 0) + opts
        if self.v6:
            pseudo = self.ph[from_client] + struct.pack("!IxxxB", tcp_len, 6)
        else:
            pseudo = self.ph[from_client] + struct.pack("!BBH", 0, 6, tcp_len)
        ck = csum_fold(pseudo + hdr + payload)
        hdr = hdr[:16] + struct.pack("!H", ck) + hdr[18:]
        if not retrans:
            self.seq[from_client] = (seq + len(payload) + (1 if flags & (SYN | FIN) else 0)) & 0xffffffff
        src, dst = (self.c, self.s) if from_client else (self.s, self.c)
        ttl = self.ttl if from_client else 64
        if self.v6:
            ip = struct.pack("!IHBB", 0x60000000, tcp_len, 6, ttl) + src + dst
        else:
            self.ipid[from_client] = (self.ipid[from_client] + 1) & 0xffff
            ip = struct.pack("!BBHHHBBH", 0x45, 0, 20 + tcp_len, self.ipid[from_client],
                             0x4000, ttl, 6, 0) + src + dst
            ip = ip[:10] + struct.pack("!H", csum_fold(ip)) + ip[12:]
        return self.eth[from_client] + ip + hdr + payload


def session_frames(start, addr, v6, rtt, ev, rng):
    """All frames of a session, absolute timestamps (s)."""
    conn = Conn(rng, addr, v6)
    t = start
    out = [(t, conn.frame(True, SYN, b"", False))]
    t += rng.uniform(0.00003, 0.0002)
    out.append((t, conn.frame(False, SYN | ACK, b"", False)))
    t += rtt
    out.append((t, conn.frame(True, ACK, b"", False)))
    for dt, from_client, flags, payload, retrans in ev:
        t += dt
        out.append((t, conn.frame(from_client, flags, payload, retrans)))
    return out


def packets_of(ev):
    return 3 + len(ev)


class PcapWriter:
    """A classic pcap file (Ethernet, microseconds).  Sessions are handed
    in by start time; their frames overlap in time, so they wait in a heap
    until no later-starting session can precede them."""

    def __init__(self, path):
        self.out = open(path, "wb", buffering=1 << 20)
        self.out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        self.heap = []
        self.seq = 0
        self.buf = []
        self.pk = struct.Struct("<IIII").pack
        self.first_ts = self.last_ts = None

    def _emit(self, t, frame):
        sec = int(t)
        usec = int((t - sec) * 1e6)
        if self.first_ts is None:
            self.first_ts = sec + usec / 1e6
        self.last_ts = sec + usec / 1e6
        self.buf.append(self.pk(sec, usec, len(frame), len(frame)))
        self.buf.append(frame)

    def session(self, t0, frames):
        """The frames of a session starting at t0 (not before the last)."""
        heap = self.heap
        while heap and heap[0][0] < t0:
            t, _, frame = heapq.heappop(heap)
            self._emit(t, frame)
        for t, frame in frames:
            heapq.heappush(heap, (t, self.seq, frame))
            self.seq += 1
        if len(self.buf) > 20000:
            self.out.write(b"".join(self.buf))
            self.buf.clear()

    def close(self):
        """Flush everything; returns the number of packets written."""
        heap = self.heap
        while heap:
            t, _, frame = heapq.heappop(heap)
            self._emit(t, frame)
        self.out.write(b"".join(self.buf))
        self.buf.clear()
        self.out.close()
        return self.seq
