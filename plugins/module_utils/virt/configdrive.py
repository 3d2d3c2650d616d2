# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Config drive v2 (Nova's nova/virt/configdrive.py and api/metadata/base.py), as ISO 9660 with pycdlib.

Like Nova's ``genisoimage -V config-2 -r -J``: the volume label is
``config-2`` and Rock Ridge plus Joliet carry the real file names, so a guest
mounting it sees ``openstack/latest/meta_data.json`` and the same documents
under each of Nova's dated version folders (each with the files that version
had), and injected files under ``openstack/content/NNNN``.  A NoCloud seed
(``virt/nocloud.py``, label ``cidata``) is the alternative format.

Nova's ``random_seed`` (512 random bytes, base64, from Havana on; cloud-init
seeds the guest's RNG with it) is added only when the drive is written
(``with_random_seed``): the digest that decides whether a drive must be
rebuilt is taken without it, so a re-run does not rebuild an unchanged drive.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import tempfile
import traceback
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import config_drive as config_drive_request
from ansible_collections.nimbus.compute.plugins.module_utils.objects.quotas import project_of
from ansible_collections.nimbus.compute.plugins.module_utils.virt import nocloud

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
CONTENT_DIR = "openstack/content"

# Nova's OpenStack metadata versions (api/metadata/base.py), oldest first.
FOLSOM = "2012-08-10"
GRIZZLY = "2013-04-04"
HAVANA = "2013-10-17"
LIBERTY = "2015-10-15"
NEWTON_ONE = "2016-06-30"
NEWTON_TWO = "2016-10-06"
OCATA = "2017-02-22"
ROCKY = "2018-08-27"
VICTORIA = "2020-10-14"
OPENSTACK_VERSIONS = (FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY, VICTORIA)
# meta_data.json keys that appeared after Folsom: older versions go without them.
META_DATA_KEY_SINCE = {"devices": NEWTON_ONE, "project_id": ROCKY, "random_seed": HAVANA}
RANDOM_SEED_BYTES = 512


def _since(version: str, first: str) -> bool:
    """Whether metadata ``version`` (a date or ``latest``) has what appeared in ``first``."""
    return version == "latest" or version >= first


def _content_path(index: int) -> str:
    return f"/content/{index:04d}"


def config_drive_files(
    meta_data: dict[str, Any],
    network_data: dict[str, Any],
    user_data: bytes | None,
    vendor_data: dict[str, Any] | None = None,
    injected_files: list[tuple[str, bytes]] | None = None,
) -> dict[str, bytes]:
    """Path on the drive → content; the whole of what the guest sees (Nova's ``metadata_for_config_drive``)."""
    meta_data = dict(meta_data)
    injected_files = injected_files or []
    if injected_files:
        meta_data["files"] = [
            {"path": path, "content_path": _content_path(index)}
            for index, (path, _content) in enumerate(injected_files)
        ]
    files: dict[str, bytes] = {}
    for version in (*OPENSTACK_VERSIONS, "latest"):
        folder = f"openstack/{version}"
        versioned = {
            key: value
            for key, value in meta_data.items()
            if key not in META_DATA_KEY_SINCE or _since(version, META_DATA_KEY_SINCE[key])
        }
        files[f"{folder}/meta_data.json"] = json.dumps(versioned).encode()
        if user_data is not None:
            files[f"{folder}/user_data"] = user_data
        if _since(version, HAVANA):
            files[f"{folder}/vendor_data.json"] = json.dumps(vendor_data or {}).encode()
        if _since(version, LIBERTY):
            files[f"{folder}/network_data.json"] = json.dumps(network_data).encode()
        if _since(version, NEWTON_TWO):
            files[f"{folder}/vendor_data2.json"] = b"{}"
    for index, (_path, content) in enumerate(injected_files):
        files[f"openstack{_content_path(index)}"] = content
    return files


def drive_files(config_drive: dict[str, Any]) -> dict[str, bytes]:
    """The files of the drive ``config_drive`` describes, in its format.

    ``config_drive``: {meta_data, network_data, user_data (str or bytes or None),
    vendor_data, format (``config-2`` or ``nocloud``, default config-2),
    files (the request's ``files``, see objects.config_drive)}.
    """
    fmt = config_drive.get("format") or config_drive_request.DEFAULT_FORMAT
    if fmt not in config_drive_request.FORMATS:
        raise InvalidInput("config_drive_format", f"must be one of {', '.join(config_drive_request.FORMATS)}")
    injected = config_drive_request.decode_files(config_drive.get("files"))
    config_drive_request.check_files_fit_format(injected, fmt)
    user_data = config_drive.get("user_data")
    if isinstance(user_data, str):
        user_data = user_data.encode()
    if fmt == config_drive_request.NOCLOUD:
        return nocloud.seed_files(config_drive["meta_data"], config_drive["network_data"], user_data)
    return config_drive_files(
        config_drive["meta_data"], config_drive["network_data"], user_data, config_drive.get("vendor_data"), injected
    )


