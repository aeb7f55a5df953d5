#!/usr/bin/env python3
"""A fault-injecting reverse proxy in front of a registry, for Gantry's tests (127.0.0.1 only).

fault_proxy.py UPSTREAM_PORT [--fail-every N] [--throttle-first-blob] [--reset-first-blob] [--delay-ms N] [--hold|--deny|--fail METHOD REGEX NTH]
               [--fail-at N [--mode 500|403|reset|reset-after] [--outage]]
  --fail-every N         every Nth request (not /v2/ pings) answers 500
  --throttle-first-blob  the first blob GET answers 429 with Retry-After: 1
  --reset-first-blob     the first blob GET larger than 10 kB sends half its body, then resets
  --delay-ms N           every request takes N ms longer (half on the way in, half out): a far registry
  --hold METHOD REGEX NTH the NTH request (1-based) whose method is METHOD and whose path matches
                         REGEX waits, before reaching the registry, until POST /release (at most
                         30 s); GET /held answers how many requests are waiting. Forces one
                         interleaving of two clients deterministically, never by timing luck.
  --deny METHOD REGEX NTH the NTH request (1-based) whose method is METHOD and whose path matches REGEX
                         answers 403 DENIED (not worth a retry): a tag write refused midway.
  --fail METHOD REGEX NTH the NTH such request and every later one answers 500 (worth a retry,
                         which fails too): an upload that keeps failing.
  --date-offset S        every answer's Date header is S seconds off (the registry's clock
                         differs from the runner's)
  --fail-at N            the Nth registry API request (1-based, any method and path under /v2/, the
                         /v2/ ping included: request N of GET /log) fails as --mode says:
                           500          answers 500 UNKNOWN without reaching the registry (retried)
                           403          answers 403 DENIED without reaching the registry (not retried)
                           reset        closes the connection without an answer, unforwarded
                           reset-after  forwards it (the registry does it) and then closes the
                                        connection without an answer: done, but the client
                                        cannot know
  --outage               with --fail-at: request N and every later one fail so (the registry
                         goes away midway); without it only request N fails (its retry passes)
POST /arm?at=N&mode=M[&outage=1] forgets every request so far (the log, the count, the faults)
and fails as --fail-at N --mode M [--outage] would from now on (at=0: no fault): one proxy
serves many runs.
GET /log answers every request so far as JSON lines in arrival order: method, path, status, and
"fault" (the --fail-at mode, when that request was failed), "in" / "out" (CLOCK_MONOTONIC in ns when it arrived and when its answer began: comparable
across proxies, so a request "in" after another's "out" was sent after that answer). For tests
of request order.
Prints "PORT <n>"; exits when stdin closes. Request bodies are read whole (test sizes only).
"""
import argparse, http.client, json, os, re, socket, sys, threading, time

from serve import QuietHandler, serve

STATE = {"api": 0, "count": 0, "throttled": False, "reset": False, "faults": 0, "matches": 0, "held": 0, "denies": 0}
LOG = []
RELEASE = threading.Event()
LOCK = threading.Lock()
ARGS = None

def event():
    # CLOCK_MONOTONIC is one clock for every process of the machine: the logs of two proxies
    # (a source and a target registry) can be compared.
    return time.monotonic_ns()

