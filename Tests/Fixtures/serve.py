"""Shared start-up of the test servers in this folder (127.0.0.1 only).

serve(handler) binds a threading HTTP server on 127.0.0.1 (port 0: a free one), optionally
wraps it in TLS, prints "PORT <n>" for the test support code, and returns only to exit: when
stdin closes (the test process that started it is gone) or after `lifetime` seconds, so no
server outlives its tests.
"""
import os
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no access log, TCP_NODELAY: the base of every handler here."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without NODELAY, Nagle and delayed
        # ACKs add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def answer(self, code, body=b"", headers=None):
        """A whole answer with Content-Length (no body on HEAD)."""
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops SYNs when a client opens several connections at
    # once, and the client retries a second later.
    request_queue_size = 128
    daemon_threads = True


def serve(handler, port=0, cert=None, key=None, lifetime=600.0):
    server = Server(("127.0.0.1", port), handler)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("PORT %d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    time.sleep(lifetime)
    os._exit(0)
