"""select_destinations: chosen host, alternates, NoValidHost with every host's reason."""

from __future__ import annotations

import random

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import NoValidHost
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import manager
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import build_host_states
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import StoreState


def names(host_states):
    return [state.host for state in host_states]


def test_best_host_first_then_alternates(host, spec, config):
    hosts = [host(f"h{mb}", memory_mb=mb) for mb in (4096, 16384, 8192, 12288, 6144)]
    chosen = manager.select_destinations(hosts, spec(), config)
    assert names(chosen) == ["h16384", "h12288", "h8192"]


@pytest.mark.parametrize(("max_attempts", "count"), [(1, 1), (2, 2), (3, 3), (10, 5)])
def test_alternates_follow_max_attempts(host, spec, config, max_attempts, count):
    hosts = [host(f"h{i}") for i in range(5)]
    assert len(manager.select_destinations(hosts, spec(), {**config, "max_attempts": max_attempts})) == count


def test_host_subset_size_spreads_among_the_best(host, spec, config):
    hosts = [host("a", memory_mb=16384), host("b", memory_mb=16000), host("c", memory_mb=1024)]
    settings = {**config, "host_subset_size": 2}
    rng = random.Random(0)
    picked = {manager.select_destinations(hosts, spec(memory_mb=256), settings, rng)[0].host for _round in range(50)}
    assert picked == {"a", "b"}
    destinations = manager.select_destinations(hosts, spec(memory_mb=256), settings, random.Random(1))
    assert len(set(names(destinations))) == 3


def test_no_valid_host_names_every_host_and_why(host, spec, config):
    hosts = [
        host("down", up=False),
        host("off", enabled=False),
        host("small", memory_mb=1024),
        host("elsewhere", availability_zone="az2"),
        host("full", disk_gb=1),
    ]
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(hosts, spec(memory_mb=2048, root_gb=10, availability_zone="nova"), config)
    reasons = error.value.details["hosts"]
    assert sorted(reasons) == ["down", "elsewhere", "full", "off", "small"]
    assert reasons["down"].startswith("ComputeFilter: host is down")
    assert reasons["off"].startswith("ComputeFilter: host is disabled")
    assert reasons["small"].startswith("RamFilter: needs 2048 MB RAM")
    assert reasons["elsewhere"].startswith("AvailabilityZoneFilter: host is in availability zone 'az2'")
    assert reasons["full"].startswith("DiskFilter: needs 10 GB disk")
    message = error.value.message
    assert message.startswith("No valid host was found.")
    for name, reason in reasons.items():
        assert f"{name}: {reason}" in message
    assert error.value.to_fault()["details"] == {"hosts": reasons}


def test_no_hosts_at_all(spec, config):
    with pytest.raises(NoValidHost, match=r"run nimbus\.compute\.host_facts") as error:
        manager.select_destinations([], spec(), config)
    assert error.value.details == {"hosts": {}}


def test_disabled_filters_are_not_applied(host, spec, config):
    hosts = [host("small", memory_mb=1024)]
    settings = {**config, "enabled_filters": ["ComputeFilter"]}
    assert names(manager.select_destinations(hosts, spec(memory_mb=2048), settings)) == ["small"]


def test_hosts_already_tried_are_ignored(host, spec, config):
    hosts = [host("a", memory_mb=16384), host("b")]
    request = {**spec(), "ignore_hosts": ["a"]}
    assert names(manager.select_destinations(hosts, request, config)) == ["b"]
    with pytest.raises(NoValidHost, match="already tried"):
        manager.select_destinations([hosts[0]], request, config)


def test_claims_in_the_store_reduce_capacity(facts, spec, config):
    state = StoreState()
    facts_by_host = {"a": facts(memory_mb=4608), "b": facts(memory_mb=4096)}
    request = spec(memory_mb=2048)
    placed = []
    for index in range(3):
        uuid = f"u{index}"
        host_states = build_host_states(facts_by_host, state.claims_by_host(), config)
        chosen = manager.select_destinations(host_states, {**request, "instance_uuid": uuid}, config)[0]
        state.claim(uuid, chosen.host, manager.claim_for(request))
        placed.append(chosen.host)
    # a: 4096 usable, b: 3584 usable; the most free RAM wins each time.
    assert placed == ["a", "b", "a"]
    with pytest.raises(NoValidHost) as error:
        manager.select_destinations(build_host_states(facts_by_host, state.claims_by_host(), config), request, config)
    assert "0 MB usable" in error.value.details["hosts"]["a"]
    assert "1536 MB usable" in error.value.details["hosts"]["b"]
