#!/usr/bin/env python3
"""Runs the built gantry binary as the GitHub runner does, many times, with mutated inputs for
every stage, and checks what the runner would see (scripts/fuzz runs it; so does the test
command, briefly):

  - the exit status is 0, 1 or 2 (never a signal, never a trap);
  - exit 2 (bad input) prints exactly one `::error title=Invalid input::` that names an input
    this run mutated, and writes no output and no summary;
  - outputs are only the stage's declared ones, and none holds a line break unless it is one
    of the declared multi-line lists;
  - stdout carries no workflow command Gantry did not mean (a line starting with `::` that is
    not one of Gantry's own commands, outside a stop-commands block) and no raw control bytes.

  fuzz-binary.py --binary PATH --registry HOST:PORT --image REPO:TAG [--runs N] [--seed S] [--jobs J]
                 [--findings DIR]

The registry holds the seeded image (scripts/fuzz starts it). The probed service, run here on
127.0.0.1, answers every probe with a body full of workflow commands, as a hostile deployed
service would.
"""
import argparse, os, random, re, shutil, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import yaml

HOSTILE = [
    "", " ", "\n", "\r\n", "%", "%0A", "::set-output name=x::y", "\n::add-mask::x", "::stop-commands::t",
    "\n::error::injected", "\x1b[31mred", "\x07", "\x00", "\t", "..", "../../../../etc/passwd",
    "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999",
    "9999999999999999h", "99999999999999tb", "1e308", "nan", "inf", "-1", "0", "0.0000001ms",
    "127.0.0.1:1x5/app", "a%b.io/app", "host with space/app", "Ünïcödé", "😀" * 40, "x" * 5000,
    "true", "True", "FALSE", "yes", "sha256:" + "0" * 64, "sha512:abc", "@", ":", "//", "v1.0.9223372036854775807",
    "| md | table |", "<script>", "[link](javascript:x)", "$(id)", "${{ github.token }}", "`id`",
]
SPECIAL = "\r\n\x1b\x07\x00%:,\t /@.-_~`'\"$\\|<>[]{}#"

# Gantry's own commands. add-mask is Gantry masking a secret input or a token it obtained.
OWN_COMMANDS = re.compile(r"^::(error|warning|notice|debug|group|endgroup|add-mask|stop-commands)( [^:]*)?::")

MULTILINE_OUTPUTS = {"tags", "images", "labels", "annotations", "platforms", "changelog", "history", "report",
                     "release-notes", "json"}


class HostileService(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    BODY = ("ok\n::set-output name=healthy::true\n::add-mask::x\n::stop-commands::zz\n"
            "\x1b]0;title\x07 %0A::error::from the service\r\n").encode() * 4

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.BODY)))
        self.send_header("X-Injected", "::warning::header")
        self.end_headers()
        self.wfile.write(self.BODY)

    do_POST = do_PUT = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = do_GET


def mutate(value, rng):
    r = rng.random()
    if r < 0.45 or not value:
        return rng.choice(HOSTILE)
    chars = list(value)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randint(0, len(chars))
        if op < 0.4:
            chars.insert(pos, rng.choice(SPECIAL))
        elif op < 0.6 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(pos, str(rng.choice([9, 99, 9223372036854775807, 18446744073709551616])))
        else:
            chars.insert(pos, rng.choice(HOSTILE))
    return "".join(chars)


def read_outputs(path):
    """Parses the runner's GITHUB_OUTPUT file format: name<<DELIM\\nvalue\\nDELIM\\n."""
    outputs, text = {}, open(path, encoding="utf-8", errors="replace").read()
    lines, i = text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        if "<<" in line:
            name, delim = line.split("<<", 1)
            j = i + 1
            while j < len(lines) and lines[j] != delim:
                j += 1
            if j >= len(lines):
                raise ValueError(f"output {name!r}: delimiter {delim!r} never closes")
            outputs[name] = "\n".join(lines[i + 1:j])
            i = j + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
            i += 1
        else:
            raise ValueError(f"unparseable output line {line!r}")
    return outputs


