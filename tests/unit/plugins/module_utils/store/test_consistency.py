"""The store consistency contract: a store built by the real flow is consistent; each break is found and named."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, schedule, server_groups
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store import consistency
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import StoreState

NOW = "2026-11-23T10:00:00Z"
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2", "sha256": "a" * 64}}
NETWORKS = {"private": {"cidr": "198.18.0.0/24"}}
HOSTS = {
    name: {"up": True, "vcpus": 8, "memory_mb": 8192, "disk_gb": 80, "cpu_arch": "x86_64", "virt_types": ["qemu"]}
    for name in ("c1", "c2")
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Data of a store with a group of two instances (ports allocated) and a deleted third, made by the flow."""
    store = JSONStore(str(tmp_path_factory.mktemp("consistency") / "store.json"))
    server_groups.ensure(store, "grp", "soft-anti-affinity", None, NOW, False)
    raw = {
        "name": "web",
        "flavor": "m1.tiny",
        "image": "tiny",
        "networks": [{"network": "private"}],
        "min_count": 2,
        "max_count": 2,
        "scheduler_hints": {"group": "grp"},
    }
    instances, _changed = schedule.schedule_instances(
        store, validate_request(raw, FLAVORS, IMAGES, NETWORKS), HOSTS, {}, NOW
    )
    for instance in instances:
        flow.allocate_network(store, instance["uuid"], NETWORKS, NOW)
    gone = {**raw, "name": "gone", "min_count": 1, "max_count": 1}
    gone_uuid = schedule.schedule_instances(store, validate_request(gone, FLAVORS, IMAGES, NETWORKS), HOSTS, {}, NOW)[
        0
    ][0]["uuid"]
    flow.allocate_network(store, gone_uuid, NETWORKS, NOW)
    flow.begin_delete(store, gone_uuid, NOW)
    flow.deallocate_network(store, gone_uuid)
    flow.release_claim(store, gone_uuid, NOW)
    return store.snapshot().data


def live(data: dict) -> list[str]:
    return sorted(uuid for uuid, inst in data["instances"].items() if inst["vm_state"] != "deleted")


def deleted(data: dict) -> str:
    return next(uuid for uuid, inst in data["instances"].items() if inst["vm_state"] == "deleted")


def port_of(data: dict, uuid: str) -> str:
    return next(port_id for port_id, port in data["ports"].items() if port["instance_uuid"] == uuid)


def drop_instance(data: dict) -> None:
    # What a crash between two separate transactions of a non-atomic delete could leave.
    del data["instances"][live(data)[0]]


def claim_for_deleted(data: dict) -> None:
    data["claims"][deleted(data)] = {"host": "c1", "vcpus": 1, "memory_mb": 256, "disk_gb": 1}


def move_claim(data: dict) -> None:
    data["claims"][live(data)[0]]["host"] = "elsewhere"


def port_for_deleted(data: dict) -> None:
    port = copy.deepcopy(data["ports"][port_of(data, live(data)[0])])
    port.update(instance_uuid=deleted(data), mac="fa:16:3e:00:00:99", ips=["198.18.0.99"])
    data["ports"]["orphan-port"] = port


def duplicate_ip(data: dict) -> None:
    first, second = live(data)
    data["ports"][port_of(data, second)]["ips"] = list(data["ports"][port_of(data, first)]["ips"])


def duplicate_mac(data: dict) -> None:
    first, second = live(data)
    data["ports"][port_of(data, second)]["mac"] = data["ports"][port_of(data, first)]["mac"].upper()


def forget_network_info(data: dict) -> None:
    data["instances"][live(data)[0]]["network_info"] = []


def drop_port(data: dict) -> None:
    del data["ports"][port_of(data, live(data)[0])]


def dangling_member(data: dict) -> None:
    next(iter(data["server_groups"].values()))["members"].append("no-such-instance")


def deleted_member(data: dict) -> None:
    next(iter(data["server_groups"].values()))["members"].append(deleted(data))


def port_without_mac(data: dict) -> None:
    del data["ports"][port_of(data, live(data)[0])]["mac"]


def wrong_schema(data: dict) -> None:
    data["schema"] = 2


def claims_not_object(data: dict) -> None:
    data["claims"] = []


# (how the store is broken, the kinds found, the kinds left after repair)
CASES = [
    (
        drop_instance,
        ["claim_without_instance", "port_without_instance", "group_member_without_instance"],
        [],
    ),
    (claim_for_deleted, ["claim_of_deleted_instance"], []),
    (move_claim, ["claim_host_mismatch"], ["claim_host_mismatch"]),
    (port_for_deleted, ["port_of_deleted_instance"], []),
    (duplicate_ip, ["duplicate_ip", "network_info_mismatch"], ["duplicate_ip", "network_info_mismatch"]),
    (duplicate_mac, ["duplicate_mac", "network_info_mismatch"], ["duplicate_mac", "network_info_mismatch"]),
    (forget_network_info, ["network_info_mismatch"], ["network_info_mismatch"]),
    (drop_port, ["network_info_mismatch"], ["network_info_mismatch"]),
    (dangling_member, ["group_member_without_instance"], []),
    (deleted_member, ["group_member_deleted"], []),
    (port_without_mac, ["schema"], ["schema"]),
    (wrong_schema, ["schema"], ["schema"]),
    (claims_not_object, ["schema"], ["schema"]),
]


