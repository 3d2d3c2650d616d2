"""Versioned notifications of the build and delete flow, on a real store (each backend) and a real file."""

import json
import multiprocessing
import os
import stat

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import controller, flow, notifications, schedule
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore

from .test_flow import host_select_params

NOW = "2026-11-23T10:00:00Z"
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2", "sha256": "a" * 64}}
NETWORKS = {
    "private": {
        "cidr": "198.18.0.0/24",
        "gateway": "198.18.0.1",
        "allocation_pools": [{"start": "198.18.0.10", "end": "198.18.0.12"}],
    }
}
HOST = {"up": True, "vcpus": 2, "memory_mb": 2048, "disk_gb": 20, "cpu_arch": "x86_64", "virt_types": ["qemu"]}
SECRET = "s3cret-admin-pass"
DISKS = [
    {"device_name": "vda", "path": "/i/disk", "bus": "virtio", "type": "disk", "format": "qcow2", "boot_index": 0},
]


def request(name="web1", **overrides):
    raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}], **overrides}
    return validate_request(raw, FLAVORS, IMAGES, NETWORKS)


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "notify" / "notifications.jsonl")


@pytest.fixture
def store(store_params, path):
    """An empty store of each backend, notifying to ``path``."""
    return notifications.set_path(open_store(store_params.get("store_path"), store_params.get("store_url")), path)


def read(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def data(record):
    return record["payload"]["nova_object.data"]


def scheduled(store, name="web1", hosts=None):
    instances, _changed = schedule.schedule_instances(store, request(name), hosts or {"c1": HOST}, {}, NOW)
    return instances[0]["uuid"]


def build(store, name="web1"):
    uuid = scheduled(store, name)
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    for step, updates in (
        (states.BLOCK_DEVICE_MAPPING, {"block_device_info": {"disks": DISKS}}),
        (states.SPAWNING, {"power_state": states.RUNNING}),
    ):
        flow.begin_step(store, uuid, step, NOW)
        flow.finish_step(store, uuid, step, NOW, **updates)
    return uuid


def delete(store, uuid):
    flow.begin_delete(store, uuid, NOW)
    flow.deallocate_network(store, uuid)
    flow.release_claim(store, uuid, NOW)


def test_build_and_delete_emit_nova_events_in_order(store, path):
    uuid = build(store)
    delete(store, uuid)
    lines = read(path)
    assert [line["event_type"] for line in lines] == [
        "instance.create.start",
        "instance.create.end",
        "instance.delete.start",
        "instance.delete.end",
    ]
    assert {line["priority"] for line in lines} == {"INFO"}
    assert len({line["message_id"] for line in lines}) == 4
    start, end, delete_start, delete_end = (data(line) for line in lines)
    assert start["uuid"] == uuid
    assert start["display_name"] == "web1"
    assert (start["state"], start["task_state"]) == ("building", "scheduling")
    assert (end["state"], end["task_state"], end["power_state"]) == ("active", None, states.RUNNING)
    assert end["host"] == "c1"
    assert lines[1]["publisher_id"] == "nimbus-compute:c1"
    assert end["flavor"]["vcpus"] == 1
    assert end["flavor"]["memory_mb"] == 256
    assert end["image_uuid"] == "tiny"
    assert [(ip["address"], ip["label"], ip["version"]) for ip in end["ip_addresses"]] == [
        ("198.18.0.10", "private", 4)
    ]
    assert end["ip_addresses"][0]["mac"].startswith("fa:16:3e:")
    assert end["block_devices"][0]["device_name"] == "vda"
    assert end["block_devices"][0]["boot_index"] == 0
    assert end["fault"] is None
    assert delete_start["task_state"] == states.DELETING
    assert delete_end["state"] == states.DELETED
    assert delete_end["deleted_at"] == NOW
    assert lines[0]["payload"]["nova_object.name"] == "InstanceCreatePayload"
    assert lines[2]["payload"]["nova_object.name"] == "InstanceActionPayload"


def test_file_is_private_and_appended(store, path):
    build(store, "web1")
    build(store, "web2")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    names = [data(line)["display_name"] for line in read(path)]
    assert names == ["web1", "web1", "web2", "web2"]


def test_no_path_writes_nothing(tmp_path):
    store = JSONStore(str(tmp_path / "store.json"))
    build(store)
    assert sorted(os.listdir(tmp_path)) == ["store.json", "store.json.lock"]
    assert notifications.notifications_path(store) is None


def test_no_valid_host_gives_start_then_error_with_fault(store, path):
    with pytest.raises(exceptions.NoValidHost):
        scheduled(store, hosts={"c1": {**HOST, "memory_mb": 100}})
    lines = read(path)
    assert [line["event_type"] for line in lines] == ["instance.create.start", "instance.create.error"]
    error = lines[1]
    assert error["priority"] == "ERROR"
    assert error["publisher_id"].startswith("nimbus-conductor:")
    fault = data(error)["fault"]
    assert fault["exception"] == "NoValidHost"
    assert "No valid host" in fault["exception_message"]
    assert data(error)["state"] == states.ERROR


def test_failed_step_records_traceback_and_emits_error(store, path):
    uuid = scheduled(store)
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    flow.begin_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW)
    error = exceptions.NimbusError("image sha256 mismatch")
    error.code = 400
    error.module_result = {"failed": True, "msg": "image sha256 mismatch", "exception": "Traceback: boom\n"}
    flow.fail_step(store, uuid, states.BLOCK_DEVICE_MAPPING, error, "c1", NOW)
    record = store.snapshot().instance(uuid)
    event = record["actions"][-1]["events"][-1]
    assert (event["event"], event["result"]) == ("block_device_mapping", "Error")
    assert event["details"]["traceback"] == "Traceback: boom\n"
    assert "traceback" not in record["fault"]
    lines = read(path)
    assert [line["event_type"] for line in lines][-1] == "instance.create.error"
    fault = data(lines[-1])["fault"]
    assert (fault["exception_message"], fault["code"], fault["host"]) == ("image sha256 mismatch", 400, "c1")
    assert fault["traceback"] == "Traceback: boom\n"


