"""Build requests: validation truth tables and the instance record."""

from __future__ import annotations

import copy
import re

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import FixedIpInvalid, InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import instance, states

FLAVORS = {
    "m1.tiny": {"vcpus": 1, "memory_mb": 128, "root_gb": 1},
    "m1.small": {"vcpus": 2, "memory_mb": 2048, "root_gb": 20, "ephemeral_gb": 1, "swap_mb": 512},
}
IMAGES = {
    "cirros": {"source": "/srv/images/cirros.qcow2"},
    "secret": {"source": "https://user:hunter2@images.example/debian.qcow2", "min_disk": 10, "sha256": "A" * 64},
}
NETWORKS = {"private": {"cidr": "198.18.0.0/24"}, "public": {"cidr": "203.0.113.0/28", "dhcp": False}}


def request(**changes):
    base = {"name": "web-1", "flavor": "m1.tiny", "image": "cirros", "networks": [{"network": "private"}]}
    base.update(changes)
    return {key: value for key, value in base.items() if value is not ...}


def validate(req):
    return instance.validate_request(req, FLAVORS, IMAGES, NETWORKS)


def test_minimal_request_is_normalised():
    result = validate(request())
    assert result == {
        "name": "web-1",
        "project_id": "default",
        "flavor": {
            "name": "m1.tiny",
            "vcpus": 1,
            "memory_mb": 128,
            "root_gb": 1,
            "ephemeral_gb": 0,
            "swap_mb": 0,
            "extra_specs": {},
        },
        "image": {
            "name": "cirros",
            "source": "/srv/images/cirros.qcow2",
            "sha256": None,
            "disk_format": "qcow2",
            "min_disk": 0,
            "properties": {},
        },
        "networks": [{"network": "private", "fixed_ip": None}],
        "key_name": None,
        "public_keys": {},
        "user_data": None,
        "metadata": {},
        "admin_pass": None,
        "availability_zone": None,
        "force_host": None,
        "min_count": 1,
        "max_count": 1,
        "names": ["web-1"],
        "scheduler_hints": {"group": None, "same_host": [], "different_host": []},
        "security_groups": ["default"],
        "block_device_mapping": [
            {
                "source_type": "image",
                "destination_type": "local",
                "boot_index": 0,
                "device_name": None,
                "disk_bus": None,
                "device_type": "disk",
                "guest_format": None,
                "volume_size": None,
                "delete_on_termination": True,
                "uuid": "cirros",
            }
        ],
        "config_drive_format": "config-2",
        "files": [],
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "-web"}, "name"),
        ({"name": "a" * 64}, "name"),
        ({"name": "web 1"}, "name"),
        ({"name": "web/1"}, "name"),
        ({"name": "web\n1"}, "name"),
        ({"name": "<web>"}, "name"),
        ({"name": "web.1"}, "name"),
        ({"name": 7}, "name"),
        ({"name": ...}, "name"),
        ({"flavor": "m1.huge"}, "flavor"),
        ({"flavor": "../m1.tiny"}, "flavor"),
        ({"flavor": ...}, "flavor"),
        ({"image": "ubuntu"}, "image"),
        ({"image": "cir ros"}, "image"),
        ({"image": "secret"}, "flavor"),  # root_gb 1 < min_disk 10
        ({"networks": []}, "networks"),
        ({"networks": "private"}, "networks"),
        ({"networks": ...}, "networks"),
        ({"networks": [{"network": "dmz"}]}, "networks[0].network"),
        ({"networks": ["private"]}, "networks[0]"),
        ({"networks": [{"network": "private", "port": 1}]}, "networks[0].port"),
        ({"networks": [{"network": "private", "fixed_ip": "198.18.0.9"}] * 2}, "networks[1].fixed_ip"),
        ({"user_data": "x" * 65536}, "user_data"),
        ({"user_data": "é" * 32768}, "user_data"),  # 65536 bytes in UTF-8
        ({"user_data": b"bytes"}, "user_data"),
        ({"metadata": {"k": 1}}, "metadata.k"),
        ({"metadata": {"k": "v" * 256}}, "metadata.k"),
        ({"metadata": {"k" * 256: "v"}}, "metadata"),
        ({"metadata": ["k"]}, "metadata"),
        ({"key_name": "mykey"}, "key_name"),
        ({"public_keys": {"my key": "ssh-ed25519 AAAA"}}, "public_keys"),
        ({"public_keys": {"k": "ssh-ed25519 AAAA\nssh-rsa BBBB"}}, "public_keys.k"),
        ({"admin_pass": 1234}, "admin_pass"),
        ({"availability_zone": "zone&1"}, "availability_zone"),
        ({"count": 2}, "request.count"),
    ],
)
def test_bad_request_names_the_field(changes, field):
    with pytest.raises(InvalidInput) as error:
        validate(request(**changes))
    assert error.value.field == field
    assert error.value.message.startswith(f"{field}: ")


def test_unknown_flavor_lists_known_ones():
    with pytest.raises(InvalidInput, match=r"known flavors: m1\.small, m1\.tiny"):
        validate(request(flavor="m1.huge"))


