#!/usr/bin/python3
"""slow_clients.py TARGET TRICKLE IDLE SECONDS [PAYLOAD]: hostile clients
of one of the agent's servers, for a bounded time.

TARGET is unix:PATH or HOST:PORT.  TRICKLE clients send PAYLOAD (default:
bytes that never end a request) one byte every 0.3 s; IDLE clients connect
and send nothing.  The tricklers are opened last, so they are the newest.
When the server closes a trickler it reconnects at once (an attacker
would); idle clients stay closed.  After SECONDS it prints one line:

  tricklers_closed=N idle_closed=M max_trickle_s=X sent=B

max_trickle_s is the longest time a trickler was kept open while it kept
sending (from its first byte to the server's close); "connected N" is
printed (and flushed) as soon as every client is connected, so the test
waits for that line instead of sleeping."""
import selectors
import socket
import sys
import time

GAP = 0.3
target, ntrickle, nidle, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
payload = sys.argv[5].encode().decode("unicode_escape").encode("latin-1") if len(sys.argv) > 5 \
    else b"x" * 4000


def connect():
    if target.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(target[5:])
    else:
        host, port = target.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=2)
    s.setblocking(False)
    return s


sel = selectors.DefaultSelector()
idle = []
for _ in range(nidle):
    s = connect()
    sel.register(s, selectors.EVENT_READ, ("idle", None))
    idle.append(s)


class Trickler:
    def __init__(self):
        self.open()

    def open(self):
        self.s = connect()
        self.pos = 0
        self.first = None
        self.next = time.monotonic()
        sel.register(self.s, selectors.EVENT_READ, ("trickle", self))


tricklers = [Trickler() for _ in range(ntrickle)]
print("connected", nidle + ntrickle, flush=True)

closed_t = closed_i = sent = 0
longest = 0.0
end = time.monotonic() + secs


def trickler_gone(t, now):
    global closed_t, longest
    closed_t += 1
    if t.first is not None:
        longest = max(longest, now - t.first)
    sel.unregister(t.s)
    t.s.close()
    if now < end:
        try:
            t.open()
        except OSError:
            t.s = None


while True:
    now = time.monotonic()
    if now >= end:
        break
    soonest = min([t.next for t in tricklers if t.s] + [end])
    for key, _ in sel.select(timeout=max(0.0, min(soonest, end) - now)):
        kind, t = key.data
        try:
            got = key.fileobj.recv(4096)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            got = b""
        if got:
            continue	# an answer (an error page): wait for the close
        if kind == "idle":
            closed_i += 1
            sel.unregister(key.fileobj)
            key.fileobj.close()
        else:
            trickler_gone(t, time.monotonic())
    now = time.monotonic()
    for t in tricklers:
        if not t.s or now < t.next:
            continue
        try:
            t.s.send(payload[t.pos % len(payload):][:1])
            sent += 1
            if t.first is None:
                t.first = now
            t.pos += 1
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            trickler_gone(t, now)
            continue
        t.next = now + GAP
print("tricklers_closed=%d idle_closed=%d max_trickle_s=%.1f sent=%d"
      % (closed_t, closed_i, longest, sent), flush=True)
