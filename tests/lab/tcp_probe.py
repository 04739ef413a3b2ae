#!/usr/bin/python3
"""tcp_probe.py SRC DST PORT TIMEOUT: exit 0 if a TCP handshake from SRC to
DST:PORT completes within TIMEOUT seconds, 1 if not.  Lab addresses only."""
import socket
import sys

src, dst, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(timeout)
# One SYN, no retransmission inside the timeout window.
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
try:
    s.bind((src, 0))
    s.connect((dst, port))
except OSError:
    sys.exit(1)
finally:
    s.close()
sys.exit(0)
