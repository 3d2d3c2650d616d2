"""Each weigher's raw value as a truth table, Nova's normalisation, and multipliers."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import weighers


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ([], []),
        ([5.0], [0.0]),
        ([3.0, 3.0], [0.0, 0.0]),
        ([0.0, 5.0, 10.0], [0.0, 0.5, 1.0]),
        ([-10.0, 10.0], [0.0, 1.0]),
        ([-3.0, -1.0, -2.0], [0.0, 1.0, 0.5]),
    ],
)
def test_normalize(raw, normalised):
    assert weighers.normalize(raw) == normalised


# Host: 4 vCPUs x 4.0, 8192 MB - 512 reserved, 100 GB; claims below.
@pytest.mark.parametrize(
    ("weigher", "claimed", "expected"),
    [
        (weighers.RAMWeigher, [], 7680.0),
        (weighers.RAMWeigher, [("a", 1, 1024, 10)], 6656.0),
        (weighers.CPUWeigher, [], 16.0),
        (weighers.CPUWeigher, [("a", 3, 0, 0), ("b", 2, 0, 0)], 11.0),
        (weighers.DiskWeigher, [], 100.0),
        (weighers.DiskWeigher, [("a", 1, 0, 30)], 70.0),
        (weighers.NumInstancesWeigher, [], 0.0),
        (weighers.NumInstancesWeigher, [("a", 1, 0, 0), ("b", 1, 0, 0)], 2.0),
    ],
)
def test_resource_weighers_raw(host, spec, claim, weigher, claimed, expected):
    state = host(claims=[claim(*item) for item in claimed])
    assert weigher().weigh_objects([state], spec()) == [expected]


# Host holds m1, m2 (group members) and x.
@pytest.mark.parametrize(
    ("weigher", "policy", "expected"),
    [
        (weighers.ServerGroupSoftAffinityWeigher, "soft-affinity", 2.0),
        (weighers.ServerGroupSoftAffinityWeigher, "soft-anti-affinity", 0.0),
        (weighers.ServerGroupSoftAffinityWeigher, "affinity", 0.0),
        (weighers.ServerGroupSoftAffinityWeigher, None, 0.0),
        (weighers.ServerGroupSoftAntiAffinityWeigher, "soft-anti-affinity", -2.0),
        (weighers.ServerGroupSoftAntiAffinityWeigher, "soft-affinity", 0.0),
        (weighers.ServerGroupSoftAntiAffinityWeigher, "anti-affinity", 0.0),
        (weighers.ServerGroupSoftAntiAffinityWeigher, None, 0.0),
    ],
)
def test_soft_affinity_weighers_raw(host, spec, claim, group, weigher, policy, expected):
    state = host(claims=[claim("m1"), claim("m2"), claim("x")])
    request = spec(group=group(policy, members=["m1", "m2", "m3"]) if policy else None)
    assert weigher().weigh_objects([state], request) == [expected]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # Free RAM 3584 / 15872 / 7680 MB normalises to 0 / 1 / 0.333.
        ({"weight_classes": ["RAMWeigher"]}, [("big", 1.0), ("mid", 0.333), ("small", 0.0)]),
        (
            {"weight_classes": ["RAMWeigher"], "ram_weight_multiplier": 2.0},
            [("big", 2.0), ("mid", 0.667), ("small", 0.0)],
        ),
        (
            {"weight_classes": ["RAMWeigher"], "ram_weight_multiplier": -1.0},
            [("small", 0.0), ("mid", -0.333), ("big", -1.0)],
        ),
        (
            {"weight_classes": ["RAMWeigher"], "ram_weight_multiplier": 0.0},
            [("big", 0.0), ("mid", 0.0), ("small", 0.0)],
        ),
        # CPU and disk are equal on all three: they add nothing.
        (
            {"weight_classes": ["RAMWeigher", "CPUWeigher", "DiskWeigher"]},
            [("big", 1.0), ("mid", 0.333), ("small", 0.0)],
        ),
        ({"weight_classes": []}, [("big", 0.0), ("mid", 0.0), ("small", 0.0)]),
    ],
)
def test_weigh_hosts_sums_multiplier_times_normalised(host, spec, config, overrides, expected):
    hosts = [host("small", memory_mb=4096), host("big", memory_mb=16384), host("mid", memory_mb=8192)]
    weighed = weighers.weigh_hosts(hosts, spec(), {**config, **overrides})
    assert [(item.obj.host, round(item.weight, 3)) for item in weighed] == expected


@pytest.mark.parametrize(
    ("overrides", "first"),
    [
        ({}, "idle"),
        ({"num_instances_weight_multiplier": 5.0}, "busy"),
        ({"num_instances_weight_multiplier": -5.0}, "idle"),
        ({"cpu_weight_multiplier": -5.0}, "busy"),
        ({"ram_weight_multiplier": 0.0, "cpu_weight_multiplier": 0.0, "disk_weight_multiplier": 0.0}, "busy"),
    ],
)
def test_multipliers_choose_the_direction(host, spec, claim, config, overrides, first):
    busy = host("busy", claims=[claim("a", 4, 4096, 10), claim("b", 4, 0, 0)])
    idle = host("idle")
    weighed = weighers.weigh_hosts([idle, busy], spec(), {**config, **overrides})
    assert weighed[0].obj.host == first


def test_equal_weights_order_by_name(host, spec, config):
    hosts = [host("c"), host("a"), host("b")]
    assert [item.obj.host for item in weighers.weigh_hosts(hosts, spec(), config)] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("count", "raw", "multipliers", "expected"),
    [
        (2, [], [], [0.0, 0.0]),
        (2, [[1.0, 3.0]], [1.0], [0.0, 1.0]),
        (2, [[1.0, 3.0], [10.0, 0.0]], [1.0, 1.0], [1.0, 1.0]),
        (2, [[1.0, 3.0], [10.0, 0.0]], [1.0, 3.0], [3.0, 1.0]),
        (3, [[5.0, 5.0, 5.0]], [-4.0], [0.0, 0.0, 0.0]),
    ],
)
def test_combined_weights(count, raw, multipliers, expected):
    assert weighers.combined_weights(count, raw, multipliers) == expected