def test_error_without_traceback_keeps_plain_fault(store):
    uuid = scheduled(store)
    flow.fail_step(store, uuid, states.SCHEDULING, exceptions.NimbusError("plain"), "c1", NOW)
    event = store.snapshot().instance(uuid)["actions"][-1]["events"][-1]
    assert "traceback" not in event["details"]


def test_network_failure_emits_error(store, path):
    full = {"private": {**NETWORKS["private"], "allocation_pools": [{"start": "198.18.0.10", "end": "198.18.0.10"}]}}
    build(store, "web1")
    uuid = scheduled(store, "web2")
    with pytest.raises(exceptions.NimbusError):
        flow.allocate_network(store, uuid, full, NOW)
    assert read(path)[-1]["event_type"] == "instance.create.error"
    assert data(read(path)[-1])["uuid"] == uuid


def test_local_delete_of_unplaced_instance(store, path):
    with pytest.raises(exceptions.NoValidHost):
        scheduled(store, hosts={"c1": {**HOST, "up": False}})
    uuid = data(read(path)[0])["uuid"]
    flow.release_claim(store, uuid, NOW)
    assert [line["event_type"] for line in read(path)][-2:] == ["instance.delete.start", "instance.delete.end"]


def test_secrets_never_appear(store, path):
    req = request("web1", admin_pass=SECRET, user_data="c2VjcmV0LXVzZXItZGF0YQ==", metadata={"role": "web"})
    instances, _changed = schedule.schedule_instances(store, req, {"c1": HOST}, {}, NOW)
    flow.allocate_network(store, instances[0]["uuid"], NETWORKS, NOW)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    assert SECRET not in text
    assert "c2VjcmV0LXVzZXItZGF0YQ==" not in text
    assert data(read(path)[0])["metadata"] == {"role": "web"}


def test_controller_passes_the_option(store_params, path):
    params = host_select_params(store_params, notifications_path=path, hosts={"c1": HOST})
    controller.host_select(params, check_mode=False)
    assert [line["event_type"] for line in read(path)] == ["instance.create.start"]


def _append_many(path, worker):
    for index in range(200):
        notifications.append_line(path, {"worker": worker, "index": index, "pad": "x" * 5000})


def test_concurrent_appends_never_interleave(path):
    os.makedirs(os.path.dirname(path))
    workers = [multiprocessing.Process(target=_append_many, args=(path, worker)) for worker in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lines = read(path)
    assert len(lines) == 800
    for worker in range(4):
        assert [line["index"] for line in lines if line["worker"] == worker] == list(range(200))


def test_unwritable_path_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(exceptions.StoreError):
        notifications.append_line(str(blocker / "notifications.jsonl"), {"a": 1})


def test_a_build_that_loses_to_a_delete_notifies_create_error_once(store, path):
    # Nova notifies instance.create.error for an instance that disappeared during its build.
    uuid = scheduled(store)
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    flow.begin_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW, "c1")
    delete(store, uuid)
    with pytest.raises(exceptions.InstanceDeletedDuringBuild):
        flow.finish_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW, "c1")
    # The build's rescue may meet the deleted instance again: no second notification.
    with pytest.raises(exceptions.InstanceDeletedDuringBuild):
        flow.fail_step(store, uuid, states.BLOCK_DEVICE_MAPPING, exceptions.VirtError("gone"), "c1", NOW)
    lines = read(path)
    assert [line["event_type"] for line in lines] == [
        "instance.create.start",
        "instance.delete.start",
        "instance.delete.end",
        "instance.create.error",
    ]
    error = lines[-1]
    assert error["priority"] == "ERROR"
    assert data(error)["uuid"] == uuid
    assert data(error)["state"] == states.DELETED
    fault = data(error)["fault"]
    assert (fault["exception"], fault["code"], fault["host"]) == ("InstanceDeletedDuringBuild", 409, "c1")
    assert "was deleted while it was being built" in fault["exception_message"]
