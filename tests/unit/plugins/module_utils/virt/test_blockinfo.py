from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.virt.blockinfo import get_disk_mapping


def devices(mapping):
    return {key: (info["bus"], info["dev"], info["type"]) for key, info in mapping.items()}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {},
            {
                "root": ("virtio", "vda", "disk"),
                "disk": ("virtio", "vda", "disk"),
                "disk.config": ("ide", "hdd", "cdrom"),
            },
        ),
        ({"has_config_drive": False}, {"root": ("virtio", "vda", "disk"), "disk": ("virtio", "vda", "disk")}),
        (
            {"root_bus": "ide"},
            {"root": ("ide", "hda", "disk"), "disk": ("ide", "hda", "disk"), "disk.config": ("ide", "hdd", "cdrom")},
        ),
        (
            {"root_bus": "scsi", "config_drive_bus": "sata"},
            {"root": ("scsi", "sda", "disk"), "disk": ("scsi", "sda", "disk"), "disk.config": ("sata", "sdz", "cdrom")},
        ),
        (
            {"ephemerals": 2, "swap": True},
            {
                "root": ("virtio", "vda", "disk"),
                "disk": ("virtio", "vda", "disk"),
                "disk.eph0": ("virtio", "vdb", "disk"),
                "disk.eph1": ("virtio", "vdc", "disk"),
                "disk.swap": ("virtio", "vdd", "disk"),
                "disk.config": ("ide", "hdd", "cdrom"),
            },
        ),
        (
            {"root_bus": "ide", "ephemerals": 1, "swap": True},
            {
                "root": ("ide", "hda", "disk"),
                "disk": ("ide", "hda", "disk"),
                "disk.eph0": ("ide", "hdb", "disk"),
                "disk.swap": ("ide", "hdc", "disk"),
                "disk.config": ("ide", "hdd", "cdrom"),
            },
        ),
        (
            {"root_bus": "sata", "config_drive_bus": "sata", "swap": True},
            {
                "root": ("sata", "sda", "disk"),
                "disk": ("sata", "sda", "disk"),
                "disk.swap": ("sata", "sdb", "disk"),
                "disk.config": ("sata", "sdz", "cdrom"),
            },
        ),
    ],
)
def test_get_disk_mapping(kwargs, expected):
    assert devices(get_disk_mapping(**kwargs)) == expected


def test_only_the_root_disk_boots():
    mapping = get_disk_mapping(ephemerals=1, swap=True)
    assert {key: info["boot_index"] for key, info in mapping.items()} == {
        "root": 0,
        "disk": 0,
        "disk.eph0": None,
        "disk.swap": None,
        "disk.config": None,
    }


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"root_bus": "floppy"}, "root_bus"),
        ({"config_drive_bus": "virtio"}, "config_drive_bus"),
        ({"config_drive_bus": "nvme"}, "config_drive_bus"),
        ({"root_bus": "ide", "ephemerals": 3}, "ephemerals"),
        ({"root_bus": "ide", "ephemerals": 2, "swap": True}, "swap"),
        ({"ephemerals": -1}, "ephemerals"),
    ],
)
def test_get_disk_mapping_refuses(kwargs, field):
    with pytest.raises(InvalidInput) as info:
        get_disk_mapping(**kwargs)
    assert info.value.field == field


def test_virtio_config_drive_bus_is_fine_without_a_config_drive():
    assert "disk.config" not in get_disk_mapping(has_config_drive=False, config_drive_bus="virtio")
