#!/usr/bin/python3
"""fake_lapi.py - a CrowdSec LAPI that misbehaves on demand, for the lab.

    fake_lapi.py PORT MODE_FILE LOG_FILE

Every request reads MODE_FILE (one word) and answers accordingly:

    ok       a real-looking stream (one ban on first contact with
             startup=true), a login with a token, alerts taken
    garbage  200 with an HTML page for everything
    huge     200 and a stream that never ends: '{"new":[' then whitespace
             until the client goes (at most 256 MiB)
    hang     reads the request, answers nothing until the mode changes,
             then closes the connection
    deny     403 {"message":"access forbidden"}

Each request is logged to LOG_FILE as "MODE METHOD PATH" (and "BYTES n"
when a huge body ends), so a test can wait for a mode to have been served.
"""
import datetime
import http.server
import json
import sys
import time

PORT, MODE_FILE, LOG_FILE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
BAN = sys.argv[4] if len(sys.argv) > 4 else "10.231.0.91"


def mode():
    try:
        return open(MODE_FILE).read().strip()
    except OSError:
        return "ok"


def note(line):
    with open(LOG_FILE, "a") as f:
        f.write(line + "\n")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="application/json"):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        m = mode()
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        note("%s %s %s" % (m, self.command, self.path))
        if m == "garbage":
            return self.send(200, "<html><body>502 Bad Gateway</body></html>", "text/html")
        if m == "deny":
            return self.send(403, '{"message":"access forbidden"}')
        if m == "hang":
            while mode() == "hang":
                time.sleep(0.1)
            self.close_connection = True
            return
        if m == "huge":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            sent = 0
            try:
                self.wfile.write(b'{"new":[')
                chunk = b" " * 65536
                while sent < (256 << 20):
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            note("BYTES %d" % sent)
            return
        # ok
        if self.path.startswith("/v1/decisions/stream"):
            new = None
            if "startup=true" in self.path:
                new = [{"duration": "59m59.5s", "id": 1, "origin": "cscli", "scenario": "fake",
                        "scope": "Ip", "type": "ban", "value": BAN}]
            return self.send(200, json.dumps({"deleted": None, "new": new}))
        if self.path == "/v1/watchers/login":
            exp = (datetime.datetime.utcnow() + datetime.timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            return self.send(200, json.dumps({"code": 200, "expire": exp, "token": "fake.jwt.token"}))
        if self.path == "/v1/alerts":
            return self.send(201, '["1"]')
        return self.send(404, '{"message":"not found"}')

    do_GET = do_POST = do_DELETE = handle_any


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), H).serve_forever()
