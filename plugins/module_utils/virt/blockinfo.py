# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Guest device names for an instance's disks (Nova's nova/virt/libvirt/blockinfo.py, simplified).

The mapping is keyed like Nova's: ``root`` (an alias of the boot disk),
``disk``, ``disk.eph<N>``, ``disk.swap`` and ``disk.config``; each value is
``{bus, dev, type, boot_index}``.
"""

from __future__ import annotations

import string
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput

# Device name prefix per bus; sata and scsi share 'sd' like in Nova.
BUS_PREFIX = {"virtio": "vd", "ide": "hd", "sata": "sd", "scsi": "sd", "usb": "sd"}
# How many devices a bus offers: IDE has two controllers with two units each.
BUS_DEVICE_COUNT = {"ide": 4}
DEFAULT_DEVICE_COUNT = 26
# libvirt has no virtio CD-ROM.
CDROM_BUSES = ("ide", "sata", "scsi", "usb")


def device_count(bus: str) -> int:
    return BUS_DEVICE_COUNT.get(bus, DEFAULT_DEVICE_COUNT)


def device_name(bus: str, index: int) -> str:
    """The ``index``-th device name on ``bus`` (0 → 'vda' on virtio)."""
    return BUS_PREFIX[bus] + string.ascii_lowercase[index]


def _check_bus(field: str, bus: str) -> None:
    if bus not in BUS_PREFIX:
        raise InvalidInput(field, f"must be one of {', '.join(sorted(BUS_PREFIX))}", value=bus)


def _next_free(bus: str, used: set[str], field: str) -> str:
    for index in range(device_count(bus)):
        name = device_name(bus, index)
        if name not in used:
            return name
    raise InvalidInput(field, f"no free device left on bus {bus}")


def _last_device(bus: str, used: set[str], field: str) -> str:
    # Nova puts the config drive on the bus' last device so that adding
    # volumes later never renames it (ide: 'hdd').
    name = device_name(bus, device_count(bus) - 1)
    if name in used:
        raise InvalidInput(field, f"the last device {name} of bus {bus} is already used")
    return name


def _disk_info(bus: str, dev: str, disk_type: str = "disk", boot_index: int | None = None) -> dict[str, Any]:
    return {"bus": bus, "dev": dev, "type": disk_type, "boot_index": boot_index}


def _reserve_config_drive(has_config_drive: bool, config_drive_bus: str, used: set[str]) -> str | None:
    """The config drive's device, the last of its bus, reserved first so no other disk takes it."""
    if not has_config_drive:
        return None
    _check_bus("config_drive_bus", config_drive_bus)
    if config_drive_bus not in CDROM_BUSES:
        raise InvalidInput("config_drive_bus", f"an iso9660 config drive needs one of {', '.join(CDROM_BUSES)}")
    config_name = _last_device(config_drive_bus, used, "config_drive_bus")
    used.add(config_name)
    return config_name


def get_disk_mapping(
    root_bus: str = "virtio",
    has_config_drive: bool = True,
    config_drive_bus: str = "ide",
    ephemerals: int = 0,
    swap: bool = False,
) -> dict[str, dict[str, Any]]:
    """Device names: root first, then ephemerals and swap on the root bus, the config drive last on its bus."""
    _check_bus("root_bus", root_bus)
    if ephemerals < 0:
        raise InvalidInput("ephemerals", "must not be negative", value=ephemerals)
    used: set[str] = set()
    config_name = _reserve_config_drive(has_config_drive, config_drive_bus, used)

    mapping: dict[str, dict[str, Any]] = {}
    root = _disk_info(root_bus, _next_free(root_bus, used, "root_bus"), boot_index=0)
    used.add(root["dev"])
    mapping["root"] = root
    mapping["disk"] = dict(root)
    for index in range(ephemerals):
        dev = _next_free(root_bus, used, "ephemerals")
        used.add(dev)
        mapping[f"disk.eph{index}"] = _disk_info(root_bus, dev)
    if swap:
        dev = _next_free(root_bus, used, "swap")
        used.add(dev)
        mapping["disk.swap"] = _disk_info(root_bus, dev)
    if config_name is not None:
        mapping["disk.config"] = _disk_info(config_drive_bus, config_name, "cdrom")
    return mapping


def _bus_for(bdm: dict[str, Any], root_bus: str) -> str:
    if bdm.get("disk_bus"):
        return bdm["disk_bus"]
    # libvirt has no virtio CD-ROM: a cdrom goes on IDE like Nova's default.
    return "ide" if bdm.get("device_type") == "cdrom" and root_bus == "virtio" else root_bus


def _mapping_key(bdm: dict[str, Any], index: int, counters: dict[str, int]) -> str:
    if bdm["boot_index"] == 0 and bdm["destination_type"] == "local":
        return "disk"
    if bdm["destination_type"] == "volume":
        return f"volume{index}"
    if bdm["guest_format"] == "swap":
        return "disk.swap"
    key = f"disk.eph{counters['eph']}"
    counters["eph"] += 1
    return key


def _device_order(bdm: dict[str, Any]) -> int:
    """Nova's order: root, ephemerals, swap, volumes."""
    if bdm["boot_index"] == 0:
        return 0
    if bdm["destination_type"] == "local":
        return 2 if bdm["guest_format"] == "swap" else 1
    return 3


def get_disk_mapping_for_bdms(
    block_device_mapping: list[dict[str, Any]],
    root_bus: str = "virtio",
    has_config_drive: bool = True,
    config_drive_bus: str = "ide",
) -> dict[str, dict[str, Any]]:
    """Device names for a full block device mapping (objects.block_device).

    Returns {key: {bus, dev, type, boot_index, bdm_index}}.

    Requested device names are kept; the others take the next free name on
    their bus in Nova's order (root, ephemerals, swap, volumes), and the config
    drive the last device of its bus. Keys: ``disk`` (image root),
    ``disk.eph<N>``, ``disk.swap``, ``volume<index in the mapping>``,
    ``disk.config``; ``root`` repeats the boot disk.
    """
    _check_bus("root_bus", root_bus)
    used = {bdm["device_name"] for bdm in block_device_mapping if bdm.get("device_name")}
    config_name = _reserve_config_drive(has_config_drive, config_drive_bus, used)
    mapping: dict[str, dict[str, Any]] = {}
    counters = {"eph": 0}
    ordered = sorted(enumerate(block_device_mapping), key=lambda pair: (_device_order(pair[1]), pair[0]))
    for index, bdm in ordered:
        bus = _bus_for(bdm, root_bus)
        _check_bus(f"block_device_mapping_v2[{index}].disk_bus", bus)
        dev = bdm.get("device_name")
        if not dev:
            dev = _next_free(bus, used, f"block_device_mapping_v2[{index}].device_name")
            used.add(dev)
        info = _disk_info(bus, dev, bdm.get("device_type") or "disk", bdm["boot_index"])
        info["bdm_index"] = index
        key = _mapping_key(bdm, index, counters)
        mapping[key] = info
        if bdm["boot_index"] == 0:
            mapping["root"] = dict(info)
    if config_name is not None:
        mapping["disk.config"] = _disk_info(config_drive_bus, config_name, "cdrom")
    return mapping
