from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import ImageError, InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.virt import block_device, imagecache

UUID = "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6"
GiB = 1024**3


def sha256_of(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def image(make_qcow2):
    path = make_qcow2("cirros.qcow2", "64M")
    return {"name": "cirros", "source": path, "sha256": sha256_of(path), "disk_format": "qcow2"}


@pytest.fixture
def spec(tmp_path, image):
    return {
        "uuid": UUID,
        "instances_path": str(tmp_path / "instances"),
        "image": image,
        "root_gb": 1,
        "config_drive": {
            "meta_data": {"uuid": UUID, "name": "vm1"},
            "network_data": {"links": [], "networks": [], "services": []},
            "user_data": "#cloud-config\n",
        },
    }


def read_text(path):
    with open(path, encoding="ascii") as handle:
        return handle.read()


def listing(root):
    return sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, dirs, files in os.walk(root)
        for name in dirs + files
    )


def test_check_mode_predicts_and_touches_nothing(spec, tmp_path):
    result = block_device.ensure_block_devices(spec, check_mode=True)
    assert result["changed"] is True
    assert not os.path.exists(spec["instances_path"])
    disks = result["block_device_info"]["disks"]
    assert [disk["device_name"] for disk in disks] == ["vda", "hdd"]


def test_creates_overlay_and_config_drive(spec, image):
    result = block_device.ensure_block_devices(spec, check_mode=False)
    assert result["changed"] is True
    directory = os.path.join(spec["instances_path"], UUID)
    base = os.path.join(spec["instances_path"], "_base", image["sha256"])
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert imagecache.image_info(os.path.join(directory, "disk")) == {
        "format": "qcow2",
        "virtual_size": GiB,
        "backing_file": base,
    }
    assert result["block_device_info"] == {
        "root_device_name": "/dev/vda",
        "instance_dir": directory,
        "boot_from_volume": False,
        "disks": [
            {
                "device_name": "vda",
                "path": os.path.join(directory, "disk"),
                "bus": "virtio",
                "type": "disk",
                "format": "qcow2",
                "boot_index": 0,
                "size_bytes": GiB,
                "source_type": "image",
                "destination_type": "local",
                "guest_format": None,
                "delete_on_termination": True,
            },
            {
                "device_name": "hdd",
                "path": os.path.join(directory, "disk.config"),
                "bus": "ide",
                "type": "cdrom",
                "format": "raw",
                "boot_index": None,
                "size_bytes": os.path.getsize(os.path.join(directory, "disk.config")),
            },
        ],
    }


def test_second_run_is_unchanged_in_both_modes(spec):
    first = block_device.ensure_block_devices(spec, check_mode=False)
    directory = os.path.join(spec["instances_path"], UUID)
    mtimes = {name: os.stat(os.path.join(directory, name)).st_mtime_ns for name in os.listdir(directory)}
    assert block_device.ensure_block_devices(spec, check_mode=True) == {**first, "changed": False}
    assert block_device.ensure_block_devices(spec, check_mode=False) == {**first, "changed": False}
    assert {name: os.stat(os.path.join(directory, name)).st_mtime_ns for name in os.listdir(directory)} == mtimes


def test_changed_user_data_rebuilds_only_the_config_drive(spec):
    block_device.ensure_block_devices(spec, check_mode=False)
    directory = os.path.join(spec["instances_path"], UUID)
    disk_mtime = os.stat(os.path.join(directory, "disk")).st_mtime_ns
    digest = read_text(os.path.join(directory, "disk.config.sha256"))
    spec["config_drive"]["user_data"] = "#cloud-config\nhostname: other\n"
    assert block_device.ensure_block_devices(spec, check_mode=True)["changed"] is True
    assert read_text(os.path.join(directory, "disk.config.sha256")) == digest
    assert block_device.ensure_block_devices(spec, check_mode=False)["changed"] is True
    assert read_text(os.path.join(directory, "disk.config.sha256")) != digest
    assert os.stat(os.path.join(directory, "disk")).st_mtime_ns == disk_mtime
    assert block_device.ensure_block_devices(spec, check_mode=False)["changed"] is False


