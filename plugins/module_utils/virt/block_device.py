# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An instance's disks on the compute host: the body of the ``block_device_map`` module.

Nova's ``_create_image``: the image lands in the cache (``<instances_path>/_base``),
the root disk is a qcow2 overlay on it (``<instances_path>/<uuid>/disk``) and the
config drive sits beside it (``disk.config``). What has to change is decided
first (pure functions over what exists) and done only outside check mode.

An instance directory is nimbus's when it holds nimbus's mark (OWNER_MARK,
written right after the directory is made) naming the instance, or, for
directories made before the mark existed, when it holds nothing but regular
files of the names nimbus writes. Any other directory (or file, or symbolic
link) at ``<instances_path>/<uuid>`` is never written into nor removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
import uuid as uuid_lib
from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import Conflict, ImageError, InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import block_device as bdm_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects.block_device import SWAP
from ansible_collections.nimbus.compute.plugins.module_utils.virt import configdrive, imagecache
from ansible_collections.nimbus.compute.plugins.module_utils.virt import volume as volume_mod
from ansible_collections.nimbus.compute.plugins.module_utils.virt.blockinfo import get_disk_mapping_for_bdms

MiB = 1024 * 1024
GiB = 1024 * MiB
BASE_DIR = "_base"
DISK = "disk"
CONFIG_DRIVE = "disk.config"
CONFIG_DRIVE_DIGEST = "disk.config.sha256"
# The volumes the instance uses and which go with it: read by delete.
VOLUMES_RECORD = "volumes.json"
# {"instance_uuid", "made_by"}: written into every instance directory nimbus makes, before anything else.
OWNER_MARK = "nimbus-instance.json"
MADE_BY = "nimbus.compute"
# Everything nimbus (and virtlogd, for the console log it rotates) writes into an instance
# directory, finished or half made: what an unmarked directory of an older nimbus may hold.
NIMBUS_FILE_NAMES = re.compile(
    r"disk(\.eph\d+|\.swap|\.config)?(\.part)?|disk\.config\.sha256|volumes\.json|console\.log(\.\d+)?"
    r"|\.(digest|config-drive)-\w+"
)

CREATE = "create"
RESIZE = "resize"


class DiskInUse(Conflict):
    """The instance's disk exists but belongs to another image or is larger than asked: never overwritten."""


class InstanceDirNotOwned(Conflict):
    """``<instances_path>/<uuid>`` exists but nimbus did not make it for the instance: nothing written or removed.

    Not reschedulable, like a domain with the instance's uuid: what carries the
    instance's uuid is most likely its own, moved or restored by hand, and the
    build's rollback would refuse to remove it as well.
    """


# What an InstanceDirNotOwned means for the step that meets it.
BUILD_STOPS = "the build stops here"
DELETE_STOPS = (
    "the delete stops here with nothing removed; move out what is not the instance's (or remove the directory "
    "yourself), then delete again"
)


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


def owner_mark_text(uuid: str) -> str:
    return json.dumps({"instance_uuid": uuid, "made_by": MADE_BY}) + "\n"


def not_ours_reason(uuid: str, kind: str, mark: str | None, entries: dict[str, bool]) -> str | None:
    """Why the path of instance ``uuid``'s directory is not nimbus's directory for it; None when it is.

    ``kind`` is "directory", "symlink" or "file"; ``mark`` the text of its
    OWNER_MARK (None without one); ``entries`` name -> whether it is a regular file.
    An unmarked directory is an older nimbus's when all it holds are regular
    files of NIMBUS_FILE_NAMES (nothing at all: a build stopped right after it
    made the directory).
    """
    if kind != "directory":
        return f"it is a {'symbolic link' if kind == 'symlink' else 'file'}, not a directory nimbus made"
    if mark is not None:
        try:
            recorded = json.loads(mark)
        except ValueError:
            recorded = None
        if not isinstance(recorded, dict) or recorded.get("made_by") != MADE_BY:
            return f"its {OWNER_MARK} is not nimbus's"
        if recorded.get("instance_uuid") != uuid:
            return f"nimbus made it for instance {recorded.get('instance_uuid')}"
        return None
    foreign = sorted(name for name, regular in entries.items() if not regular or not NIMBUS_FILE_NAMES.fullmatch(name))
    if not foreign:
        return None
    shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
    return f"it has no {OWNER_MARK} and holds {shown}, which nimbus does not write"


