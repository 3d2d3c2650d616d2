"""select_destinations: chosen host, alternates, multi-create, groups, forcing, NoValidHost reports."""

from __future__ import annotations

import collections
import random

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, NoValidHost
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import manager
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import build_host_states
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import StoreState


def names(host_states):
    return [state.host for state in host_states]


def chosen(selections):
    return [destinations[0].host for destinations in selections]


def uuids(count):
    return [f"u{index}" for index in range(count)]


def test_best_host_first_then_alternates(host, spec, config):
    hosts = [host(f"h{mb}", memory_mb=mb) for mb in (4096, 16384, 8192, 12288, 6144)]
    (destinations,) = manager.select_destinations(hosts, spec(), config)
    assert names(destinations) == ["h16384", "h12288", "h8192"]


@pytest.mark.parametrize(("max_attempts", "count"), [(1, 1), (2, 2), (3, 3), (10, 5)])
def test_alternates_follow_max_attempts(host, spec, config, max_attempts, count):
    hosts = [host(f"h{i}") for i in range(5)]
    (destinations,) = manager.select_destinations(hosts, spec(), {**config, "max_attempts": max_attempts})
    assert len(destinations) == count
    assert len(set(names(destinations))) == count


def test_host_subset_size_spreads_among_the_best(host, spec, config):
    def hosts():
        return [host("a", memory_mb=16384), host("b", memory_mb=16000), host("c", memory_mb=1024)]

    settings = {**config, "weight_classes": ["RAMWeigher"], "host_subset_size": 2}
    rng = random.Random(0)
    picked = collections.Counter(
        manager.select_destinations(hosts(), spec(), settings, rng)[0][0].host for attempt in range(50)
    )
    assert set(picked) == {"a", "b"}
    (destinations,) = manager.select_destinations(hosts(), spec(), settings, random.Random(1))
    assert len(set(names(destinations))) == 3


def test_a_seeded_rng_repeats_its_choices(host, spec, config):
    settings = {**config, "host_subset_size": 4}

    def run(seed):
        hosts = [host(f"h{i}") for i in range(6)]
        return chosen(manager.select_destinations(hosts, spec(instance_uuids=uuids(6)), settings, random.Random(seed)))

    assert run(3) == run(3)
    assert len({tuple(run(seed)) for seed in range(5)}) > 1


@pytest.mark.parametrize(
    ("overrides", "spread"),
    [
        ({}, [2, 2, 2]),
        ({"weight_classes": ["RAMWeigher"]}, [2, 2, 2]),
        ({"weight_classes": ["RAMWeigher"], "ram_weight_multiplier": -1.0}, [6, 0, 0]),
        # Packing with every weigher on needs RAM to outweigh CPU and disk.
        ({"ram_weight_multiplier": -3.0}, [6, 0, 0]),
        ({"weight_classes": ["NumInstancesWeigher"], "num_instances_weight_multiplier": -1.0}, [2, 2, 2]),
        ({"weight_classes": ["NumInstancesWeigher"], "num_instances_weight_multiplier": 1.0}, [6, 0, 0]),
    ],
)
def test_multi_create_sees_its_own_claims(host, spec, config, overrides, spread):
    hosts = [host(name) for name in ("a", "b", "c")]
    selections = manager.select_destinations(hosts, spec(instance_uuids=uuids(6)), {**config, **overrides})
    counts = collections.Counter(chosen(selections))
    assert [counts[name] for name in ("a", "b", "c")] == spread
    assert sorted(uuid for state in hosts for uuid in state.instance_uuids) == uuids(6)


def test_anti_affinity_group_fills_each_host_once(host, spec, group, config):
    hosts = [host(name) for name in ("a", "b", "c")]
    request = spec(instance_uuids=uuids(3), group=group("anti-affinity"))
    assert sorted(chosen(manager.select_destinations(hosts, request, config))) == ["a", "b", "c"]
    # A 4th member finds every host holding one already.
    fourth = spec(instance_uuids=["u3"], group=group("anti-affinity", members=uuids(3), hosts=["a", "b", "c"]))
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(hosts, fourth, config)
    assert "ServerGroupAntiAffinityFilter removed 3 of 3 host(s)" in error.value.message
    assert set(error.value.details["hosts"]) == {"a", "b", "c"}
    assert error.value.details["hosts"]["a"].startswith("ServerGroupAntiAffinityFilter: server group web (g-1)")


