#!/usr/bin/python3
"""listener.py ADDR PORT [ADDR PORT ...]: accept TCP connections on each
address/port and close them at once.  Stops after a bounded lifetime."""
import selectors
import socket
import sys
import time

LIFETIME = 600
sel = selectors.DefaultSelector()
args = sys.argv[1:]
for i in range(0, len(args), 2):
    addr, port = args[i], int(args[i + 1])
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(1024)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
end = time.monotonic() + LIFETIME
while time.monotonic() < end:
    for key, _ in sel.select(timeout=1):
        try:
            c, _ = key.fileobj.accept()
            c.close()
        except OSError:
            pass