def _path_kind(path: str) -> str:
    mode = os.lstat(path).st_mode
    return "directory" if stat.S_ISDIR(mode) else "symlink" if stat.S_ISLNK(mode) else "file"


def _read_mark(directory: str) -> str | None:
    path = os.path.join(directory, OWNER_MARK)
    if not os.path.lexists(path):
        return None
    if not os.path.isfile(path) or os.path.islink(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read(4096)


def check_instance_dir(directory: str, uuid: str, consequence: str) -> None:
    """InstanceDirNotOwned when something is at ``directory`` that nimbus did not make for instance ``uuid``."""
    if not os.path.lexists(directory):
        return
    kind = _path_kind(directory)
    mark = _read_mark(directory) if kind == "directory" else None
    entries = (
        {entry.name: entry.is_file(follow_symlinks=False) for entry in os.scandir(directory)}
        if kind == "directory" and mark is None
        else {}
    )
    reason = not_ours_reason(uuid, kind, mark, entries)
    if reason is not None:
        raise InstanceDirNotOwned(
            f"{directory} exists but nimbus did not make it for instance {uuid} ({reason}): "
            f"nimbus writes nothing into it and removes nothing from it; {consequence}",
            path=directory,
            instance_uuid=uuid,
            reason=reason,
        )


def _make_instance_dir(directory: str, uuid: str) -> bool:
    """Make the instance directory with nimbus's mark in it; False when it was there already (and is nimbus's)."""
    try:
        os.makedirs(directory, mode=0o700)
    except FileExistsError:
        # There before (checked already) or made since: checked (again).
        check_instance_dir(directory, uuid, BUILD_STOPS)
        return False
    try:
        _write_text_atomic(os.path.join(directory, OWNER_MARK), owner_mark_text(uuid))
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return True


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


def _undo(undo: list[Callable[[], None]]) -> None:
    for step in reversed(undo):
        step()


def _remove_file(path: str) -> Callable[[], None]:
    def remove() -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    return remove


def _file_size(path: str) -> int | None:
    return os.path.getsize(path) if os.path.exists(path) else None


def local_disk_action(existing_size: int | None, size: int) -> str | None:
    """What an ephemeral or swap disk needs: CREATE or None; DiskInUse when it has another size."""
    if existing_size is None:
        return CREATE
    if existing_size != size:
        raise DiskInUse(
            f"the instance's disk is {existing_size} bytes, expected {size}: local disks are not resized",
            size_bytes=existing_size,
            expected=size,
        )
    return None


def local_disk_size(bdm: dict[str, Any]) -> int:
    """Bytes of a blank local disk: swap volume_size is in MB, ephemeral in GB (as in Nova)."""
    return bdm["volume_size"] * (MiB if bdm["guest_format"] == SWAP else GiB)


def format_command(path: str, guest_format: str, label: str) -> list[str]:
    """The command that formats a blank local disk file, without mounting it (Nova's _create_ephemeral/_create_swap)."""
    if guest_format == SWAP:
        return ["mkswap", "-L", label, path]
    return [f"mkfs.{guest_format}", "-q", "-F", "-L", label, path]


def _create_local_disk(path: str, size: int, guest_format: str, label: str) -> None:
    partial = f"{path}.part"
    try:
        with open(partial, "wb") as handle:
            handle.truncate(size)
        os.chmod(partial, 0o600)
        imagecache.run_qemu_img(format_command(partial, guest_format, label))
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


def _disk(info: dict[str, Any], path: str, fmt: str, size: int | None, bdm: dict[str, Any] | None) -> dict[str, Any]:
    disk = {
        "device_name": info["dev"],
        "path": path,
        "bus": info["bus"],
        "type": info["type"],
        "format": fmt,
        "boot_index": info["boot_index"],
        "size_bytes": size,
    }
    if bdm is not None:
        disk.update(
            source_type=bdm["source_type"],
            destination_type=bdm["destination_type"],
            guest_format=bdm["guest_format"],
            delete_on_termination=bdm["delete_on_termination"],
        )
    return disk


def disk_order(key: str) -> tuple[int, int]:
    """Where a blockinfo key comes in block_device_info: root, ephemerals, swap, volumes, config drive."""
    if key == "disk.config":
        return (4, 0)
    if key.startswith("disk.eph"):
        return (1, int(key[len("disk.eph") :]))
    if key == "disk.swap":
        return (2, 0)
    if key.startswith("volume"):
        return (3, int(key[len("volume") :]))
    return (0, 0)


def block_device_info(
    directory: str, mapping: dict[str, dict[str, Any]], root_size: int | None, config_size: int | None
) -> dict[str, Any]:
    """The block_device_info record of docs/CONTRACTS.md for an image-backed root and the config drive only."""
    disks = [_disk(mapping["disk"], os.path.join(directory, DISK), "qcow2", root_size, None)]
    if "disk.config" in mapping:
        disks.append(_disk(mapping["disk.config"], os.path.join(directory, CONFIG_DRIVE), "raw", config_size, None))
    return {"root_device_name": f"/dev/{mapping['root']['dev']}", "instance_dir": directory, "disks": disks}


def default_block_device_mapping(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The mapping of an instance that has none on record: root from the image, the flavor's ephemeral and swap."""
    flavor = {"ephemeral_gb": spec.get("ephemeral_gb") or 0, "swap_mb": spec.get("swap_mb") or 0}
    image = {"name": spec["image"].get("name") or "image", "min_disk": 0}
    return bdm_obj.validate_block_device_mapping([], flavor, image)


def volume_name(uuid: str, index: int, bdm: dict[str, Any]) -> str:
    return bdm["uuid"] if bdm["source_type"] == "volume" else volume_mod.created_volume_name(uuid, index)


def read_volume_record(directory: str) -> list[dict[str, Any]]:
    """The volumes this instance uses, as recorded at mapping time (what delete must decide on)."""
    try:
        with open(os.path.join(directory, VOLUMES_RECORD), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return []


def volume_users(instances_path: str, name: str, excluding: str) -> list[str]:
    """Instances on this host (other than ``excluding``) whose recorded volumes include ``name``."""
    users = []
    root = os.path.abspath(instances_path)
    if not os.path.isdir(root):
        return users
    for entry in sorted(os.scandir(root), key=lambda item: item.name):
        if entry.name == excluding or entry.name.startswith("_") or not entry.is_dir(follow_symlinks=False):
            continue
        if any(record["name"] == name for record in read_volume_record(entry.path)):
            users.append(entry.name)
    return users


def volumes_to_delete(record: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(deleted, kept) volume names on termination: Nova deletes only those with delete_on_termination."""
    deleted = [entry["name"] for entry in record if entry["delete_on_termination"]]
    kept = [entry["name"] for entry in record if not entry["delete_on_termination"]]
    return deleted, kept


class _Connection:
    """Opens libvirt only when a volume needs it, closes it once."""

    def __init__(self, connect: Callable[[], Any] | None) -> None:
        self._connect = connect
        self.conn: Any = None

    def get(self) -> Any:
        if self.conn is None:
            if self._connect is None:
                raise InvalidInput("block_device_mapping", "volumes need a libvirt connection")
            self.conn = self._connect()
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def ensure_block_devices(
    spec: dict[str, Any], check_mode: bool, connect: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Make the instance's disks exist as ``spec`` says: {changed, block_device_info}.

    Local disks (root overlay, ephemerals, swap, config drive) live in the
    instance directory; volumes in the storage pool ``spec['volume_pool']``.
    On failure, what this call created is removed (the image stays in the
    cache: it is verified and shared by every instance of that image).
    """
    connection = _Connection(connect)
    try:
        return _ensure(spec, check_mode, connection)
    finally:
        connection.close()


def _plan_volumes(
    spec: dict[str, Any], bdms: list[dict[str, Any]], mapping: dict[str, dict[str, Any]], connection: _Connection
) -> dict[str, dict[str, Any]]:
    """blockinfo key -> {name, info (None: to be created)} for each volume of the mapping."""
    pool_name = spec["pool_name"]
    pool = None
    volumes: dict[str, dict[str, Any]] = {}
    for key in sorted((key for key in mapping if key.startswith("volume")), key=disk_order):
        bdm = bdms[mapping[key]["bdm_index"]]
        name = volume_name(spec["uuid"], mapping[key]["bdm_index"], bdm)
        if pool is None:
            pool = volume_mod.lookup_pool(connection.get(), pool_name)
        volume = volume_mod.lookup_volume(pool, name) if pool is not None else None
        if volume is None and bdm["source_type"] == "volume":
            raise volume_mod.VolumeNotFound(f"volume {name} does not exist in storage pool {pool_name}", volume=name)
        users = volume_users(spec["instances_path"], name, spec["uuid"]) if bdm["source_type"] == "volume" else []
        if users:
            # Nova's "volume is in-use": one writer per volume.
            raise Conflict(
                f"volume {name} is in use by instance {', '.join(users)}; delete that instance (or map the volume "
                "to it no more) before attaching it here",
                volume=name,
                instances=users,
            )
        volumes[key] = {
            "name": name,
            "info": volume_mod.volume_info(volume) if volume is not None else None,
            "bdm": bdm,
        }
    return volumes


def _plan_local_disks(
    directory: str, bdms: list[dict[str, Any]], mapping: dict[str, dict[str, Any]]
) -> dict[str, str | None]:
    """blockinfo key -> CREATE or None for the ephemeral and swap disks."""
    actions = {}
    for key, info in mapping.items():
        if key.startswith("disk.eph") or key == "disk.swap":
            path = os.path.join(directory, key)
            actions[key] = local_disk_action(_file_size(path), local_disk_size(bdms[info["bdm_index"]]))
    return actions


def _local_disk_label(key: str) -> str:
    return "swap" if key == "disk.swap" else key.replace("disk.eph", "ephemeral")


def _plan_config_drive(
    config_drive: dict[str, Any] | None, drive_path: str, digest_path: str
) -> tuple[dict[str, bytes] | None, str | None, bool, list[str]]:
    """(files, their digest, whether to build the drive, stale files to remove)."""
    drive_files = configdrive.drive_files(config_drive) if config_drive is not None else None
    drive_digest = configdrive.content_sha256(drive_files) if drive_files is not None else None
    build_drive = drive_files is not None and config_drive_needs_build(
        os.path.exists(drive_path), read_recorded_digest(digest_path), drive_digest
    )
    # A config drive no longer asked for goes, or the guest would keep seeing it on a redefine.
    stale_drive = [path for path in (drive_path, digest_path) if drive_files is None and os.path.exists(path)]
    return drive_files, drive_digest, build_drive, stale_drive


def _with_pool(spec: dict[str, Any]) -> dict[str, Any]:
    pool = spec.get("volume_pool") or {}
    return {
        **spec,
        "pool_name": pool.get("name") or volume_mod.DEFAULT_POOL,
        "pool_path": pool.get("path") or volume_mod.default_pool_path(spec["instances_path"]),
    }


def _volume_record(spec: dict[str, Any], volumes: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"name": v["name"], "pool": spec["pool_name"], "delete_on_termination": v["bdm"]["delete_on_termination"]}
        for v in volumes.values()
    ]


def _checked_image(cached: str | None, image: dict[str, Any]) -> tuple[int | None, str | None]:
    """(virtual size, format) of the cached image after checking it; (None, None) when not cached yet."""
    if cached is None:
        return None, None
    info = imagecache.image_info(cached)
    check_image(info, image.get("disk_format"), image["source"])
    return info["virtual_size"], info["format"]


def _ensure(spec: dict[str, Any], check_mode: bool, connection: _Connection) -> dict[str, Any]:
    directory = instance_dir(spec["instances_path"], spec["uuid"])
    check_instance_dir(directory, spec["uuid"], BUILD_STOPS)
    base_dir = os.path.join(os.path.abspath(spec["instances_path"]), BASE_DIR)
    config_drive = spec.get("config_drive")
    bdms = spec.get("block_device_mapping") or default_block_device_mapping(spec)
    mapping = get_disk_mapping_for_bdms(
        bdms,
        root_bus=spec.get("disk_bus") or "virtio",
        has_config_drive=config_drive is not None,
        config_drive_bus=spec.get("config_drive_bus") or "ide",
    )
    spec = _with_pool(spec)
    local_root = "disk" in mapping
    disk_path = os.path.join(directory, DISK)
    drive_path = os.path.join(directory, CONFIG_DRIVE)
    digest_path = os.path.join(directory, CONFIG_DRIVE_DIGEST)

    volumes = _plan_volumes(spec, bdms, mapping, connection)
    needs_image = local_root or any(v["info"] is None and v["bdm"]["source_type"] == "image" for v in volumes.values())
    existing_disk = _existing_info(disk_path) if local_root else None
    cached = _cached_image(base_dir, spec["image"], existing_disk) if needs_image else None
    changed = needs_image and cached is None
    undo: list[Callable[[], None]] = []
    try:
        if needs_image and cached is None and not check_mode:
            cached = imagecache.fetch_image(spec["image"]["source"], spec["image"].get("sha256"), base_dir)
        image_size, backing_format = _checked_image(cached, spec["image"])
        root_size = root_size_bytes(spec["root_gb"], image_size) if local_root else None
        action = disk_action(existing_disk, cached, root_size) if local_root else None
        local_actions = _plan_local_disks(directory, bdms, mapping)
        drive_files, drive_digest, build_drive, stale_drive = _plan_config_drive(config_drive, drive_path, digest_path)
        record = _volume_record(spec, volumes)
        record_changed = bool(record) and read_volume_record(directory) != record
        changed = (
            changed
            or action is not None
            or any(local_actions.values())
            or any(volume["info"] is None for volume in volumes.values())
            or build_drive
            or bool(stale_drive)
            or record_changed
        )
        if not check_mode:
            if _make_instance_dir(directory, spec["uuid"]):
                undo.append(lambda: shutil.rmtree(directory, ignore_errors=True))
            if action == CREATE:
                _create_overlay(disk_path, cached, backing_format, root_size)
                undo.append(_remove_file(disk_path))
            elif action == RESIZE:
                imagecache.run_qemu_img(["qemu-img", "resize", "-q", "-f", "qcow2", disk_path, str(root_size)])
            _create_local_disks(directory, bdms, mapping, local_actions, undo)
            _create_volumes(spec, volumes, cached, connection, undo)
            if record_changed:
                _write_text_atomic(os.path.join(directory, VOLUMES_RECORD), json.dumps(record) + "\n")
            if build_drive:
                drive_existed = os.path.exists(drive_path)
                configdrive.write_iso(drive_path, configdrive.with_random_seed(drive_files))
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
        "block_device_info": {
            "root_device_name": f"/dev/{mapping['root']['dev']}",
            "instance_dir": directory,
            "boot_from_volume": not local_root,
            "disks": _disks(spec, directory, bdms, mapping, volumes, root_size),
        },
    }


def _create_local_disks(
    directory: str,
    bdms: list[dict[str, Any]],
    mapping: dict[str, dict[str, Any]],
    actions: dict[str, str | None],
    undo: list[Callable[[], None]],
) -> None:
    for key, action in actions.items():
        if action == CREATE:
            bdm = bdms[mapping[key]["bdm_index"]]
            path = os.path.join(directory, key)
            _create_local_disk(path, local_disk_size(bdm), bdm["guest_format"], _local_disk_label(key))
            undo.append(_remove_file(path))


def _create_volumes(
    spec: dict[str, Any],
    volumes: dict[str, dict[str, Any]],
    cached: str | None,
    connection: _Connection,
    undo: list[Callable[[], None]],
) -> None:
    for volume in volumes.values():
        if volume["info"] is None:
            bdm = volume["bdm"]
            pool = volume_mod.ensure_pool(connection.get(), spec["pool_name"], spec["pool_path"])
            source = cached if bdm["source_type"] == "image" else None
            volume["info"] = volume_mod.create_volume(pool, volume["name"], bdm["volume_size"] * GiB, source)
            undo.append(_delete_volume(pool, volume["name"]))


def _disks(
    spec: dict[str, Any],
    directory: str,
    bdms: list[dict[str, Any]],
    mapping: dict[str, dict[str, Any]],
    volumes: dict[str, dict[str, Any]],
    root_size: int | None,
) -> list[dict[str, Any]]:
    """block_device_info's disks in device order: root, ephemerals, swap, volumes, config drive."""
    disks = []
    for key in sorted((key for key in mapping if key != "root"), key=disk_order):
        info = mapping[key]
        bdm = bdms[info["bdm_index"]] if "bdm_index" in info else None
        if key == "disk":
            disks.append(_disk(info, os.path.join(directory, DISK), "qcow2", root_size, bdm))
        elif key == "disk.config":
            drive_path = os.path.join(directory, CONFIG_DRIVE)
            disks.append(_disk(info, drive_path, "raw", _file_size(drive_path), None))
        elif key in volumes:
            volume = volumes[key]
            known = volume["info"] or {}
            path = known.get("path") or os.path.join(spec["pool_path"], volume["name"])
            disk = _disk(info, path, volume_mod.VOLUME_FORMAT, known.get("size_bytes") or bdm["volume_size"] * GiB, bdm)
            disk.update(volume_name=volume["name"], pool=spec["pool_name"])
            disks.append(disk)
        else:
            disks.append(_disk(info, os.path.join(directory, key), "raw", local_disk_size(bdm), bdm))
    return disks


def _delete_volume(pool: Any, name: str) -> Callable[[], None]:
    def delete() -> None:
        volume_mod.delete_volume(pool, name)

    return delete


def remove_block_devices(
    instances_path: str, uuid: str, check_mode: bool, connect: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Remove ``<instances_path>/<uuid>/`` and its volumes with delete_on_termination.

    Returns {changed, deleted_volumes, kept_volumes}. The image cache stays,
    and so do the volumes without delete_on_termination. Something at that
    path which nimbus did not make for the instance fails the delete
    (InstanceDirNotOwned) before anything is removed, its volumes.json unread.
    """
    directory = instance_dir(instances_path, uuid)
    check_instance_dir(directory, uuid, DELETE_STOPS)
    exists = os.path.lexists(directory)
    record = read_volume_record(directory) if exists else []
    deleted, kept = volumes_to_delete(record)
    changed = exists
    if deleted:
        connection = _Connection(connect)
        try:
            pools = {entry["pool"] for entry in record if entry["name"] in deleted}
            present = []
            for pool_name in sorted(pools):
                pool = volume_mod.lookup_pool(connection.get(), pool_name)
                for entry in record:
                    if entry["pool"] != pool_name or entry["name"] not in deleted or pool is None:
                        continue
                    if volume_mod.lookup_volume(pool, entry["name"]) is not None:
                        present.append(entry["name"])
                        if not check_mode:
                            volume_mod.delete_volume(pool, entry["name"])
            changed = changed or bool(present)
        finally:
            connection.close()
    if exists and not check_mode:
        shutil.rmtree(directory)
    return {"changed": changed, "deleted_volumes": deleted, "kept_volumes": kept}
