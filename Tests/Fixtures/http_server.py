#!/usr/bin/env python3
"""A scriptable HTTP(S) server for Gantry's tests, on 127.0.0.1 only.

Started by TestSupport.LocalHTTPServer; prints "PORT <n>" once listening and stops when
its stdin closes (so it never outlives the test process) or after --lifetime seconds.

Routes (all bounded in size and time):
  /status/<code>                 answer <code>
  /bytes/<n>                     n bytes of the pattern i % 251, streamed
  /upload (PUT/POST/PATCH)       read the body (Content-Length or chunked), answer JSON
                                 {"bytes": n, "pattern_ok": bool, "chunked": bool}
  /slow/<ms>                     wait, then 200
  /stall/<n>                     send headers and n bytes of a larger body, then stall 10 s
  /redirect?to=URL&code=302      redirect
  /headers                       the request's headers as JSON
  /peer                          the client's port (connection reuse shows as the same port)
  /flaky/<key>/<n>/<code>[?retry-after=S]   the first n hits of <key> answer <code>, then 200
  /hits/<key>                    how many times <key> was hit
  /reset                         close the connection without an answer
  /down-for/<ms>/<key>           503 until <ms> after the first hit of <key>, then 200 {"status":"ok"}
  /flaky-rate/<pct>/<key>        exactly <pct>% of hits of <key> answer 500, spread evenly
  /version/<v>                   200 {"version": v, "build": {"sha": "abc1234"}, "ready": true}
"""
import argparse, json, os, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler

from serve import QuietHandler, serve
from urllib.parse import urlparse, parse_qs

HITS = {}
LOCK = threading.Lock()
MAX_BYTES = 2 << 30
# i % 251 for long enough to cover any 1 MiB read from any offset
PATTERN = bytes(i % 251 for i in range(251 * 4300))


class Handler(QuietHandler):
    def send_body(self, code, body, ctype="text/plain", headers=None):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def read_body(self):
        """Returns (bytes, pattern_ok, chunked) without keeping the body."""
        count, ok, chunked = 0, True, False

        def check(chunk):
            nonlocal count, ok
            start = count % 251
            if ok and chunk != PATTERN[start:start + len(chunk)]:
                ok = False
            count += len(chunk)

        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunked = True
            while True:
                line = self.rfile.readline()
                if not line:
                    return count, ok, chunked
                size = int(line.strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                left = size
                while left:
                    chunk = self.rfile.read(min(left, 1 << 20))
                    if not chunk:
                        # The client went away mid-chunk (a cancelled upload): without this the
                        # thread spun on EOF and took a core from every other test.
                        return count, ok, chunked
                    check(chunk)
                    left -= len(chunk)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", "0"))
            while left:
                chunk = self.rfile.read(min(left, 1 << 20))
                if not chunk:
                    break
                check(chunk)
                left -= len(chunk)
        return count, ok, chunked

    def route(self):
        url = urlparse(self.path)
        q = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        head = parts[0] if parts else ""
        if head == "status":
            return self.send_body(int(parts[1]), "status %s" % parts[1])
        if head == "bytes":
            n = min(int(parts[1]), MAX_BYTES)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = PATTERN[:251 * 4096]
            sent = 0
            while sent < n:
                k = min(len(block), n - sent)
                self.wfile.write(block[:k])
                sent += k
            return
        if head == "upload":
            n, ok, chunked = self.read_body()
            return self.send_body(201, json.dumps({"bytes": n, "pattern_ok": ok, "chunked": chunked}), "application/json")
        if head == "slow":
            time.sleep(min(int(parts[1]), 10000) / 1000)
            return self.send_body(200, "slow")
        if head == "stall":
            n = int(parts[1])
            self.send_response(200)
            self.send_header("Content-Length", str(n * 10))
            self.end_headers()
            self.wfile.write(bytes(n))
            self.wfile.flush()
            time.sleep(10)
            self.close_connection = True
            return
        if head == "redirect":
            code = int(q.get("code", ["302"])[0])
            return self.send_body(code, "", headers={"Location": q["to"][0]})
        if head == "headers":
            return self.send_body(200, json.dumps({k.lower(): v for k, v in self.headers.items()}), "application/json")
        if head == "peer":
            return self.send_body(200, str(self.client_address[1]))
        if head == "flaky":
            key, n, code = parts[1], int(parts[2]), int(parts[3])
            with LOCK:
                HITS[key] = HITS.get(key, 0) + 1
                hit = HITS[key]
            if hit <= n:
                extra = {"Retry-After": q["retry-after"][0]} if "retry-after" in q else {}
                return self.send_body(code, "flaky failure %d" % hit, headers=extra)
            return self.send_body(200, "ok after %d" % hit)
        if head == "down-for":
            ms, key = int(parts[1]), parts[2]
            with LOCK:
                first = HITS.setdefault("t:" + key, time.time())
            if (time.time() - first) * 1000 < ms:
                return self.send_body(503, "starting")
            return self.send_body(200, json.dumps({"status": "ok"}), "application/json")
        if head == "flaky-rate":
            pct, key = int(parts[1]), parts[2]
            with LOCK:
                HITS[key] = HITS.get(key, 0) + 1
                n = HITS[key]
            if (n * pct) // 100 != ((n - 1) * pct) // 100:
                return self.send_body(500, "flaky")
            return self.send_body(200, "ok")
        if head == "version":
            return self.send_body(200, json.dumps({"version": parts[1], "build": {"sha": "abc1234"}, "ready": True}), "application/json")
        if head == "hits":
            with LOCK:
                return self.send_body(200, str(HITS.get(parts[1], 0)))
        if head == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return
        return self.send_body(404, "no route %s" % url.path)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = route


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--lifetime", type=float, default=600)
    args = ap.parse_args()
    serve(Handler, cert=args.cert, key=args.key, lifetime=args.lifetime)


if __name__ == "__main__":
    main()
