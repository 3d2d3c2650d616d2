"""The delete lifecycle's owner (compute/terminate.py) on both stores: begin, host steps recorded, complete."""

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, terminate
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states

from .test_flow import HOST, NETWORKS, NOW, build, request, schedule_instance

LATER = "2026-11-23T10:05:00Z"


def two_hosts_three_instances(store):
    """web1, web2 on c1 and web3 on c2 (forced), all active."""
    built = [build(store, name, hosts={"c1": HOST})[0] for name in ("web1", "web2")]
    built.append(build(store, "web3", hosts={"c2": HOST})[0])
    return built


def cleaned(store, module, uuids, host, failed=()):
    outcomes = [
        {"uuid": uuid, "failed": uuid in failed, "msg": "compute host could not be reached" if uuid in failed else None}
        for uuid in uuids
    ]
    terminate.record_host_step(store, module, outcomes, host, LATER)


def test_begin_groups_by_host_and_moves_every_instance_to_deleting(store):
    web1, web2, web3 = two_hosts_three_instances(store)
    started = terminate.begin_terminate(store, ["web1", web2["uuid"], "web3", "nope"], LATER)
    assert started["hosts"] == {"c1": [web1["uuid"], web2["uuid"]], "c2": [web3["uuid"]]}
    assert started["missing"] == ["nope"]
    state = store.snapshot()
    for instance in (web1, web2, web3):
        record = state.instance(instance["uuid"])
        assert record["task_state"] == states.DELETING
        assert record["actions"][-1]["action"] == "delete"


def test_begin_in_check_mode_changes_nothing(store):
    web1 = build(store)[0]
    started = terminate.begin_terminate(store, ["web1"], LATER, check_mode=True)
    assert started["hosts"] == {"c1": [web1["uuid"]]}
    assert store.snapshot().instance(web1["uuid"])["task_state"] is None


def test_complete_deletes_what_hosts_cleaned_and_keeps_the_unreachable_one(store):
    web1, web2, web3 = two_hosts_three_instances(store)
    terminate.begin_terminate(store, ["web1", "web2", "web3"], LATER)
    cleaned(store, "libvirt_domain", [web1["uuid"], web2["uuid"]], "c1")
    cleaned(store, "block_device_map", [web1["uuid"], web2["uuid"]], "c1")
    cleaned(store, "libvirt_domain", [web3["uuid"]], "c2", failed={web3["uuid"]})
    result = terminate.complete_terminate(store, [web1["uuid"], web2["uuid"], web3["uuid"]], LATER)
    assert result["changed"]
    assert [instance["name"] for instance in result["deleted"]] == ["web1", "web2"]
    assert result["unfinished"] == [
        {
            "name": "web3",
            "uuid": web3["uuid"],
            "host": "c2",
            "reason": "shutdown_instance failed on c2: compute host could not be reached",
        }
    ]
    state = store.snapshot()
    for instance in (web1, web2):
        record = state.get_instance(instance["uuid"])
        assert (record["vm_state"], record["task_state"], record["network_info"]) == (states.DELETED, None, [])
        assert state.claim_of(instance["uuid"]) is None
    kept = state.instance(web3["uuid"])
    assert (kept["vm_state"], kept["task_state"]) == (states.ACTIVE, states.DELETING)
    assert state.claim_of(web3["uuid"])["host"] == "c2"
    assert state.ports_of_instance(web3["uuid"])
    message = terminate.unfinished_message(result)
    assert message.startswith("deleted 2 of 3 instances; not deleted: web3 (")
    assert "on c2: shutdown_instance failed on c2: compute host could not be reached" in message


def test_a_second_run_finishes_the_kept_instance(store):
    web1 = build(store)[0]
    terminate.begin_terminate(store, ["web1"], LATER)
    cleaned(store, "libvirt_domain", [web1["uuid"]], "c1", failed={web1["uuid"]})
    assert terminate.complete_terminate(store, [web1["uuid"]], LATER)["unfinished"]
    again = terminate.begin_terminate(store, ["web1"], LATER)
    assert again["hosts"] == {"c1": [web1["uuid"]]}
    cleaned(store, "libvirt_domain", [web1["uuid"]], "c1")
    cleaned(store, "block_device_map", [web1["uuid"]], "c1")
    result = terminate.complete_terminate(store, [web1["uuid"]], LATER)
    assert (result["unfinished"], [i["name"] for i in result["deleted"]]) == ([], ["web1"])
    # One delete action: the second run went on with it, the failed attempt's event kept.
    actions = store.snapshot().get_instance(web1["uuid"])["actions"]
    assert [action["action"] for action in actions] == ["create", "delete"]
    assert [(e["event"], e["result"]) for e in actions[-1]["events"]] == [
        ("delete", "Success"),
        ("shutdown_instance", "Error"),
        ("shutdown_instance", "Success"),
        ("cleanup_instance", "Success"),
    ]
    assert terminate.complete_terminate(store, [web1["uuid"]], LATER)["changed"] is False


def test_disks_wait_for_the_domain_and_steps_stay_on_the_instances_host(store):
    web1 = build(store)[0]
    terminate.begin_terminate(store, ["web1"], LATER)
    instance = store.snapshot().instance(web1["uuid"])
    refusal = terminate.host_step_refusal(instance, web1["uuid"], "block_device_map", "c1")
    assert refusal.endswith(
        "shutdown_instance did not run on c1 (the host was not part of this run, or stopped before it)); its disks stay"
    )
    assert terminate.host_step_refusal(instance, web1["uuid"], "libvirt_domain", "c1") is None
    assert terminate.host_step_refusal(instance, web1["uuid"], "libvirt_domain", "c2") == (
        f"instance web1 ({web1['uuid']}) is on c1, not on c2"
    )
    cleaned(store, "libvirt_domain", [web1["uuid"]], "c1")
    instance = store.snapshot().instance(web1["uuid"])
    assert terminate.host_step_refusal(instance, web1["uuid"], "block_device_map", "c1") is None
    # Without a cleanup, the delete does not complete.
    assert terminate.complete_terminate(store, [web1["uuid"]], LATER)["unfinished"][0]["reason"] == (
        "cleanup_instance did not run on c1 (the host was not part of this run, or stopped before it)"
    )


def test_an_instance_on_no_host_is_deleted_without_host_steps(store):
    with pytest.raises(exceptions.NoValidHost):
        schedule_instance(store, request("lost"), {}, {}, NOW)
    started = terminate.begin_terminate(store, ["lost"], LATER)
    assert started["hosts"] == {}
    result = terminate.complete_terminate(store, [started["instances"][0]["uuid"]], LATER)
    assert [i["vm_state"] for i in result["deleted"]] == [states.DELETED]


def test_a_build_loses_to_the_delete(store):
    instance = schedule_instance(store, request(), {"c1": HOST}, {}, NOW)[0]
    flow.allocate_network(store, instance["uuid"], NETWORKS, NOW)
    terminate.begin_terminate(store, ["web1"], LATER)
    with pytest.raises(exceptions.InstanceDeletedDuringBuild):
        flow.begin_step(store, instance["uuid"], states.BLOCK_DEVICE_MAPPING, LATER)


def test_complete_in_check_mode_predicts_and_writes_nothing(store):
    web1 = build(store)[0]
    terminate.begin_terminate(store, ["web1"], LATER)
    result = terminate.complete_terminate(store, [web1["uuid"]], LATER, check_mode=True)
    assert result["changed"] and [i["name"] for i in result["deleted"]] == ["web1"]
    assert store.snapshot().instance(web1["uuid"])["vm_state"] == states.ACTIVE
