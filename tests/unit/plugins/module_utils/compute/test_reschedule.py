"""Rescheduling a failed build attempt on a real JSON store: Nova's conductor with alternates."""

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, reschedule, schedule, server_groups
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request

NOW = "2026-11-23T10:00:00.000Z"
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2"}}
NETWORKS = {"private": {"cidr": "198.18.0.0/24", "gateway": "198.18.0.1"}}
# 512 MB reserved + 2 x 256 MB: room for exactly two m1.tiny.
HOST = {"up": True, "vcpus": 8, "memory_mb": 512 + 2 * 256, "disk_gb": 100, "cpu_arch": "x86_64"}
THREE_HOSTS = {"c1": HOST, "c2": HOST, "c3": HOST}


def request(name="web", **overrides):
    raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}], **overrides}
    return validate_request(raw, FLAVORS, IMAGES, NETWORKS)


def build(store, name="web", hosts=None, config=None, **overrides):
    request_ = request(name, **overrides)
    instances, _changed = schedule.schedule_instances(store, request_, hosts or THREE_HOSTS, config or {}, NOW)
    return instances[0]


def fail_attempt(store, uuid, error, step=states.BLOCK_DEVICE_MAPPING):
    """A build attempt failing in ``step``, its ports allocated; the host-side rollback leaves the store
    alone, as the build role's does (reschedule releases the ports and moves or drops the claim)."""
    instance = store.snapshot().instance(uuid)
    for before in (states.NETWORKING, states.BLOCK_DEVICE_MAPPING, states.SPAWNING):
        if before == states.NETWORKING:
            flow.allocate_network(store, uuid, NETWORKS, NOW)
        else:
            flow.begin_step(store, uuid, before, NOW)
        if before == step:
            break
        if before != states.NETWORKING:
            flow.finish_step(store, uuid, before, NOW)
    flow.fail_step(store, uuid, step, error, instance["host"], NOW)


def events(instance, name):
    return [event for action in instance["actions"] for event in action["events"] if event["event"] == name]


def test_virt_error_moves_the_claim_to_the_first_alternate(store):
    first = build(store)
    uuid = first["uuid"]
    assert len(first["alternates"]) == 2
    fail_attempt(store, uuid, exceptions.VirtError("QEMU refused to start"))

    instance, rescheduled, changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)

    assert rescheduled and changed
    assert instance["vm_state"] == states.BUILDING and instance["task_state"] == states.SCHEDULING
    assert instance["host"] == first["alternates"][0] == instance["node"]
    assert instance["attempts"] == [first["host"], first["alternates"][0]]
    assert instance["alternates"] == first["alternates"][1:]
    assert instance["fault"]["message"] == "QEMU refused to start" and instance["fault"]["host"] == first["host"]
    state = store.snapshot()
    assert state.claim_of(uuid)["host"] == instance["host"]
    [event] = events(instance, reschedule.RESCHEDULE_EVENT)
    assert event["result"] == "Success"
    assert event["details"]["from"] == first["host"] and event["details"]["to"] == instance["host"]
    assert event["details"]["fault"]["reschedulable"] is True
    # The create action goes on, and the next attempt's steps start from scheduling.
    assert instance["actions"][-1]["finish_time"] is None
    flow.begin_step(store, uuid, states.NETWORKING, NOW)


def test_the_attempts_ports_go_with_the_reschedule(store):
    uuid = build(store)["uuid"]
    fail_attempt(store, uuid, exceptions.VirtError("boom"), step=states.SPAWNING)
    assert store.snapshot().export()["ports"]
    instance = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)[0]
    assert store.snapshot().export()["ports"] == {} and instance["network_info"] == []
    flow.allocate_network(store, uuid, NETWORKS, NOW)  # the next attempt allocates afresh
    assert len(store.snapshot().export()["ports"]) == 1


