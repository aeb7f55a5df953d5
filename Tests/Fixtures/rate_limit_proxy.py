#!/usr/bin/env python3
"""A rate-limiting reverse proxy in front of a registry, shaped like Docker Hub (127.0.0.1 only).

rate_limit_proxy.py UPSTREAM_PORT [--limit N] [--remaining N] [--window S] [--throttle-at K]
                    [--throttle-on REGEX] [--retry-after S] [--retry-after-value TEXT] [--hostile]
  --limit N        the budget stated in RateLimit-Limit: N;w=S (default 100)
  --remaining N    the budget left before the first counted request (default: the limit)
  --window S       the window in seconds, w=S (default 21600, Docker Hub's 6 h)
  --throttle-at K  the K-th counted request starts a limited period of --retry-after seconds:
                   every request arriving in it (any method or path) answers 429 with
                   Retry-After (whole seconds left) instead of reaching the registry
  --throttle-on REGEX
                   the first request whose "METHOD PATH" matches REGEX starts that period
                   (and is answered 429), whatever it is: a tag PUT halfway through a release
  --retry-after S  length of that period (default 2)
  --retry-after-value TEXT
                   the Retry-After those 429s carry, verbatim (default: the whole seconds left):
                   a hostile registry's 10^12, a far HTTP-date, garbage, or "1" for ever
  --hostile        RateLimit-* values that must be ignored: huge, negative, garbage, oversized

Counted requests are manifest GETs, as at Docker Hub (HEADs and blobs are free): each one
spends one from the budget; with none left it answers 429 TOOMANYREQUESTS. Every answer
carries RateLimit-Limit and RateLimit-Remaining (after the request).
GET /log answers the requests seen as JSON: [{"t": arrival, monotonic seconds, "method",
"path", "status"}], in the order they ended.
Prints "PORT <n>"; exits when stdin closes. Request bodies are read whole (test sizes only).
"""
import argparse, http.client, json, re, threading, time

from serve import QuietHandler, serve

LOCK = threading.Lock()
STATE = {"remaining": 0, "counted": 0, "limited_until": 0.0, "log": [], "triggered": False}
ARGS = None
MANIFEST = re.compile(r"^/v2/.+/manifests/[^/]+$")


class Proxy(QuietHandler):
    def budget_headers(self, remaining):
        if ARGS.hostile:
            return {
                "RateLimit-Limit": "99999999999999999999999999;w=-5",
                "RateLimit-Remaining": "-1;w=abc",
                "RateLimit-Reset": "1e99",
                "RateLimit": "limit=0x10, remaining=\xb9\xb2, reset=" + "9" * 40,
                # Believable numbers, but the field is oversized: ignored whole.
                "RateLimit-Policy": '"default";q=5;w=60;pad=' + "x" * 600,
            }
        w = ARGS.window
        return {"RateLimit-Limit": f"{ARGS.limit};w={w}", "RateLimit-Remaining": f"{remaining};w={w}"}

    def record(self, status, t=None):
        with LOCK:
            STATE["log"].append({"t": t if t is not None else time.monotonic(), "method": self.command, "path": self.path, "status": status})

    def handle_any(self):
        if self.path == "/log":
            with LOCK:
                body = json.dumps(STATE["log"]).encode()
            return self.answer(200, body, {"Content-Type": "application/json"})
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        counted = self.command == "GET" and MANIFEST.match(self.path.split("?")[0]) is not None
        now = time.monotonic()
        with LOCK:
            limited = now < STATE["limited_until"]
            if ARGS.throttle_on and not STATE["triggered"] and re.search(ARGS.throttle_on, f"{self.command} {self.path}"):
                STATE["triggered"] = True
                STATE["limited_until"] = now + ARGS.retry_after
                limited = True
            if not limited and counted:
                STATE["counted"] += 1
                if ARGS.throttle_at and STATE["counted"] == ARGS.throttle_at:
                    STATE["limited_until"] = now + ARGS.retry_after
                    limited = True
            exhausted = not limited and counted and STATE["remaining"] <= 0
            if counted and not limited and not exhausted:
                STATE["remaining"] -= 1
            remaining = max(STATE["remaining"], 0)
            wait = max(1, int(STATE["limited_until"] - now + 0.999)) if limited else 0
        if limited or exhausted:
            headers = self.budget_headers(remaining)
            if limited:
                headers["Retry-After"] = ARGS.retry_after_value if ARGS.retry_after_value is not None else str(wait)
            self.record(429)
            return self.answer(429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}', headers)
        conn = http.client.HTTPConnection("127.0.0.1", ARGS.upstream, timeout=30)
        headers = {}
        for k, v in self.headers.items():
            if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                headers[k] = headers[k] + ", " + v if k in headers else v
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        self.record(resp.status, now)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        for k, v in self.budget_headers(remaining).items():
            self.send_header(k, v)
        upstream_length = resp.getheader("Content-Length")
        self.send_header("Content-Length", upstream_length if self.command == "HEAD" and upstream_length else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("upstream", type=int)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--remaining", type=int)
    ap.add_argument("--window", type=int, default=21600)
    ap.add_argument("--throttle-at", type=int, default=0)
    ap.add_argument("--throttle-on")
    ap.add_argument("--retry-after", type=float, default=2)
    ap.add_argument("--retry-after-value")
    ap.add_argument("--hostile", action="store_true")
    ARGS = ap.parse_args()
    STATE["remaining"] = ARGS.limit if ARGS.remaining is None else ARGS.remaining
    serve(Proxy)


if __name__ == "__main__":
    main()
