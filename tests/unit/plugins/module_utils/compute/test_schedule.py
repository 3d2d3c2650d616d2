"""The scheduling step on a real JSON store: multi-create, server groups, hints, forcing, concurrency, and a
re-run for names whose build failed (the names of a request, its failed builds, check mode's prediction)."""

import multiprocessing
import random

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import controller, flow, schedule, server_groups
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store

from .test_flow import host_select_params

NOW = "2026-11-23T10:00:00.000Z"
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2"}}
NETWORKS = {"private": {"cidr": "198.18.0.0/24", "gateway": "198.18.0.1"}}
# 512 MB reserved + 5 x 256 MB: room for exactly five m1.tiny.
HOST = {"up": True, "vcpus": 8, "memory_mb": 512 + 5 * 256, "disk_gb": 100, "cpu_arch": "x86_64"}
THREE_HOSTS = {"c1": HOST, "c2": HOST, "c3": {**HOST, "availability_zone": "az2"}}
# Room for exactly one, and two, m1.tiny.
ONE_ROOM = {"c1": {**HOST, "memory_mb": 512 + 256}}
TWO_ROOMS = {"c1": {**HOST, "memory_mb": 512 + 2 * 256}}


def request(name="web", **overrides):
    raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}], **overrides}
    return validate_request(raw, FLAVORS, IMAGES, NETWORKS)


def hosts_of(instances):
    return sorted(instance["host"] for instance in instances)


def test_multi_create_names_and_spreads_over_equal_hosts(store):
    instances, changed = schedule.schedule_instances(store, request(max_count=6), THREE_HOSTS, {}, NOW)
    assert changed
    assert [i["name"] for i in instances] == [f"web-{n}" for n in range(1, 7)]
    assert [i["launch_index"] for i in instances] == list(range(6))
    assert hosts_of(instances) == ["c1", "c1", "c2", "c2", "c3", "c3"]
    assert len(store.snapshot().export()["claims"]) == 6


def test_negative_ram_multiplier_packs(store):
    config = {"ram_weight_multiplier": -1.0, "cpu_weight_multiplier": 0.0, "disk_weight_multiplier": 0.0}
    instances = schedule.schedule_instances(store, request(max_count=5), THREE_HOSTS, config, NOW)[0]
    assert len(set(hosts_of(instances))) == 1


def test_multi_create_creates_as_many_as_fit_when_at_least_min_count(store):
    instances = schedule.schedule_instances(store, request(min_count=3, max_count=8), {"c1": HOST}, {}, NOW)[0]
    assert [i["name"] for i in instances] == [f"web-{n}" for n in range(1, 6)]
    assert len(store.snapshot().export()["instances"]) == 5


def test_multi_create_below_min_count_places_none(store):
    with pytest.raises(exceptions.NoValidHost, match="RamFilter"):
        schedule.schedule_instances(store, request(min_count=6, max_count=6), {"c1": HOST}, {}, NOW)
    data = store.snapshot().export()
    assert data["claims"] == {}
    assert {i["vm_state"] for i in data["instances"].values()} == {"error"}
    assert len(data["instances"]) == 6


def test_rerun_of_a_multi_create_changes_nothing(store):
    first = schedule.schedule_instances(store, request(max_count=3), THREE_HOSTS, {}, NOW)[0]
    again, changed = schedule.schedule_instances(store, request(max_count=3), THREE_HOSTS, {}, NOW)
    assert not changed
    assert [i["uuid"] for i in again] == [i["uuid"] for i in first]


def test_check_mode_predicts_hosts_and_failure_without_writing(store):
    predicted, changed = schedule.schedule_instances(store, request(max_count=3), THREE_HOSTS, {}, NOW, True)
    assert changed and hosts_of(predicted) == ["c1", "c2", "c3"]
    with pytest.raises(exceptions.NoValidHost):
        schedule.schedule_instances(store, request(min_count=6), {"c1": HOST}, {}, NOW, True)
    assert store.snapshot().export()["instances"] == {}


