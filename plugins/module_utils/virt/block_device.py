# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance's disks on the compute host: the body of the ``block_device_map`` module.

Nova's ``_create_image``: the image lands in the cache (``<instances_path>/_base``),
the root disk is a qcow2 overlay on it (``<instances_path>/<uuid>/disk``) and the
config drive sits beside it (``disk.config``). What has to change is decided
first (pure functions over what exists) and done only outside check mode.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid as uuid_lib
from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import Conflict, ImageError, InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.virt import configdrive, imagecache
from ansible_collections.nimbus.compute.plugins.module_utils.virt.blockinfo import get_disk_mapping

GiB = 1024 * 1024 * 1024
BASE_DIR = "_base"
DISK = "disk"
CONFIG_DRIVE = "disk.config"
CONFIG_DRIVE_DIGEST = "disk.config.sha256"

CREATE = "create"
RESIZE = "resize"


class DiskInUse(Conflict):
    """The instance's disk exists but belongs to another image or is larger than asked: never overwritten."""


def check_uuid(value: str) -> str:
    """``value`` if it is a canonical (lower case, hyphenated) UUID; it becomes a directory name."""
    try:
        canonical = str(uuid_lib.UUID(value))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidInput("uuid", "must be a canonical UUID", value=value) from exc
    if canonical != value:
        raise InvalidInput("uuid", "must be a canonical UUID", value=value)
    return value


def instance_dir(instances_path: str, uuid: str) -> str:
    return os.path.join(os.path.abspath(instances_path), check_uuid(uuid))


def root_size_bytes(root_gb: int, image_size: int | None) -> int | None:
    """The root disk's virtual size: root_gb GiB, or the image's own size for root_gb 0 (like Nova)."""
    if root_gb < 0:
        raise InvalidInput("root_gb", "must not be negative", value=root_gb)
    if root_gb == 0:
        return image_size
    if image_size is not None and image_size > root_gb * GiB:
        raise ImageError(
            f"image virtual size {image_size} bytes is larger than the flavor's root disk of {root_gb} GiB",
            virtual_size=image_size,
            root_gb=root_gb,
        )
    return root_gb * GiB


def check_image(info: dict[str, Any], disk_format: str | None, source: str) -> None:
    """Refuse an image whose probed format is not the declared one, or that has a backing file.

    A raw image can look like qcow2 and name any host file as its backing file
    (the reason for Nova's format inspector).
    """
    if disk_format and info["format"] != disk_format:
        raise ImageError(
            f"image {source} is {info['format']}, declared {disk_format}",
            actual=info["format"],
            expected=disk_format,
        )
    if info.get("backing_file"):
        raise ImageError(f"image {source} has a backing file; images must be self-contained", source=source)


def disk_action(existing: dict[str, Any] | None, backing_file: str | None, size: int | None) -> str | None:
    """What the root disk needs: CREATE, RESIZE (grow) or None; DiskInUse when it cannot be made right.

    ``backing_file`` or ``size`` None means not known yet (check mode before
    the image is cached): not compared.
    """
    if existing is None:
        return CREATE
    if existing["format"] != "qcow2" or (backing_file is not None and existing.get("backing_file") != backing_file):
        raise DiskInUse(
            "the instance's disk exists with another image; remove the instance's disks first",
            backing_file=existing.get("backing_file"),
            expected=backing_file,
        )
    if size is None or existing["virtual_size"] == size:
        return None
    if existing["virtual_size"] > size:
        raise DiskInUse(
            f"the instance's disk is {existing['virtual_size']} bytes, larger than {size}: disks do not shrink",
            virtual_size=existing["virtual_size"],
            expected=size,
        )
    return RESIZE


def read_recorded_digest(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


def config_drive_needs_build(drive_exists: bool, recorded_digest: str | None, digest: str) -> bool:
    return not drive_exists or recorded_digest != digest


def _write_text_atomic(path: str, text: str) -> None:
    fd, temp_path = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".digest-")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as temp:
            temp.write(text)
        os.replace(temp_path, path)
    except BaseException:
        os.unlink(temp_path)
        raise


def _create_overlay(path: str, backing_file: str, backing_format: str, size: int) -> None:
    # Created under a temporary name: a half-made disk never looks finished.
    partial = f"{path}.part"
    command = ["qemu-img", "create", "-q", "-f", "qcow2", "-b", backing_file, "-F", backing_format, partial, str(size)]
    try:
        imagecache.run_qemu_img(command)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


def _existing_info(path: str) -> dict[str, Any] | None:
    return imagecache.image_info(path) if os.path.exists(path) else None


def _cached_image(base_dir: str, image: dict[str, Any], existing_disk: dict[str, Any] | None) -> str | None:
    """Path of the image in the cache if it is there and knowable without fetching."""
    sha256 = image.get("sha256")
    if sha256:
        path = os.path.join(base_dir, imagecache.check_sha256(sha256))
    elif not imagecache.is_url(image["source"]):
        path = os.path.join(base_dir, imagecache.source_sha256(image["source"]))
    elif existing_disk and os.path.dirname(existing_disk.get("backing_file") or "") == base_dir:
        # A URL without checksum is known by its content only: trust the disk
        # made from it rather than downloading it again on every run.
        path = existing_disk["backing_file"]
    else:
        return None
    return path if os.path.exists(path) else None