class Proxy(QuietHandler):
    def handle_any(self):
        self.entry = None
        if self.path == "/log":
            with LOCK:
                lines = "".join(json.dumps(e) + "\n" for e in LOG)
            return self.answer(200, lines.encode())
        if self.path.startswith("/arm?"):
            q = dict(p.split("=", 1) for p in self.path[5:].split("&") if "=" in p)
            with LOCK:
                LOG.clear()
                STATE["api"] = 0
                STATE["faults"] = 0
                ARGS.fail_at = int(q.get("at", "0"))
                ARGS.mode = q.get("mode", "500")
                ARGS.outage = q.get("outage") == "1"
            return self.answer(200, b"armed")
        self.entry = {"method": self.command, "path": self.path, "in": event()}
        with LOCK:
            LOG.append(self.entry)
            if self.path.startswith("/v2/"):
                STATE["api"] += 1
                self.entry["n"] = STATE["api"]
        self.forward()

    def send_response(self, code, message=None):
        # Counted before a byte of the answer leaves: a request the client sends once it
        # has this answer always arrives later.
        if self.entry is not None:
            self.entry.update(status=code, out=event())
        super().send_response(code, message)

    def forward(self):
        is_blob_get = self.command == "GET" and "/blobs/sha256:" in self.path
        with LOCK:
            if self.path.rstrip("/") != "/v2" and self.path != "/faults":
                STATE["count"] += 1
            n = STATE["count"]
            throttle = ARGS.throttle_first_blob and is_blob_get and not STATE["throttled"]
            if throttle:
                STATE["throttled"] = True
        if self.path == "/faults":
            return self.answer(200, str(STATE["faults"]).encode())
        if self.path == "/held":
            return self.answer(200, str(STATE["held"]).encode())
        if self.path == "/release":
            RELEASE.set()
            return self.answer(200, b"released")
        hold = False
        if ARGS.hold and self.command == ARGS.hold[0] and re.search(ARGS.hold[1], self.path):
            with LOCK:
                STATE["matches"] += 1
                hold = STATE["matches"] == int(ARGS.hold[2])
        deny = False
        if ARGS.deny and self.command == ARGS.deny[0] and re.search(ARGS.deny[1], self.path):
            with LOCK:
                STATE["denies"] += 1
                deny = STATE["denies"] == int(ARGS.deny[2])
        fail = False
        if ARGS.fail and self.command == ARGS.fail[0] and re.search(ARGS.fail[1], self.path):
            with LOCK:
                STATE["fails"] = STATE.get("fails", 0) + 1
                fail = STATE["fails"] >= int(ARGS.fail[2])
        inject = None
        if ARGS.fail_at and "n" in self.entry:
            at = self.entry["n"]
            if at == ARGS.fail_at or (ARGS.outage and at > ARGS.fail_at):
                inject = ARGS.mode
                self.entry["fault"] = inject
                with LOCK:
                    STATE["faults"] += 1
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self.read_chunked()
        else:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
        if inject == "500":
            return self.answer(500, b'{"errors":[{"code":"UNKNOWN","message":"injected: request failed"}]}', {"Content-Type": "application/json"})
        if inject == "403":
            return self.answer(403, b'{"errors":[{"code":"DENIED","message":"injected: request refused"}]}', {"Content-Type": "application/json"})
        if inject == "reset":
            return self.reset()
        if hold:
            with LOCK:
                STATE["held"] += 1
            RELEASE.wait(30)
            with LOCK:
                STATE["held"] -= 1
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 2000)
        if deny:
            with LOCK:
                STATE["faults"] += 1
            return self.answer(403, b'{"errors":[{"code":"DENIED","message":"injected: tag write refused"}]}', {"Content-Type": "application/json"})
        if fail:
            with LOCK:
                STATE["faults"] += 1
            return self.answer(500, b'{"errors":[{"code":"UNKNOWN","message":"injected: failing from here on"}]}', {"Content-Type": "application/json"})
        if throttle:
            STATE["faults"] += 1
            return self.answer(429, b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}', {"Retry-After": "1"})
        if ARGS.fail_every and self.path.rstrip("/") != "/v2" and n % ARGS.fail_every == 0:
            STATE["faults"] += 1
            return self.answer(500, b'{"errors":[{"code":"UNKNOWN","message":"injected"}]}')
        conn = http.client.HTTPConnection("127.0.0.1", ARGS.upstream, timeout=30)
        headers = {}
        for k, v in self.headers.items():  # repeated headers (skopeo sends Accept several times) joined
            if k.lower() not in ("connection", "content-length", "transfer-encoding"):
                headers[k] = headers[k] + ", " + v if k in headers else v
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if inject == "reset-after":
            return self.reset()
        reset = False
        with LOCK:
            if ARGS.reset_first_blob and is_blob_get and resp.status == 200 and len(data) > 10000 and not STATE["reset"]:
                STATE["reset"] = True
                reset = True
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 2000)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            # The proxy's own Date (send_response) is the one sent: shifted by --date-offset.
            if k.lower() not in ("content-length", "connection", "transfer-encoding", "date"):
                self.send_header(k, v)
        upstream_length = resp.getheader("Content-Length")
        self.send_header("Content-Length", upstream_length if self.command == "HEAD" and upstream_length else str(len(data)))
        self.end_headers()
        if reset:
            STATE["faults"] += 1
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
            return
        if self.command != "HEAD":
            self.wfile.write(data)

    def date_time_string(self, timestamp=None):
        return super().date_time_string((timestamp or time.time()) + ARGS.date_offset)
    def reset(self):
        """Closes the connection at once (RST), no answer sent."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.close_connection = True
        self.connection.close()

    def read_chunked(self):
        data = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("upstream", type=int)
    ap.add_argument("--fail-every", type=int, default=0)
    ap.add_argument("--throttle-first-blob", action="store_true")
    ap.add_argument("--reset-first-blob", action="store_true")
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--hold", nargs=3, metavar=("METHOD", "REGEX", "NTH"))
    ap.add_argument("--deny", nargs=3, metavar=("METHOD", "REGEX", "NTH"))
    ap.add_argument("--fail", nargs=3, metavar=("METHOD", "REGEX", "NTH"))
    ap.add_argument("--date-offset", type=int, default=0)
    ap.add_argument("--fail-at", type=int, default=0)
    ap.add_argument("--mode", choices=["500", "403", "reset", "reset-after"], default="500")
    ap.add_argument("--outage", action="store_true")
    ARGS = ap.parse_args()
    serve(Proxy)

if __name__ == "__main__":
    main()
