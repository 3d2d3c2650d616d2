# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which secrets appear in which files, as themselves or in base64, without printing any secret.

Reads a JSON spec {"secrets": {label: text}, "tokens": {label: text}, "files": [path]} from the
file named by argv[1] and prints {"hits": {path: [label, ...]}, "missing": [path]}. A secret is
searched as itself and as the base64 of its whole text; a token (a random part of a secret) as
itself and in each of the three base64 alignments it can take inside a longer base64 text.
"""

from __future__ import annotations

import base64
import json
import os
import sys


def base64_cores(token: bytes) -> list[bytes]:
    """Base64 of ``token`` at offsets 0, 1 and 2 of a 3-byte group, without the edge characters
    that depend on the neighbouring bytes: one of them is in any base64 text that holds ``token``."""
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + token)
        # Characters fully determined by the token's bytes only.
        start = (offset * 8 + 5) // 6
        end = (len(token) + offset) * 8 // 6
        cores.append(encoded[start:end])
    return cores


def needles(spec: dict) -> list[tuple[str, bytes]]:
    found = []
    for label, text in spec["secrets"].items():
        raw = text.encode("utf-8")
        found += [(label, raw), (f"{label} (base64)", base64.b64encode(raw))]
    for label, text in spec.get("tokens", {}).items():
        raw = text.encode("utf-8")
        found.append((label, raw))
        found += [(f"{label} (base64, offset {index})", core) for index, core in enumerate(base64_cores(raw))]
    return found


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    searched = needles(spec)
    hits: dict[str, list[str]] = {}
    missing = []
    for path in spec["files"]:
        if not os.path.exists(path):
            missing.append(path)
            continue
        with open(path, "rb") as handle:
            data = handle.read()
        labels = sorted({label for label, needle in searched if needle in data})
        if labels:
            hits[path] = labels
    print(json.dumps({"hits": hits, "missing": missing, "needles": len(searched)}))


if __name__ == "__main__":
    main()
