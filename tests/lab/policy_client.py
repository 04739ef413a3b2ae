#!/usr/bin/python3
"""policy_client.py - a Postfix policy client for the lab, polite or not.

  ask HOST PORT N
      N RCPT requests on one connection, one at a time, as Postfix's smtpd
      sends them; prints "answered K of N" (each answer within 2 s).
  socketmap HOST PORT QUERY
      One socketmap query ("batv ADDR", "unbatv ADDR") in a netstring;
      prints the answer ("OK value", "NOTFOUND ").
  hostile HOST PORT
      What a hostile local client can do: garbage bytes, a 1 MB request,
      500 idle connections and a request that never ends.  Prints one line
      per attempt with what it got back, then "holding" and keeps the idle
      and half-sent connections open until it is killed.
"""
import socket
import sys
import time

REQ = ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
       "client_address=10.231.0.99\nsender=someone@example.net\n"
       "recipient=bob@victim.example\ninstance=%d\n\n")


def answer(s, timeout=2.0):
    s.settimeout(timeout)
    buf = b""
    try:
        while b"\n\n" not in buf:
            d = s.recv(4096)
            if not d:
                break
            buf += d
    except (socket.timeout, OSError):
        pass
    return buf.split(b"\n")[0].decode(errors="replace")


def ask(host, port, n):
    s = socket.create_connection((host, port), timeout=2)
    got = 0
    for i in range(n):
        s.sendall((REQ % i).encode())
        if answer(s).startswith("action="):
            got += 1
    s.close()
    print("answered %d of %d" % (got, n))


def hostile(host, port):
    held = []
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(b"\x00\xff garbage without equals\n\n")
    print("garbage: %s" % answer(s))
    s.close()
    s = socket.create_connection((host, port), timeout=2)
    try:
        s.sendall(b"request=smtpd_access_policy\nsender=" + b"x" * (1 << 20) + b"\n\n")
    except OSError:
        pass
    print("oversized: %s" % answer(s))
    s.close()
    for _ in range(500):
        try:
            held.append(socket.create_connection((host, port), timeout=2))
        except OSError:
            break
    print("idle: %d connections open" % len(held))
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\nsender=")
    held.append(s)
    print("never-ending: request started")
    print("holding", flush=True)
    while True:
        time.sleep(1)


def socketmap(host, port, query):
    q = query.encode()
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(b"%d:%s," % (len(q), q))
    buf = b""
    while True:
        colon = buf.find(b":")
        if colon > 0 and len(buf) >= colon + 1 + int(buf[:colon]) + 1:
            n = int(buf[:colon])
            print(buf[colon + 1:colon + 1 + n].decode(errors="replace"))
            return
        d = s.recv(4096)
        if not d:
            print("(closed)")
            return
        buf += d


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "ask":
        ask(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) == 5 and sys.argv[1] == "socketmap":
        socketmap(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 4 and sys.argv[1] == "hostile":
        hostile(sys.argv[2], int(sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
