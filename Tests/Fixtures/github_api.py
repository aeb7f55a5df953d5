#!/usr/bin/env python3
"""A GitHub REST API stand-in on 127.0.0.1, answering from a real git repository.

Usage: github_api.py REPO_DIR TOKEN

Serves, for any owner/name, in GitHub's response shapes (also under /api/v3, as GitHub
Enterprise Server does): tags (paginated with Link), compare base...head (at most 250
commits unless paginated with page/per_page, as GitHub), commits?sha=, git/ref/tags/T,
git/tags/SHA, POST git/tags (a real tag object via git mktag), POST git/refs (git update-ref),
releases/tags/T and POST releases (kept in memory), deployments (GET with sha, task,
environment filters, newest first, paginated; POST: the ref must name a commit of the
repository) and POST deployments/ID/statuses (kept in memory). Control: POST /_control with
{"ratelimit": N, "mode": "retry-after"|"reset"} makes the next N requests rate limited, with
{"refuse_deployments": true} POST deployments answers 403 as for a token without
deployments: write, with {"fail_deployments": 500} every deployments request (list, create,
status) answers that status (0: answer again), with {"plant": [deployment, ...]} deployments made by
someone else are stored as given (given an id), with {"ignore_filters": true} GET deployments
answers every deployment whatever the query (a hostile or older server), with
{"plant_releases": {"TAG": release, ...}} GET releases/tags/TAG answers that release as given
(a hostile server: another tag, any html_url or id), with {"plant_refs": {"TAG": ref, ...}} GET git/ref/tags/TAG answers
that ref as given (a hostile server: any object sha or type), with {"release_error": "text"} POST
releases answers 422 with that message; GET /_requests lists "METHOD path" of every request so far; GET
/_releases the releases as created; GET /_deployments {"deployments": [...as received, with
id], "statuses": [{"deployment": id, ...as received}, in order]}. Prints "PORT <n>" when ready.
"""
import json
import re
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from serve import serve
from urllib.parse import urlparse, parse_qs

REPO, TOKEN = sys.argv[1], sys.argv[2]
lock = threading.Lock()
state = {"ratelimit": 0, "mode": "retry-after", "requests": [], "releases": {}, "deployments": [], "statuses": [], "refuse_deployments": False,
         "fail_deployments": 0, "ignore_filters": False, "planted_releases": {}, "planted_refs": {}, "release_error": None}
# GitHub refuses a release body longer than this (in characters: code points, as Python counts).
MAX_RELEASE_BODY = 125000
DEPLOYMENT_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}


def git(*args, input=None):
    r = subprocess.run(["git", "-C", REPO, *args], capture_output=True, text=True, input=input)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.strip())
    return r.stdout.strip()


def resolve(rev):
    try:
        return git("rev-parse", "--verify", "--quiet", rev + "^{commit}")
    except RuntimeError:
        return None


def rev_list(*args):
    """Commit names from git rev-list: one 40-hex name a line, nothing a message can forge."""
    out = git("rev-list", *args)
    return [line for line in out.splitlines() if re.fullmatch(r"[0-9a-f]{40}", line)]


def commits_json(shas):
    """Commits as the API shows them, read with one `git cat-file --batch`: every object comes
    with its byte length, so no message text can split or forge an entry (splitting `git log`
    output on separator bytes could be forged by a message holding them). The message is
    re-encoded to UTF-8 from the commit's `encoding` header, as GitHub shows it."""
    if not shas:
        return []
    r = subprocess.run(["git", "-C", REPO, "cat-file", "--batch"], input=("\n".join(shas) + "\n").encode(), capture_output=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr.decode(errors="replace").strip())
    data, pos, commits = r.stdout, 0, []
    for sha in shas:
        newline = data.index(b"\n", pos)
        name, kind, size = data[pos:newline].split()
        body = data[newline + 1:newline + 1 + int(size)]
        pos = newline + 1 + int(size) + 1
        if name.decode() != sha or kind != b"commit":
            raise RuntimeError(f"cat-file answered {name!r} {kind!r} for {sha}")
        headers, _, message = body.partition(b"\n\n")
        lines = headers.split(b"\n")
        parents = [line[len(b"parent "):].decode() for line in lines if line.startswith(b"parent ")]
        encoding = next((line[len(b"encoding "):].decode() for line in lines if line.startswith(b"encoding ")), "utf-8")
        try:
            text = message.decode(encoding, errors="replace")
        except LookupError:
            text = message.decode("utf-8", errors="replace")
        # GitHub shows the message as stored, without its last newline; clients trim.
        commits.append({"sha": sha, "commit": {"message": text.rstrip("\n")}, "parents": [{"sha": p} for p in parents]})
    return commits


