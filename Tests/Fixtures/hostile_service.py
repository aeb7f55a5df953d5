#!/usr/bin/env python3
"""A compromised service for health-check's hostile tests, on raw sockets (127.0.0.1 only).

It answers what http.server cannot be made to: answers that never end, never start, or come
too late. Prints "PORT <n>"; exits when stdin closes or after 10 minutes. Every exchange ends
after 60 s at most.

Routes (HTTP/1.1, keep-alive):
  GET /_log                   JSON list of the requests received (not this one): {"method",
                              "target" (as on the request line), "headers" {lower-case: value}}
  /hop/<n>/<ms>               waits <ms>, then 302 to /hop/<n-1>/<ms>; /hop/0/<ms>: 200 "ok"
  /silent                     reads the request, never answers
  /json/<n>                   200 {"version": <n characters of "A">}
  /long-location              302 to an ftp URL of 90 000 characters
  /text/<n>                   200, one line of <n> "a"s
  /echo/<name>                200 {"version": <the request's header <name>, whole and its last word>}
  /endless-headers            a 200 status line, then header lines for ever
  /1xx-flood                  "102 Processing" answers for ever
  /endless-body               200 chunked, chunks for ever
  anything else               200 "ok"
A CONNECT (a proxy's tunnel request) is logged and refused with 403; a request whose target
is an absolute URL (a proxy's plain request) is logged and answered 200 "proxied". A
connection whose first byte is a TLS handshake record gets no byte back (a handshake that
never ends).
"""
import json, os, socket, sys, threading, time

LOG = []
LOCK = threading.Lock()
LIMIT = 60.0


def read_request(conn, buf):
    """(method, target, headers, rest) or None when the peer closed."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    method, target = (parts + ["", ""])[:2]
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(rest) < length:
        data = conn.recv(65536)
        if not data:
            break
        rest += data
    return method, target, headers, rest[length:]


def send(conn, status, body=b"", headers=None):
    h = "".join("%s: %s\r\n" % kv for kv in (headers or {}).items())
    conn.sendall(b"HTTP/1.1 %d X\r\n%sContent-Length: %d\r\n\r\n" % (status, h.encode(), len(body)) + body)


def hold(conn, deadline):
    """Sends nothing until the client gives up (or the deadline)."""
    conn.settimeout(0.5)
    while time.time() < deadline:
        try:
            if not conn.recv(65536):
                return
        except socket.timeout:
            pass


def flood(conn, first, piece, deadline):
    try:
        conn.sendall(first)
        while time.time() < deadline:
            conn.sendall(piece)
    except OSError:
        pass


def handle(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline = time.time() + LIMIT
    try:
        first = conn.recv(1, socket.MSG_PEEK)
        if first == b"\x16":
            return hold(conn, deadline)
        buf = b""
        while time.time() < deadline:
            req = read_request(conn, buf)
            if req is None:
                return
            method, target, headers, buf = req
            if target == "/_log":
                with LOCK:
                    send(conn, 200, json.dumps(LOG).encode(), {"Content-Type": "application/json"})
                continue
            with LOCK:
                LOG.append({"method": method, "target": target, "headers": headers})
            if method == "CONNECT":
                return send(conn, 403, b"no tunnels", {"Connection": "close"})
            if target.startswith("http://") or target.startswith("https://"):
                send(conn, 200, b"proxied")
                continue
            path = target.split("?")[0].split("/")
            if path[1] == "hop" and len(path) == 4:
                n, ms = int(path[2]), int(path[3])
                time.sleep(ms / 1000.0)
                if n > 0:
                    send(conn, 302, b"", {"Location": "/hop/%d/%d" % (n - 1, ms)})
                else:
                    send(conn, 200, b"ok")
            elif path[1] == "silent":
                return hold(conn, deadline)
            elif path[1] == "json" and len(path) == 3:
                send(conn, 200, json.dumps({"version": "A" * int(path[2])}).encode(), {"Content-Type": "application/json"})
            elif path[1] == "echo" and len(path) == 3:
                value = headers.get(path[2].lower(), "")
                echo = value + " / " + value.split(" ")[-1]
                send(conn, 200, json.dumps({"version": echo}).encode(), {"Content-Type": "application/json"})
            elif path[1] == "text" and len(path) == 3:
                send(conn, 200, b"a" * int(path[2]), {"Content-Type": "text/plain"})
            elif path[1] == "long-location":
                send(conn, 302, b"", {"Location": "ftp://evil.example/" + "a" * 90000})
            elif path[1] == "endless-headers":
                return flood(conn, b"HTTP/1.1 200 OK\r\n", b"X-Fill: " + b"a" * 1000 + b"\r\n", deadline)
            elif path[1] == "1xx-flood":
                return flood(conn, b"", b"HTTP/1.1 102 Processing\r\nX-Fill: " + b"a" * 1000 + b"\r\n\r\n", deadline)
            elif path[1] == "endless-body":
                chunk = b"a" * 65536
                return flood(conn, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"10000\r\n" + chunk + b"\r\n", deadline)
            else:
                send(conn, 200, b"ok")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    print("PORT %d" % server.getsockname()[1], flush=True)

    def accept():
        while True:
            conn, _ = server.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    time.sleep(600)
    os._exit(0)


if __name__ == "__main__":
    main()
