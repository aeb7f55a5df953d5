"""Reads act's --json log for scripts/e2e-act: step outputs, step and job results, log lines.

    from actlog import ActLog, Checks
    log = ActLog(path)
    log.out("promote", "digest")     # a step output (by step id; stepID is unique per run here)
    log.results["health"]            # a step's result: success, failure, skipped
    log.step_outputs("copy")         # a step's outputs per job that ran it (matrix jobs share step ids)
    log.lines                        # every message line, in order
"""
import json
import sys


class ActLog:
    def __init__(self, path):
        self.outputs, self.results, self.jobs, self.lines = {}, {}, {}, []
        self.by_job = {}
        for line in open(path, errors="replace"):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            step = (e.get("stepID") or [None])[0]
            if e.get("command") == "set-output":  # a step output, as act recorded it
                self.outputs[(step, e.get("name"))] = e.get("arg", "")
                self.by_job.setdefault((e.get("job"), step), {})[e.get("name")] = e.get("arg", "")
            if e.get("stepResult"):
                self.results[step or e.get("step")] = e["stepResult"]
            if e.get("jobResult"):
                self.jobs[e.get("jobID") or e.get("job")] = e["jobResult"]
            self.lines += e.get("msg", "").splitlines()

    def out(self, step, name):
        return self.outputs.get((step, name))

    def step_outputs(self, step):
        """job name → {output: value} of every job that ran the step (each of a matrix's jobs)."""
        return {job: out for (job, s), out in self.by_job.items() if s == step}

    def marked(self, prefix):
        """key=value pairs of the log lines starting with prefix (E2E lines a step printed)."""
        found = {}
        for part in self.lines:
            if part.startswith(prefix):
                k, _, v = part[len(prefix):].partition("=")
                found[k] = v
        return found

    def has_line(self, text):
        return any(text in part for part in self.lines)


class Checks:
    def __init__(self, title):
        self.title, self.failures = title, []

    def expect(self, cond, what):
        print(("ok   " if cond else "FAIL ") + f"{self.title}: {what}")
        if not cond:
            self.failures.append(what)

    def finish(self, extra=""):
        if extra:
            print(extra)
        if self.failures:
            print(f"{len(self.failures)} {self.title} check(s) failed", file=sys.stderr)
            sys.exit(1)
