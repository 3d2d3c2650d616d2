# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Block device mapping v2 of a build request (Nova's nova/block_device.py and compute API checks).

``validate_block_device_mapping`` turns the request's ``block_device_mapping_v2``
into the full mapping of the instance: the root disk (from the image, or a
volume for boot from volume), the flavor's ephemeral and swap disks unless the
request overrides them, and the volumes. It refuses what Nova refuses, with
Nova's reason, as ``InvalidInput`` naming the entry and field.
"""

from __future__ import annotations

import re
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_choice

FIELD = "block_device_mapping_v2"
SOURCE_TYPES = ("image", "blank", "volume")
DESTINATION_TYPES = ("local", "volume")
DISK_BUSES = ("virtio", "ide", "sata", "scsi", "usb")
DEVICE_TYPES = ("disk", "cdrom")
# Formats an ephemeral disk can be made with without mounting it.
EPHEMERAL_FORMATS = ("ext2", "ext3", "ext4")
SWAP = "swap"
DEFAULT_EPHEMERAL_FORMAT = "ext4"
# Nova's max_local_block_devices default: root, ephemerals and swap together.
MAX_LOCAL_BLOCK_DEVICES = 3
KEYS = frozenset(
    {
        "source_type",
        "destination_type",
        "boot_index",
        "device_name",
        "disk_bus",
        "device_type",
        "guest_format",
        "volume_size",
        "delete_on_termination",
        "uuid",
    }
)
DEVICE_NAME_RE = re.compile(r"^(?:/dev/)?((?:vd|sd|hd)[a-z])$")
BUS_OF_PREFIX = {"vd": ("virtio",), "hd": ("ide",), "sd": ("sata", "scsi", "usb")}
# A volume name becomes a file name in the storage pool.
VOLUME_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def _entry_field(index: int, key: str) -> str:
    return f"{FIELD}[{index}].{key}"


def _optional_int(field: str, value: Any, minimum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInput(field, f"must be an integer >= {minimum}, got {value!r}")
    return value


def _device_name(field: str, value: Any, disk_bus: str | None) -> str | None:
    """Nova's validate_device_name plus the prefix-matches-bus rule of blockinfo."""
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 255:
        raise InvalidInput(field, "Device name empty or too long.")
    if " " in value:
        raise InvalidInput(field, "Device name contains spaces.")
    match = DEVICE_NAME_RE.match(value)
    if not match:
        raise InvalidInput(field, f"must be /dev/vdX, /dev/sdX or /dev/hdX (X a letter), got {value!r}")
    name = match.group(1)
    if disk_bus is not None and disk_bus not in BUS_OF_PREFIX[name[:2]]:
        raise InvalidInput(field, f"prefix {name[:2]!r} does not match disk_bus {disk_bus}")
    return name


def _fields(index: int, raw: Any) -> dict[str, Any]:
    """One mapping's fields checked one by one, defaults filled (Nova's BlockDeviceDict._validate)."""

    def field(key: str) -> str:
        return _entry_field(index, key)

    if not isinstance(raw, dict):
        raise InvalidInput(f"{FIELD}[{index}]", "must be a mapping")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise InvalidInput(field(unknown[0]), f"unknown key; known keys: {', '.join(sorted(KEYS))}")
    source_type = raw.get("source_type")
    if source_type == "snapshot":
        raise InvalidInput(field("source_type"), "snapshot is not supported: there is no snapshot service")
    if source_type not in SOURCE_TYPES:
        raise InvalidInput(field("source_type"), f"Invalid source_type field; must be one of {', '.join(SOURCE_TYPES)}")
    destination_type = check_choice(field("destination_type"), raw.get("destination_type"), DESTINATION_TYPES)
    boot_index = raw.get("boot_index")
    if boot_index is not None and (isinstance(boot_index, bool) or not isinstance(boot_index, int)):
        raise InvalidInput(field("boot_index"), f"must be an integer or null, got {boot_index!r}")
    disk_bus = check_choice(field("disk_bus"), raw.get("disk_bus"), DISK_BUSES)
    device_type = check_choice(field("device_type"), raw.get("device_type"), DEVICE_TYPES, "disk")
    if device_type == "cdrom" and disk_bus == "virtio":
        raise InvalidInput(field("disk_bus"), "a cdrom cannot be on the virtio bus")
    delete_on_termination = raw.get("delete_on_termination", False)
    if not isinstance(delete_on_termination, bool):
        raise InvalidInput(field("delete_on_termination"), "must be a boolean")
    guest_format = raw.get("guest_format")
    if guest_format is not None and guest_format not in (*EPHEMERAL_FORMATS, SWAP):
        raise InvalidInput(field("guest_format"), f"must be one of {', '.join((*EPHEMERAL_FORMATS, SWAP))}")
    return {
        "source_type": source_type,
        "destination_type": destination_type or ("volume" if source_type == "volume" else "local"),
        # Nova: a negative boot_index means "not bootable".
        "boot_index": boot_index if boot_index is None or boot_index >= 0 else None,
        "device_name": _device_name(field("device_name"), raw.get("device_name"), disk_bus),
        "disk_bus": disk_bus,
        "device_type": device_type,
        "guest_format": guest_format,
        "volume_size": _optional_int(field("volume_size"), raw.get("volume_size"), 0),
        "delete_on_termination": delete_on_termination,
        "uuid": raw.get("uuid"),
    }


