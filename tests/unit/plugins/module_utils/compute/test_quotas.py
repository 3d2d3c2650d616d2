"""Project quotas on both stores: Nova's message, nothing created over quota, min_count, and builds at the same time."""

from __future__ import annotations

import multiprocessing

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller, flow, schedule
from ansible_collections.nimbus.compute.plugins.module_utils.objects import quotas
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store

from .test_flow import host_select_params

NOW = "2026-12-06T10:00:00.000Z"
FLAVORS = {
    "m1.small": {"vcpus": 4, "memory_mb": 512, "root_gb": 1},
    "m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1},
}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2"}}
NETWORKS = {"private": {"cidr": "198.18.0.0/24", "gateway": "198.18.0.1"}}
BIG_HOST = {"up": True, "vcpus": 256, "memory_mb": 1 << 20, "disk_gb": 10000, "cpu_arch": "x86_64"}


def request(name, flavor="m1.small", **overrides):
    raw = {"name": name, "flavor": flavor, "image": "tiny", "networks": [{"network": "private"}], **overrides}
    return validate_request(raw, FLAVORS, IMAGES, NETWORKS)


def create(store, name, limits=None, **overrides):
    return schedule.schedule_instances(store, request(name, **overrides), {"c1": BIG_HOST}, {}, NOW, quotas=limits)


def live_names(store):
    return sorted(instance["name"] for instance in store.snapshot().list_instances())


def test_the_defaults_are_novas_and_neutrons():
    assert quotas.project_limits({}) == {
        "instances": 10,
        "cores": 20,
        "ram": 51200,
        "server_groups": 10,
        "server_group_members": 10,
        "floating_ips": 50,
        "security_groups": 10,
        "security_group_rules": 100,
    }
    documented = {name: spec["default"] for name, spec in argspecs.HOST_SELECT["quotas"]["options"].items()}
    assert documented == quotas.DEFAULT_QUOTAS


def test_over_the_cores_quota_fails_with_novas_message_and_creates_nothing(store):
    # Nova's defaults: 20 cores. Four m1.small (4 cores) and two m1.tiny (1 core) use 18.
    for index in range(4):
        create(store, f"web{index}")
    create(store, "tiny", flavor="m1.tiny", max_count=2)
    with pytest.raises(
        quotas.QuotaExceeded, match=r"^Quota exceeded for cores: Requested 4, but already used 18 of 20 cores$"
    ):
        create(store, "web9")
    assert live_names(store) == ["tiny-1", "tiny-2", "web0", "web1", "web2", "web3"]


def test_a_multi_create_gets_what_fits_above_min_count_or_nothing(store):
    limits = {"instances": 5}
    instances, changed = create(store, "web", limits, min_count=2, max_count=8, flavor="m1.tiny")
    assert changed and [instance["name"] for instance in instances] == [f"web-{n}" for n in range(1, 6)]
    with pytest.raises(
        quotas.QuotaExceeded, match=r"^Quota exceeded for instances: Requested 3, but already used 5 of 5 instances$"
    ):
        create(store, "db", limits, min_count=1, max_count=3, flavor="m1.tiny")
    assert len(live_names(store)) == 5


def test_unlimited_and_deleted_instances(store):
    create(store, "web1", {"instances": 1})
    with pytest.raises(quotas.QuotaExceeded, match="instances"):
        create(store, "web2", {"instances": 1})
    create(store, "web2", {"instances": -1})
    # A deleted instance counts no more; one in error does, as in Nova.
    web1 = store.snapshot().find_instance("web1")
    flow.begin_delete(store, web1["uuid"], NOW)
    flow.release_claim(store, web1["uuid"], NOW)
    create(store, "web3", {"instances": 2})
    assert live_names(store) == ["web2", "web3"]


def test_projects_count_apart(store):
    create(store, "web1", {"instances": 1}, project_id="alpha")
    create(store, "web2", {"instances": 1}, project_id="beta")
    with pytest.raises(quotas.QuotaExceeded):
        create(store, "web3", {"instances": 1}, project_id="alpha")
    assert store.snapshot().project_usage("alpha") == {
        "instances": 1,
        "cores": 4,
        "ram": 512,
        "server_groups": 0,
        # The project's first build made its default security group, as Neutron does.
        "security_groups": 1,
        "security_group_rules": 4,
        "floating_ips": 0,
    }