def test_anti_affinity_group_spreads_then_refuses_a_fourth(store):
    group = server_groups.ensure(store, "db", "anti-affinity", None, NOW, False)["server_group"]
    hint = {"group": "db"}
    placed = [
        schedule.schedule_instances(store, request(f"db{n}", scheduler_hints=hint), THREE_HOSTS, {}, NOW)[0][0]
        for n in range(3)
    ]
    assert hosts_of(placed) == ["c1", "c2", "c3"]
    with pytest.raises(exceptions.NoValidHost, match="ServerGroupAntiAffinityFilter"):
        schedule.schedule_instances(store, request("db3", scheduler_hints=hint), THREE_HOSTS, {}, NOW)
    members = store.snapshot().export()["server_groups"][group["uuid"]]["members"]
    assert len(members) == 4  # the failed one stays a member until deleted, as in Nova
    flow.release_claim(store, "db3", NOW)
    assert len(store.snapshot().export()["server_groups"][group["uuid"]]["members"]) == 3


def test_affinity_group_keeps_members_together(store):
    server_groups.ensure(store, "pair", "affinity", None, NOW, False)
    instances = schedule.schedule_instances(
        store, request(max_count=4, scheduler_hints={"group": "pair"}), THREE_HOSTS, {}, NOW
    )[0]
    assert len(set(hosts_of(instances))) == 1


def test_same_and_different_host_hints(store):
    anchor = schedule.schedule_instances(store, request("anchor"), THREE_HOSTS, {}, NOW)[0][0]
    near = schedule.schedule_instances(
        store, request("near", scheduler_hints={"same_host": "anchor"}), THREE_HOSTS, {}, NOW
    )[0][0]
    away = schedule.schedule_instances(
        store, request("away", scheduler_hints={"different_host": [anchor["uuid"]]}), THREE_HOSTS, {}, NOW
    )[0][0]
    assert near["host"] == anchor["host"]
    assert away["host"] != anchor["host"]
    with pytest.raises(exceptions.InvalidInput, match=r"scheduler_hints\.same_host: no live instance"):
        schedule.schedule_instances(
            store, request("lost", scheduler_hints={"same_host": "ghost"}), THREE_HOSTS, {}, NOW
        )


def test_unknown_group_is_a_clear_error_and_leaves_nothing(store):
    with pytest.raises(exceptions.InvalidInput, match=r"scheduler_hints\.group: no server group"):
        schedule.schedule_instances(store, request(scheduler_hints={"group": "nope"}), THREE_HOSTS, {}, NOW)
    assert store.snapshot().export()["instances"] == {}


@pytest.mark.parametrize(
    ("zone", "expected"),
    [("nova:c2", {"c2"}), (":c3", {"c3"}), ("az2", {"c3"}), ("nova", {"c1", "c2"})],
)
def test_availability_zone_and_forced_host(store, zone, expected):
    instances = schedule.schedule_instances(store, request(max_count=2, availability_zone=zone), THREE_HOSTS, {}, NOW)[
        0
    ]
    assert set(hosts_of(instances)) == expected
    assert {i["availability_zone"] for i in instances} == {zone.partition(":")[0] or None}


def test_forcing_an_unknown_host_names_it(store):
    with pytest.raises(exceptions.NoValidHost, match="c9"):
        schedule.schedule_instances(store, request(availability_zone="nova:c9"), THREE_HOSTS, {}, NOW)


def _claim_one(params, name, barrier):
    barrier.wait()
    try:
        schedule.schedule_instances(
            open_store(params.get("store_path"), params.get("store_url")),
            request(name),
            {"c1": HOST},
            {},
            NOW,
            rng=random.Random(1),
        )
    except exceptions.NoValidHost:
        return False
    return True


def test_eight_concurrent_requests_claim_exactly_the_room_for_five(store_params):
    context = multiprocessing.get_context("fork")
    barrier = context.Manager().Barrier(8)
    with context.Pool(8) as pool:
        results = pool.starmap(_claim_one, [(store_params, f"vm{n}", barrier) for n in range(8)])
    data = open_store(store_params.get("store_path"), store_params.get("store_url")).snapshot().export()
    assert sum(results) == 5
    assert len(data["claims"]) == 5
    assert sum(claim["memory_mb"] for claim in data["claims"].values()) == 5 * 256
    assert sorted(i["vm_state"] for i in data["instances"].values()) == ["building"] * 5 + ["error"] * 3


def fail_build(store, instance):
    """The build of a scheduled instance failed and its host could not clean up: error, claim kept."""
    flow.fail_step(store, instance["uuid"], states.SCHEDULING, exceptions.VirtError("libvirtd gone"), "c1", NOW)


