from __future__ import annotations

import base64
import io
import json
import os
import stat

import pycdlib
import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.virt import configdrive

META = {"uuid": "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6", "name": "vm1"}
NETWORK = {"links": [], "networks": [], "services": []}


def read_iso(path):
    """(volume label, {path: bytes} as a guest sees them through Rock Ridge)."""
    iso = pycdlib.PyCdlib()
    iso.open(path)
    try:
        label = iso.pvd.volume_identifier.decode().strip()
        files = {}
        for root, _dirs, names in iso.walk(rr_path="/"):
            for name in names:
                rr_path = f"{root.rstrip('/')}/{name}"
                out = io.BytesIO()
                iso.get_file_from_iso_fp(out, rr_path=rr_path)
                files[rr_path.lstrip("/")] = out.getvalue()
        joliet = sorted(f"{root.rstrip('/')}/{n}" for root, _d, ns in iso.walk(joliet_path="/") for n in ns)
    finally:
        iso.close()
    return label, files, joliet


VERSIONS = [
    "2012-08-10",
    "2013-04-04",
    "2013-10-17",
    "2015-10-15",
    "2016-06-30",
    "2016-10-06",
    "2017-02-22",
    "2018-08-27",
    "2020-10-14",
    "latest",
]


def test_build_config_drive_writes_label_and_files(tmp_path):
    path = str(tmp_path / "disk.config")
    configdrive.build_config_drive(path, META, NETWORK, b"#!/bin/sh\necho hi\n", {"k": "v"})
    label, files, joliet = read_iso(path)
    assert label == "config-2"
    assert {name: content for name, content in files.items() if name.startswith("openstack/latest/")} == {
        "openstack/latest/meta_data.json": json.dumps(META).encode(),
        "openstack/latest/network_data.json": json.dumps(NETWORK).encode(),
        "openstack/latest/vendor_data.json": b'{"k": "v"}',
        "openstack/latest/vendor_data2.json": b"{}",
        "openstack/latest/user_data": b"#!/bin/sh\necho hi\n",
    }
    assert sorted({name.split("/")[1] for name in files}) == sorted(VERSIONS)
    assert joliet == [f"/{name}" for name in sorted(files)]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["disk.config"]


# Which documents each of Nova's versions has (nova/api/metadata/base.py).
@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("2012-08-10", ["meta_data.json", "user_data"]),
        ("2013-04-04", ["meta_data.json", "user_data"]),
        ("2013-10-17", ["meta_data.json", "user_data", "vendor_data.json"]),
        ("2015-10-15", ["meta_data.json", "network_data.json", "user_data", "vendor_data.json"]),
        ("2016-06-30", ["meta_data.json", "network_data.json", "user_data", "vendor_data.json"]),
        ("2016-10-06", ["meta_data.json", "network_data.json", "user_data", "vendor_data.json", "vendor_data2.json"]),
        ("2020-10-14", ["meta_data.json", "network_data.json", "user_data", "vendor_data.json", "vendor_data2.json"]),
        ("latest", ["meta_data.json", "network_data.json", "user_data", "vendor_data.json", "vendor_data2.json"]),
    ],
)
def test_version_folders_have_nova_documents(version, expected):
    files = configdrive.config_drive_files(META, NETWORK, b"u")
    assert sorted(name.rsplit("/", 1)[1] for name in files if name.startswith(f"openstack/{version}/")) == expected


@pytest.mark.parametrize(
    ("version", "has_devices", "has_project_id"),
    [("2012-08-10", False, False), ("2016-06-30", True, False), ("2018-08-27", True, True), ("latest", True, True)],
)
def test_meta_data_keys_follow_their_version(version, has_devices, has_project_id):
    files = configdrive.config_drive_files({**META, "devices": [], "project_id": "p"}, NETWORK, None)
    meta = json.loads(files[f"openstack/{version}/meta_data.json"])
    assert ("devices" in meta, "project_id" in meta) == (has_devices, has_project_id)


def test_injected_files_go_to_content_and_meta_data(tmp_path):
    injected = [("/etc/motd", b"hello\n"), ("/root/.ssh/x", b"\x00\xff")]
    path = str(tmp_path / "disk.config")
    configdrive.write_iso(path, configdrive.config_drive_files(META, NETWORK, None, None, injected))
    label, files, _joliet = read_iso(path)
    assert label == "config-2"
    assert files["openstack/content/0000"] == b"hello\n"
    assert files["openstack/content/0001"] == b"\x00\xff"
    for version in VERSIONS:
        assert json.loads(files[f"openstack/{version}/meta_data.json"])["files"] == [
            {"path": "/etc/motd", "content_path": "/content/0000"},
            {"path": "/root/.ssh/x", "content_path": "/content/0001"},
        ]


def test_no_injected_files_no_files_key():
    files = configdrive.config_drive_files(META, NETWORK, None)
    assert "files" not in json.loads(files["openstack/latest/meta_data.json"])
    assert not [name for name in files if name.startswith("openstack/content/")]


def test_user_data_only_when_given(tmp_path):
    path = str(tmp_path / "disk.config")
    configdrive.build_config_drive(path, META, NETWORK, None)
    files = read_iso(path)[1]
    assert not [name for name in files if name.endswith("/user_data")]
    assert files["openstack/latest/vendor_data.json"] == b"{}"


DRIVE = {"meta_data": {**META, "hostname": "vm1"}, "network_data": NETWORK, "user_data": "ud"}


