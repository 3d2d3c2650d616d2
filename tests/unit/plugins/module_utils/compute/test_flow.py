"""The build and delete flow on a real JSON store."""

import multiprocessing

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, schedule
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store

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


def host_select_params(store_params, **options):
    """host_select's options for one instance web1 of m1.tiny on the network private; ``options`` add or override."""
    return {
        **store_params,
        "state": "present",
        "request": {"name": "web1", "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}]},
        "flavors": FLAVORS,
        "images": IMAGES,
        "networks": NETWORKS,
        "scheduler": {},
        **options,
    }


def request(name="web1", **overrides):
    raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}], **overrides}
    return validate_request(raw, FLAVORS, IMAGES, NETWORKS)


def schedule_instance(store, req, hosts, config, now, check_mode=False):
    instances, changed = schedule.schedule_instances(store, req, hosts, config, now, check_mode)
    return instances[0], changed


def build(store, name="web1", hosts=None):
    instance, changed = schedule_instance(store, request(name), hosts or {"c1": HOST}, {}, NOW)
    uuid = instance["uuid"]
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    for step, updates in (
        (states.BLOCK_DEVICE_MAPPING, {"block_device_info": {"disks": []}}),
        (states.SPAWNING, {"power_state": states.RUNNING}),
    ):
        building = flow.begin_step(store, uuid, step, NOW)[1]
        assert building
        flow.finish_step(store, uuid, step, NOW, **updates)
    return store.snapshot().instance(uuid), changed


def test_build_walks_nova_states_to_active(store):
    instance, changed = build(store)
    assert changed
    assert (instance["vm_state"], instance["task_state"], instance["power_state"]) == ("active", None, 1)
    assert instance["host"] == "c1"
    assert instance["launched_at"] == NOW
    assert instance["network_info"][0]["network"]["subnets"][0]["ips"][0]["address"] == "198.18.0.10"
    events = [(e["event"], e["result"]) for e in instance["actions"][-1]["events"]]
    assert events == [
        ("schedule", "Success"),
        ("allocate_network", "Success"),
        ("block_device_mapping", "Success"),
        ("spawn", "Success"),
    ]
    assert store.snapshot().export()["claims"][instance["uuid"]]["host"] == "c1"


def test_second_request_for_active_name_changes_nothing(store):
    first = build(store)[0]
    again, changed = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)
    assert not changed
    assert again["uuid"] == first["uuid"]
    assert len(store.snapshot().export()["instances"]) == 1
    building = flow.begin_step(store, first["uuid"], states.BLOCK_DEVICE_MAPPING, NOW)[1]
    assert not building


def test_steps_out_of_order_lose_the_compare_and_swap(store):
    instance = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]
    with pytest.raises(exceptions.UnexpectedTaskStateError):
        flow.begin_step(store, instance["uuid"], states.SPAWNING, NOW)


def test_no_valid_host_is_recorded_as_fault(store):
    full = {**HOST, "memory_mb": 512}
    with pytest.raises(exceptions.NoValidHost) as raised:
        schedule_instance(store, request(), {"c1": full, "c2": {"up": False}}, {}, NOW)
    assert "c1" in raised.value.message and "c2" in raised.value.message
    (instance,) = store.snapshot().export()["instances"].values()
    assert (instance["vm_state"], instance["task_state"]) == ("error", None)
    assert instance["fault"]["message"] == raised.value.message
    assert store.snapshot().export()["claims"] == {}


def test_error_instance_blocks_a_rebuild_until_deleted(store):
    with pytest.raises(exceptions.NoValidHost):
        schedule_instance(store, request(), {"c1": {"up": False}}, {}, NOW)
    with pytest.raises(exceptions.Conflict, match="delete it"):
        schedule_instance(store, request(), {"c1": HOST}, {}, NOW)
    instance, changed = flow.release_claim(store, "web1", NOW)
    assert changed and instance["vm_state"] == "deleted"  # never landed: Nova's local delete
    changed = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[1]
    assert changed


def test_failed_step_records_fault_and_error(store):
    instance = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]
    flow.allocate_network(store, instance["uuid"], NETWORKS, NOW)
    flow.begin_step(store, instance["uuid"], states.BLOCK_DEVICE_MAPPING, NOW)
    flow.fail_step(store, instance["uuid"], states.BLOCK_DEVICE_MAPPING, exceptions.ImageError("bad"), "c1", NOW)
    failed = store.snapshot().instance(instance["uuid"])
    assert (failed["vm_state"], failed["task_state"]) == ("error", None)
    assert failed["fault"]["host"] == "c1" and failed["fault"]["code"] == 400
    assert failed["actions"][-1]["events"][-1]["result"] == "Error"


