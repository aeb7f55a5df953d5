#!/usr/bin/env python3
"""A scripted, recording HTTP(S) server that plays a broken or hostile party (127.0.0.1 only).

hostile_server.py [--cert C --key K] [--dual]
  --cert/--key  serve HTTPS
  --dual        with --cert: sniff each connection's first byte and serve TLS or plain HTTP on
                the same port (an https -> http downgrade to the same host:port lands here)
Prints "PORT <n>"; exits when stdin closes.

Control (any scheme):
  POST /_script   JSON list of rules, tried in order; the first that matches answers:
                  {"method": "GET"?, "path": "/v2/" (prefix of the path, query ignored),
                   "status": 200, "headers": {...}, "body": "text"? | "body_hex": "..."?,
                   "length": n? (Content-Length announced; default the body's),
                   "trickle": bytes_per_second? (send the body that slowly, max 60 s),
                   "times": n? (the rule answers n times, then is skipped),
                   "endless_tags": n? (a tag list page of n new tags with a Link to the next
                   page, for ever)}
                  No rule: 404.
  GET  /_log      JSON list of what was received, in order: {"scheme", "method", "path" (with
                  query), "headers" {lower-case name: value}, "body" (first 4 KiB as text),
                  "body_bytes", "body_complete" (false when the client stopped sending)}
"""
import argparse, json, socket, ssl, sys, os, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from serve import QuietHandler

RULES = []
LOG = []
LOCK = threading.Lock()


class Handler(QuietHandler):
    def answer(self, code, body=b"", headers=None, length=None, trickle=None):
        self.send_response(code)
        headers = dict(headers or {})
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if self.command == "HEAD":
            return
        if trickle:
            deadline = time.time() + 60
            for i in range(len(body)):
                if time.time() > deadline:
                    break
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
                time.sleep(1.0 / trickle)
        else:
            self.wfile.write(body)
        if length is not None and length != len(body):
            self.wfile.flush()
            self.close_connection = True

    def read_body(self):
        data, complete = b"", True
        try:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                while True:
                    line = self.rfile.readline()
                    if not line:
                        complete = False
                        break
                    size = int(line.strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunk = self.rfile.read(size)
                    if len(chunk) < size:
                        data += chunk
                        complete = False
                        break
                    data += chunk
                    self.rfile.readline()
            else:
                left = int(self.headers.get("Content-Length", "0"))
                while left:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    if not chunk:
                        complete = False
                        break
                    data += chunk
                    left -= len(chunk)
        except (OSError, ValueError):
            complete = False
        return data, complete

    def handle_any(self):
        path = self.path.split("?")[0]
        if path == "/_script" and self.command == "POST":
            body, _ = self.read_body()
            with LOCK:
                RULES[:] = json.loads(body)
            return self.answer(200, b"ok")
        if path == "/_log":
            with LOCK:
                data = json.dumps(LOG).encode()
            return self.answer(200, data, {"Content-Type": "application/json"})
        entry = {
            "scheme": "https" if isinstance(self.connection, ssl.SSLSocket) else "http",
            "method": self.command,
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
        }
        with LOCK:
            LOG.append(entry)
        body, complete = self.read_body()
        with LOCK:
            entry["body"] = body[:4096].decode("utf-8", "replace")
            entry["body_bytes"] = len(body)
            entry["body_complete"] = complete
        if not complete:
            self.close_connection = True
            return
        rule = None
        with LOCK:
            for r in RULES:
                if r.get("method") not in (None, self.command):
                    continue
                if not path.startswith(r.get("path", "/")):
                    continue
                if r.get("times") is not None:
                    if r["times"] <= 0:
                        continue
                    r["times"] -= 1
                rule = r
                break
        if rule is None:
            return self.answer(404, b"no rule")
        data = bytes.fromhex(rule["body_hex"]) if "body_hex" in rule else rule.get("body", "").encode()
        if rule.get("endless_tags"):
            with LOCK:
                page = sum(1 for e in LOG if e["path"].split("?")[0] == path)
            n = rule["endless_tags"]
            tags = ["p%d-%d-%s" % (page, i, "x" * 40) for i in range(n)]
            data = json.dumps({"name": "app", "tags": tags}).encode()
            link = '<%s?n=%d&last=%s>; rel="next"' % (path, n, tags[-1])
            return self.answer(200, data, {"Content-Type": "application/json", "Link": link})
        self.answer(rule.get("status", 200), data, rule.get("headers"), rule.get("length"), rule.get("trickle"))

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True
    context = None
    dual = False

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.context is None:
            return sock, addr
        if self.dual:
            sock.settimeout(10)
            try:
                first = sock.recv(1, socket.MSG_PEEK)
            except OSError:
                first = b""
            sock.settimeout(None)
            if first != b"\x16":  # not a TLS ClientHello: plain HTTP on the same port
                return sock, addr
        return self.context.wrap_socket(sock, server_side=True), addr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--dual", action="store_true")
    args = ap.parse_args()
    server = Server(("127.0.0.1", 0), Handler)
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        server.context = ctx
        server.dual = args.dual
    print("PORT %d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    time.sleep(600)
    os._exit(0)


if __name__ == "__main__":
    main()
