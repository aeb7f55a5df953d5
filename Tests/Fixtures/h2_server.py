#!/usr/bin/env python3
"""An HTTP/2-only server over TLS (ALPN h2) for Gantry's tests, on 127.0.0.1 only.

Started by TestSupport.HTTP2Server; prints "PORT <n>" once listening and stops when its stdin
closes (so it never outlives the test process) or after --lifetime seconds. Needs the `h2`
package from PyPI (scripts/setup installs it); without it, it says so and exits 1, so the
tests that need it fail with that message instead of passing without it.

It counts the TCP connections it accepted: every answer carries
  x-connection:   the number of the connection it came on (1, 2, ...)
  x-connections:  how many connections were accepted so far
  x-in-flight:    how many requests of its connection were waiting for their answer then
                  (itself included): more than 1 means they were multiplexed
so a test can prove that concurrent requests were multiplexed on one connection.

Routes:
  /delay/<ms>     wait <ms> (at most 10 s; other streams go on meanwhile), then 200
  /hpack-bomb/<n> 200 with n copies of one 4 000-byte header (a few kB on the wire, n × 4 kB
                  decoded)
  anything else   200 at once
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import threading

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
except ImportError:
    print("MISSING the Python package h2 (python3 -m pip install h2; scripts/setup installs it)", flush=True)
    sys.exit(1)

ACCEPTED = 0


class H2Protocol(asyncio.Protocol):
    def connection_made(self, transport):
        global ACCEPTED
        ACCEPTED += 1
        self.number = ACCEPTED
        self.transport = transport
        self.closed = False
        self.in_flight = 0
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()

    def connection_lost(self, exc):
        self.closed = True

    def flush(self):
        data = self.conn.data_to_send()
        if data and not self.closed:
            self.transport.write(data)

    def data_received(self, data):
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.flush()
            self.transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                path = dict(event.headers).get(":path", "/")
                delay = 0.0
                parts = path.split("?")[0].strip("/").split("/")
                if len(parts) == 2 and parts[0] == "delay" and parts[1].isdigit():
                    delay = min(int(parts[1]), 10000) / 1000
                if len(parts) == 2 and parts[0] == "hpack-bomb" and parts[1].isdigit():
                    self.bomb(event.stream_id, min(int(parts[1]), 100000))
                    continue
                self.in_flight += 1
                asyncio.get_running_loop().call_later(delay, self.respond, event.stream_id)
            elif isinstance(event, h2.events.ConnectionTerminated):
                self.flush()
                self.transport.close()
                return
        self.flush()

    def bomb(self, stream_id, n):
        """n copies of one 4 000-byte header: HPACK sends the copies as one-byte references
        to its table, so a few kilobytes on the wire decode to n × 4 kB."""
        try:
            self.conn.send_headers(stream_id, [(":status", "200")] + [("x-fill", "a" * 4000)] * n)
            self.conn.send_data(stream_id, b"ok", end_stream=True)
        except h2.exceptions.H2Error:
            pass
        self.flush()

    def respond(self, stream_id):
        in_flight = self.in_flight
        self.in_flight -= 1
        if self.closed:
            return
        body = json.dumps({"connection": self.number, "connections": ACCEPTED, "stream": stream_id}).encode()
        try:
            self.conn.send_headers(stream_id, [
                (":status", "200"), ("content-type", "application/json"), ("content-length", str(len(body))),
                ("x-connection", str(self.number)), ("x-connections", str(ACCEPTED)),
                ("x-in-flight", str(in_flight)),
            ])
            self.conn.send_data(stream_id, body, end_stream=True)
        except h2.exceptions.StreamClosedError:
            pass
        self.flush()


async def main(cert, key, lifetime):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(H2Protocol, "127.0.0.1", 0, ssl=ctx, backlog=128)
    print("PORT %d" % server.sockets[0].getsockname()[1], flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    await asyncio.sleep(lifetime)
    os._exit(0)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--lifetime", type=float, default=600.0)
    a = p.parse_args()
    asyncio.run(main(a.cert, a.key, a.lifetime))