@pytest.mark.parametrize(
    ("flavor", "field"),
    [
        ({"vcpus": 0, "memory_mb": 128, "root_gb": 1}, "flavors.bad.vcpus"),
        ({"vcpus": True, "memory_mb": 128, "root_gb": 1}, "flavors.bad.vcpus"),
        ({"vcpus": 1, "memory_mb": 63, "root_gb": 1}, "flavors.bad.memory_mb"),
        ({"vcpus": 1, "memory_mb": "128", "root_gb": 1}, "flavors.bad.memory_mb"),
        ({"vcpus": 1, "memory_mb": 128, "root_gb": 0}, "flavors.bad.root_gb"),
        ({"vcpus": 1, "memory_mb": 128}, "flavors.bad.root_gb"),
        ({"vcpus": 1, "memory_mb": 128, "root_gb": 1, "ephemeral_gb": -1}, "flavors.bad.ephemeral_gb"),
        ({"vcpus": 1, "memory_mb": 128, "root_gb": 1, "swap_mb": -1}, "flavors.bad.swap_mb"),
        ({"vcpus": 1, "memory_mb": 128, "root_gb": 1, "extra_specs": {"hw:x": 1}}, "flavors.bad.extra_specs.hw:x"),
        ({"vcpus": 1, "memory_mb": 128, "root_gb": 1, "disk": 5}, "flavors.bad.disk"),
        ("m1", "flavors.bad"),
    ],
)
def test_bad_flavor_names_the_field(flavor, field):
    with pytest.raises(InvalidInput) as error:
        instance.validate_request(request(flavor="bad"), {"bad": flavor}, IMAGES, NETWORKS)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("image", "field"),
    [
        ({}, "images.bad.source"),
        ({"source": "  "}, "images.bad.source"),
        ({"source": "/x", "sha256": "abc"}, "images.bad.sha256"),
        ({"source": "/x", "disk_format": "vmdk"}, "images.bad.disk_format"),
        ({"source": "/x", "min_disk": -1}, "images.bad.min_disk"),
        ({"source": "/x", "properties": []}, "images.bad.properties"),
        ({"source": "/x", "checksum": "md5"}, "images.bad.checksum"),
    ],
)
def test_bad_image_names_the_field(image, field):
    with pytest.raises(InvalidInput) as error:
        instance.validate_request(request(image="bad"), FLAVORS, {"bad": image}, NETWORKS)
    assert error.value.field == field


def test_bad_network_conf_names_the_network_key():
    with pytest.raises(InvalidInput) as error:
        instance.validate_request(request(), FLAVORS, IMAGES, {"private": {"cidr": "198.18.0.0/24", "mtu": 10}})
    assert error.value.field == "networks.private.mtu"


@pytest.mark.parametrize("fixed_ip", ["198.18.1.5", "198.18.0.1", "not-an-ip", "198.18.0.255"])
def test_fixed_ip_is_checked_before_scheduling(fixed_ip):
    with pytest.raises(FixedIpInvalid):
        validate(request(networks=[{"network": "private", "fixed_ip": fixed_ip}]))


def test_full_request_keeps_every_field():
    result = validate(
        request(
            flavor="m1.small",
            networks=[{"network": "private", "fixed_ip": "198.18.0.10"}, {"network": "public"}],
            key_name="ops",
            public_keys={"ops": "ssh-ed25519 AAAA ops@example\n"},
            user_data="#cloud-config\n",
            metadata={"role": "web"},
            admin_pass="s3cret",
            availability_zone="az1",
        )
    )
    assert result["networks"] == [
        {"network": "private", "fixed_ip": "198.18.0.10"},
        {"network": "public", "fixed_ip": None},
    ]
    assert result["public_keys"] == {"ops": "ssh-ed25519 AAAA ops@example"}
    assert result["flavor"]["swap_mb"] == 512
    assert (result["key_name"], result["user_data"], result["admin_pass"]) == ("ops", "#cloud-config\n", "s3cret")
    assert result["availability_zone"] == "az1"


def test_validate_does_not_modify_its_inputs():
    req = request(metadata={"a": "b"})
    inputs = copy.deepcopy((req, FLAVORS, IMAGES, NETWORKS))
    validate(req)
    assert (req, FLAVORS, IMAGES, NETWORKS) == inputs


def test_new_instance_is_nova_shaped_and_keeps_no_secrets():
    req = validate(
        request(
            name="Web-Server-01",
            image="secret",
            flavor="m1.small",
            user_data="password: hunter2",
            admin_pass="hunter2",
            metadata={"role": "web"},
        )
    )
    inst = instance.new_instance(req, "2026-01-02T03:04:05Z")
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", inst["uuid"])
    assert inst["hostname"] == "web-server-01"
    assert inst["vm_state"] == states.BUILDING
    assert inst["task_state"] == states.SCHEDULING
    assert inst["power_state"] == states.NOSTATE
    assert inst["created_at"] == inst["updated_at"] == "2026-01-02T03:04:05Z"
    assert inst["image"]["source"] == "https://images.example/debian.qcow2"
    assert inst["requested_networks"] == [{"network": "private", "fixed_ip": None}]
    for key, value in {
        "launch_index": 0,
        "host": None,
        "node": None,
        "network_info": [],
        "block_device_info": {},
        "fault": None,
        "attempts": [],
        "actions": [],
        "launched_at": None,
        "deleted_at": None,
    }.items():
        assert inst[key] == value
    assert "user_data" not in inst
    assert "admin_pass" not in inst
    assert "hunter2" not in repr(inst)


def test_new_instances_get_distinct_uuids():
    req = validate(request())
    assert instance.new_instance(req, "t")["uuid"] != instance.new_instance(req, "t")["uuid"]


@pytest.mark.parametrize(
    ("name", "hostname"),
    [
        ("web-1", "web-1"),
        ("Web_Server 1", "web-server-1"),
        ("a.b.c", "a-b-c"),
        ("-x-", "x"),
        ("héllo", "héllo"),
        ("a" * 70, "a" * 63),
        ("!!!", "server"),
    ],
)
def test_sanitize_hostname(name, hostname):
    assert instance.sanitize_hostname(name, default_name="server") == hostname


def test_utcnow_is_iso8601_utc():
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", instance.utcnow())
