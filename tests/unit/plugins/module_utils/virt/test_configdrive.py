from __future__ import annotations

import io
import json
import os
import stat

import pycdlib
import pytest

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


def test_build_config_drive_writes_label_and_files(tmp_path):
    path = str(tmp_path / "disk.config")
    configdrive.build_config_drive(path, META, NETWORK, b"#!/bin/sh\necho hi\n", {"k": "v"})
    label, files, joliet = read_iso(path)
    assert label == "config-2"
    assert files == {
        "openstack/latest/meta_data.json": json.dumps(META).encode(),
        "openstack/latest/network_data.json": json.dumps(NETWORK).encode(),
        "openstack/latest/vendor_data.json": b'{"k": "v"}',
        "openstack/latest/user_data": b"#!/bin/sh\necho hi\n",
    }
    assert joliet == [f"/{name}" for name in sorted(files)]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["disk.config"]


def test_user_data_only_when_given(tmp_path):
    path = str(tmp_path / "disk.config")
    configdrive.build_config_drive(path, META, NETWORK, None)
    files = read_iso(path)[1]
    assert sorted(files) == [
        "openstack/latest/meta_data.json",
        "openstack/latest/network_data.json",
        "openstack/latest/vendor_data.json",
    ]
    assert files["openstack/latest/vendor_data.json"] == b"{}"


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
    "key_pairs": [{"name": "ops", "public_key": "ssh-ed25519 AAAA ops"}],
}


def test_meta_data_for_follows_nova():
    assert configdrive.meta_data_for(INSTANCE, None) == {
        "uuid": INSTANCE["uuid"],
        "name": "web-1",
        "hostname": "web-1",
        "launch_index": 2,
        "availability_zone": "az1",
        "meta": {"role": "web"},
        "public_keys": {"ops": "ssh-ed25519 AAAA ops"},
        "keys": [{"name": "ops", "type": "ssh", "data": "ssh-ed25519 AAAA ops"}],
        "devices": [],
    }


@pytest.mark.parametrize(
    ("extra", "admin_pass", "expected"),
    [
        ({}, "s3cret", {"admin_pass": "s3cret"}),
        ({"hostname": "web-1.example"}, None, {"hostname": "web-1.example"}),
        ({"project_id": "p1"}, None, {"project_id": "p1"}),
        ({"availability_zone": None}, None, {"availability_zone": "nova"}),
        ({"key_pairs": None, "key_name": "k", "key_data": "ssh-rsa B"}, None, {"public_keys": {"k": "ssh-rsa B"}}),
        ({"key_pairs": [], "metadata": None}, None, {"public_keys": {}, "keys": [], "meta": {}}),
    ],
)
def test_meta_data_for_variants(extra, admin_pass, expected):
    meta_data = configdrive.meta_data_for({**INSTANCE, **extra}, admin_pass)
    assert {key: meta_data[key] for key in expected} == expected
    assert ("admin_pass" in meta_data) == (admin_pass is not None)