def test_a_rescheduled_build_finishes_active(store):
    uuid = build(store)["uuid"]
    fail_attempt(store, uuid, exceptions.VirtError("boom"), step=states.SPAWNING)
    reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)
    for step in (states.NETWORKING, states.BLOCK_DEVICE_MAPPING, states.SPAWNING):
        flow.begin_step(store, uuid, step, NOW)
        instance = flow.finish_step(store, uuid, step, NOW)
    assert instance["vm_state"] == states.ACTIVE and instance["task_state"] is None
    assert len(instance["attempts"]) == 2
    assert instance["actions"][-1]["finish_time"] == NOW
    # The failed attempt's fault is history (its reschedule event), not the active instance's fault.
    assert instance["fault"] is None
    [event] = events(instance, reschedule.RESCHEDULE_EVENT)
    assert event["details"]["fault"]["message"] == "boom"


def test_not_reschedulable_fails_at_once_and_drops_the_claim(store):
    first = build(store)
    uuid = first["uuid"]
    fail_attempt(store, uuid, exceptions.ImageError("checksum mismatch"))
    # The claim is still held: the give-up drops it even when no rollback did.

    instance, rescheduled, changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)

    assert not rescheduled and changed
    assert instance["vm_state"] == states.ERROR and instance["task_state"] is None
    assert instance["attempts"] == [first["host"]]
    assert instance["fault"]["message"] == "checksum mismatch" and instance["fault"]["reschedulable"] is False
    assert uuid not in store.snapshot().export()["claims"]
    assert events(instance, reschedule.RESCHEDULE_EVENT) == []


def test_attempts_spent_at_max_attempts(store):
    uuid = build(store)["uuid"]
    for _attempt in range(2):
        fail_attempt(store, uuid, exceptions.VirtError("boom"))
        instance, rescheduled, _changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)
        assert rescheduled
    assert sorted(instance["attempts"]) == ["c1", "c2", "c3"]
    fail_attempt(store, uuid, exceptions.VirtError("boom"))

    instance, rescheduled, changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)

    assert not rescheduled and changed
    assert instance["vm_state"] == states.ERROR and instance["task_state"] is None
    assert uuid not in store.snapshot().export()["claims"]
    last = events(instance, reschedule.RESCHEDULE_EVENT)[-1]
    assert last["result"] == "Error" and "Exceeded maximum number of retries" in last["details"]["reason"]


def test_max_attempts_one_never_reschedules(store):
    first = build(store, config={"max_attempts": 1})
    assert first["alternates"] == []
    fail_attempt(store, first["uuid"], exceptions.VirtError("boom"))
    instance, rescheduled, _changed = reschedule.reschedule(store, first["uuid"], THREE_HOSTS, {"max_attempts": 1}, NOW)
    assert not rescheduled and instance["vm_state"] == states.ERROR


def test_an_alternate_filled_since_is_skipped(store):
    first = build(store)
    uuid = first["uuid"]
    best, second = first["alternates"]
    # Two other builds fill the best alternate meanwhile (room for two per host).
    for name in ("a", "b"):
        build(store, name, hosts={best: HOST})
    fail_attempt(store, uuid, exceptions.VirtError("boom"))

    instance, rescheduled, _changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)

    assert rescheduled and instance["host"] == second
    details = events(instance, reschedule.RESCHEDULE_EVENT)[-1]["details"]
    assert "RamFilter" in details["rejected"][best]


def test_an_alternate_now_down_is_skipped_and_none_left_is_error(store):
    first = build(store)
    uuid = first["uuid"]
    fail_attempt(store, uuid, exceptions.VirtError("boom"))
    down = {**THREE_HOSTS, **{host: {"up": False, "reason": "libvirtd down"} for host in first["alternates"]}}

    instance, rescheduled, _changed = reschedule.reschedule(store, uuid, down, {}, NOW)

    assert not rescheduled
    assert instance["vm_state"] == states.ERROR and instance["task_state"] is None
    event = events(instance, reschedule.RESCHEDULE_EVENT)[-1]
    assert event["result"] == "Error" and sorted(event["details"]["rejected"]) == sorted(first["alternates"])


def test_anti_affinity_still_holds_on_reschedule(store):
    server_groups.ensure(store, "db", "anti-affinity", None, NOW, False)
    members = [build(store, f"db{n}", scheduler_hints={"group": "db"}) for n in (1, 2)]
    uuid = members[0]["uuid"]
    fail_attempt(store, uuid, exceptions.VirtError("boom"))

    instance, rescheduled, _changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)

    # The only host without a member is the one neither member was on.
    assert rescheduled
    assert instance["host"] not in (members[0]["host"], members[1]["host"])