def test_delete_releases_everything_and_marks_deleted(store):
    instance = build(store)[0]
    assert flow.begin_delete(store, "web1", NOW)["task_state"] == "deleting"
    released = flow.deallocate_network(store, instance["uuid"])[1]
    deleted, dropped = flow.release_claim(store, instance["uuid"], NOW)
    assert released and dropped
    assert deleted["vm_state"] == "deleted" and deleted["deleted_at"] == NOW
    data = store.snapshot().export()
    assert data["claims"] == {} and data["ports"] == {}
    assert flow.find_instance(store.snapshot(), "web1") is None
    assert [a["action"] for a in deleted["actions"]] == ["create", "delete"]


def test_check_mode_writes_nothing(store):
    instance, changed = schedule_instance(store, request(), {"c1": HOST}, {}, NOW, check_mode=True)
    assert changed and instance["vm_state"] == "building" and instance["host"] == "c1"
    assert store.snapshot().export()["instances"] == {}


def test_two_instances_never_share_an_address(store):
    first = build(store, "web1")[0]
    second = build(store, "web2")[0]
    ips = {vif["network"]["subnets"][0]["ips"][0]["address"] for vif in first["network_info"] + second["network_info"]}
    assert ips == {"198.18.0.10", "198.18.0.11"}


def test_rerun_of_a_step_converges_but_skipping_one_loses(store):
    instance = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]
    again, changed = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)
    assert not changed and again["uuid"] == instance["uuid"]
    flow.allocate_network(store, instance["uuid"], NETWORKS, NOW)
    changed = flow.allocate_network(store, instance["uuid"], NETWORKS, NOW)[1]
    assert not changed
    with pytest.raises(exceptions.UnexpectedTaskStateError):
        flow.begin_step(store, instance["uuid"], states.SPAWNING, NOW)


def delete_partly(store, uuid):
    """A delete that started (task_state deleting) and went no further."""
    flow.begin_delete(store, uuid, NOW)


def delete_fully(store, uuid):
    """A delete run to its end, as the delete role does: ports released, record marked deleted."""
    flow.begin_delete(store, uuid, NOW)
    flow.deallocate_network(store, uuid)
    flow.release_claim(store, uuid, NOW)


def in_block_device_mapping(store):
    """An instance scheduled on c1, its ports allocated, in its block_device_mapping step."""
    uuid = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]["uuid"]
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    flow.begin_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW, "c1")
    return uuid


BUILD_STEP_ENDS = {
    "finish": lambda store, uuid: flow.finish_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW, "c1"),
    "fail": lambda store, uuid: flow.fail_step(
        store, uuid, states.BLOCK_DEVICE_MAPPING, exceptions.VirtError("disk vanished"), "c1", NOW
    ),
    "next step": lambda store, uuid: flow.begin_step(store, uuid, states.SPAWNING, NOW, "c1"),
}


@pytest.mark.parametrize("delete", [delete_partly, delete_fully], ids=["deleting", "deleted"])
@pytest.mark.parametrize("end", list(BUILD_STEP_ENDS), ids=list(BUILD_STEP_ENDS))
def test_a_build_step_loses_to_a_delete_and_says_so(store, delete, end):
    uuid = in_block_device_mapping(store)
    delete(store, uuid)
    before = store.snapshot().instance(uuid)

    with pytest.raises(exceptions.InstanceDeletedDuringBuild) as raised:
        BUILD_STEP_ENDS[end](store, uuid)

    error = raised.value
    assert not error.reschedulable
    assert f"web1 ({uuid}) was deleted while it was being built" in error.message
    step = states.SPAWNING if end == "next step" else states.BLOCK_DEVICE_MAPPING
    assert f"in step {step} on c1" in error.message
    assert error.details == {
        "instance_uuid": uuid,
        "instance_name": "web1",
        "step": step,
        "host": "c1",
        "deleted_during_build": True,
    }
    assert ("disk vanished" in error.message) == (end == "fail")
    # The delete owns the record: no fault, no error state, its own action untouched.
    after = store.snapshot().instance(uuid)
    assert {k: v for k, v in after.items() if k != "actions"} == {k: v for k, v in before.items() if k != "actions"}
    assert after["fault"] is None and after["vm_state"] in (states.BUILDING, states.DELETED)
    create, delete = after["actions"]
    assert delete == before["actions"][1]
    # The build closes only its own history, as instance-action-list shows a build that lost to a delete.
    assert create["finish_time"] == NOW and create["message"] == error.message
    open_step = [(e["event"], e["result"]) for e in create["events"] if e["event"] == "block_device_mapping"]
    assert open_step == [("block_device_mapping", "Error")]


