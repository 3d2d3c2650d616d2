"""Block device mapping v2: what Nova accepts, what it refuses and why."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import block_device
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import claim_for

FLAVOR = {"root_gb": 1, "ephemeral_gb": 2, "swap_mb": 512}
NO_EXTRAS = {"root_gb": 1, "ephemeral_gb": 0, "swap_mb": 0}
IMAGE = {"name": "tiny", "min_disk": 1}
BLANK_VOLUME = {"source_type": "blank", "destination_type": "volume", "volume_size": 1}
IMAGE_VOLUME_ROOT = {"source_type": "image", "destination_type": "volume", "volume_size": 2, "boot_index": 0}
EXISTING = {"source_type": "volume", "uuid": "data-1", "delete_on_termination": False}


def kinds(mapping):
    def kind(bdm):
        if block_device.is_swap(bdm):
            return f"swap:{bdm['volume_size']}"
        if block_device.is_ephemeral(bdm):
            return f"eph:{bdm['volume_size']}:{bdm['guest_format']}"
        return f"{bdm['source_type']}>{bdm['destination_type']}:{bdm['boot_index']}"

    return [kind(bdm) for bdm in mapping]


@pytest.mark.parametrize(
    ("request_bdms", "flavor", "expected"),
    [
        (None, NO_EXTRAS, ["image>local:0"]),
        ([], FLAVOR, ["image>local:0", "eph:2:ext4", "swap:512"]),
        (
            [{"source_type": "blank", "volume_size": 1, "guest_format": "ext3"}],
            FLAVOR,
            ["image>local:0", "eph:1:ext3", "swap:512"],
        ),
        (
            [{"source_type": "blank", "guest_format": "swap", "volume_size": 256}],
            FLAVOR,
            ["image>local:0", "swap:256", "eph:2:ext4"],
        ),
        ([{"source_type": "blank", "guest_format": "swap"}], FLAVOR, ["image>local:0", "swap:512", "eph:2:ext4"]),
        ([BLANK_VOLUME], NO_EXTRAS, ["image>local:0", "blank>volume:None"]),
        ([EXISTING], NO_EXTRAS, ["image>local:0", "volume>volume:None"]),
        ([IMAGE_VOLUME_ROOT], NO_EXTRAS, ["image>volume:0"]),
        ([IMAGE_VOLUME_ROOT, {**BLANK_VOLUME, "boot_index": 1}], NO_EXTRAS, ["image>volume:0", "blank>volume:1"]),
        ([{"source_type": "image", "destination_type": "local", "boot_index": 0}], NO_EXTRAS, ["image>local:0"]),
        ([{**BLANK_VOLUME, "boot_index": -1}], NO_EXTRAS, ["image>local:0", "blank>volume:None"]),
    ],
)
def test_accepted(request_bdms, flavor, expected):
    assert kinds(block_device.validate_block_device_mapping(request_bdms, flavor, IMAGE)) == expected


@pytest.mark.parametrize(
    ("request_bdms", "flavor", "field", "reason"),
    [
        ("vda", NO_EXTRAS, "block_device_mapping_v2", "must be a list"),
        ([{"source_type": "snapshot"}], NO_EXTRAS, "[0].source_type", "snapshot is not supported"),
        ([{"source_type": "floppy"}], NO_EXTRAS, "[0].source_type", "Invalid source_type"),
        ([{**BLANK_VOLUME, "destination_type": "cloud"}], NO_EXTRAS, "[0].destination_type", "must be one of"),
        ([{**BLANK_VOLUME, "size": 1}], NO_EXTRAS, "[0].size", "unknown key"),
        ([{**BLANK_VOLUME, "uuid": "x"}], NO_EXTRAS, "[0].uuid", "Invalid device UUID"),
        ([{"source_type": "volume"}], NO_EXTRAS, "[0].uuid", "Missing device UUID"),
        ([{**EXISTING, "destination_type": "local"}], NO_EXTRAS, "[0].destination_type", "only be attached"),
        (
            [{"source_type": "image", "destination_type": "local", "boot_index": 1}],
            NO_EXTRAS,
            "[0].destination_type",
            "Mapping image to local is not supported.",
        ),
        (
            [{"source_type": "image", "destination_type": "volume", "uuid": "other", "volume_size": 1}],
            NO_EXTRAS,
            "[0].uuid",
            "the request's image",
        ),
        ([{**BLANK_VOLUME, "volume_size": None}], NO_EXTRAS, "[0].volume_size", "Blank volumes"),
        ([{**IMAGE_VOLUME_ROOT, "volume_size": 0}], NO_EXTRAS, "[0].volume_size", "Images with destination"),
        ([{**BLANK_VOLUME, "guest_format": "ext4"}], NO_EXTRAS, "[0].guest_format", "only a blank local disk"),
        ([{"source_type": "blank", "volume_size": 1, "boot_index": 0}], FLAVOR, "[0].boot_index", "cannot be the boot"),
        ([{**BLANK_VOLUME, "boot_index": 2}], NO_EXTRAS, "boot_index", "Boot sequence"),
        (
            [{**BLANK_VOLUME, "boot_index": 1}, {**BLANK_VOLUME, "boot_index": 1}],
            NO_EXTRAS,
            "boot_index",
            "Boot sequence",
        ),
        ([{**BLANK_VOLUME, "boot_index": "1"}], NO_EXTRAS, "[0].boot_index", "integer"),
        (
            [{"source_type": "blank", "guest_format": "swap", "volume_size": 1}] * 2,
            FLAVOR,
            "guest_format",
            "More than one swap drive requested.",
        ),
        (
            [{"source_type": "blank", "guest_format": "swap", "volume_size": 1024}],
            FLAVOR,
            "volume_size",
            "Swap drive requested is larger than instance type allows",
        ),
        (
            [{"source_type": "blank", "volume_size": 2}, {"source_type": "blank", "volume_size": 1}],
            FLAVOR,
            "volume_size",
            "Ephemeral disks requested are larger than the instance type allows",
        ),
        ([{"source_type": "blank"}], NO_EXTRAS, "volume_size", "the flavor gives none"),
        (
            [{"source_type": "blank", "volume_size": 1}] * 2 + [{"source_type": "blank", "guest_format": "swap"}],
            FLAVOR,
            "block_device_mapping_v2",
            "Maximum number of local block devices (3) exceeded",
        ),
        ([{**IMAGE_VOLUME_ROOT, "volume_size": 1}], NO_EXTRAS | {"root_gb": 1}, "volume_size", None),
        ([{**BLANK_VOLUME, "device_name": "/dev/vd b"}], NO_EXTRAS, "[0].device_name", "Device name contains spaces."),
        ([{**BLANK_VOLUME, "device_name": ""}], NO_EXTRAS, "[0].device_name", "Device name empty or too long."),
        ([{**BLANK_VOLUME, "device_name": "/dev/nvme0n1"}], NO_EXTRAS, "[0].device_name", "must be /dev/vdX"),
        (
            [{**BLANK_VOLUME, "device_name": "sdb", "disk_bus": "virtio"}],
            NO_EXTRAS,
            "[0].device_name",
            "does not match",
        ),
        (
            [{**BLANK_VOLUME, "device_name": "vdb"}, {**BLANK_VOLUME, "device_name": "/dev/vdb"}],
            NO_EXTRAS,
            "device_name",
            "requested twice",
        ),
        ([{**BLANK_VOLUME, "disk_bus": "nvme"}], NO_EXTRAS, "[0].disk_bus", "must be one of"),
        ([{**BLANK_VOLUME, "device_type": "cdrom", "disk_bus": "virtio"}], NO_EXTRAS, "[0].disk_bus", "virtio"),
        ([{**BLANK_VOLUME, "delete_on_termination": "yes"}], NO_EXTRAS, "[0].delete_on_termination", "boolean"),
        ([{**BLANK_VOLUME, "volume_size": -1}], NO_EXTRAS, "[0].volume_size", ">= 0"),
        ([{**EXISTING, "uuid": "../etc/passwd"}], NO_EXTRAS, "[0].uuid", "Missing device UUID"),
    ],
)
def test_refused(request_bdms, flavor, field, reason):
    image = {"name": "tiny", "min_disk": 2}
    with pytest.raises(InvalidInput) as caught:
        block_device.validate_block_device_mapping(request_bdms, flavor, image)
    assert caught.value.details["field"].endswith(field) or field in caught.value.details["field"]
    if reason:
        assert reason in caught.value.message


def test_boot_from_volume_below_min_disk_is_refused_with_nova_reason():
    with pytest.raises(InvalidInput, match="smaller than the minimum size specified in image metadata"):
        block_device.validate_block_device_mapping(
            [{**IMAGE_VOLUME_ROOT, "volume_size": 1}], NO_EXTRAS, {"name": "tiny", "min_disk": 2}
        )


@pytest.mark.parametrize(
    ("request_bdms", "expected"),
    [
        (None, False),
        ([BLANK_VOLUME], False),
        ([IMAGE_VOLUME_ROOT], True),
        ([{**EXISTING, "boot_index": 0}], True),
    ],
)
def test_is_boot_from_volume(request_bdms, expected):
    mapping = block_device.validate_block_device_mapping(request_bdms, NO_EXTRAS, IMAGE)
    assert block_device.is_boot_from_volume(mapping) is expected


def test_normalised_entry():
    mapping = block_device.validate_block_device_mapping(
        [{**BLANK_VOLUME, "device_name": "/dev/vdc", "delete_on_termination": True}], NO_EXTRAS, IMAGE
    )
    assert mapping[1] == {
        "source_type": "blank",
        "destination_type": "volume",
        "boot_index": None,
        "device_name": "vdc",
        "disk_bus": None,
        "device_type": "disk",
        "guest_format": None,
        "volume_size": 1,
        "delete_on_termination": True,
        "uuid": None,
    }


@pytest.mark.parametrize(
    ("request_bdms", "disk_gb"),
    [
        (None, 1 + 2 + 1),
        ([BLANK_VOLUME], 1 + 2 + 1),
        ([IMAGE_VOLUME_ROOT], 2 + 1),
        ([{**EXISTING, "boot_index": 0}], 2 + 1),
    ],
)
def test_boot_from_volume_claims_no_root_disk(request_bdms, disk_gb):
    flavor = {"vcpus": 1, "memory_mb": 256, **FLAVOR}
    mapping = block_device.validate_block_device_mapping(request_bdms, FLAVOR, IMAGE)
    assert claim_for({"flavor": flavor, "block_device_mapping": mapping})["disk_gb"] == disk_gb
