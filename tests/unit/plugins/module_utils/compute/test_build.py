"""The build lifecycle's owner (compute/build.py) on both stores: steps' choice, failed attempts, rounds, report."""

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import build, flow
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states

from .test_flow import HOST, NETWORKS, NOW, request, schedule, schedule_instance

LATER = "2026-11-23T10:05:00Z"
HOSTS = {"c1": HOST, "c2": HOST}


def fail_block_device_mapping(store, uuid, error, cleanup_failure=None):
    flow.allocate_network(store, uuid, NETWORKS, NOW)
    flow.begin_step(store, uuid, states.BLOCK_DEVICE_MAPPING, NOW, "c1")
    flow.fail_step(store, uuid, states.BLOCK_DEVICE_MAPPING, error, "c1", NOW)
    build.record_failed_attempts(store, {uuid: cleanup_failure}, "c1")


def test_a_failure_no_host_can_fix_is_given_up_and_its_claim_and_ports_released(store):
    instance = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]
    fail_block_device_mapping(store, instance["uuid"], exceptions.InvalidInput("image", "sha256 differs"))
    result = build.finish_round(store, [instance["uuid"]], {"c1": HOST}, {}, LATER)
    state = store.snapshot()
    record = state.instance(instance["uuid"])
    assert result == {"pending": False, "rescheduled": {}}
    assert (record["vm_state"], record.get("failed_attempt")) == (states.ERROR, None)
    assert state.claim_of(instance["uuid"]) is None and not state.ports_of_instance(instance["uuid"])
    report = build.build_report(state, [instance["uuid"]])
    assert report["active"] == []
    assert report["failed"] == ["Build of web1 failed on c1: image: sha256 differs (attempts c1; not rescheduled)"]
    # Decided once: another round's end changes nothing.
    assert build.finish_round(store, [instance["uuid"]], {"c1": HOST}, {}, LATER) == result


def test_a_host_failure_is_rescheduled_to_the_alternate_and_waits_for_networking_again(store):
    instance = schedule_instance(store, request(), HOSTS, {}, NOW)[0]
    first = instance["host"]
    fail_block_device_mapping(store, instance["uuid"], exceptions.VirtError("qemu-img failed"))
    result = build.finish_round(store, [instance["uuid"]], HOSTS, {}, LATER)
    other = "c2" if first == "c1" else "c1"
    assert result == {"pending": True, "rescheduled": {"web1": other}}
    state = store.snapshot()
    record = state.instance(instance["uuid"])
    assert (record["vm_state"], record["task_state"], record["host"]) == (states.BUILDING, states.SCHEDULING, other)
    assert [i["uuid"] for i in build.instances_for_step(state, [instance["uuid"]], states.NETWORKING, None)] == [
        instance["uuid"]
    ]
    assert build.instances_for_step(state, [instance["uuid"]], states.BLOCK_DEVICE_MAPPING, other) == []


def test_a_rollback_that_could_not_clean_up_keeps_the_claim_and_says_so(store):
    instance = schedule_instance(store, request(), HOSTS, {}, NOW)[0]
    fail_block_device_mapping(store, instance["uuid"], exceptions.VirtError("unreachable"), "disk busy")
    build.finish_round(store, [instance["uuid"]], HOSTS, {}, LATER)
    state = store.snapshot()
    assert state.claim_of(instance["uuid"]) is not None
    (message,) = build.build_report(state, [instance["uuid"]])["failed"]
    assert message == (
        "Build of web1 failed on c1: unreachable (attempts c1; not rescheduled); could not clean up: disk busy"
    )


def test_steps_take_the_instances_waiting_for_them_on_their_host_and_the_active_ones(store):
    first, second = schedule.schedule_instances(store, request(max_count=2), {"c1": HOST}, {}, NOW)[0]
    uuids = [first["uuid"], second["uuid"]]
    state = store.snapshot()
    assert [i["name"] for i in build.instances_for_step(state, uuids, states.NETWORKING, None)] == ["web1-1", "web1-2"]
    assert build.instances_for_step(state, uuids, states.BLOCK_DEVICE_MAPPING, "c1") == []
    flow.allocate_network(store, first["uuid"], NETWORKS, NOW)
    state = store.snapshot()
    assert [i["name"] for i in build.instances_for_step(state, uuids, states.BLOCK_DEVICE_MAPPING, "c1")] == ["web1-1"]
    assert build.instances_for_step(state, uuids, states.BLOCK_DEVICE_MAPPING, "c2") == []


def test_networking_for_a_list_records_each_failure_for_the_round_end(store):
    crowded = {"private": {**NETWORKS["private"], "allocation_pools": [{"start": "198.18.0.10", "end": "198.18.0.10"}]}}
    first, second = schedule.schedule_instances(store, request(max_count=2), {"c1": HOST}, {}, NOW)[0]
    result = build.allocate_networks(store, [first["uuid"], second["uuid"]], crowded, NOW)
    assert [(entry["uuid"], entry["failed"]) for entry in result["instances"]] == [
        (first["uuid"], False),
        (second["uuid"], True),
    ]
    assert store.snapshot().instance(second["uuid"])["failed_attempt"] == {"host": "c1", "cleanup_failure": None}
    assert build.finish_round(store, [first["uuid"], second["uuid"]], {"c1": HOST}, {}, LATER)["pending"] is True


def test_an_instance_a_delete_took_is_not_rolled_back_twice_nor_reported_as_built(store):
    instance = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]
    flow.begin_delete(store, instance["uuid"], LATER)
    state = store.snapshot()
    assert build.instances_for_step(state, [instance["uuid"]], states.NETWORKING, None) == []
    (message,) = build.build_report(state, [instance["uuid"]])["failed"]
    assert "was deleted while it was being built; this build removed the domain and disks it had made on c1" in message
    assert build.needs_rollback(instance, lost_to_delete=True)


def test_what_a_failed_step_undoes(store):
    instance = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]
    active = {**instance, "vm_state": states.ACTIVE, "task_state": None}
    assert build.needs_rollback(instance, lost_to_delete=False)
    # Another run's compare-and-swap won: its attempt is not this run's to undo.
    assert not build.needs_rollback(instance, lost_to_delete=False, ours=False)
    # An instance active before this run is never torn down by a failed re-run.
    assert not build.needs_rollback(active, lost_to_delete=False)
    assert build.needs_rollback(active, lost_to_delete=True)


def test_networking_marks_its_own_failure_and_leaves_another_runs_instance(store, monkeypatch):
    instance = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]
    uuid = instance["uuid"]

    def raising(error):
        def allocate(*args, **kwargs):
            raise error

        return allocate

    # Another run's compare-and-swap won between the choice and the allocation: that run's build, untouched.
    monkeypatch.setattr(flow, "allocate_network", raising(exceptions.UnexpectedTaskStateError(uuid, "a", "b")))
    assert build.allocate_networks(store, [uuid], NETWORKS, LATER)["failed"]
    assert store.snapshot().instance(uuid).get("failed_attempt") is None
    # Its own failure waits for the round's end.
    monkeypatch.setattr(flow, "allocate_network", raising(exceptions.NoMoreFixedIps("no address left")))
    build.allocate_networks(store, [uuid], NETWORKS, LATER)
    assert store.snapshot().instance(uuid)["failed_attempt"] == {"host": "c1", "cleanup_failure": None}