def test_the_network_step_of_a_deleted_build_says_deleted_not_not_found(store):
    uuid = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]["uuid"]
    delete_fully(store, uuid)
    with pytest.raises(exceptions.InstanceDeletedDuringBuild, match="in step networking on c1"):
        flow.allocate_network(store, uuid, NETWORKS, NOW)
    assert store.snapshot().export()["ports"] == {}


def test_a_step_finished_before_the_delete_started_still_records(store):
    uuid = in_block_device_mapping(store)
    flow.finish_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW, "c1", block_device_info={"disks": []})
    deleting = flow.begin_delete(store, uuid, NOW)
    assert deleting["task_state"] == states.DELETING and deleting["block_device_info"] == {"disks": []}


def test_a_name_being_deleted_is_not_built_again_until_the_delete_ends(store):
    uuid = in_block_device_mapping(store)
    delete_partly(store, uuid)
    with pytest.raises(
        exceptions.Conflict, match=r"web1 \(.*\) is being deleted \(task_state deleting\); let the delete"
    ):
        schedule_instance(store, request(), {"c1": HOST}, {}, NOW)
    flow.deallocate_network(store, uuid)
    flow.release_claim(store, uuid, NOW)
    again, changed = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)
    assert changed and again["uuid"] != uuid


def test_a_step_records_where_it_will_leave_things_before_it_runs(store):
    # block_device_map records its instances_path as the step begins: a build
    # killed inside the step leaves its disks there, and the delete looks there.
    uuid = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]["uuid"]
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    flow.begin_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW, "c1", instances_path="/srv/nimbus/instances")
    recorded = store.snapshot().instance(uuid)
    assert (recorded["task_state"], recorded["instances_path"]) == ("block_device_mapping", "/srv/nimbus/instances")


def test_a_step_on_a_built_instance_records_nothing_it_was_given(store):
    instance = build(store)[0]
    before = store.snapshot().instance(instance["uuid"])
    flow.begin_step(store, instance["uuid"], states.BLOCK_DEVICE_MAPPING, NOW, "c1", instances_path="/elsewhere")
    assert store.snapshot().instance(instance["uuid"]) == before


BIG_HOST = {**HOST, "vcpus": 64, "memory_mb": 65536, "disk_gb": 500}
WIDE = {"wide": {"cidr": "198.18.8.0/24", "gateway": "198.18.8.1"}}


def _allocate_at_once(params, uuid, barrier):
    barrier.wait()
    store = open_store(params.get("store_path"), params.get("store_url"))
    return flow.allocate_network(store, uuid, WIDE, NOW)[0]["network_info"][0]


def test_eight_allocations_at_once_never_share_an_address_or_mac(store, store_params):
    # All eight want the same lowest free address: on PostgreSQL the unique (network, address) index
    # refuses the losers' ports and their allocations run again; on the JSON file the lock orders them.
    uuids = []
    for index in range(8):
        raw = {"name": f"nic{index}", "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "wide"}]}
        instances, _changed = schedule.schedule_instances(
            store, validate_request(raw, FLAVORS, IMAGES, WIDE), {"c1": BIG_HOST}, {}, NOW
        )
        uuids.append(instances[0]["uuid"])
    context = multiprocessing.get_context("fork")
    barrier = context.Manager().Barrier(8)
    with context.Pool(8) as pool:
        vifs = pool.starmap(_allocate_at_once, [(store_params, uuid, barrier) for uuid in uuids])
    addresses = [vif["network"]["subnets"][0]["ips"][0]["address"] for vif in vifs]
    assert sorted(addresses, key=lambda a: int(a.rsplit(".", 1)[1])) == [f"198.18.8.{n}" for n in range(2, 10)]
    assert len({vif["address"] for vif in vifs}) == 8
    report = store.snapshot().export()
    assert len(report["ports"]) == 8
    assert all(report["instances"][uuid]["task_state"] == states.NETWORKING for uuid in uuids)