def _entry(index: int, raw: Any, image: dict[str, Any]) -> dict[str, Any]:
    """One mapping normalised, refusing the combinations nova.block_device.BlockDeviceDict.from_api refuses."""

    def field(key: str) -> str:
        return _entry_field(index, key)

    bdm = _fields(index, raw)
    source_type, destination_type, uuid = bdm["source_type"], bdm["destination_type"], bdm["uuid"]
    if source_type == "blank" and uuid is not None:
        raise InvalidInput(field("uuid"), "Invalid device UUID: a blank device has no source")
    if source_type == "volume":
        if not isinstance(uuid, str) or not VOLUME_NAME_RE.match(uuid):
            raise InvalidInput(field("uuid"), "Missing device UUID: name the existing volume to attach")
        if destination_type != "volume":
            raise InvalidInput(field("destination_type"), "a volume can only be attached with destination_type volume")
    if source_type == "image":
        if uuid is not None and uuid != image["name"]:
            raise InvalidInput(field("uuid"), f"must be the request's image {image['name']!r}")
        bdm["uuid"] = image["name"]
        if destination_type == "local" and bdm["boot_index"] != 0:
            raise InvalidInput(field("destination_type"), "Mapping image to local is not supported.")
    blank_local = source_type == "blank" and destination_type == "local"
    if bdm["guest_format"] is not None and not blank_local:
        raise InvalidInput(field("guest_format"), "only a blank local disk (ephemeral or swap) is formatted")
    if destination_type == "volume" and source_type != "volume" and not bdm["volume_size"]:
        what = {"blank": "Blank volumes (source 'blank', dest 'volume')", "image": "Images with destination 'volume'"}
        raise InvalidInput(field("volume_size"), f"{what[source_type]} need to have a non-zero size")
    if blank_local and bdm["boot_index"] == 0:
        raise InvalidInput(field("boot_index"), "a blank local disk cannot be the boot disk")
    if blank_local and bdm["guest_format"] is None:
        bdm["guest_format"] = DEFAULT_EPHEMERAL_FORMAT
    if destination_type == "local":
        bdm["delete_on_termination"] = True
    return bdm


def is_swap(bdm: dict[str, Any]) -> bool:
    return bdm["source_type"] == "blank" and bdm["destination_type"] == "local" and bdm["guest_format"] == SWAP


def is_ephemeral(bdm: dict[str, Any]) -> bool:
    return bdm["source_type"] == "blank" and bdm["destination_type"] == "local" and bdm["guest_format"] != SWAP


def is_volume(bdm: dict[str, Any]) -> bool:
    return bdm["destination_type"] == "volume"


def is_root(bdm: dict[str, Any]) -> bool:
    return bdm["boot_index"] == 0


def is_boot_from_volume(mapping: list[dict[str, Any]]) -> bool:
    """Nova's is_bfv: the boot disk is a volume, so the host's disk holds no root disk."""
    return any(is_root(bdm) and is_volume(bdm) for bdm in mapping)


def _image_root() -> dict[str, Any]:
    return {
        "source_type": "image",
        "destination_type": "local",
        "boot_index": 0,
        "device_name": None,
        "disk_bus": None,
        "device_type": "disk",
        "guest_format": None,
        "volume_size": None,
        "delete_on_termination": True,
    }


def _blank_local(size: int, guest_format: str) -> dict[str, Any]:
    return {
        "source_type": "blank",
        "destination_type": "local",
        "boot_index": None,
        "device_name": None,
        "disk_bus": None,
        "device_type": "disk",
        "guest_format": guest_format,
        "volume_size": size,
        "delete_on_termination": True,
        "uuid": None,
    }


