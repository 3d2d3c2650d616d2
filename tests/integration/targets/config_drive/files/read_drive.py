"""Print what a config drive ISO holds as JSON: label, paths, digests -- never the secrets themselves.

Usage: read_drive.py ISO SECRET...   ("secrets_found" lists which SECRET indexes occur in which file)
"""

import hashlib
import io
import json
import sys

import pycdlib

iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
files = {}
try:
    for root, _dirs, names in iso.walk(rr_path="/"):
        for name in names:
            path = f"{root.rstrip('/')}/{name}"
            out = io.BytesIO()
            iso.get_file_from_iso_fp(out, rr_path=path)
            files[path.lstrip("/")] = out.getvalue()
    label = iso.pvd.volume_identifier.decode().strip()
finally:
    iso.close()
documents = {}
for path, content in files.items():
    if path.endswith(".json") or path in ("meta-data", "network-config"):
        documents[path] = sorted(json.loads(content))
print(
    json.dumps(
        {
            "label": label,
            "paths": sorted(files),
            "sha256_12": {path: hashlib.sha256(content).hexdigest()[:12] for path, content in files.items()},
            "keys": documents,
            "secrets_found": {
                path: [index for index, secret in enumerate(sys.argv[2:]) if secret.encode() in content]
                for path, content in files.items()
            },
        }
    )
)
