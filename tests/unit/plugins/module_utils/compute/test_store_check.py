"""store_check: report, predict in check mode, repair in one transaction, then change nothing (both backends;
a record lost from the file and stale temp files are the JSON store's own)."""

from __future__ import annotations

import json
import multiprocessing
import os
import pathlib
import signal
import threading

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, schedule
from ansible_collections.nimbus.compute.plugins.module_utils.compute.store_check import store_check
from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import StoreError
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore, is_temp_file_of
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import ANY

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


@pytest.fixture
def deleted_with_leftovers(store, store_params) -> dict:
    """The store options of a store (each backend) where a crash marked instance a deleted but kept its claim
    and port: a delete killed between its transactions."""
    for name in ("a", "b"):
        raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}]}
        request = validate_request(raw, FLAVORS, IMAGES, NETWORKS)
        instance = schedule.schedule_instances(store, request, HOSTS, {}, NOW)[0][0]
        flow.allocate_network(store, instance["uuid"], NETWORKS, NOW)
    with store.transaction() as state:
        state.save_instance(state.find_instance("a")["uuid"], ANY, vm_state=states.DELETED, task_state=None)
    return store_params


def test_orphans_are_reported_predicted_and_repaired_once_on_each_backend(deleted_with_leftovers):
    params = deleted_with_leftovers
    report = store_check({**params, "repair": False}, check_mode=False)
    assert (report["changed"], report["consistent"]) == (False, False)
    assert kinds(report["violations"]) == ["claim_of_deleted_instance", "port_of_deleted_instance"]
    predicted = store_check({**params, "repair": True}, check_mode=True)
    assert store_check({**params, "repair": False}, check_mode=False)["violations"] == report["violations"]
    repaired = store_check({**params, "repair": True}, check_mode=False)
    assert predicted == repaired
    assert (repaired["changed"], repaired["consistent"], repaired["remaining"]) == (True, True, [])
    assert repaired["counts"] == {
        "instances": 2,
        "live_instances": 1,
        "claims": 1,
        "ports": 1,
        "host_facts": 0,
        "server_groups": 0,
        # The project's default security group, made by its first build.
        "security_groups": 1,
        "floating_ips": 0,
    }
    for check_mode in (True, False):
        again = store_check({**params, "repair": True}, check_mode=check_mode)
        assert (again["changed"], again["consistent"], again["violations"]) == (False, True, [])


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


# Stale temp files: a writer killed before its rename leaves .store.json.XXXXXXXX.tmp behind.

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def consistent_path(tmp_path) -> str:
    store = JSONStore(str(tmp_path / "store.json"))
    with store.transaction() as state:
        state.data["host_facts"]["c1"] = {"reported": NOW}
    return store.path


def temp_files(path: str) -> list[str]:
    directory = os.path.dirname(path)
    return sorted(os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(".tmp"))


def write_host_facts(path: str) -> None:
    with JSONStore(path).transaction() as state:
        state.data["host_facts"]["c9"] = {"reported": NOW}


def killed_before_rename(path: str) -> None:
    """A writer SIGKILLed after writing its temp file, before the rename; its lock dies with it."""

    def die(*_args):
        os.kill(os.getpid(), signal.SIGKILL)

    os.replace = die  # in this forked child only
    write_host_facts(path)


def held_before_rename(path: str, written, release) -> None:
    """A writer that stops, alive and holding the lock, between its temp file and the rename."""
    rename = os.replace

    def wait_then_rename(source, target):
        written.set()
        release.wait(10)
        rename(source, target)

    os.replace = wait_then_rename
    write_host_facts(path)


def test_a_killed_writers_temp_file_is_reported_predicted_and_removed(consistent_path):
    child = FORK.Process(target=killed_before_rename, args=(consistent_path,), daemon=True)
    child.start()
    child.join(10)
    assert child.exitcode == -signal.SIGKILL, f"the writer ended with {child.exitcode}, not killed"
    left = temp_files(consistent_path)
    assert len(left) == 1, left
    report = store_check({"store_path": consistent_path, "repair": False}, check_mode=False)
    assert (report["stale_temp_files"], report["removed_temp_files"], report["changed"]) == (left, [], False)
    assert report["consistent"] is True
    predicted = store_check({"store_path": consistent_path, "repair": True}, check_mode=True)
    assert temp_files(consistent_path) == left
    repaired = store_check({"store_path": consistent_path, "repair": True}, check_mode=False)
    assert predicted == repaired
    assert (repaired["stale_temp_files"], repaired["removed_temp_files"], repaired["changed"]) == (left, left, True)
    assert temp_files(consistent_path) == []
    # The killed write never landed; the store is the one before it.
    assert list(JSONStore(consistent_path).snapshot().data["host_facts"]) == ["c1"]
    again = store_check({"store_path": consistent_path, "repair": True}, check_mode=False)
    assert (again["stale_temp_files"], again["removed_temp_files"], again["changed"]) == ([], [], False)