def test_anti_affinity_multi_create_of_four_on_three_hosts(host, spec, group, config):
    hosts = [host(name) for name in ("a", "b", "c")]
    request = spec(instance_uuids=uuids(4), group=group("anti-affinity"))
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(hosts, request, config)
    message = error.value.message
    assert "for 4 instance(s): 3 of 4 instances fit; instance 4 (u3) fits on no host" in message
    assert "ServerGroupAntiAffinityFilter removed 3 of 3 host(s)" in message
    assert len(manager.select_destinations([host(n) for n in "abc"], {**request, "min_count": 3}, config)) == 3


def test_max_server_per_host_lets_two_share(host, spec, group, config):
    hosts = [host(name) for name in ("a", "b", "c")]
    request = spec(instance_uuids=uuids(6), group=group("anti-affinity", max_server_per_host=2))
    assert collections.Counter(chosen(manager.select_destinations(hosts, request, config))) == {"a": 2, "b": 2, "c": 2}


def test_affinity_follows_the_first_member(host, spec, group, config):
    hosts = [host("a"), host("big", memory_mb=65536), host("c")]
    request = spec(instance_uuids=uuids(3), group=group("affinity"))
    selections = manager.select_destinations(hosts, request, config)
    assert chosen(selections) == ["big", "big", "big"]
    # Once a member is placed, the others are no alternates either.
    assert [names(destinations) for destinations in selections[1:]] == [["big"], ["big"]]


def test_affinity_goes_where_the_group_already_is(host, spec, group, config):
    hosts = [host("a"), host("big", memory_mb=65536)]
    request = spec(group=group("affinity", members=["m0"], hosts=["a"]))
    assert names(manager.select_destinations(hosts, request, config)[0]) == ["a"]
    full = spec(memory_mb=7681, group=group("affinity", members=["m0"], hosts=["a"]))
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(hosts, full, config)
    assert error.value.details["hosts"]["a"].startswith("RamFilter")
    assert error.value.details["hosts"]["big"].startswith("ServerGroupAffinityFilter")


def test_the_callers_spec_is_left_as_it_was(host, spec, group, config):
    request = spec(instance_uuids=uuids(2), group=group("anti-affinity", members=["m0"], hosts=["z"]))
    manager.select_destinations([host("a"), host("b")], request, config)
    assert (request["group"]["members"], request["group"]["hosts"]) == (["m0"], ["z"])
    assert request["instance_uuid"] == "u-new"


@pytest.mark.parametrize(
    ("policy", "overrides", "spread"),
    [
        ("soft-affinity", {"soft_affinity_weight_multiplier": 10.0}, [3, 0, 0]),
        ("soft-affinity", {"weight_classes": ["ServerGroupSoftAffinityWeigher"]}, [3, 0, 0]),
        # Without the group weigher the resource weighers spread.
        ("soft-affinity", {"weight_classes": ["RAMWeigher"]}, [1, 1, 1]),
        (
            "soft-anti-affinity",
            {"ram_weight_multiplier": -1.0, "soft_anti_affinity_weight_multiplier": 10.0},
            [1, 1, 1],
        ),
        ("soft-anti-affinity", {"weight_classes": ["RAMWeigher"], "ram_weight_multiplier": -1.0}, [3, 0, 0]),
    ],
)
def test_soft_group_weighers(host, spec, group, config, policy, overrides, spread):
    hosts = [host(name) for name in ("a", "b", "c")]
    request = spec(instance_uuids=uuids(3), group=group(policy))
    counts = collections.Counter(chosen(manager.select_destinations(hosts, request, {**config, **overrides})))
    assert sorted((counts[name] for name in ("a", "b", "c")), reverse=True) == spread