def _file_size(path: str) -> int | None:
    return os.path.getsize(path) if os.path.exists(path) else None


def block_device_info(
    directory: str, mapping: dict[str, dict[str, Any]], root_size: int | None, config_size: int | None
) -> dict[str, Any]:
    """The block_device_info record of docs/CONTRACTS.md."""
    root = mapping["disk"]
    disks = [
        {
            "device_name": root["dev"],
            "path": os.path.join(directory, DISK),
            "bus": root["bus"],
            "type": root["type"],
            "format": "qcow2",
            "boot_index": root["boot_index"],
            "size_bytes": root_size,
        }
    ]
    if "disk.config" in mapping:
        drive = mapping["disk.config"]
        disks.append(
            {
                "device_name": drive["dev"],
                "path": os.path.join(directory, CONFIG_DRIVE),
                "bus": drive["bus"],
                "type": drive["type"],
                "format": "raw",
                "boot_index": drive["boot_index"],
                "size_bytes": config_size,
            }
        )
    return {"root_device_name": f"/dev/{root['dev']}", "instance_dir": directory, "disks": disks}


def _config_drive_files(config_drive: dict[str, Any]) -> dict[str, bytes]:
    return configdrive.drive_files(config_drive)


def _undo(undo: list[Callable[[], None]]) -> None:
    for step in reversed(undo):
        step()


def _remove_file(path: str) -> Callable[[], None]:
    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    return remove


def ensure_block_devices(spec: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Make the instance's disks exist as ``spec`` says: {changed, block_device_info}.

    On failure, what this call created is removed (the image stays in the
    cache: it is verified and shared by every instance of that image).
    """
    directory = instance_dir(spec["instances_path"], spec["uuid"])
    base_dir = os.path.join(os.path.abspath(spec["instances_path"]), BASE_DIR)
    image = spec["image"]
    config_drive = spec.get("config_drive")
    mapping = get_disk_mapping(
        root_bus=spec.get("disk_bus") or "virtio",
        has_config_drive=config_drive is not None,
        config_drive_bus=spec.get("config_drive_bus") or "ide",
    )
    disk_path = os.path.join(directory, DISK)
    drive_path = os.path.join(directory, CONFIG_DRIVE)
    digest_path = os.path.join(directory, CONFIG_DRIVE_DIGEST)

    existing_disk = _existing_info(disk_path)
    cached = _cached_image(base_dir, image, existing_disk)
    changed = cached is None
    undo: list[Callable[[], None]] = []
    try:
        if cached is None and not check_mode:
            cached = imagecache.fetch_image(image["source"], image.get("sha256"), base_dir)
        image_size = None
        backing_format = None
        if cached is not None:
            info = imagecache.image_info(cached)
            check_image(info, image.get("disk_format"), image["source"])
            image_size = info["virtual_size"]
            backing_format = info["format"]
        root_size = root_size_bytes(spec["root_gb"], image_size)

        action = disk_action(existing_disk, cached, root_size)
        drive_files = _config_drive_files(config_drive) if config_drive is not None else None
        drive_digest = configdrive.content_sha256(drive_files) if drive_files is not None else None
        build_drive = drive_files is not None and config_drive_needs_build(
            os.path.exists(drive_path), read_recorded_digest(digest_path), drive_digest
        )
        # A config drive no longer asked for goes, or the guest would keep seeing it on a redefine.
        stale_drive = [path for path in (drive_path, digest_path) if drive_files is None and os.path.exists(path)]
        changed = changed or action is not None or build_drive or bool(stale_drive)
        if not check_mode:
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700)
                undo.append(lambda: shutil.rmtree(directory, ignore_errors=True))
            if action == CREATE:
                _create_overlay(disk_path, cached, backing_format, root_size)
                undo.append(_remove_file(disk_path))
            elif action == RESIZE:
                imagecache.run_qemu_img(["qemu-img", "resize", "-q", "-f", "qcow2", disk_path, str(root_size)])
            if build_drive:
                drive_existed = os.path.exists(drive_path)
                configdrive.write_iso(drive_path, drive_files)
                if not drive_existed:
                    undo.append(_remove_file(drive_path))
                _write_text_atomic(digest_path, drive_digest + "\n")
            for path in stale_drive:
                os.unlink(path)
    except BaseException:
        _undo(undo)
        raise
    return {
        "changed": changed,
        "block_device_info": block_device_info(directory, mapping, root_size, _file_size(drive_path)),
    }


def remove_block_devices(instances_path: str, uuid: str, check_mode: bool) -> dict[str, Any]:
    """Remove ``<instances_path>/<uuid>/`` and everything in it: {changed}. The image cache stays."""
    directory = instance_dir(instances_path, uuid)
    exists = os.path.lexists(directory)
    if exists and not check_mode:
        if os.path.islink(directory) or not os.path.isdir(directory):
            os.unlink(directory)
        else:
            shutil.rmtree(directory)
    return {"changed": exists}
