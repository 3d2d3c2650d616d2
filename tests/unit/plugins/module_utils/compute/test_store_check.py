"""store_check: report, predict in check mode, repair in one transaction, then change nothing."""

from __future__ import annotations

import json
import pathlib

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, schedule
from ansible_collections.nimbus.compute.plugins.module_utils.compute.store_check import store_check
from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import StoreError
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore

NOW = "2026-11-23T10:00:00Z"
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2", "sha256": "a" * 64}}
NETWORKS = {"private": {"cidr": "198.18.0.0/24"}}
HOSTS = {"c1": {"up": True, "vcpus": 4, "memory_mb": 4096, "disk_gb": 40, "cpu_arch": "x86_64", "virt_types": ["qemu"]}}


@pytest.fixture
def path(tmp_path) -> str:
    """A store with two instances (claims and ports), one of whose records a crash lost."""
    store = JSONStore(str(tmp_path / "store.json"))
    for name in ("a", "b"):
        raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}]}
        instance = schedule.schedule_instances(store, validate_request(raw, FLAVORS, IMAGES, NETWORKS), HOSTS, {}, NOW)[
            0
        ][0]
        flow.allocate_network(store, instance["uuid"], NETWORKS, NOW)
    data = json.loads(pathlib.Path(store.path).read_text(encoding="utf-8"))
    lost = next(uuid for uuid, inst in data["instances"].items() if inst["name"] == "a")
    del data["instances"][lost]
    pathlib.Path(store.path).write_text(json.dumps(data), encoding="utf-8")
    return store.path


def kinds(violations: list[dict]) -> list[str]:
    return sorted(found["kind"] for found in violations)


def test_report_only_never_changes(path):
    before = pathlib.Path(path).read_bytes()
    result = store_check({"store_path": path, "repair": False}, check_mode=False)
    assert result["changed"] is False
    assert result["consistent"] is False
    assert kinds(result["violations"]) == ["claim_without_instance", "port_without_instance"]
    assert result["repaired"] == []
    assert result["remaining"] == result["violations"]
    assert pathlib.Path(path).read_bytes() == before


def test_check_mode_predicts_the_repair_and_writes_nothing(path):
    before = pathlib.Path(path).read_bytes()
    predicted = store_check({"store_path": path, "repair": True}, check_mode=True)
    assert pathlib.Path(path).read_bytes() == before
    repaired = store_check({"store_path": path, "repair": True}, check_mode=False)
    assert predicted == repaired
    assert repaired["changed"] is True
    assert repaired["consistent"] is True
    assert kinds(repaired["repaired"]) == ["claim_without_instance", "port_without_instance"]
    assert repaired["remaining"] == []
    data = JSONStore(path).snapshot().data
    assert len(data["claims"]) == len(data["ports"]) == len(data["instances"]) == 1


def test_repair_is_idempotent(path):
    store_check({"store_path": path, "repair": True}, check_mode=False)
    for check_mode in (True, False):
        again = store_check({"store_path": path, "repair": True}, check_mode=check_mode)
        assert (again["changed"], again["consistent"], again["violations"]) == (False, True, [])


def test_an_unreadable_store_fails_and_stays(path):
    pathlib.Path(path).write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError, match="not valid JSON"):
        store_check({"store_path": path, "repair": True}, check_mode=False)
    assert pathlib.Path(path).read_text(encoding="utf-8") == "{not json"