def tag_commits():
    """Every tag and the object it names once annotated tags (nested ones too) are peeled;
    a tag of a blob or tree names that object, as GitHub shows it."""
    refs = git("for-each-ref", "--sort=-creatordate", "--format=%(refname:strip=2) %(objectname) %(*objectname) %(*objecttype)", "refs/tags").splitlines()
    tags = []
    for line in refs:
        parts = line.split()
        name, sha = parts[0], (parts[2] if len(parts) > 2 else parts[1])
        if len(parts) > 3 and parts[3] == "tag":
            sha = git("rev-parse", f"refs/tags/{name}^{{}}")
        tags.append({"name": name, "commit": {"sha": sha}})
    return tags


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def page(self, items, query, path):
        per = int(query.get("per_page", ["30"])[0])
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per: page * per]
        headers = {}
        if page * per < len(items):
            headers["Link"] = f'<http://127.0.0.1:{self.server.server_port}{urlparse(self.path).path}?per_page={per}&page={page + 1}&{"&".join(f"{k}={v[0]}" for k, v in query.items() if k not in ("per_page", "page"))}>; rel="next"'
        return chunk, headers

    def handle_any(self, method):
        url = urlparse(self.path)
        path = url.path
        if path.startswith("/api/v3/"):
            path = path[len("/api/v3"):]
        query = parse_qs(url.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}") if length else {}
        if path == "/_control":
            with lock:
                # "plant": deployments made by someone else, stored as given (a hostile answer's).
                for d in body.pop("plant", []):
                    d = dict({"ref": d.get("sha", ""), "task": "deploy", "environment": "production"}, **d, id=len(state["deployments"]) + 1001)
                    if "id_override" in d:  # an id no client should trust to fit (1e30)
                        d["id"] = int(d.pop("id_override"))
                    state["deployments"].append(d)
                state["planted_releases"].update(body.pop("plant_releases", {}))
                state["planted_refs"].update(body.pop("plant_refs", {}))
                state.update(body)
            return self.send_json(200, {})
        if path == "/_releases":
            with lock:
                return self.send_json(200, state["releases"])
        if path == "/_deployments":
            with lock:
                return self.send_json(200, {"deployments": state["deployments"], "statuses": state["statuses"]})
        if path == "/_requests":
            with lock:
                return self.send_json(200, state["requests"])
        with lock:
            state["requests"].append(f"{method} {self.path}")
            limited = state["ratelimit"] > 0
            if limited:
                state["ratelimit"] -= 1
        if limited:
            if state["mode"] == "retry-after":
                return self.send_json(403, {"message": "You have exceeded a secondary rate limit."}, {"Retry-After": "1"})
            return self.send_json(403, {"message": "API rate limit exceeded"}, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 1)})
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return self.send_json(401, {"message": "Bad credentials"})
        if self.headers.get("Accept") != "application/vnd.github+json":
            return self.send_json(415, {"message": "Accept must be application/vnd.github+json"})
        m = re.match(r"^/repos/[^/]+/[^/]+(/.*)$", path)
        if not m:
            return self.send_json(404, {"message": "Not Found"})
        rest = m.group(1)
        try:
            return self.route(method, rest, query, body, path)
        except RuntimeError as e:
            return self.send_json(422, {"message": str(e)})

    def route(self, method, rest, query, body, path):
        if method == "GET" and rest == "/tags":
            chunk, headers = self.page(tag_commits(), query, path)
            return self.send_json(200, chunk, headers)
        m = re.match(r"^/compare/(.+)\.\.\.(.+)$", rest)
        if method == "GET" and m:
            base, head = resolve(m.group(1)), resolve(m.group(2))
            if not base or not head:
                return self.send_json(404, {"message": "Not Found"})
            if base == head:
                status = "identical"
            elif subprocess.run(["git", "-C", REPO, "merge-base", "--is-ancestor", base, head]).returncode == 0:
                status = "ahead"
            elif subprocess.run(["git", "-C", REPO, "merge-base", "--is-ancestor", head, base]).returncode == 0:
                status = "behind"
            else:
                status = "diverged"
            shas = rev_list("--reverse", f"{base}..{head}")
            if "page" in query or "per_page" in query:
                per = min(int(query.get("per_page", ["250"])[0]), 100)
                page = int(query.get("page", ["1"])[0])
                shown = shas[(page - 1) * per: page * per]
            else:
                shown = shas[:250]
            return self.send_json(200, {"status": status, "ahead_by": len(shas), "total_commits": len(shas), "commits": commits_json(shown)})
        if method == "GET" and rest == "/commits":
            head = resolve(query.get("sha", ["HEAD"])[0])
            chunk, headers = self.page(rev_list(head), query, path)
            chunk = commits_json(chunk)
            return self.send_json(200, chunk, headers)
        m = re.match(r"^/git/ref/tags/(.+)$", rest)
        if method == "GET" and m and m.group(1) in state["planted_refs"]:
            return self.send_json(200, state["planted_refs"][m.group(1)])
        if method == "GET" and m:
            try:
                sha = git("rev-parse", "--verify", "--quiet", f"refs/tags/{m.group(1)}")
            except RuntimeError:
                return self.send_json(404, {"message": "Not Found"})
            kind = git("cat-file", "-t", sha)
            return self.send_json(200, {"ref": f"refs/tags/{m.group(1)}", "object": {"sha": sha, "type": kind}})
        m = re.match(r"^/git/tags/([0-9a-f]{40})$", rest)
        if method == "GET" and m:
            text = git("cat-file", "-p", m.group(1))
            target = re.search(r"^object (\w+)$", text, re.M).group(1)
            return self.send_json(200, {"sha": m.group(1), "object": {"sha": target, "type": "commit"}})
        if method == "POST" and rest == "/git/tags":
            content = f"object {body['object']}\ntype {body['type']}\ntag {body['tag']}\ntagger Gantry <gantry@example.com> 1763780000 +0000\n\n{body['message']}\n"
            sha = git("mktag", input=content)
            return self.send_json(201, {"sha": sha, "tag": body["tag"]})
        if method == "POST" and rest == "/git/refs":
            ref = body["ref"]
            try:
                git("rev-parse", "--verify", "--quiet", ref)
                return self.send_json(422, {"message": "Reference already exists"})
            except RuntimeError:
                pass
            git("update-ref", ref, body["sha"])
            return self.send_json(201, {"ref": ref, "object": {"sha": body["sha"]}})
        m = re.match(r"^/releases/tags/(.+)$", rest)
        if method == "GET" and m:
            with lock:
                release = state["planted_releases"].get(m.group(1)) or state["releases"].get(m.group(1))
            return self.send_json(200, release) if release else self.send_json(404, {"message": "Not Found"})
        if method == "POST" and rest == "/releases":
            if state["release_error"] is not None:
                return self.send_json(422, {"message": state["release_error"]})
            if len(body.get("body") or "") > MAX_RELEASE_BODY:
                return self.send_json(422, {"message": "Validation Failed", "errors": [
                    {"resource": "Release", "code": "custom", "field": "body", "message": f"body is too long (maximum is {MAX_RELEASE_BODY} characters)"}]})
            with lock:
                if body["tag_name"] in state["releases"]:
                    return self.send_json(422, {"message": "Validation Failed", "errors": [{"resource": "Release", "code": "already_exists", "field": "tag_name"}]})
                release = dict(body, id=len(state["releases"]) + 1, html_url=f"https://github.example/releases/tag/{body['tag_name']}")
                state["releases"][body["tag_name"]] = release
            if resolve(body["tag_name"]) is None:
                git("update-ref", f"refs/tags/{body['tag_name']}", body["target_commitish"])
            return self.send_json(201, release)
        if rest.startswith("/deployments") and state["fail_deployments"]:
            return self.send_json(state["fail_deployments"], {"message": "Server Error"})
        if rest == "/deployments":
            return self.deployments(method, query, body, path)
        m = re.match(r"^/deployments/(\d+)/statuses$", rest)
        if method == "POST" and m:
            return self.deployment_status(int(m.group(1)), body)
        return self.send_json(404, {"message": "Not Found"})

    def deployments(self, method, query, body, path):
        """GET lists (filters as GitHub's: sha, ref, task, environment), POST creates."""
        if method == "GET":
            with lock:
                found = [d for d in reversed(state["deployments"])
                         if state["ignore_filters"] or all(query.get(k, [d[k]])[0] == d[k] for k in ("sha", "ref", "task", "environment"))]
            chunk, headers = self.page(found, query, path)
            return self.send_json(200, chunk, headers)
        if state["refuse_deployments"]:
            return self.send_json(403, {"message": "Resource not accessible by integration"})
        if not isinstance(body.get("ref"), str) or not isinstance(body.get("required_contexts", []), list):
            return self.send_json(422, {"message": "Invalid request", "errors": [{"field": "ref", "code": "invalid"}]})
        if len(body.get("description", "")) > 140:
            return self.send_json(422, {"message": "Validation Failed", "errors": [{"field": "description", "code": "custom", "message": "description is too long (maximum is 140 characters)"}]})
        sha = resolve(body["ref"])
        if sha is None:
            return self.send_json(422, {"message": f"No ref found for: {body['ref']}"})
        with lock:
            d = dict(body, id=len(state["deployments"]) + 1001, sha=sha, task=body.get("task", "deploy"),
                     environment=body.get("environment", "production"), payload=body.get("payload", {}))
            state["deployments"].append(d)
        return self.send_json(201, d)

    def deployment_status(self, deployment, body):
        # GitHub refuses a description over 140 characters (code points, as Python counts).
        if len(body.get("description", "")) > 140:
            return self.send_json(422, {"message": "Validation Failed", "errors": [{"field": "description", "code": "custom", "message": "description is too long (maximum is 140 characters)"}]})
        with lock:
            known = any(d["id"] == deployment for d in state["deployments"])
            if known and body.get("state") in DEPLOYMENT_STATES:
                status = dict(body, deployment=deployment, id=len(state["statuses"]) + 1)
                state["statuses"].append(status)
        if not known:
            return self.send_json(404, {"message": "Not Found"})
        if body.get("state") not in DEPLOYMENT_STATES:
            return self.send_json(422, {"message": "Validation Failed", "errors": [{"field": "state", "code": "invalid"}]})
        return self.send_json(201, status)

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


serve(Handler)