def test_soft_affinity_prefers_the_members_host(host, spec, group, claim, config):
    hosts = [host("a", claims=[claim("m0")]), host("big", memory_mb=65536)]
    request = spec(group=group("soft-affinity", members=["m0"], hosts=["a"]))
    settings = {**config, "soft_affinity_weight_multiplier": 10.0}
    assert names(manager.select_destinations(hosts, request, settings)[0]) == ["a", "big"]


@pytest.mark.parametrize(("hint", "expected"), [("same_host", "a"), ("different_host", "b")])
def test_scheduler_hints(host, spec, claim, config, hint, expected):
    hosts = [host("a", claims=[claim("old")]), host("b")]
    request = spec(scheduler_hints={hint: ["old"]}, instance_uuids=uuids(2))
    assert chosen(manager.select_destinations(hosts, request, config)) == [expected, expected]


def test_force_hosts_chooses_even_a_worse_host(host, spec, config):
    hosts = [host("big", memory_mb=65536), host("small", memory_mb=2048), host("c")]
    (destinations,) = manager.select_destinations(hosts, spec(force_hosts=["small"]), config)
    assert names(destinations) == ["small"]


def test_a_forced_host_still_runs_the_filters(host, spec, config):
    hosts = [host("big", memory_mb=65536), host("small", memory_mb=1024)]
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(hosts, spec(memory_mb=1024, force_hosts=["small"]), config)
    assert list(error.value.details["hosts"]) == ["small"]
    assert "RamFilter removed 1 of 1 host(s) (small: needs 1024 MB RAM" in error.value.message


def test_an_unknown_forced_host_is_named(host, spec, config):
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations([host("a")], spec(force_hosts=["typo"]), config)
    assert "force_hosts names typo, which is not among the 1 known compute host(s)" in error.value.message
    assert "not a known compute host" in error.value.details["hosts"]["typo"]
    with pytest.raises(NoValidHost, match="force_hosts names typo"):
        manager.select_destinations([], spec(force_hosts=["typo"]), config)


# Room for three 2048 MB instances: a takes 2 (4096 usable), b takes 1 (3584 usable).
@pytest.mark.parametrize(("min_count", "placed"), [(None, None), (1, 3), (3, 3), (4, None), (5, None)])
def test_min_count(host, spec, config, min_count, placed):
    hosts = [host("a", memory_mb=4608), host("b", memory_mb=4096)]
    request = spec(memory_mb=2048, instance_uuids=uuids(5), min_count=min_count)
    if placed is None:
        with pytest.raises(NoValidHost) as error:
            manager.select_destinations(hosts, request, config)
        assert f"3 of {min_count or 5} instances fit; instance 4 (u3) fits on no host" in error.value.message
        assert "RamFilter removed 2 of 2 host(s)" in error.value.message
    else:
        assert sorted(chosen(manager.select_destinations(hosts, request, config))) == ["a", "a", "b"]


@pytest.mark.parametrize(
    ("request_changes", "field"),
    [({"min_count": 0}, "min_count"), ({"min_count": 3}, "min_count"), ({"instance_uuids": []}, "instance_uuids")],
)
def test_bad_counts_are_invalid_input(host, spec, config, request_changes, field):
    with pytest.raises(InvalidInput) as error:
        manager.select_destinations([host("a")], spec(**{"instance_uuids": uuids(2), **request_changes}), config)
    assert error.value.field == field


