"""Bad input: every invalid request is refused with a message naming its field, never a traceback.

The table is the integration target bad_input's (vars/request_cases.yml): the
same cases run here through validate_request and host_select's body, and
there through the real modules and playbooks.
"""

from __future__ import annotations

import copy
import hashlib
import pathlib
import re

import pytest
import yaml

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import controller
from ansible_collections.nimbus.compute.plugins.module_utils.objects import instance

REPO = pathlib.Path(__file__).resolve().parents[4]
TARGET = REPO / "tests" / "integration" / "targets" / "bad_input"
CASES = yaml.safe_load((TARGET / "vars" / "request_cases.yml").read_text())["bad_request_cases"]
# The inventory's definitions (inventories/local/group_vars/all.yml), without its templates.
FLAVORS = {
    "m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1, "ephemeral_gb": 0, "swap_mb": 0, "extra_specs": {}},
}
IMAGES = {
    "nimbus-tiny": {"source": "/srv/nimbus-tiny.qcow2", "sha256": "a" * 64, "disk_format": "qcow2", "min_disk": 1}
}
NETWORKS = {
    "private": {
        "cidr": "198.18.0.0/24",
        "gateway": "198.18.0.1",
        "dns": ["198.18.0.1"],
        "allocation_pools": [{"start": "198.18.0.10", "end": "198.18.0.250"}],
        "libvirt_network": "nimbus-private",
        "dhcp": True,
        "mtu": 1500,
    },
    "static": {"cidr": "198.18.1.0/24", "gateway": "198.18.1.1", "dhcp": False},
}
BASE_REQUEST = {"name": "bad-input", "flavor": "m1.tiny", "image": "nimbus-tiny", "networks": [{"network": "private"}]}


def merged(base: dict, change: dict) -> dict:
    """Ansible's combine(recursive=True): nested mappings merge, anything else replaces."""
    result = copy.deepcopy(base)
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def case_args(case: dict) -> tuple[dict, dict, dict, dict]:
    """(request, flavors, images, networks) of a table entry, as the target builds them."""
    request = merged(BASE_REQUEST, case.get("change", {}))
    if case.get("oversized_user_data"):
        request["user_data"] = "x" * (instance.MAX_USER_DATA_BYTES + 1)
    if case.get("long_metadata"):
        request["metadata"] = {"role": "r" * (instance.MAX_METADATA_LEN + 1)}
    return (
        request,
        merged(FLAVORS, case.get("flavors", {})),
        merged(IMAGES, case.get("images", {})),
        merged(NETWORKS, case.get("networks", {})),
    )


def test_the_table_has_at_least_100_distinct_cases():
    ids = [case["id"] for case in CASES]
    assert len(ids) >= 100
    assert len(set(ids)) == len(ids)


def test_the_base_request_is_valid():
    assert instance.validate_request(BASE_REQUEST, FLAVORS, IMAGES, NETWORKS)["name"] == "bad-input"


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_validate_request_names_the_field(case):
    with pytest.raises(exceptions.InvalidInput) as caught:
        instance.validate_request(*case_args(case))
    assert caught.value.field == case["field"]
    assert caught.value.message.startswith(f"{case['field']}: ")


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_host_select_refuses_and_leaves_the_store_alone(case, tmp_path):
    store_path = tmp_path / "store.json"
    controller.server_group(
        {"store_path": str(store_path), "state": "present", "name": "g", "policy": "affinity", "rules": None}, False
    )
    before = hashlib.sha256(store_path.read_bytes()).hexdigest()
    files_before = sorted(path.name for path in tmp_path.iterdir())
    request, flavors, images, networks = case_args(case)
    params = {
        "store_path": str(store_path),
        "state": "present",
        "request": request,
        "flavors": flavors,
        "images": images,
        "networks": networks,
        "hosts": {"localhost": {"up": True, "vcpus": 2, "memory_mb": 4096, "disk_gb": 20}},
        "scheduler": {},
    }
    with pytest.raises(exceptions.InvalidInput, match=f"^{re.escape(case['field'])}: "):
        controller.host_select(params, False)
    assert hashlib.sha256(store_path.read_bytes()).hexdigest() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == files_before


@pytest.mark.parametrize(
    ("flavors", "images", "networks", "field"),
    [
        (None, IMAGES, NETWORKS, "flavors"),
        ([], IMAGES, NETWORKS, "flavors"),
        (FLAVORS, "nimbus-tiny", NETWORKS, "images"),
        (FLAVORS, IMAGES, 5, "networks"),
        (FLAVORS, IMAGES, [{"network": "private"}], "networks"),
    ],
)
def test_definitions_of_the_wrong_type_are_named_not_a_traceback(flavors, images, networks, field):
    with pytest.raises(exceptions.InvalidInput, match=f"^{field}: must be a mapping"):
        instance.validate_request(BASE_REQUEST, flavors, images, networks)


def test_unknown_name_lists_definitions_whose_keys_are_not_strings():
    with pytest.raises(exceptions.InvalidInput, match=r"^flavor: unknown flavor 'm1.tiny'; known flavors: 1, 2$"):
        instance.validate_request(BASE_REQUEST, {1: {}, 2: {}}, IMAGES, NETWORKS)
