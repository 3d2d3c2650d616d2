"""HostState from facts and claims."""

from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import build_host_states, claim_for


def claim(uuid, vcpus=1, memory_mb=1024, disk_gb=10):
    return {"instance_uuid": uuid, "host": "host1", "vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb}


def test_capacity_from_facts_and_usage_from_claims(config, facts):
    (state,) = build_host_states({"host1": facts()}, {"host1": [claim("a"), claim("b", 2, 2048, 20)]}, config)
    assert (state.vcpus, state.memory_mb, state.disk_gb) == (4, 8192, 100)
    assert (state.vcpus_used, state.memory_mb_claimed, state.disk_gb_used) == (3, 3072, 30)
    assert state.memory_mb_used == 3072 + 512
    assert state.free_ram_mb == 8192 - 3584
    assert state.usable_vcpus == 4 * 4.0 - 3
    assert state.usable_disk_gb == 70
    assert state.num_instances == 2
    assert (state.availability_zone, state.enabled, state.up, state.traits) == ("nova", True, True, [])
    assert (state.cpu_arch, state.virt_types) == ("x86_64", ["kvm", "qemu"])


def test_inventory_values_and_per_host_ratios(config, facts):
    (state,) = build_host_states(
        {"host1": facts(availability_zone="az1", enabled=False, traits=["CUSTOM_GPU"], cpu_allocation_ratio=1.0)},
        {},
        config,
    )
    assert (state.availability_zone, state.enabled, state.traits, state.vcpus_limit) == (
        "az1",
        False,
        ["CUSTOM_GPU"],
        4,
    )


def test_hosts_without_facts_are_down_and_sorted(config, facts):
    states = build_host_states({"b": None, "a": facts()}, {}, config)
    assert [(state.host, state.up, state.vcpus) for state in states] == [("a", True, 4), ("b", False, 0)]


def test_a_reschedule_does_not_count_its_own_claim(config, facts):
    claims = {"host1": [claim("self", 4), claim("other", 1)]}
    (counted,) = build_host_states({"host1": facts()}, claims, config)
    (ignored,) = build_host_states({"host1": facts()}, claims, config, ignore_instance="self")
    assert (counted.vcpus_used, ignored.vcpus_used) == (5, 1)


def test_claim_for_rounds_swap_up_to_gb(spec):
    assert claim_for(spec(vcpus=2, memory_mb=2048, root_gb=20, ephemeral_gb=5, swap_mb=1)) == {
        "vcpus": 2,
        "memory_mb": 2048,
        "disk_gb": 26,
    }
    assert claim_for(spec(root_gb=1, swap_mb=2048))["disk_gb"] == 3
