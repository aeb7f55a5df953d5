#!/usr/bin/env python3
"""sigstore-python's verdict on every fixture bundle Gantry verifies, offline.

Prints one JSON object per line: {"case": <name>, "ok": true|false, "error": <text>}.
Run with the interpreter of the venv scripts/setup makes (sigstore from PyPI, pinned):
  ~/.cache/gantry/sigstore-python/bin/python Tests/Fixtures/sigstore/sigstore_python_verdicts.py
Cases and their inputs mirror Tests/SigstoreTests (ConformanceTests, RealBundleTests):
  conformance/<case>  bundle.sigstore.json, artifact (default a.txt), identity/issuer
                      (default the conformance beacon), trusted_root.json (default public-good)
  sigstore-python/... listed below with their identities and roots.
Nothing is fetched: the public-good root is the one shipped inside the sigstore package (the
same file Gantry embeds).
"""
import hashlib
import json
import os
import sys
from pathlib import Path

import sigstore
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier
from sigstore.verify.policy import Identity

HERE = Path(__file__).resolve().parent
DEFAULT_IDENTITY = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"
PUBLIC_GOOD = Path(sigstore.__file__).parent / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev" / "trusted_root.json"
STAGING = HERE / "sigstore-python" / "staging_trusted_root.json"
GITHUB = "https://token.actions.githubusercontent.com"
OAUTH = "https://github.com/login/oauth"

# sigstore-python/ fixtures: (case, bundle, artifact, root, identity, issuer)
PYTHON_CASES = [
    ("bundle_v3_github.whl", "bundle_v3_github.whl.sigstore", "bundle_v3_github.whl", PUBLIC_GOOD,
     "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2", GITHUB),
    ("bundle.txt", "bundle.txt.sigstore", "bundle.txt", STAGING, "a@tny.town", OAUTH),
    ("bundle_v3.txt", "bundle_v3.txt.sigstore", "bundle_v3.txt", STAGING, "william@yossarian.net", OAUTH),
    ("bundle_cve_2022_36056.txt", "bundle_cve_2022_36056.txt.sigstore", "bundle_cve_2022_36056.txt", STAGING, "william@yossarian.net", OAUTH),
    ("bundle_v3_no_signed_time.txt", "bundle_v3_no_signed_time.txt.sigstore.json", "bundle_v3_no_signed_time.txt", PUBLIC_GOOD, "william@yossarian.net", OAUTH),
]


def verdict(bundle_path, artifact_path, root_path, identity, issuer):
    try:
        root = TrustedRoot.from_file(str(root_path))
        bundle = Bundle.from_json(Path(bundle_path).read_bytes())
        artifact = Path(artifact_path).read_bytes()
        policy = Identity(identity=identity, issuer=issuer)
        if bundle._dsse_envelope is None:
            Verifier(trusted_root=root).verify_artifact(artifact, bundle, policy)
            return True, ""
        # A DSSE bundle: the envelope verifies, then its in-toto statement names the artifact
        # (as sigstore-conformance's client for sigstore-python checks it).
        _, payload = Verifier(trusted_root=root).verify_dsse(bundle, policy)
        digest = hashlib.sha256(artifact).hexdigest()
        subjects = json.loads(payload).get("subject", [])
        if not any(s.get("digest", {}).get("sha256") == digest for s in subjects):
            return False, "no subject of the in-toto statement has the artifact's sha256"
        return True, ""
    except Exception as e:  # every refusal, whatever its type, is a "no"
        return False, f"{type(e).__name__}: {e}"[:300]


def main():
    out = []
    conf = HERE / "conformance"
    for case in sorted(os.listdir(conf)):
        d = conf / case
        if not (d / "bundle.sigstore.json").exists() or (d / "key.pub").exists():
            continue  # managed keys: not keyless, not compared
        read = lambda name, default: (d / name).read_text().strip() if (d / name).exists() else default
        ok, err = verdict(d / "bundle.sigstore.json", d / "artifact" if (d / "artifact").exists() else conf / "a.txt",
                          d / "trusted_root.json" if (d / "trusted_root.json").exists() else PUBLIC_GOOD,
                          read("identity", DEFAULT_IDENTITY), read("issuer", DEFAULT_ISSUER))
        out.append({"case": f"conformance/{case}", "ok": ok, "error": err})
    for case, bundle, artifact, root, identity, issuer in PYTHON_CASES:
        d = HERE / "sigstore-python"
        ok, err = verdict(d / bundle, d / artifact, root, identity, issuer)
        out.append({"case": f"sigstore-python/{case}", "ok": ok, "error": err})
    for o in out:
        print(json.dumps(o))
    return 0


if __name__ == "__main__":
    sys.exit(main())
