#!/usr/bin/env python3
"""mkoci.py - make a small OCI image layout for the registry tests.

    mkoci.py OUT --tag T [--random BYTES] [--base LAYER] [--platform OS/ARCH[/VARIANT] ...]

Each platform (default: linux/amd64) gets an image whose layers are LAYER
(optional: a tar or tar.gz, e.g. the busybox fixture layer) plus a gzip'd
layer holding BYTES random bytes in /data/random (default 4096), so its
layer is new to every store. One platform gives a plain manifest under tag T
in OUT/index.json; several give an image index (each entry with its
platform) under T, so `skopeo copy --all oci:OUT:T ...` pushes them all.

Prints a JSON summary on stdout:
  {"tag": T, "index": "sha256:..." or null,
   "images": {"linux/amd64": {"manifest": d, "config": d, "layers": [d, ...]}}}
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import tarfile

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"


def put_blob(out, data):
    d = hashlib.sha256(data).hexdigest()
    path = os.path.join(out, "blobs", "sha256", d)
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
    return "sha256:" + d


def random_layer(nbytes):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        d = tarfile.TarInfo("data")
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        t.addfile(d)
        f = tarfile.TarInfo("data/random")
        f.size = nbytes
        f.mode = 0o644
        t.addfile(f, io.BytesIO(os.urandom(nbytes)))
    raw = buf.getvalue()
    return raw, gzip.compress(raw, compresslevel=1, mtime=0)


def base_layer(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data), data, MT_LAYER_GZ
    return data, data, MT_LAYER


def image(out, platform, nbytes, base):
    parts = platform.split("/")
    layers, diffs = [], []
    if base:
        raw, blob, mt = base
        layers.append({"mediaType": mt, "digest": put_blob(out, blob), "size": len(blob)})
        diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
    raw, gz = random_layer(nbytes)
    layers.append({"mediaType": MT_LAYER_GZ, "digest": put_blob(out, gz), "size": len(gz)})
    diffs.append("sha256:" + hashlib.sha256(raw).hexdigest())
    config = {
        "architecture": parts[1], "os": parts[0], "created": "2000-01-01T00:00:00Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diffs},
        "history": [{"created": "2000-01-01T00:00:00Z", "created_by": "mkoci.py"}],
    }
    if len(parts) > 2:
        config["variant"] = parts[2]
    cfg = json.dumps(config, sort_keys=True).encode()
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST,
                "config": {"mediaType": MT_CONFIG, "digest": put_blob(out, cfg), "size": len(cfg)},
                "layers": layers}
    man = json.dumps(manifest).encode()
    desc = {"mediaType": MT_MANIFEST, "digest": put_blob(out, man), "size": len(man)}
    plat = {"os": parts[0], "architecture": parts[1]}
    if len(parts) > 2:
        plat["variant"] = parts[2]
    summary = {"manifest": desc["digest"], "config": manifest["config"]["digest"],
               "layers": [l["digest"] for l in layers]}
    return desc, plat, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tag", required=True)
    ap.add_argument("--random", type=int, default=4096)
    ap.add_argument("--base")
    ap.add_argument("--platform", action="append")
    a = ap.parse_args()
    platforms = a.platform or ["linux/amd64"]
    os.makedirs(os.path.join(a.out, "blobs", "sha256"), exist_ok=True)
    base = base_layer(a.base) if a.base else None
    images, descs = {}, []
    for p in platforms:
        desc, plat, summary = image(a.out, p, a.random, base)
        images[p] = summary
        descs.append(dict(desc, platform=plat))
    index_digest = None
    if len(descs) == 1:
        top = {k: v for k, v in descs[0].items() if k != "platform"}
    else:
        idx = json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": descs}).encode()
        index_digest = put_blob(a.out, idx)
        top = {"mediaType": MT_INDEX, "digest": index_digest, "size": len(idx)}
    top["annotations"] = {"org.opencontainers.image.ref.name": a.tag}
    with open(os.path.join(a.out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [top]}, f)
    with open(os.path.join(a.out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    print(json.dumps({"tag": a.tag, "index": index_digest, "images": images}))


if __name__ == "__main__":
    main()