def test_without_config_drive(spec):
    spec["config_drive"] = None
    result = block_device.ensure_block_devices(spec, check_mode=False)
    assert [disk["device_name"] for disk in result["block_device_info"]["disks"]] == ["vda"]
    assert sorted(os.listdir(os.path.join(spec["instances_path"], UUID))) == ["disk", block_device.OWNER_MARK]


def test_dropping_the_config_drive_removes_it(spec):
    block_device.ensure_block_devices(spec, check_mode=False)
    spec["config_drive"] = None
    assert block_device.ensure_block_devices(spec, check_mode=True)["changed"] is True
    assert block_device.ensure_block_devices(spec, check_mode=False)["changed"] is True
    assert sorted(os.listdir(os.path.join(spec["instances_path"], UUID))) == ["disk", block_device.OWNER_MARK]


def test_larger_root_gb_grows_the_disk(spec):
    block_device.ensure_block_devices(spec, check_mode=False)
    spec["root_gb"] = 2
    assert block_device.ensure_block_devices(spec, check_mode=False)["changed"] is True
    disk = os.path.join(spec["instances_path"], UUID, "disk")
    assert imagecache.image_info(disk)["virtual_size"] == 2 * GiB


def test_smaller_root_gb_is_refused(spec):
    spec["root_gb"] = 2
    block_device.ensure_block_devices(spec, check_mode=False)
    spec["root_gb"] = 1
    with pytest.raises(block_device.DiskInUse):
        block_device.ensure_block_devices(spec, check_mode=True)


def test_root_gb_zero_takes_the_image_size(spec):
    spec["root_gb"] = 0
    result = block_device.ensure_block_devices(spec, check_mode=False)
    assert result["block_device_info"]["disks"][0]["size_bytes"] == 64 * 1024 * 1024


def test_image_larger_than_root_disk_is_refused_and_nothing_is_left(spec, make_qcow2):
    big = make_qcow2("big.qcow2", "2G")
    spec["image"] = {"name": "big", "source": big, "sha256": sha256_of(big), "disk_format": "qcow2"}
    with pytest.raises(ImageError) as info:
        block_device.ensure_block_devices(spec, check_mode=False)
    assert "1 GiB" in info.value.message
    # Only the verified image stays, in the shared cache.
    digest = sha256_of(big)
    assert listing(spec["instances_path"]) == ["_base", f"_base/{digest}", "_base/locks", f"_base/locks/{digest}.lock"]


def test_declared_format_must_match(spec):
    spec["image"]["disk_format"] = "raw"
    with pytest.raises(ImageError) as info:
        block_device.ensure_block_devices(spec, check_mode=False)
    assert "declared raw" in info.value.message
    assert not os.path.exists(os.path.join(spec["instances_path"], UUID))


def test_image_with_a_backing_file_is_refused(spec, tmp_path, make_qcow2):
    base = make_qcow2("base.qcow2")
    sneaky = str(tmp_path / "sneaky.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", sneaky], check=True)
    spec["image"] = {"name": "sneaky", "source": sneaky, "sha256": None, "disk_format": "qcow2"}
    with pytest.raises(ImageError, match="backing file"):
        block_device.ensure_block_devices(spec, check_mode=False)


def test_failure_removes_only_what_this_call_created(spec, monkeypatch):
    def broken_iso(path, files):
        raise OSError("disk full")

    monkeypatch.setattr(block_device.configdrive, "write_iso", broken_iso)
    with pytest.raises(OSError, match="disk full"):
        block_device.ensure_block_devices(spec, check_mode=False)
    assert not os.path.exists(os.path.join(spec["instances_path"], UUID))