@pytest.mark.parametrize(
    ("changes", "label", "present"),
    [
        ({}, "config-2", "openstack/latest/meta_data.json"),
        ({"format": "config-2", "files": {"/etc/motd": "hi"}}, "config-2", "openstack/content/0000"),
        ({"format": "nocloud"}, "cidata", "meta-data"),
    ],
)
def test_drive_files_in_each_format(tmp_path, changes, label, present):
    path = str(tmp_path / "disk.config")
    files = configdrive.drive_files({**DRIVE, **changes})
    configdrive.write_iso(path, files)
    read_label, read_files, _joliet = read_iso(path)
    assert (read_label, present in read_files) == (label, True)
    assert read_files == files


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"format": "iso9660"}, "config_drive_format"),
        ({"format": "nocloud", "files": {"/etc/motd": "hi"}}, "files"),
        ({"files": {"etc/motd": "hi"}}, "files"),
    ],
)
def test_drive_files_refuses_bad_input(changes, field):
    with pytest.raises(InvalidInput) as error:
        configdrive.drive_files({**DRIVE, **changes})
    assert error.value.field == field


def test_iso_names_stay_unique_when_truncated(tmp_path):
    files = {"d/abcdefgh1.txt": b"1", "d/abcdefgh2.txt": b"2", "d/abcdefghij": b"3", "d/abcdefghik": b"4"}
    path = str(tmp_path / "x.iso")
    configdrive.write_iso(path, files, label="config-2")
    assert read_iso(path)[1] == files


def test_rebuild_replaces_the_drive(tmp_path):
    path = str(tmp_path / "disk.config")
    configdrive.build_config_drive(path, META, NETWORK, b"one")
    configdrive.build_config_drive(path, META, NETWORK, b"two")
    assert read_iso(path)[1]["openstack/latest/user_data"] == b"two"


@pytest.mark.parametrize(
    ("name", "is_dir", "expected"),
    [
        ("meta_data.json", False, "META_DAT.JSO;1"),
        ("network_data.json", False, "NETWORK_.JSO;1"),
        ("user_data", False, "USER_DAT.;1"),
        ("openstack", True, "OPENSTAC"),
        ("latest", True, "LATEST"),
    ],
)
def test_iso9660_name(name, is_dir, expected):
    assert configdrive.iso9660_name(name, is_dir) == expected


def test_content_sha256_depends_on_content_only():
    one = configdrive.config_drive_files(META, NETWORK, b"x")
    assert configdrive.content_sha256(one) == configdrive.content_sha256(dict(reversed(one.items())))
    assert configdrive.content_sha256(one) != configdrive.content_sha256(
        configdrive.config_drive_files(META, NETWORK, b"y")
    )
    assert configdrive.content_sha256(one) != configdrive.content_sha256(
        configdrive.config_drive_files(META, NETWORK, None)
    )


INSTANCE = {
    "uuid": "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
    "name": "web-1",
    "launch_index": 2,
    "availability_zone": "az1",
    "metadata": {"role": "web"},
    "key_name": "ops",
    "public_keys": {"ops": "ssh-ed25519 AAAA ops"},
}
OPS = {"name": "ops", "type": "ssh", "data": "ssh-ed25519 AAAA ops"}
DEV = {"name": "dev", "type": "ssh", "data": "ssh-rsa BBBB dev"}


def test_meta_data_for_follows_nova():
    assert configdrive.meta_data_for(INSTANCE, None) == {
        "uuid": INSTANCE["uuid"],
        "name": "web-1",
        "hostname": "web-1",
        "launch_index": 2,
        "availability_zone": "az1",
        "meta": {"role": "web"},
        "public_keys": {"ops": "ssh-ed25519 AAAA ops"},
        "keys": [OPS],
        "devices": [],
        "project_id": "default",
    }


@pytest.mark.parametrize(
    ("extra", "admin_pass", "expected"),
    [
        ({}, "s3cret", {"admin_pass": "s3cret"}),
        ({"hostname": "web-1.example"}, None, {"hostname": "web-1.example"}),
        ({"project_id": "p1"}, None, {"project_id": "p1"}),
        ({"project_id": None}, None, {"project_id": "default"}),
        ({"availability_zone": None}, None, {"availability_zone": "nova"}),
        # The record's public_keys and key_name, as validate_request and new_instance leave them.
        (
            {"key_name": None, "public_keys": {"ops": OPS["data"], "dev": DEV["data"]}},
            None,
            {"public_keys": {"dev": DEV["data"], "ops": OPS["data"]}, "keys": [DEV, OPS]},
        ),
        ({"key_name": "dev", "public_keys": {"ops": OPS["data"], "dev": DEV["data"]}}, None, {"keys": [DEV]}),
        ({"key_name": None, "public_keys": {}, "metadata": None}, None, {"public_keys": {}, "keys": [], "meta": {}}),
    ],
)
def test_meta_data_for_variants(extra, admin_pass, expected):
    meta_data = configdrive.meta_data_for({**INSTANCE, **extra}, admin_pass)
    assert {key: meta_data[key] for key in expected} == expected
    assert ("admin_pass" in meta_data) == (admin_pass is not None)


def test_random_seed_only_in_written_versions_and_not_in_the_digest():
    files = configdrive.config_drive_files({**META, "project_id": "p"}, NETWORK, None)
    seeded = configdrive.with_random_seed(files, b"\x01" * 512)
    for version in VERSIONS:
        meta = json.loads(seeded[f"openstack/{version}/meta_data.json"])
        has_seed = version == "latest" or version >= "2013-10-17"
        assert ("random_seed" in meta) == has_seed, version
        if has_seed:
            assert base64.b64decode(meta["random_seed"]) == b"\x01" * 512
    assert "random_seed" not in json.loads(files["openstack/latest/meta_data.json"])
    assert len(json.loads(configdrive.with_random_seed(files)["openstack/latest/meta_data.json"])["random_seed"]) > 600
    assert configdrive.with_random_seed(files) != configdrive.with_random_seed(files)
