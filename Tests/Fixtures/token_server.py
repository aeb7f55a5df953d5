#!/usr/bin/env python3
"""A registry token issuer for Gantry's tests (distribution's `auth: token`), on 127.0.0.1.

token_server.py KEY.pem CERT.pem --user U --password P [--issuer I] [--service S]
GET /token?service=S&scope=repository:name:push,pull  (Basic auth)
  → {"access_token": JWT, "expires_in": 300}  (RS256, x5c = CERT, as distribution verifies)
Wrong or missing credentials get a token with no access (anonymous pull is refused by the
registry). GET /count returns how many tokens were issued. Prints "PORT <n>"; exits when
stdin closes.
"""
import argparse, base64, json, os, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler

from serve import serve
from urllib.parse import urlparse, parse_qs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

ARGS = None
KEY = None
CERT_DER = None
ISSUED = [0]

def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def make_token(subject, access):
    now = int(time.time())
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(CERT_DER).decode()]}
    claims = {"iss": ARGS.issuer, "sub": subject, "aud": ARGS.service, "exp": now + 300, "nbf": now - 10,
              "iat": now, "jti": str(uuid.uuid4()), "access": access}
    signing_input = (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())).encode()
    signature = KEY.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64(signature)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/count":
            return self.send_json(200, ISSUED[0])
        q = parse_qs(url.query)
        auth = self.headers.get("Authorization", "")
        user = None
        if auth.startswith("Basic "):
            u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
            if u == ARGS.user and p == ARGS.password:
                user = u
            else:
                return self.send_json(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
        access = []
        for scope in q.get("scope", []):
            kind, name, actions = scope.split(":")
            granted = actions.split(",") if user else []
            access.append({"type": kind, "name": name, "actions": granted})
        ISSUED[0] += 1
        self.send_json(200, {"access_token": make_token(user or "", access), "expires_in": 300})

def main():
    global ARGS, KEY, CERT_DER
    ap = argparse.ArgumentParser()
    ap.add_argument("key"); ap.add_argument("cert")
    ap.add_argument("--user", required=True); ap.add_argument("--password", required=True)
    ap.add_argument("--issuer", default="gantry-test-issuer"); ap.add_argument("--service", default="gantry-test")
    ap.add_argument("--port", type=int, default=0)
    ARGS = ap.parse_args()
    KEY = serialization.load_pem_private_key(open(ARGS.key, "rb").read(), password=None)
    CERT_DER = x509.load_pem_x509_certificate(open(ARGS.cert, "rb").read()).public_bytes(serialization.Encoding.DER)
    serve(Handler, port=ARGS.port)

if __name__ == "__main__":
    main()