def test_failure_keeps_a_directory_that_was_there(spec, monkeypatch):
    directory = os.path.join(spec["instances_path"], UUID)
    os.makedirs(directory)
    open(os.path.join(directory, "console.log"), "w").close()
    monkeypatch.setattr(block_device.configdrive, "write_iso", lambda path, files: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        block_device.ensure_block_devices(spec, check_mode=False)
    assert os.listdir(directory) == ["console.log"]


def test_disk_of_another_image_is_not_overwritten(spec, make_qcow2):
    block_device.ensure_block_devices(spec, check_mode=False)
    other = make_qcow2("other.qcow2", "32M")
    spec["image"] = {"name": "other", "source": other, "sha256": sha256_of(other), "disk_format": "qcow2"}
    with pytest.raises(block_device.DiskInUse):
        block_device.ensure_block_devices(spec, check_mode=False)


@pytest.mark.parametrize(
    ("existing", "backing", "size", "expected"),
    [
        (None, "/b", GiB, "create"),
        (None, None, None, "create"),
        ({"format": "qcow2", "backing_file": "/b", "virtual_size": GiB}, "/b", GiB, None),
        ({"format": "qcow2", "backing_file": "/b", "virtual_size": GiB}, None, None, None),
        ({"format": "qcow2", "backing_file": "/b", "virtual_size": GiB}, "/b", 2 * GiB, "resize"),
    ],
)
def test_disk_action(existing, backing, size, expected):
    assert block_device.disk_action(existing, backing, size) == expected


@pytest.mark.parametrize(
    ("existing", "backing", "size"),
    [
        ({"format": "qcow2", "backing_file": "/a", "virtual_size": GiB}, "/b", GiB),
        ({"format": "raw", "backing_file": None, "virtual_size": GiB}, "/b", GiB),
        ({"format": "qcow2", "backing_file": "/b", "virtual_size": 2 * GiB}, "/b", GiB),
    ],
)
def test_disk_action_refuses(existing, backing, size):
    with pytest.raises(block_device.DiskInUse):
        block_device.disk_action(existing, backing, size)


@pytest.mark.parametrize(
    ("exists", "recorded", "expected"),
    [(False, None, True), (False, "d", True), (True, None, True), (True, "x", True), (True, "d", False)],
)
def test_config_drive_needs_build(exists, recorded, expected):
    assert block_device.config_drive_needs_build(exists, recorded, "d") is expected


def test_remove_block_devices(spec):
    block_device.ensure_block_devices(spec, check_mode=False)
    directory = os.path.join(spec["instances_path"], UUID)
    removed = {"changed": True, "deleted_volumes": [], "kept_volumes": []}
    assert block_device.remove_block_devices(spec["instances_path"], UUID, check_mode=True) == removed
    assert os.path.isdir(directory)
    assert block_device.remove_block_devices(spec["instances_path"], UUID, check_mode=False) == removed
    assert not os.path.exists(directory)
    assert os.listdir(os.path.join(spec["instances_path"], "_base"))
    assert block_device.remove_block_devices(spec["instances_path"], UUID, check_mode=False) == {
        **removed,
        "changed": False,
    }


@pytest.mark.parametrize("bad", ["..", "_base", "", "../etc", UUID.upper(), UUID.replace("-", ""), f"{UUID}/..", None])
def test_remove_refuses_non_canonical_uuid(tmp_path, bad):
    with pytest.raises(InvalidInput) as info:
        block_device.remove_block_devices(str(tmp_path), bad, check_mode=False)
    assert info.value.field == "uuid"


def test_ensure_refuses_non_canonical_uuid(spec):
    spec["uuid"] = "../x"
    with pytest.raises(InvalidInput):
        block_device.ensure_block_devices(spec, check_mode=True)


def test_url_without_sha256_is_downloaded_once(spec, image, http_files):
    url, requests = http_files(os.path.dirname(image["source"]))
    spec["image"] = {**image, "source": f"{url}/{os.path.basename(image['source'])}", "sha256": None}
    assert block_device.ensure_block_devices(spec, check_mode=True)["changed"] is True
    assert block_device.ensure_block_devices(spec, check_mode=False)["changed"] is True
    assert block_device.ensure_block_devices(spec, check_mode=True)["changed"] is False
    assert block_device.ensure_block_devices(spec, check_mode=False)["changed"] is False
    assert len(requests) == 1


def blkid_type(path):
    return subprocess.run(
        ["blkid", "-o", "value", "-s", "TYPE", path], capture_output=True, text=True, check=False
    ).stdout.strip()


def test_flavor_ephemeral_and_swap_are_formatted_disks(spec):
    spec = {**spec, "ephemeral_gb": 1, "swap_mb": 64}
    assert block_device.ensure_block_devices(spec, check_mode=True)["changed"] is True
    result = block_device.ensure_block_devices(spec, check_mode=False)
    directory = os.path.join(spec["instances_path"], UUID)
    disks = result["block_device_info"]["disks"]
    assert [(d["device_name"], os.path.basename(d["path"]), d["format"]) for d in disks] == [
        ("vda", "disk", "qcow2"),
        ("vdb", "disk.eph0", "raw"),
        ("vdc", "disk.swap", "raw"),
        ("hdd", "disk.config", "raw"),
    ]
    assert os.path.getsize(os.path.join(directory, "disk.eph0")) == GiB
    assert os.path.getsize(os.path.join(directory, "disk.swap")) == 64 * 1024 * 1024
    assert blkid_type(os.path.join(directory, "disk.eph0")) == "ext4"
    assert blkid_type(os.path.join(directory, "disk.swap")) == "swap"
    assert block_device.ensure_block_devices(spec, check_mode=True)["changed"] is False
    assert block_device.ensure_block_devices(spec, check_mode=False)["changed"] is False


def test_requested_ephemeral_format_and_a_resized_local_disk_is_refused(spec):
    bdms = [
        {**block_device.bdm_obj._image_root(), "uuid": "cirros"},
        {**block_device.bdm_obj._blank_local(1, "ext3")},
    ]
    spec = {**spec, "block_device_mapping": bdms}
    block_device.ensure_block_devices(spec, check_mode=False)
    assert blkid_type(os.path.join(spec["instances_path"], UUID, "disk.eph0")) == "ext3"
    bigger = [bdms[0], {**bdms[1], "volume_size": 2}]
    with pytest.raises(block_device.DiskInUse, match="not resized"):
        block_device.ensure_block_devices({**spec, "block_device_mapping": bigger}, check_mode=True)


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ([], ([], [])),
        ([{"name": "a", "pool": "p", "delete_on_termination": True}], (["a"], [])),
        (
            [
                {"name": "a", "pool": "p", "delete_on_termination": False},
                {"name": "b", "pool": "p", "delete_on_termination": True},
            ],
            (["b"], ["a"]),
        ),
    ],
)
def test_volumes_to_delete(record, expected):
    assert block_device.volumes_to_delete(record) == expected


