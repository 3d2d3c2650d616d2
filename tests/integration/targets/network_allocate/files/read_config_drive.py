#!/usr/bin/env python
# Copyright: (c) nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print one file of a config drive ISO: read_config_drive.py ISO /openstack/latest/network_data.json"""

from __future__ import annotations

import io
import sys

import pycdlib


def main(iso_path: str, path: str) -> int:
    iso = pycdlib.PyCdlib()
    iso.open(iso_path)
    try:
        out = io.BytesIO()
        kind = "rr_path" if iso.has_rock_ridge() else "joliet_path" if iso.has_joliet() else "iso_path"
        iso.get_file_from_iso_fp(out, **{kind: path})
    finally:
        iso.close()
    sys.stdout.write(out.getvalue().decode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
