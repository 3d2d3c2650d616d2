"""RAMWeigher and Nova's normalisation."""

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
    ],
)
def test_normalize(raw, normalised):
    assert weighers.normalize(raw) == normalised


def test_ram_weigher_prefers_free_ram(host, spec, config):
    hosts = [host("small", memory_mb=4096), host("big", memory_mb=16384), host("mid", memory_mb=8192)]
    weighed = weighers.weigh_hosts(hosts, spec(), config)
    assert [(item.obj.host, round(item.weight, 3)) for item in weighed] == [
        ("big", 1.0),
        ("mid", 0.333),
        ("small", 0.0),
    ]


def test_negative_multiplier_stacks(host, spec, config):
    hosts = [host("small", memory_mb=4096), host("big", memory_mb=16384)]
    weighed = weighers.weigh_hosts(hosts, spec(), {**config, "ram_weight_multiplier": -2.0})
    assert [(item.obj.host, item.weight) for item in weighed] == [("small", 0.0), ("big", -2.0)]


def test_claims_lower_the_weight(host, spec, config):
    busy = host("a", claims=[{"instance_uuid": "x", "vcpus": 1, "memory_mb": 4096, "disk_gb": 1}])
    idle = host("b")
    assert [item.obj.host for item in weighers.weigh_hosts([busy, idle], spec(), config)] == ["b", "a"]


def test_equal_weights_order_by_name(host, spec, config):
    hosts = [host("c"), host("a"), host("b")]
    assert [item.obj.host for item in weighers.weigh_hosts(hosts, spec(), config)] == ["a", "b", "c"]
