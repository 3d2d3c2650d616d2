# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Config drive v2 (Nova's nova/virt/configdrive.py and api/metadata/base.py), as ISO 9660 with pycdlib.

Like Nova's ``genisoimage -V config-2 -r -J``: the volume label is
``config-2`` and Rock Ridge plus Joliet carry the real file names, so a guest
mounting it sees ``openstack/latest/meta_data.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tempfile
import traceback
from typing import Any

try:
    import pycdlib

    HAS_PYCDLIB = True
    PYCDLIB_IMPORT_ERROR: str | None = None
except ImportError:
    pycdlib = None
    HAS_PYCDLIB = False
    PYCDLIB_IMPORT_ERROR = traceback.format_exc()

VOLUME_LABEL = "config-2"
VERSION_DIR = "openstack/latest"


def config_drive_files(
    meta_data: dict[str, Any],
    network_data: dict[str, Any],
    user_data: bytes | None,
    vendor_data: dict[str, Any] | None = None,
) -> dict[str, bytes]:
    """Path on the drive → content; the whole of what the guest sees."""
    files = {
        f"{VERSION_DIR}/meta_data.json": json.dumps(meta_data).encode(),
        f"{VERSION_DIR}/network_data.json": json.dumps(network_data).encode(),
        f"{VERSION_DIR}/vendor_data.json": json.dumps(vendor_data or {}).encode(),
    }
    if user_data is not None:
        files[f"{VERSION_DIR}/user_data"] = user_data
    return files


def content_sha256(files: dict[str, bytes]) -> str:
    """A digest of the drive's files, stable across builds (the ISO bytes carry a timestamp)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        content = files[path]
        digest.update(f"{path}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def iso9660_name(name: str, is_dir: bool = False) -> str:
    """An ISO 9660 level 1 name (8.3, upper case) for ``name``; Rock Ridge and Joliet keep the real one."""
    stem = re.sub(r"[^A-Z0-9_]", "_", name.partition(".")[0].upper())[:8]
    extension = name.partition(".")[2]
    if is_dir:
        return stem
    extension = re.sub(r"[^A-Z0-9_]", "_", extension.upper())[:3]
    return f"{stem}.{extension};1"


def _iso_path(path: str, is_dir: bool = False) -> str:
    parts = path.split("/")
    names = [iso9660_name(part, is_dir=True) for part in parts[:-1]]
    names.append(iso9660_name(parts[-1], is_dir=is_dir))
    return "/" + "/".join(names)


def _directories(paths: list[str]) -> list[str]:
    directories: list[str] = []
    for path in paths:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directory = "/".join(parts[:depth])
            if directory not in directories:
                directories.append(directory)
    return directories


def write_iso(path: str, files: dict[str, bytes]) -> None:
    """Write ``files`` as a config-2 ISO at ``path`` atomically, mode 0600."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3, rock_ridge="1.09", vol_ident=VOLUME_LABEL)
    try:
        for directory in _directories(sorted(files)):
            iso.add_directory(
                _iso_path(directory, is_dir=True),
                rr_name=directory.rsplit("/", 1)[-1],
                joliet_path=f"/{directory}",
            )
        for name in sorted(files):
            content = files[name]
            iso.add_fp(
                io.BytesIO(content),
                len(content),
                _iso_path(name),
                rr_name=name.rsplit("/", 1)[-1],
                joliet_path=f"/{name}",
            )
        fd, temp_path = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".config-drive-")
        try:
            with os.fdopen(fd, "wb") as temp:
                iso.write_fp(temp)
                temp.flush()
                os.fsync(temp.fileno())
            os.chmod(temp_path, 0o600)
            os.replace(temp_path, path)
        except BaseException:
            os.unlink(temp_path)
            raise
    finally:
        iso.close()


def build_config_drive(
    path: str,
    meta_data: dict[str, Any],
    network_data: dict[str, Any],
    user_data: bytes | None,
    vendor_data: dict[str, Any] | None = None,
) -> None:
    """Write the config drive ISO for these documents to ``path``."""
    write_iso(path, config_drive_files(meta_data, network_data, user_data, vendor_data))


def _key_pairs(instance: dict[str, Any]) -> list[dict[str, str]]:
    pairs = instance.get("key_pairs")
    if pairs is None and instance.get("key_name") and instance.get("key_data"):
        pairs = [{"name": instance["key_name"], "public_key": instance["key_data"]}]
    return [
        {"name": pair["name"], "type": pair.get("type", "ssh"), "data": pair.get("public_key", pair.get("data"))}
        for pair in pairs or []
    ]


def meta_data_for(instance: dict[str, Any], admin_pass: str | None) -> dict[str, Any]:
    """Nova's openstack/latest/meta_data.json for ``instance``.

    Reads ``uuid``, ``name``, ``hostname`` (default: name), ``launch_index``,
    ``availability_zone``, ``metadata`` (or ``meta``) and the key pairs as
    ``key_pairs: [{name, public_key}]`` (or Nova's ``key_name`` + ``key_data``).
    """
    keys = _key_pairs(instance)
    meta_data: dict[str, Any] = {
        "uuid": instance["uuid"],
        "name": instance["name"],
        "hostname": instance.get("hostname") or instance["name"],
        "launch_index": instance.get("launch_index", 0),
        "availability_zone": instance.get("availability_zone") or "nova",
        "meta": dict(instance.get("metadata") or instance.get("meta") or {}),
        "public_keys": {key["name"]: key["data"] for key in keys},
        "keys": keys,
        "devices": [],
    }
    if instance.get("project_id"):
        meta_data["project_id"] = instance["project_id"]
    if admin_pass is not None:
        meta_data["admin_pass"] = admin_pass
    return meta_data