def delete(store, instance):
    flow.begin_delete(store, instance["uuid"], NOW)
    flow.release_claim(store, instance["uuid"], NOW)


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ({"name": "web"}, ["web"]),
        ({"name": "web", "max_count": 1}, ["web"]),
        ({"name": "web", "min_count": 3}, ["web-1", "web-2", "web-3"]),
        ({"name": "web", "min_count": 1, "max_count": 2}, ["web-1", "web-2"]),
        ({"name": "web", "max_count": 0}, []),
        ({"name": "web", "min_count": 3, "max_count": 2}, []),
        ({"name": "x" * 62, "max_count": 10}, []),
        ({"name": ""}, []),
        ({"flavor": "m1.tiny"}, []),
        ("web", []),
    ],
)
def test_request_names(raw, names):
    assert schedule.request_names(raw) == names


def test_failed_builds_are_the_requested_names_in_error_in_request_order():
    instances = [
        {"name": "web-2", "uuid": "u2", "vm_state": "error"},
        {"name": "web-1", "uuid": "u1", "vm_state": "active"},
        {"name": "web-3", "uuid": "u3", "vm_state": "error"},
        {"name": "db", "uuid": "u4", "vm_state": "error"},
        {"name": "web-1", "uuid": "u5", "vm_state": "error"},
    ]
    found = schedule.failed_builds(instances, ["web-1", "web-2", "web-3"])
    assert [i["uuid"] for i in found] == ["u5", "u2", "u3"]
    assert schedule.failed_builds(instances, []) == []


def test_check_mode_predicts_the_rebuild_of_a_failed_build_whose_claim_fills_the_host(store):
    failed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)[0][0]
    fail_build(store, failed)
    before = store.snapshot().export()

    predicted, changed = schedule.schedule_instances(
        store, request(), ONE_ROOM, {}, NOW, check_mode=True, replace_failed=True
    )

    assert changed
    assert [(i["name"], i["host"], i["vm_state"]) for i in predicted] == [("web", "c1", "building")]
    assert predicted[0]["uuid"] != failed["uuid"]
    assert store.snapshot().export() == before


def test_a_real_run_still_refuses_a_failed_build_nobody_deleted(store):
    failed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)[0][0]
    fail_build(store, failed)
    with pytest.raises(exceptions.Conflict, match=r"web \(.*\) is in vm_state error: libvirtd gone; delete it"):
        schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)


def test_check_mode_without_replace_failed_predicts_the_refusal(store):
    failed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)[0][0]
    fail_build(store, failed)
    before = store.snapshot().export()
    with pytest.raises(exceptions.Conflict, match=r"web \(.*\) is in vm_state error: libvirtd gone; delete it"):
        schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW, check_mode=True)
    assert store.snapshot().export() == before


def test_after_the_delete_the_name_is_built_afresh_and_a_rerun_changes_nothing(store):
    failed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)[0][0]
    fail_build(store, failed)
    delete(store, failed)

    rebuilt, changed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)
    again, changed_again = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW, check_mode=True)

    assert changed and not changed_again
    assert rebuilt[0]["uuid"] != failed["uuid"] and rebuilt[0]["host"] == "c1"
    assert [i["uuid"] for i in again] == [rebuilt[0]["uuid"]]
    assert list(store.snapshot().export()["claims"]) == [rebuilt[0]["uuid"]]


def test_check_mode_of_a_multi_create_keeps_the_built_and_predicts_only_the_failed(store):
    built, failed = schedule.schedule_instances(store, request(max_count=2), TWO_ROOMS, {}, NOW)[0]
    fail_build(store, failed)

    predicted, changed = schedule.schedule_instances(
        store, request(max_count=2), TWO_ROOMS, {}, NOW, check_mode=True, replace_failed=True
    )

    # One call: the built instance as it is, the failed one's name predicted afresh, in the request's order.
    assert changed
    assert [(i["name"], i["uuid"] == built["uuid"]) for i in predicted] == [("web-1", True), ("web-2", False)]
    assert predicted[1]["host"] == "c1" and predicted[1]["uuid"] != failed["uuid"]


def test_a_multi_create_fills_the_names_it_lacks_in_one_call(store):
    built, failed = schedule.schedule_instances(store, request(max_count=2), TWO_ROOMS, {}, NOW)[0]
    fail_build(store, failed)
    delete(store, failed)

    filled, changed = schedule.schedule_instances(store, request(max_count=2), TWO_ROOMS, {}, NOW)
    again, changed_again = schedule.schedule_instances(store, request(max_count=2), TWO_ROOMS, {}, NOW)

    assert changed and not changed_again
    assert [i["name"] for i in filled] == ["web-1", "web-2"]
    assert filled[0]["uuid"] == built["uuid"] and filled[1]["uuid"] != failed["uuid"]
    assert filled[1]["launch_index"] == 1 and filled[1]["host"] == "c1"
    assert [i["uuid"] for i in again] == [i["uuid"] for i in filled]