def stray_commands(stdout):
    """Lines the runner would execute as commands that Gantry did not mean to send."""
    stray, token = [], None
    for line in stdout.split("\n"):
        line = line.rstrip("\r")
        if token is not None:
            if line == f"::{token}::":
                token = None
            continue
        if not line.startswith("::"):
            continue
        m = OWN_COMMANDS.match(line)
        if not m:
            stray.append(line)
        elif m.group(1) == "stop-commands":
            token = line.split("::", 2)[2]
    return stray


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--registry", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--action", default="action.yml")
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--seed", type=int, default=int.from_bytes(os.urandom(4), "little"))
    ap.add_argument("--findings", default=None)
    ap.add_argument("--jobs", type=int, default=4)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    action = yaml.safe_load(open(args.action))
    declared_inputs = list(action["inputs"])
    declared_outputs = set(action.get("outputs", {}))
    work = tempfile.mkdtemp(prefix="gantry-fuzz-binary.")
    findings_dir = args.findings or os.path.join(work, "findings")
    shutil.rmtree(findings_dir, ignore_errors=True)  # only this run's findings
    os.makedirs(findings_dir, exist_ok=True)

    # A repository for version: a release tag, a fix and a feature since.
    repo = os.path.join(work, "repo")
    git = lambda *a: subprocess.run(["git", "-C", repo, *a], check=True, capture_output=True,
                                    env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e",
                                         "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"})
    os.makedirs(repo)
    git("init", "-q", "-b", "main")
    git("commit", "-q", "--allow-empty", "-m", "feat: first")
    git("tag", "v1.0.0")
    git("commit", "-q", "--allow-empty", "-m", "fix: a bug\n\n::set-output name=version::9.9.9")
    git("commit", "-q", "--allow-empty", "-m", "feat(api): more \x1b[31m")
    with open(os.path.join(repo, "VERSION"), "w") as f:
        f.write("2.3.4\n")
    sha = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()

    service = ThreadingHTTPServer(("127.0.0.1", 0), HostileService)
    threading.Thread(target=service.serve_forever, daemon=True).start()
    service_url = f"http://127.0.0.1:{service.server_address[1]}/health"
    reg, image = args.registry, args.image
    bases = {
        "build-tag": {"images": f"{reg}/acme/app", "environment": "dev", "version": "1.2.0", "title": "App",
                      "description": "An app", "licenses": "MIT", "extra-tags": "edge", "labels": "team=ops"},
        "version": {"source": "conventional", "working-directory": repo, "tag-prefix": "v", "initial-version": "0.1.0"},
        "promote": {"source": f"{reg}/{image}", "target": f"{reg}/fuzz/prod", "environment": "production",
                    "tags": "1.0.0", "max-size": "1GB", "platforms": "linux/amd64", "retries": "0", "concurrency": "2"},
        "verify-digest": {"source": f"{reg}/{image}", "target": f"{reg}/{image}", "retries": "0"},
        "health-check": {"url": service_url, "probes": "3", "interval": "10ms", "wait-timeout": "2s",
                         "timeout-ms": "1000", "expected-status": "2xx", "min-success-rate": "90", "method": "GET",
                         "headers": "X-Api-Key: secret-value"},
        "rollback": {"target": f"{reg}/fuzz/prod", "environment": "production", "reason": "fuzz", "retries": "0"},
        "history": {"target": f"{reg}/fuzz/prod", "environment": "production", "limit": "5", "retries": "0"},
    }
    stages = list(bases)
    counts = {"runs": 0, "exit0": 0, "exit1": 0, "exit2": 0, "timeouts": 0}
    findings = []
    seconds = {}

    # The cases come from the seed alone, so a seed replays the same runs whatever the timing.
    cases = []
    for run in range(args.runs):
        stage = stages[run % len(stages)]
        inputs = {name: "" for name in declared_inputs}
        inputs.update(bases[stage])
        inputs["stage"] = stage
        candidates = list(bases[stage]) + rng.sample(declared_inputs, 2)
        mutated = set(rng.sample(candidates, rng.randint(1, 3))) - {"stage"}
        for name in mutated:
            # The runner cannot pass NUL in an environment variable.
            inputs[name] = mutate(inputs.get(name, ""), rng).replace("\x00", "")
        cases.append((run, stage, inputs, mutated))

    def execute(case):
        run, stage, inputs, mutated = case
        folder = os.path.join(work, f"run-{run}")
        os.makedirs(folder)
        out_path, sum_path = os.path.join(folder, "output"), os.path.join(folder, "summary")
        open(out_path, "w").close()
        open(sum_path, "w").close()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": folder, "GITHUB_ACTIONS": "true",
               "GITHUB_OUTPUT": out_path, "GITHUB_STEP_SUMMARY": sum_path, "GITHUB_WORKSPACE": repo,
               "GITHUB_REPOSITORY": "acme/app", "GITHUB_SHA": sha, "GITHUB_REF": "refs/heads/main",
               "GITHUB_RUN_ID": "1", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_ACTOR": "fuzz"}
        for name, value in inputs.items():
            env["INPUT_" + name.replace(" ", "_").upper()] = value
        started = time.monotonic()
        try:
            p = subprocess.run([os.path.abspath(args.binary)], env=env, capture_output=True, timeout=30, cwd=repo)
        except subprocess.TimeoutExpired:
            return stage, None, time.monotonic() - started, []  # a mutated wait or probe count may take long
        elapsed = time.monotonic() - started
        stdout = p.stdout.decode("utf-8", errors="replace")
        problems = []
        if p.returncode not in (0, 1, 2):
            problems.append(f"exit status {p.returncode} (signal or trap)")
        if p.returncode == 2:
            errors = [l for l in stdout.split("\n") if l.startswith("::error title=Invalid input::")]
            if len(errors) != 1:
                problems.append(f"exit 2 with {len(errors)} Invalid input errors")
            # The error may name the input that must change with a mutated one ("target-username is
            # set but target-password is empty"): the mutated one must appear in it as a name.
            elif not any(re.search(rf"(?<![\w-]){re.escape(m)}(?![\w-])", errors[0]) for m in mutated):
                problems.append(f"exit 2 names no mutated input ({sorted(mutated)}): {errors[0][:300]}")
            if os.path.getsize(out_path) or os.path.getsize(sum_path):
                problems.append("exit 2 but outputs or summary were written")
        try:
            outputs = read_outputs(out_path)
            extra = set(outputs) - declared_outputs
            if extra:
                problems.append(f"undeclared outputs {sorted(extra)}")
            for name, value in outputs.items():
                if ("\n" in value or "\r" in value) and name not in MULTILINE_OUTPUTS:
                    problems.append(f"output {name} holds a line break: {value[:200]!r}")
        except ValueError as e:
            problems.append(str(e))
        stray = stray_commands(stdout)
        if stray:
            problems.append(f"stray workflow commands: {stray[:3]!r}")
        # A mask command carries the secret byte for byte (the runner consumes it, never shows it).
        shown = "\n".join(l for l in stdout.split("\n") if not l.startswith("::add-mask::"))
        if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", shown):
            problems.append("raw control bytes on stdout")
        if problems:
            with open(os.path.join(findings_dir, f"run-{run}.txt"), "w") as f:
                f.write(f"stage: {stage}\nmutated: {sorted(mutated)}\nproblems: {problems}\n")
                for name in sorted(mutated):
                    f.write(f"INPUT {name} = {inputs[name]!r}\n")
                f.write(f"exit: {p.returncode}\n--- stdout\n{stdout}\n--- stderr\n{p.stderr.decode(errors='replace')}\n")
        return stage, p.returncode, elapsed, [(stage, mutated, problems)] if problems else []

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        for stage, status, elapsed, found in pool.map(execute, cases):
            counts["runs"] += 1
            seconds[stage] = seconds.get(stage, 0) + elapsed
            if status is None:
                counts["timeouts"] += 1
            elif status in (0, 1, 2):
                counts[f"exit{status}"] += 1
            findings += found

    print(f"fuzz-binary: seed {args.seed}, {counts['runs']} runs (exit 0: {counts['exit0']}, 1: {counts['exit1']}, "
          f"2: {counts['exit2']}, stopped at 30 s: {counts['timeouts']}), {len(findings)} findings")
    print("  seconds per stage: " + ", ".join(f"{k} {v:.1f}" for k, v in sorted(seconds.items())))
    for stage, mutated, problems in findings[:20]:
        print(f"  {stage} {sorted(mutated)}: {'; '.join(problems)}"[:400])
    if findings:
        print(f"details in {findings_dir}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
