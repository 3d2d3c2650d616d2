from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects.block_device import validate_block_device_mapping
from ansible_collections.nimbus.compute.plugins.module_utils.virt import blockinfo
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


FLAVOR_EPH_SWAP = {"root_gb": 1, "ephemeral_gb": 1, "swap_mb": 256}
FLAVOR_PLAIN = {"root_gb": 1, "ephemeral_gb": 0, "swap_mb": 0}
BLANK_VOLUME = {"source_type": "blank", "destination_type": "volume", "volume_size": 1}
IMAGE_VOLUME = {"source_type": "image", "destination_type": "volume", "volume_size": 1}


def bdm_devices(request_bdms, flavor, **kwargs):
    bdms = validate_block_device_mapping(request_bdms, flavor, {"name": "tiny", "min_disk": 0})
    mapping = blockinfo.get_disk_mapping_for_bdms(bdms, **kwargs)
    return {key: (info["dev"], info["boot_index"]) for key, info in mapping.items() if key != "root"}, mapping


@pytest.mark.parametrize(
    ("request_bdms", "flavor", "kwargs", "expected"),
    [
        # Nova's order: root, ephemerals, swap, volumes; the config drive on the last IDE device.
        (
            [],
            FLAVOR_EPH_SWAP,
            {},
            {"disk": ("vda", 0), "disk.eph0": ("vdb", None), "disk.swap": ("vdc", None), "disk.config": ("hdd", None)},
        ),
        (
            [BLANK_VOLUME, IMAGE_VOLUME],
            FLAVOR_EPH_SWAP,
            {},
            {
                "disk": ("vda", 0),
                "disk.eph0": ("vdb", None),
                "disk.swap": ("vdc", None),
                "volume1": ("vdd", None),
                "volume2": ("vde", None),
                "disk.config": ("hdd", None),
            },
        ),
        # A swap requested before the ephemeral still comes after it.
        (
            [{"source_type": "blank", "guest_format": "swap"}],
            FLAVOR_EPH_SWAP,
            {"has_config_drive": False},
            {"disk": ("vda", 0), "disk.eph0": ("vdb", None), "disk.swap": ("vdc", None)},
        ),
        # Boot from volume: the volume is the root and first device; no local root.
        (
            [{**IMAGE_VOLUME, "boot_index": 0}, BLANK_VOLUME],
            FLAVOR_PLAIN,
            {},
            {"volume0": ("vda", 0), "volume1": ("vdb", None), "disk.config": ("hdd", None)},
        ),
        # Requested names are kept and skipped by the automatic ones.
        (
            [{**BLANK_VOLUME, "device_name": "/dev/vdb"}],
            FLAVOR_EPH_SWAP,
            {"has_config_drive": False},
            {"disk": ("vda", 0), "disk.eph0": ("vdc", None), "disk.swap": ("vdd", None), "volume1": ("vdb", None)},
        ),
        # Prefix by bus; boot order follows boot_index.
        (
            [{**BLANK_VOLUME, "disk_bus": "scsi", "boot_index": 1}],
            FLAVOR_PLAIN,
            {"config_drive_bus": "sata"},
            {"disk": ("vda", 0), "volume1": ("sda", 1), "disk.config": ("sdz", None)},
        ),
        (
            [],
            FLAVOR_EPH_SWAP,
            {"root_bus": "ide"},
            {"disk": ("hda", 0), "disk.eph0": ("hdb", None), "disk.swap": ("hdc", None), "disk.config": ("hdd", None)},
        ),
    ],
)
def test_get_disk_mapping_for_bdms(request_bdms, flavor, kwargs, expected):
    devices_by_key, mapping = bdm_devices(request_bdms, flavor, **kwargs)
    assert devices_by_key == expected
    assert mapping["root"]["boot_index"] == 0


def test_bdm_mapping_refuses_a_full_ide_bus():
    # hda root, hdb ephemeral, hdc swap, hdd config drive: no room for a volume.
    with pytest.raises(InvalidInput, match="no free device left on bus ide"):
        bdm_devices([BLANK_VOLUME], FLAVOR_EPH_SWAP, root_bus="ide")