def test_failure_outside_a_step_is_recorded_and_not_rescheduled(store):
    uuid = build(store)["uuid"]
    flow.begin_step(store, uuid, states.NETWORKING, NOW)

    instance, rescheduled, _changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW, message="lost host")

    assert not rescheduled
    assert instance["vm_state"] == states.ERROR and instance["fault"]["message"] == "lost host"


def test_repeated_calls_and_other_states_change_nothing(store):
    uuid = build(store)["uuid"]
    fail_attempt(store, uuid, exceptions.VirtError("boom"))
    once, rescheduled, _changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)
    again, rescheduled_again, changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)
    assert rescheduled and rescheduled_again and not changed and again["attempts"] == once["attempts"]
    flow.begin_delete(store, uuid, NOW)
    deleting, rescheduled, changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW)
    assert not rescheduled and not changed and deleting["task_state"] == states.DELETING


def test_the_module_body_reports_the_new_host(store, store_params):
    uuid = build(store)["uuid"]
    fail_attempt(store, uuid, exceptions.VirtError("boom"))
    params = {**store_params, "instance": uuid, "hosts": THREE_HOSTS, "scheduler": {}, "failure": None}
    result = reschedule.run(params, False)
    assert result["rescheduled"] and result["host"] == result["instance"]["host"]
    assert result["ansible_facts"]["nimbus_instance"]["uuid"] == uuid


def test_a_build_the_host_could_not_clean_up_is_not_rescheduled_and_keeps_its_claim(store):
    first = build(store)
    uuid = first["uuid"]
    fail_attempt(store, uuid, exceptions.VirtError("libvirtd gone"))

    instance, rescheduled, changed = reschedule.reschedule(
        store, uuid, THREE_HOSTS, {}, NOW, cleanup_failure="cannot connect to libvirtd"
    )

    assert not rescheduled and changed
    assert instance["vm_state"] == states.ERROR and instance["task_state"] is None
    assert instance["attempts"] == [first["host"]]
    assert store.snapshot().export()["claims"][uuid]["host"] == first["host"]
    event = events(instance, reschedule.RESCHEDULE_EVENT)[-1]
    assert event["result"] == "Error"
    assert event["details"]["reason"].startswith(f"Could not clean up failed build on {first['host']}")


def test_a_build_deleted_meanwhile_is_not_rescheduled_and_not_found_is_not_the_answer(store, store_params):
    uuid = build(store)["uuid"]
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    flow.begin_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW)
    flow.begin_delete(store, uuid, NOW)
    flow.deallocate_network(store, uuid)
    flow.release_claim(store, uuid, NOW)
    before = store.snapshot().export()

    params = {**store_params, "instance": uuid, "hosts": THREE_HOSTS, "scheduler": {}, "failure": "x"}
    result = reschedule.run(params, False)

    assert result["deleted"] and not result["rescheduled"] and not result["changed"] and result["host"] is None
    assert result["instance"]["vm_state"] == states.DELETED and result["instance"]["fault"] is None
    assert store.snapshot().export() == before
    assert reschedule.run(params, True)["deleted"]


def test_a_build_whose_delete_is_under_way_leaves_the_ports_and_claim_to_the_delete(store):
    first = build(store)
    uuid = first["uuid"]
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    flow.begin_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW)
    flow.begin_delete(store, uuid, NOW)

    instance, rescheduled, changed = reschedule.reschedule(store, uuid, THREE_HOSTS, {}, NOW, message="lost")

    assert not rescheduled and not changed and flow.is_being_deleted(instance) and instance["fault"] is None
    assert store.snapshot().export()["claims"][uuid]["host"] == first["host"]
    # The delete then releases them itself, once, and ends the record.
    assert flow.deallocate_network(store, uuid)[1]
    deleted, dropped = flow.release_claim(store, uuid, NOW)
    assert dropped and deleted["vm_state"] == states.DELETED
    data = store.snapshot().export()
    assert data["ports"] == {} and data["claims"] == {}
    assert not events(deleted, reschedule.RESCHEDULE_EVENT)