def test_no_valid_host_reports_per_filter(host, spec, config):
    hosts = [
        host("down", up=False),
        host("off", enabled=False),
        host("small", memory_mb=1024),
        host("elsewhere", availability_zone="az2"),
        host("full", disk_gb=1),
    ]
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(hosts, spec(memory_mb=2048, root_gb=10, availability_zone="nova"), config)
    details = error.value.details
    assert {step["name"]: step["removed"] for step in details["filters"]} == {
        "ComputeFilter": 2,
        "AvailabilityZoneFilter": 1,
        "CoreFilter": 0,
        "RamFilter": 1,
        "DiskFilter": 1,
        "ComputeCapabilitiesFilter": 0,
        "ImagePropertiesFilter": 0,
        "ServerGroupAntiAffinityFilter": 0,
        "ServerGroupAffinityFilter": 0,
        "SameHostFilter": 0,
        "DifferentHostFilter": 0,
    }
    assert [step["name"] for step in details["filters"]] == config["enabled_filters"]
    assert sorted(details["filters"][0]["hosts"]) == ["down", "off"]
    reasons = details["hosts"]
    assert sorted(reasons) == ["down", "elsewhere", "full", "off", "small"]
    assert reasons["down"].startswith("ComputeFilter: host is down")
    assert reasons["off"].startswith("ComputeFilter: host is disabled")
    assert reasons["small"].startswith("RamFilter: needs 2048 MB RAM")
    assert reasons["elsewhere"].startswith("AvailabilityZoneFilter: host is in availability zone 'az2'")
    assert reasons["full"].startswith("DiskFilter: needs 10 GB disk")
    message = error.value.message
    assert message.startswith(
        "No valid host was found. There are not enough hosts available for 1 instance(s): "
        "ComputeFilter removed 2 of 5 host(s) (down: host is down: "
    )
    assert "; AvailabilityZoneFilter removed 1 of 3 host(s) (elsewhere: host is in availability zone 'az2'" in message
    assert "; RamFilter removed 1 of 2 host(s) (small: needs 2048 MB RAM" in message
    assert "; DiskFilter removed 1 of 1 host(s) (full: needs 10 GB disk" in message
    assert "CoreFilter" not in message
    assert error.value.to_fault()["details"] == details


def test_hosts_with_one_reason_are_named_together(host, spec, config):
    hosts = [host(f"h{index:02d}", up=False) for index in range(12)]
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(hosts, spec(), config)
    named = ", ".join(f"h{index:02d}" for index in range(10))
    assert f"ComputeFilter removed 12 of 12 host(s) ({named} and 2 more: host is down" in error.value.message
    assert len(error.value.details["hosts"]) == 12


def test_no_hosts_at_all(spec, config):
    with pytest.raises(NoValidHost, match=r"run nimbus\.compute\.host_facts") as error:
        manager.select_destinations([], spec(), config)
    assert error.value.details == {"hosts": {}, "filters": []}


def test_disabled_filters_are_not_applied(host, spec, config):
    hosts = [host("small", memory_mb=1024)]
    settings = {**config, "enabled_filters": ["ComputeFilter"]}
    assert names(manager.select_destinations(hosts, spec(memory_mb=2048), settings)[0]) == ["small"]


def test_hosts_already_tried_are_ignored(host, spec, config):
    hosts = [host("a", memory_mb=16384), host("b")]
    request = spec(ignore_hosts=["a"])
    assert names(manager.select_destinations(hosts, request, config)[0]) == ["b"]
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations([hosts[0]], request, config)
    assert "ignore_hosts removed 1 of 1 host(s) (a: already tried for this instance)" in error.value.message
    assert error.value.details["filters"][0] == {
        "name": "ignore_hosts",
        "removed": 1,
        "hosts": {"a": "already tried for this instance"},
    }


def test_claims_in_the_store_reduce_capacity(facts, spec, config):
    state = StoreState()
    facts_by_host = {"a": facts(memory_mb=4608), "b": facts(memory_mb=4096)}
    request = spec(memory_mb=2048)
    placed = []
    for index in range(3):
        uuid = f"u{index}"
        host_states = build_host_states(facts_by_host, state.claims_by_host(), config)
        destination = manager.select_destinations(host_states, {**request, "instance_uuids": [uuid]}, config)[0][0]
        state.claim(uuid, destination.host, manager.claim_for(request))
        placed.append(destination.host)
    # a: 4096 usable, b: 3584 usable; the most free RAM wins each time.
    assert placed == ["a", "b", "a"]
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(build_host_states(facts_by_host, state.claims_by_host(), config), request, config)
    assert "0 MB usable" in error.value.details["hosts"]["a"]
    assert "1536 MB usable" in error.value.details["hosts"]["b"]