def test_volume_users_are_the_other_instances_that_record_it(tmp_path):
    for uuid, names in (("a", ["vol-1"]), ("b", ["vol-1", "vol-2"]), ("c", [])):
        (tmp_path / uuid).mkdir()
        records = [{"name": name, "delete_on_termination": False} for name in names]
        (tmp_path / uuid / block_device.VOLUMES_RECORD).write_text(json.dumps(records))
    (tmp_path / "_base").mkdir()
    assert block_device.volume_users(str(tmp_path), "vol-1", excluding="a") == ["b"]
    assert block_device.volume_users(str(tmp_path), "vol-2", excluding="a") == ["b"]
    assert block_device.volume_users(str(tmp_path), "vol-2", excluding="b") == []
    assert block_device.volume_users(str(tmp_path / "missing"), "vol-1", excluding="a") == []


OTHER_UUID = "11111111-2222-3333-4444-555555555555"
MARK = block_device.owner_mark_text(UUID)


def tree(root):
    """Every path under ``root`` with its type, mode, mtime and content (or link target): byte for byte."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                content = os.readlink(path)
            elif stat.S_ISREG(info.st_mode):
                content = sha256_of(path)
            else:
                content = None
            found[os.path.relpath(path, root)] = (info.st_mode, info.st_mtime_ns, content)
    return found


def test_a_new_directory_carries_nimbus_s_mark(spec):
    block_device.ensure_block_devices(spec, check_mode=False)
    mark = os.path.join(spec["instances_path"], UUID, block_device.OWNER_MARK)
    with open(mark, encoding="utf-8") as handle:
        assert json.load(handle) == {"instance_uuid": UUID, "made_by": "nimbus.compute"}
    assert stat.S_IMODE(os.stat(mark).st_mode) == 0o600


def _make_foreign(directory, layout, elsewhere):
    """Something at the instance's path that nimbus did not make, in one of several shapes."""
    if layout == "file":
        with open(directory, "w", encoding="ascii") as handle:
            handle.write("not a directory\n")
        return
    if layout == "symlink":
        os.makedirs(elsewhere)
        with open(os.path.join(elsewhere, "disk"), "wb") as handle:
            handle.write(b"somebody's disk")
        os.symlink(elsewhere, directory)
        return
    os.makedirs(directory)
    files = {
        "handmade": {"disk": b"a VM disk made by hand", "notes.txt": b"keep me"},
        "mark-of-another-instance": {block_device.OWNER_MARK: block_device.owner_mark_text(OTHER_UUID).encode()},
        "mark-not-nimbus-s": {block_device.OWNER_MARK: b"{}", "disk": b"x"},
        "mark-unreadable": {block_device.OWNER_MARK: b"\xff{", "disk": b"x"},
        # A volumes.json that asks to delete a volume: never read.
        "volume-record-and-more": {
            block_device.VOLUMES_RECORD: json.dumps([{"name": "vol", "pool": "p", "delete_on_termination": True}]),
            "vm.xml": b"<domain/>",
        },
        "subdirectory": {},
        "symlinked-disk": {},
    }[layout]
    for name, content in files.items():
        with open(os.path.join(directory, name), "wb") as handle:
            handle.write(content.encode() if isinstance(content, str) else content)
    if layout == "subdirectory":
        os.makedirs(os.path.join(directory, "disk.eph0"))
    if layout == "symlinked-disk":
        os.symlink("/etc/hostname", os.path.join(directory, "disk"))