def _check_boot_sequence(mapping: list[dict[str, Any]]) -> None:
    indexes = sorted(bdm["boot_index"] for bdm in mapping if bdm["boot_index"] is not None)
    if indexes != list(range(len(indexes))) or not indexes:
        raise InvalidInput(
            f"{FIELD}.boot_index",
            "Boot sequence for the instance and image/block device mapping combination is not valid: "
            f"boot indexes must be 0, 1, 2, ... without gaps or repeats, got {indexes}",
        )


def _check_flavor_limits(mapping: list[dict[str, Any]], flavor: dict[str, Any]) -> None:
    swaps = [bdm for bdm in mapping if is_swap(bdm)]
    if len(swaps) > 1:
        raise InvalidInput(f"{FIELD}.guest_format", "More than one swap drive requested.")
    for bdm in swaps:
        if bdm["volume_size"] > flavor["swap_mb"]:
            raise InvalidInput(
                f"{FIELD}.volume_size",
                f"Swap drive requested is larger than instance type allows: {bdm['volume_size']} MB "
                f"(swap volume_size is in MB), flavor swap_mb {flavor['swap_mb']}",
            )
    ephemeral_gb = sum(bdm["volume_size"] for bdm in mapping if is_ephemeral(bdm))
    if ephemeral_gb > flavor["ephemeral_gb"]:
        raise InvalidInput(
            f"{FIELD}.volume_size",
            f"Ephemeral disks requested are larger than the instance type allows: {ephemeral_gb} GB, "
            f"flavor ephemeral_gb {flavor['ephemeral_gb']}",
        )
    local = [bdm for bdm in mapping if bdm["destination_type"] == "local"]
    if len(local) > MAX_LOCAL_BLOCK_DEVICES:
        raise InvalidInput(
            FIELD, f"Maximum number of local block devices ({MAX_LOCAL_BLOCK_DEVICES}) exceeded: {len(local)}"
        )


def _check_device_names(mapping: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for bdm in mapping:
        name = bdm["device_name"]
        if name is not None:
            if name in seen:
                raise InvalidInput(f"{FIELD}.device_name", f"device {name} is requested twice")
            seen.add(name)


def validate_block_device_mapping(value: Any, flavor: dict[str, Any], image: dict[str, Any]) -> list[dict[str, Any]]:
    """The instance's full block device mapping (root first, then the request's order, then flavor defaults)."""
    if value is None:
        value = []
    if not isinstance(value, list):
        raise InvalidInput(FIELD, "must be a list of block device mappings")
    requested = [_entry(index, raw, image) for index, raw in enumerate(value)]
    # Swap and ephemerals sized by the flavor when the request leaves the size out.
    for bdm in requested:
        if bdm["volume_size"] is None and is_swap(bdm):
            bdm["volume_size"] = flavor["swap_mb"]
        elif bdm["volume_size"] is None and is_ephemeral(bdm):
            bdm["volume_size"] = flavor["ephemeral_gb"]
        if bdm["destination_type"] == "local" and bdm["source_type"] == "blank" and bdm["volume_size"] == 0:
            raise InvalidInput(f"{FIELD}.volume_size", "a blank local disk needs a size; the flavor gives none")
    roots = [bdm for bdm in requested if is_root(bdm)]
    mapping = [] if roots else [{**_image_root(), "uuid": image["name"]}]
    mapping.extend(requested)
    _check_boot_sequence(mapping)
    for bdm in mapping:
        if is_root(bdm) and bdm["source_type"] == "image" and is_volume(bdm) and bdm["volume_size"] < image["min_disk"]:
            raise InvalidInput(
                f"{FIELD}.volume_size",
                f"Volume is smaller than the minimum size specified in image metadata: "
                f"{bdm['volume_size']} GB < min_disk {image['min_disk']}",
            )
    # Nova adds the flavor's ephemeral and swap disks unless the request has its own.
    if flavor["ephemeral_gb"] and not any(is_ephemeral(bdm) for bdm in mapping):
        mapping.append(_blank_local(flavor["ephemeral_gb"], DEFAULT_EPHEMERAL_FORMAT))
    if flavor["swap_mb"] and not any(is_swap(bdm) for bdm in mapping):
        mapping.append(_blank_local(flavor["swap_mb"], SWAP))
    _check_flavor_limits(mapping, flavor)
    _check_device_names(mapping)
    return mapping
