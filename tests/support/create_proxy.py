#!/usr/bin/python3
"""A loopback proxy in front of a real JupyterHub that loses the answers to user-create requests.

Everything is forwarded to UPSTREAM as it is, except POST /hub/api/users (a create), which gets
what --create says, in order (the last one given repeats for every later create):

  pass     forwarded; the hub's answer returned
  swallow  not forwarded; answered 504 at once
  hold     not forwarded; answered 504 once the test releases it
  drop     forwarded; the hub's answer thrown away; answered 504 once the test releases it

A held create N writes STATE/held-N when it is being held, and waits (at most 600 s) for
STATE/release-N to exist. Prints "PORT n" once it listens on 127.0.0.1.

  create_proxy.py UPSTREAM STATE [--create MODE]...     UPSTREAM: http://127.0.0.1:PORT
"""
import http.client
import http.server
import os
import sys
import threading
import time
import urllib.parse

HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "host"}


def main():
    upstream = urllib.parse.urlsplit(sys.argv[1])
    state = sys.argv[2]
    modes = []
    args = sys.argv[3:]
    while args:
        if args[0] != "--create" or len(args) < 2 or args[1] not in ("pass", "swallow", "hold", "drop"):
            sys.exit(f"create_proxy.py: cannot read {args[0]!r}")
        modes.append(args[1])
        args = args[2:]
    modes = modes or ["pass"]
    lock = threading.Lock()
    creates = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def body(self):
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def forward(self, body):
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=600)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            res = conn.getresponse()
            data = res.read()
            conn.close()
            return res.status, [(k, v) for k, v in res.getheaders() if k.lower() not in HOP | {"content-length"}], data

        def answer(self, status, headers, data):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def held(self, n):
            open(os.path.join(state, f"held-{n}"), "w").close()
            release = os.path.join(state, f"release-{n}")
            deadline = time.monotonic() + 600
            while not os.path.exists(release) and time.monotonic() < deadline:
                time.sleep(0.05)

        def gateway_timeout(self):
            self.answer(504, [("Content-Type", "text/html")], b"<html><title>504 Gateway Time-out</title></html>")

        def handle_any(self):
            body = self.body()
            if self.command == "POST" and self.path.split("?")[0].rstrip("/") == "/hub/api/users":
                with lock:
                    creates[0] += 1
                    n = creates[0]
                mode = modes[min(n, len(modes)) - 1]
                if mode == "swallow":
                    return self.gateway_timeout()
                if mode == "hold":
                    self.held(n)
                    return self.gateway_timeout()
                if mode == "drop":
                    self.forward(body)
                    self.held(n)
                    return self.gateway_timeout()
            try:
                self.answer(*self.forward(body))
            except OSError:
                self.answer(502, [("Content-Type", "text/plain")], b"upstream unreachable")

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