def test_server_group_members_are_limited(store, store_params):
    group(store_params, "g", policy="soft-affinity")
    create(store, "web", {"server_group_members": 2}, flavor="m1.tiny", max_count=2, scheduler_hints={"group": "g"})
    with pytest.raises(
        quotas.QuotaExceeded,
        match=r"^Quota exceeded for server_group_members: Requested 1, but already used 2 of 2 server_group_members$",
    ):
        create(store, "db", {"server_group_members": 2}, flavor="m1.tiny", scheduler_hints={"group": "g"})


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"cores": -2}, "quotas.cores"),
        ({"cores": "20"}, "quotas.cores"),
        ({"ram": True}, "quotas.ram"),
        ({"disks": 3}, "quotas.disks"),
        ("many", "quotas"),
    ],
)
def test_a_bad_quota_is_refused_naming_it(given, field):
    with pytest.raises(exceptions.InvalidInput, match=f"^{field}: "):
        quotas.project_limits(given)


TEN_HOSTS = {f"c{n}": BIG_HOST for n in range(10)}


def _create_at_once(params, n, barrier):
    barrier.wait()
    store = open_store(params.get("store_path"), params.get("store_url"))
    # Each on a host of its own: no claim of one waits for another's, only the quota can order them.
    forced = request(f"vm{n}", availability_zone=f"nova:c{n}")
    try:
        schedule.schedule_instances(store, forced, TEN_HOSTS, {}, NOW, quotas={"instances": 4, "cores": -1})
    except quotas.QuotaExceeded:
        return False
    return True


def test_ten_creates_at_once_never_exceed_the_quota_together(store, store_params):
    context = multiprocessing.get_context("fork")
    barrier = context.Manager().Barrier(10)
    with context.Pool(10) as pool:
        created = pool.starmap(_create_at_once, [(store_params, n, barrier) for n in range(10)])
    assert sum(created) == 4
    assert len(live_names(store)) == 4


def test_host_select_passes_the_quotas_and_the_project(store_params):
    params = host_select_params(store_params, quotas={"instances": 0}, hosts={"c1": BIG_HOST})
    with pytest.raises(
        quotas.QuotaExceeded, match=r"^Quota exceeded for instances: Requested 1, but already used 0 of 0"
    ):
        controller.host_select(params, False)
    params = host_select_params(store_params, quotas={"instances": 1}, hosts={"c1": BIG_HOST})
    params["request"] = {**params["request"], "project_id": "alpha"}
    result = controller.host_select(params, False)
    assert result["instance"]["project_id"] == "alpha"


def group(store_params, name, **options):
    params = {**store_params, "state": "present", "name": name, "policy": "affinity", "rules": None, **options}
    return controller.server_group(params, False)


def test_server_groups_are_limited_per_project_and_belong_to_one(store, store_params):
    group(store_params, "g1", quotas={"server_groups": 1})
    with pytest.raises(
        quotas.QuotaExceeded, match=r"^Quota exceeded for server_groups: Requested 1, but already used 1 of 1"
    ):
        group(store_params, "g2", quotas={"server_groups": 1})
    assert group(store_params, "g2", project_id="beta", quotas={"server_groups": 1})["changed"]
    with pytest.raises(exceptions.Conflict, match="belongs to project beta, not default"):
        group(store_params, "g2")
    assert group(store_params, "g1")["changed"] is False


def test_instance_info_reports_the_projects_limits_and_usage(store, store_params):
    create(store, "web", max_count=2)
    group(store_params, "g1")
    params = {**store_params, "project_id": "default", "quotas": {"cores": 40, "ram": -1}}
    report = controller.instance_info(params, False)["limits"]
    assert report["project_id"] == "default"
    assert report["absolute"]["instances"] == {"limit": 10, "in_use": 2}
    assert report["absolute"]["cores"] == {"limit": 40, "in_use": 8}
    assert report["absolute"]["ram"] == {"limit": -1, "in_use": 1024}
    assert report["absolute"]["server_groups"] == {"limit": 10, "in_use": 1}
    assert "limits" not in controller.instance_info(store_params, False)