def test_a_live_writers_temp_file_is_never_removed(consistent_path):
    written, release = FORK.Event(), FORK.Event()
    child = FORK.Process(target=held_before_rename, args=(consistent_path, written, release), daemon=True)
    child.start()
    try:
        assert written.wait(10), "the writer never reached its rename"
        results = []
        checker = threading.Thread(
            target=lambda: results.append(store_check({"store_path": consistent_path, "repair": True}, False))
        )
        checker.start()
        checker.join(0.3)
        assert checker.is_alive(), "store_check did not wait for the writer's lock"
        assert len(temp_files(consistent_path)) == 1
    finally:
        release.set()
        child.join(10)
    checker.join(10)
    assert child.exitcode == 0, f"the writer failed ({child.exitcode})"
    assert (results[0]["stale_temp_files"], results[0]["removed_temp_files"], results[0]["changed"]) == ([], [], False)
    assert sorted(JSONStore(consistent_path).snapshot().data["host_facts"]) == ["c1", "c9"]


def test_only_this_stores_temp_files_are_touched(consistent_path):
    directory = pathlib.Path(consistent_path).parent
    ours = directory / ".store.json.ab_cd123.tmp"
    others = [
        ".store.json.x.abcd1234.tmp",
        ".store.json.abc.tmp",
        ".store.json.abcd1234.tmp.keep",
        ".other.abcd1234.tmp",
    ]
    for name in [ours.name, *others]:
        (directory / name).write_bytes(b"{")
    result = store_check({"store_path": consistent_path, "repair": True}, check_mode=False)
    assert result["removed_temp_files"] == [str(ours)]
    assert not ours.exists()
    assert all((directory / name).exists() for name in others)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".store.json.k3_x9a0z.tmp", True),
        (".store.json.k3_x9a0.tmp", False),
        (".store.json.K3_X9A0Z.tmp", False),
        (".store.json.x.k3_x9a0z.tmp", False),
        ("store.json.k3_x9a0z.tmp", False),
        (".store.json.k3_x9a0z.tmp.bak", False),
        (".store.json.lock", False),
    ],
)
def test_temp_file_names(name, expected):
    assert is_temp_file_of("/state/store.json", name) is expected


def test_temp_files_are_removed_only_under_the_exclusive_lock(consistent_path):
    with pytest.raises(StoreError, match="only inside a transaction"):
        JSONStore(consistent_path).remove_stale_temp_files()


def test_no_stale_temp_file_means_no_lock_file(tmp_path):
    store = JSONStore(str(tmp_path / "nothing" / "store.json"))
    assert store.stale_temp_files() == []
    assert not (tmp_path / "nothing").exists()


def test_repair_disassociates_the_floating_ip_of_an_orphan_port_before_deleting_the_port(deleted_with_leftovers, store):
    """PostgreSQL's foreign key (and the JSON store's check) refuse the port's delete while a floating IP is on it."""
    with store.transaction() as state:
        gone = next(inst for inst in state.list_instances(include_deleted=True) if inst["name"] == "a")
        port_id, port = next(iter(state.ports_of_instance(gone["uuid"]).items()))
        state.add_floating_ip(
            {
                "id": "f1",
                "floating_ip_address": "198.19.0.10",
                "pool": "public",
                "project_id": "default",
                "port_id": port_id,
                "fixed_ip_address": port["ips"][0],
                "instance_uuid": gone["uuid"],
                "host": "c1",
                "status": "ACTIVE",
            }
        )
    repaired = store_check({**deleted_with_leftovers, "repair": True}, check_mode=False)
    assert kinds(repaired["repaired"]) == ["claim_of_deleted_instance", "port_of_deleted_instance"]
    assert (repaired["consistent"], repaired["counts"]["ports"], repaired["counts"]["floating_ips"]) == (True, 1, 1)
    kept = store.snapshot().find_floating_ip("198.19.0.10")
    assert (kept["port_id"], kept["fixed_ip_address"], kept["instance_uuid"], kept["status"]) == (
        None,
        None,
        None,
        "DOWN",
    )
    assert not store.snapshot().port_exists(port_id)
