"""A re-run for names whose build failed: the names of a request, its failed builds, check mode's prediction."""

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, schedule, server_groups
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore

NOW = "2026-11-23T10:00:00.000Z"
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2"}}
NETWORKS = {"private": {"cidr": "198.18.0.0/24", "gateway": "198.18.0.1"}}
# 512 MB reserved + 256 MB: room for exactly one m1.tiny.
ONE_ROOM = {"c1": {"up": True, "vcpus": 8, "memory_mb": 512 + 256, "disk_gb": 100, "cpu_arch": "x86_64"}}
TWO_ROOMS = {"c1": {**ONE_ROOM["c1"], "memory_mb": 512 + 2 * 256}}


def request(name="web", **overrides):
    raw = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}], **overrides}
    return validate_request(raw, FLAVORS, IMAGES, NETWORKS)


@pytest.fixture
def store(tmp_path):
    return JSONStore(str(tmp_path / "store.json"))


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
    before = store.snapshot().data

    predicted, changed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW, check_mode=True)

    assert changed
    assert [(i["name"], i["host"], i["vm_state"]) for i in predicted] == [("web", "c1", "building")]
    assert predicted[0]["uuid"] != failed["uuid"]
    assert store.snapshot().data == before


def test_a_real_run_still_refuses_a_failed_build_nobody_deleted(store):
    failed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)[0][0]
    fail_build(store, failed)
    with pytest.raises(exceptions.Conflict, match=r"web \(.*\) is in vm_state error: libvirtd gone; delete it"):
        schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)


def test_after_the_delete_the_name_is_built_afresh_and_a_rerun_changes_nothing(store):
    failed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)[0][0]
    fail_build(store, failed)
    delete(store, failed)

    rebuilt, changed = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW)
    again, changed_again = schedule.schedule_instances(store, request(), ONE_ROOM, {}, NOW, check_mode=True)

    assert changed and not changed_again
    assert rebuilt[0]["uuid"] != failed["uuid"] and rebuilt[0]["host"] == "c1"
    assert [i["uuid"] for i in again] == [rebuilt[0]["uuid"]]
    assert list(store.snapshot().data["claims"]) == [rebuilt[0]["uuid"]]


def test_check_mode_of_a_multi_create_keeps_the_built_and_predicts_only_the_failed(store):
    built, failed = schedule.schedule_instances(store, request(max_count=2), TWO_ROOMS, {}, NOW)[0]
    fail_build(store, failed)

    kept, changed = schedule.schedule_instances(store, request(max_count=2), TWO_ROOMS, {}, NOW, check_mode=True)
    predicted, changed_one = schedule.schedule_instances(store, request("web-2"), TWO_ROOMS, {}, NOW, True)

    assert not changed and [i["uuid"] for i in kept] == [built["uuid"]]
    assert changed_one and [(i["name"], i["host"]) for i in predicted] == [("web-2", "c1")]


@pytest.mark.parametrize("policy", ["affinity", "anti-affinity"])
def test_check_mode_does_not_count_a_failed_build_in_its_group(store, policy):
    server_groups.ensure(store, "g", policy, None, NOW, False)
    # c2 has more free RAM, so it wins unless the failed member ties the group to c1 (or keeps it off).
    hosts = {"c1": TWO_ROOMS["c1"], "c2": {**TWO_ROOMS["c1"], "memory_mb": 512 + 4 * 256}}
    hints = {"scheduler_hints": {"group": "g"}}
    failed = schedule.schedule_instances(store, request(availability_zone=":c1", **hints), hosts, {}, NOW)[0][0]
    fail_build(store, failed)

    predicted, changed = schedule.schedule_instances(store, request(**hints), hosts, {}, NOW, check_mode=True)

    assert changed and predicted[0]["host"] == "c2"