def test_names_that_still_do_not_fit_are_not_asked_for_once_min_count_is_met(store):
    # Room for two: max_count 3 places web-1 and web-2; a re-run keeps them and asks web-3 only as far as it fits.
    first = schedule.schedule_instances(store, request(min_count=1, max_count=3), TWO_ROOMS, {}, NOW)[0]
    again, changed = schedule.schedule_instances(store, request(min_count=1, max_count=3), TWO_ROOMS, {}, NOW)
    assert [i["name"] for i in first] == ["web-1", "web-2"]
    assert not changed and [i["uuid"] for i in again] == [i["uuid"] for i in first]
    assert sorted(i["name"] for i in store.snapshot().list_instances()) == ["web-1", "web-2"]


def test_a_missing_name_below_min_count_fails_as_a_first_run_would(store):
    built, failed = schedule.schedule_instances(store, request(min_count=2, max_count=2), TWO_ROOMS, {}, NOW)[0]
    fail_build(store, failed)
    delete(store, failed)
    schedule.schedule_instances(store, request("other"), TWO_ROOMS, {}, NOW)
    with pytest.raises(exceptions.NoValidHost):
        schedule.schedule_instances(store, request(min_count=2, max_count=2), TWO_ROOMS, {}, NOW)
    refused = store.snapshot().live_instances_by_name(["web-2"])["web-2"]
    assert refused["vm_state"] == "error" and refused.get("host") is None
    assert store.snapshot().instance(built["uuid"])["vm_state"] == built["vm_state"]


@pytest.mark.parametrize("policy", ["affinity", "anti-affinity"])
def test_check_mode_does_not_count_a_failed_build_in_its_group(store, policy):
    server_groups.ensure(store, "g", policy, None, NOW, False)
    # c2 has more free RAM, so it wins unless the failed member ties the group to c1 (or keeps it off).
    hosts = {"c1": TWO_ROOMS["c1"], "c2": {**TWO_ROOMS["c1"], "memory_mb": 512 + 4 * 256}}
    hints = {"scheduler_hints": {"group": "g"}}
    failed = schedule.schedule_instances(store, request(availability_zone=":c1", **hints), hosts, {}, NOW)[0][0]
    fail_build(store, failed)

    predicted, changed = schedule.schedule_instances(
        store, request(**hints), hosts, {}, NOW, check_mode=True, replace_failed=True
    )

    assert changed and predicted[0]["host"] == "c2"


def test_host_select_says_whether_its_instances_have_records(store_params):
    # Check mode predicts a new instance without writing it: the build steps then have nothing to run on.
    params = host_select_params(store_params, hosts={"c1": HOST})
    predicted = controller.host_select(params, check_mode=True)
    assert (predicted["changed"], predicted["recorded"], predicted["host"]) == (True, False, "c1")
    made = controller.host_select(params, check_mode=False)
    assert (made["changed"], made["recorded"]) == (True, True)
    for check_mode in (True, False):
        again = controller.host_select(params, check_mode=check_mode)
        assert (again["changed"], again["recorded"], again["instance"]["uuid"]) == (
            False,
            True,
            made["instance"]["uuid"],
        )


def test_instance_info_reads_the_live_instances_of_given_names_in_their_order(store, store_params):
    web = schedule.schedule_instances(store, request("web"), THREE_HOSTS, {}, NOW)[0][0]
    db = schedule.schedule_instances(store, request("db"), THREE_HOSTS, {}, NOW)[0][0]
    api = schedule.schedule_instances(store, request("api"), THREE_HOSTS, {}, NOW)[0][0]
    flow.begin_delete(store, web["uuid"], NOW)
    flow.release_claim(store, web["uuid"], NOW)
    params = {**store_params, "name": None}
    found = controller.instance_info({**params, "names": ["api", "web", "nobody", "db"]}, False)["instances"]
    assert [instance["uuid"] for instance in found] == [api["uuid"], db["uuid"]]
    assert controller.instance_info({**params, "names": []}, False)["instances"] == []
    every = controller.instance_info({**params, "names": None}, False)["instances"]
    assert sorted(i["uuid"] for i in every) == sorted([db["uuid"], api["uuid"]])