def with_random_seed(files: dict[str, bytes], seed: bytes | None = None) -> dict[str, bytes]:
    """``files`` with Nova's ``random_seed`` in every meta_data.json of a version that has it.

    A NoCloud seed has no such key and is returned as it is.
    """
    encoded = base64.b64encode(seed if seed is not None else os.urandom(RANDOM_SEED_BYTES)).decode("ascii")
    seeded = dict(files)
    for path, content in files.items():
        folder, _sep, name = path.rpartition("/")
        version = folder.rpartition("/")[2]
        if name == "meta_data.json" and _since(version, META_DATA_KEY_SINCE["random_seed"]):
            seeded[path] = json.dumps({**json.loads(content), "random_seed": encoded}).encode()
    return seeded


def volume_label(files: dict[str, bytes]) -> str:
    """The label the guest looks for: ``cidata`` for a NoCloud seed, ``config-2`` otherwise."""
    return nocloud.VOLUME_LABEL if nocloud.is_seed(files) else VOLUME_LABEL


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


def _iso_paths(paths: list[str], directories: set[str]) -> dict[str, str]:
    """Each path (file or directory) → its ISO 9660 path, with names made unique within their directory."""
    result: dict[str, str] = {"": ""}
    taken: dict[str, set[str]] = {}
    for path in sorted(paths, key=lambda item: (item.count("/"), item)):
        parent, _sep, name = path.rpartition("/")
        iso_parent = result[parent]
        is_dir = path in directories
        iso_name = iso9660_name(name, is_dir=is_dir)
        used = taken.setdefault(iso_parent, set())
        counter = 0
        while iso_name in used:
            counter += 1
            stem, dot, rest = iso9660_name(name, is_dir=is_dir).partition(".")
            suffix = str(counter)
            iso_name = f"{stem[: 8 - len(suffix)]}{suffix}{dot}{rest}"
        used.add(iso_name)
        result[path] = f"{iso_parent}/{iso_name}"
    return result


def _directories(paths: list[str]) -> list[str]:
    directories: list[str] = []
    for path in paths:
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            directory = "/".join(parts[:depth])
            if directory not in directories:
                directories.append(directory)
    return directories


def write_iso(path: str, files: dict[str, bytes], label: str | None = None) -> None:
    """Write ``files`` as an ISO at ``path`` atomically, mode 0600; the label defaults to ``volume_label(files)``."""
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=1, joliet=3, rock_ridge="1.09", vol_ident=label or volume_label(files))
    directories = _directories(sorted(files))
    iso_paths = _iso_paths([*directories, *files], set(directories))
    try:
        for directory in directories:
            iso.add_directory(
                iso_paths[directory],
                rr_name=directory.rsplit("/", 1)[-1],
                joliet_path=f"/{directory}",
            )
        for name in sorted(files):
            content = files[name]
            iso.add_fp(
                io.BytesIO(content),
                len(content),
                iso_paths[name],
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


def _keys(instance: dict[str, Any]) -> list[dict[str, str]]:
    """The instance's key pairs as Nova's ``keys``: ``key_name``'s key alone, else every key of ``public_keys``.

    ``public_keys`` maps key names to OpenSSH public keys (the request's
    option); ``key_name`` picks one of them, as Nova's key_name picks one of
    the user's key pairs.
    """
    public_keys = instance.get("public_keys") or {}
    key_name = instance.get("key_name")
    names = [key_name] if key_name else sorted(public_keys)
    return [{"name": name, "type": "ssh", "data": public_keys[name]} for name in names if name in public_keys]


def meta_data_for(instance: dict[str, Any], admin_pass: str | None) -> dict[str, Any]:
    """Nova's openstack/latest/meta_data.json for ``instance`` (without ``random_seed``, see ``with_random_seed``).

    Reads ``uuid``, ``name``, ``hostname`` (default: name), ``launch_index``,
    ``availability_zone``, ``metadata``, ``project_id`` and the keys
    (``public_keys`` and ``key_name``, as the instance record holds them).
    """
    keys = _keys(instance)
    meta_data: dict[str, Any] = {
        "uuid": instance["uuid"],
        "name": instance["name"],
        "hostname": instance.get("hostname") or instance["name"],
        "launch_index": instance.get("launch_index", 0),
        "availability_zone": instance.get("availability_zone") or "nova",
        "meta": dict(instance.get("metadata") or {}),
        "public_keys": {key["name"]: key["data"] for key in keys},
        "keys": keys,
        "devices": [],
        "project_id": project_of(instance),
    }
    if admin_pass is not None:
        meta_data["admin_pass"] = admin_pass
    return meta_data