FOREIGN_LAYOUTS = {
    "handmade": "has no nimbus-instance.json and holds notes.txt, which nimbus does not write",
    "mark-of-another-instance": f"nimbus made it for instance {OTHER_UUID}",
    "mark-not-nimbus-s": f"its {block_device.OWNER_MARK} is not nimbus's",
    "mark-unreadable": f"its {block_device.OWNER_MARK} is not nimbus's",
    "volume-record-and-more": "holds vm.xml, which nimbus does not write",
    "subdirectory": "holds disk.eph0, which nimbus does not write",
    "symlinked-disk": "holds disk, which nimbus does not write",
    "file": "it is a file, not a directory nimbus made",
    "symlink": "it is a symbolic link, not a directory nimbus made",
}


def no_libvirt():
    raise AssertionError("a directory that is not nimbus's must not lead to its volumes")


@pytest.mark.parametrize("check_mode", [True, False], ids=["check", "apply"])
@pytest.mark.parametrize("step", ["ensure", "remove"])
@pytest.mark.parametrize("layout", sorted(FOREIGN_LAYOUTS))
def test_a_path_nimbus_did_not_make_is_refused_and_left_byte_for_byte(spec, tmp_path, layout, step, check_mode):
    directory = os.path.join(spec["instances_path"], UUID)
    os.makedirs(spec["instances_path"])
    _make_foreign(directory, layout, str(tmp_path / "elsewhere"))
    before = tree(tmp_path)
    with pytest.raises(block_device.InstanceDirNotOwned) as info:
        if step == "ensure":
            block_device.ensure_block_devices(spec, check_mode=check_mode, connect=no_libvirt)
        else:
            block_device.remove_block_devices(spec["instances_path"], UUID, check_mode=check_mode, connect=no_libvirt)
    assert tree(tmp_path) == before
    message = info.value.message
    assert message.startswith(f"{directory} exists but nimbus did not make it for instance {UUID} (")
    assert FOREIGN_LAYOUTS[layout] in message
    assert ("the build stops here" if step == "ensure" else "the delete stops here with nothing removed") in message
    assert info.value.reschedulable is False
    assert info.value.details["path"] == directory


