#!/usr/bin/env python3
"""Pushes a small multi-arch OCI image to a local plain-HTTP registry, for the demo and
benchmarks: seed-image.py HOST:PORT REPO TAG [--layers N] [--layer-size BYTES] [--label k=v ...]
Prints the index digest."""
import argparse, hashlib, json, os, urllib.request

def push_blob(base, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    head = urllib.request.Request(f"{base}/v2/{repo}/blobs/{digest}", method="HEAD")
    try:
        urllib.request.urlopen(head)
        return digest, len(data)
    except urllib.error.HTTPError:
        pass
    start = urllib.request.urlopen(urllib.request.Request(f"{base}/v2/{repo}/blobs/uploads/", method="POST", data=b""))
    loc = start.headers["Location"]
    if loc.startswith("/"):
        loc = base + loc
    sep = "&" if "?" in loc else "?"
    put = urllib.request.Request(f"{loc}{sep}digest={digest}", method="PUT", data=data,
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(put)
    return digest, len(data)

def push_manifest(base, repo, ref, doc):
    body = json.dumps(doc, sort_keys=True).encode()
    req = urllib.request.Request(f"{base}/v2/{repo}/manifests/{ref}", method="PUT", data=body,
                                 headers={"Content-Type": doc["mediaType"]})
    urllib.request.urlopen(req)
    return "sha256:" + hashlib.sha256(body).hexdigest(), len(body)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host"); ap.add_argument("repo"); ap.add_argument("tag")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--layer-size", type=int, default=256 * 1024)
    ap.add_argument("--platforms", default="linux/amd64,linux/arm64")
    ap.add_argument("--label", action="append", default=[])
    a = ap.parse_args()
    base = f"http://{a.host}"
    labels = dict(l.split("=", 1) for l in a.label)
    entries = []
    for plat in a.platforms.split(","):
        os_, arch = plat.split("/")[:2]
        layers = []
        for _ in range(a.layers):
            d, n = push_blob(base, a.repo, os.urandom(a.layer_size))
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": n})
        config = json.dumps({"architecture": arch, "os": os_, "config": {"Labels": labels},
                             "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode()
        cd, cn = push_blob(base, a.repo, config)
        doc = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cn}, "layers": layers}
        md, mn = push_manifest(base, a.repo, "sha256:" + hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest(), doc)
        entries.append({"mediaType": doc["mediaType"], "digest": md, "size": mn, "platform": {"os": os_, "architecture": arch}})
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}
    digest, _ = push_manifest(base, a.repo, a.tag, index)
    print(digest)

if __name__ == "__main__":
    main()