def test_the_flow_leaves_a_consistent_store(built):
    assert len(live(built)) == 2
    assert len(built["ports"]) == 2
    assert consistency.find_violations(built) == []


def test_a_store_missing_a_collection_is_consistent(built):
    data = copy.deepcopy(built)
    data["server_groups"] = {}
    del data["server_groups"]
    assert consistency.find_violations(data) == []
    assert "server_groups" not in data


@pytest.mark.parametrize(("breakage", "kinds", "left"), CASES, ids=[case[0].__name__ for case in CASES])
def test_each_break_is_found_and_orphans_are_repaired(built, breakage, kinds, left):
    data = copy.deepcopy(built)
    breakage(data)
    found = consistency.find_violations(data)
    assert sorted(violation["kind"] for violation in found) == sorted(kinds)
    assert all(violation["what"] and isinstance(violation["ids"], dict) for violation in found)
    assert all((one["repair"] is None) == (one["kind"] not in consistency.REPAIRABLE) for one in found)
    if any(violation["kind"] == "schema" for violation in found):
        return
    repaired = consistency.repair_orphans(StoreState(data), found)
    assert repaired == consistency.repairable(found)
    assert sorted(violation["kind"] for violation in consistency.find_violations(data)) == sorted(left)
    assert consistency.repair_orphans(StoreState(data), consistency.find_violations(data)) == []


def test_repair_of_a_dropped_instance_removes_exactly_its_records(built):
    data = copy.deepcopy(built)
    gone, kept = live(data)
    del data["instances"][gone]
    consistency.repair_orphans(StoreState(data), consistency.find_violations(data))
    assert list(data["claims"]) == [kept]
    assert [port["instance_uuid"] for port in data["ports"].values()] == [kept]
    assert next(iter(data["server_groups"].values()))["members"] == [kept]
    assert data["instances"] == {uuid: inst for uuid, inst in built["instances"].items() if uuid != gone}


def test_violations_name_their_records(built):
    data = copy.deepcopy(built)
    gone = live(data)[0]
    port_id = port_of(data, gone)
    host = data["claims"][gone]["host"]
    del data["instances"][gone]
    by_kind = {violation["kind"]: violation for violation in consistency.find_violations(data)}
    assert by_kind["claim_without_instance"]["ids"] == {"claim": gone, "host": host}
    assert by_kind["port_without_instance"]["ids"] == {"port": port_id, "instance": gone}
    assert gone in by_kind["group_member_without_instance"]["what"]


# A floating IP's fields once it is disassociated (its address stays with its project).
UNBOUND = {"port_id": None, "fixed_ip_address": None, "instance_uuid": None, "host": None, "status": "DOWN"}


def associate(data: dict, fip_id: str, port_id: str) -> dict:
    """A floating IP of 198.19.0.10 associated with ``port_id`` as the store records one, added to ``data``."""
    port = data["ports"].get(port_id) or {"instance_uuid": None, "ips": ["198.18.0.99"]}
    fip = {
        "id": fip_id,
        "floating_ip_address": "198.19.0.10",
        "pool": "public",
        "project_id": "default",
        "port_id": port_id,
        "fixed_ip_address": port["ips"][0],
        "instance_uuid": port["instance_uuid"],
        "host": "c1",
        "status": "ACTIVE",
        "created_at": NOW,
        "updated_at": NOW,
    }
    data["floating_ips"][fip_id] = fip
    return fip


def test_a_floating_ip_of_a_missing_port_is_found_and_disassociated_keeping_its_address(built):
    data = copy.deepcopy(built)
    fip = associate(data, "f1", "gone-port")
    (found,) = consistency.find_violations(data)
    assert found == {
        "kind": "floating_ip_without_port",
        "ids": {"floating_ip": "f1", "port": "gone-port"},
        "what": "floating IP 198.19.0.10 is associated with port gone-port, which does not exist",
        "repair": "disassociate the floating IP",
    }
    assert consistency.repair_orphans(StoreState(data), [found]) == [found]
    assert data["floating_ips"] == {"f1": {**fip, **UNBOUND}}
    assert consistency.find_violations(data) == []
    assert consistency.record_counts(data)["floating_ips"] == 1


def test_repair_of_an_orphan_port_first_disassociates_its_floating_ip(built):
    data = copy.deepcopy(built)
    port_for_deleted(data)
    fip = associate(data, "f1", "orphan-port")
    found = consistency.find_violations(data)
    assert [violation["kind"] for violation in found] == ["port_of_deleted_instance"]
    assert consistency.repair_orphans(StoreState(data), found) == found
    assert "orphan-port" not in data["ports"]
    assert data["floating_ips"]["f1"] == {**fip, **UNBOUND}
    assert consistency.find_violations(data) == []