OLD_STYLE_FILES = [
    "disk",
    "disk.config",
    "disk.config.sha256",
    "disk.eph0",
    "disk.eph12",
    "disk.swap",
    "volumes.json",
    "console.log",
    "console.log.0",
    # Leftovers of a build stopped half way.
    "disk.part",
    "disk.eph0.part",
    ".digest-k2j_9x",
    ".config-drive-a8f3q1",
]


@pytest.mark.parametrize(
    ("kind", "mark", "entries", "expected"),
    [
        ("directory", MARK, {}, None),
        ("directory", MARK, {"anything": True, "sub": False}, None),
        ("directory", None, {}, None),
        ("directory", None, dict.fromkeys(OLD_STYLE_FILES, True), None),
        ("directory", None, {"disk": True, "disk.bak": True}, "holds disk.bak,"),
        ("directory", None, {"disk": False}, "holds disk,"),
        ("directory", None, {"disk.eph": True, "console.log.x": True}, "holds console.log.x, disk.eph,"),
        ("directory", None, {f"f{i}": True for i in range(7)}, "holds f0, f1, f2, f3, f4 and 2 more,"),
        ("directory", block_device.owner_mark_text(OTHER_UUID), {}, f"for instance {OTHER_UUID}"),
        ("directory", json.dumps({"instance_uuid": UUID}), {}, "is not nimbus's"),
        ("directory", "[]", {}, "is not nimbus's"),
        ("directory", "", {}, "is not nimbus's"),
        ("file", None, {}, "it is a file"),
        ("symlink", None, {}, "it is a symbolic link"),
    ],
)
def test_not_ours_reason(kind, mark, entries, expected):
    reason = block_device.not_ours_reason(UUID, kind, mark, entries)
    if expected is None:
        assert reason is None
    else:
        assert expected in reason


def test_an_old_style_directory_of_nimbus_still_works(spec):
    """A directory made before the mark: recognised by its names, left unmarked, idempotent, removable."""
    first = block_device.ensure_block_devices(spec, check_mode=False)
    directory = os.path.join(spec["instances_path"], UUID)
    os.unlink(os.path.join(directory, block_device.OWNER_MARK))
    with open(os.path.join(directory, "console.log"), "w", encoding="ascii") as handle:
        handle.write("login:\n")
    before = tree(directory)
    for check_mode in (True, False):
        assert block_device.ensure_block_devices(spec, check_mode=check_mode) == {**first, "changed": False}
    assert tree(directory) == before
    removed = block_device.remove_block_devices(spec["instances_path"], UUID, check_mode=False)
    assert removed["changed"] is True
    assert not os.path.exists(directory)


def test_an_old_style_directory_with_leftovers_is_removed(spec):
    directory = os.path.join(spec["instances_path"], UUID)
    os.makedirs(directory)
    for name in OLD_STYLE_FILES:
        with open(os.path.join(directory, name), "w", encoding="ascii") as handle:
            handle.write("[]" if name == "volumes.json" else "x")
    assert block_device.remove_block_devices(spec["instances_path"], UUID, check_mode=False)["changed"] is True
    assert not os.path.exists(directory)


def test_a_directory_made_by_someone_else_meanwhile_is_left_alone(spec, monkeypatch):
    # Nothing there when the step looks, a foreign directory by the time it makes its own.
    directory = os.path.join(spec["instances_path"], UUID)
    plan = block_device._plan_local_disks

    def plan_then_race(*args):
        os.makedirs(directory)
        with open(os.path.join(directory, "theirs"), "w", encoding="ascii") as handle:
            handle.write("theirs")
        return plan(*args)

    monkeypatch.setattr(block_device, "_plan_local_disks", plan_then_race)
    with pytest.raises(block_device.InstanceDirNotOwned, match="holds theirs"):
        block_device.ensure_block_devices(spec, check_mode=False)
    assert os.listdir(directory) == ["theirs"]
