#!/usr/bin/env python3
"""A hostile service and registry for Gantry's injection tests, on 127.0.0.1 only.

Every answer carries text that would be a workflow command, a terminal escape or a markdown
link if Gantry printed it raw. Started by TestSupport.HostileTextServer; prints "PORT <n>" and
stops with its stdin (see serve.py).

Routes:
  /health                       200 JSON whose `version` is the payload (expected-json mismatch)
  /v2/                          200: a registry that needs no auth
  /v2/<name>/tags/list          the payload as tags, and a Link to a next page that is no URL
  /v2/<name>/manifests/<ref>    404 with the payload as the error message
  /v2/<name>/referrers/<d>      404
  anything else                 500 with the payload as the error message
"""
import json, socket
from http.server import BaseHTTPRequestHandler

from serve import QuietHandler, serve

PAYLOAD = (
    "x\n::set-output name=injected::1\n::add-mask::visible\n::stop-commands::tok\n"
    "::error title=Injected::gotcha\r\n  ::warning::w\x1b[31m red \x07bell\x1b]0;title\x07 ##[add-mask]z "
    "[click](https://evil.example) <img src=x> \u2028next\u0085nel \u202egnp.exe\u2066"
)


class Handler(QuietHandler):
    def answer(self, code, body, headers=None, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def error(self, code):
        self.answer(code, json.dumps({"errors": [{"code": "DENIED", "message": PAYLOAD, "detail": PAYLOAD}]}))

    def route(self):
        length = int(self.headers.get("Content-Length") or 0)
        if 0 < length <= 1 << 20:
            self.rfile.read(length)
        path = self.path.split("?")[0]
        if path == "/health":
            return self.answer(200, json.dumps({"version": PAYLOAD}))
        if path in ("/v2/", "/v2"):
            return self.answer(200, "{}")
        if path.startswith("/v2/") and path.endswith("/tags/list"):
            # A Link target with spaces and controls: no URL can be made of it.
            return self.answer(200, json.dumps({"name": "app", "tags": [PAYLOAD, "gantry-production-" + PAYLOAD]}),
                               {"Link": '</v2/app/tags/list?last=a b\x1b[31m>; rel="next"'})
        if "/manifests/" in path:
            return self.error(404)
        if "/referrers/" in path:
            return self.error(404)
        return self.error(500)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = route


if __name__ == "__main__":
    serve(Handler)
