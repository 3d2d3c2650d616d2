"""The cached multi-create equals refiltering and reweighing every host for every instance."""

from __future__ import annotations

import random

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import NoValidHost
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import filters, manager, weighers
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.config import scheduler_config
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import build_host_states, claim_for

POLICIES = (None, "affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity")


def naive_select(host_states, spec, config, rng):
    """The reference: every filter on every host, every weigher on every passing host, for each instance."""
    ignored = set(spec.get("ignore_hosts") or ())
    forced = spec.get("force_hosts")
    candidates = [state for state in host_states if (not forced or state.host in forced) and state.host not in ignored]
    group = spec.get("group")
    if group:
        group = {**group, "members": [*group["members"], *spec["instance_uuids"]], "hosts": list(group["hosts"])}
    selections = []
    for uuid in spec["instance_uuids"]:
        instance_spec = {**spec, "group": group, "instance_uuid": uuid}
        host_filters = [filters.ALL_FILTERS[name]() for name in config["enabled_filters"]]
        passing = [state for state in candidates if all(f.host_passes(state, instance_spec) for f in host_filters)]
        if not passing:
            break
        weighed = [item.obj for item in weighers.weigh_hosts(passing, instance_spec, config)]
        chosen = rng.choice(weighed[: config["host_subset_size"]])
        alternates = [state for state in weighed if state is not chosen][: config["max_attempts"] - 1]
        chosen.consume(claim_for(spec), uuid)
        if group:
            group["hosts"].append(chosen.host)
        selections.append([state.host for state in (chosen, *alternates)])
    return selections


def random_world(seed):
    r = random.Random(seed)
    names = [f"c{index:02d}" for index in range(r.randint(3, 25))]
    facts = {
        name: {
            "vcpus": r.choice([2, 4, 8]),
            "memory_mb": r.choice([2048, 4096, 8192, 16384]),
            "disk_gb": r.choice([20, 50, 100]),
            "cpu_arch": r.choice(["x86_64", "x86_64", "aarch64"]),
            "virt_types": ["kvm", "qemu"],
            "up": r.random() > 0.1,
            "enabled": r.random() > 0.05,
            "availability_zone": r.choice(["nova", "nova", "az1"]),
            "traits": r.sample(["CUSTOM_GPU", "CUSTOM_SSD"], r.randint(0, 2)),
            "cpu_allocation_ratio": r.choice([1.0, 4.0]),
        }
        for name in names
    }
    existing = [f"old{index}" for index in range(r.randint(0, 40))]
    claims = {}
    for uuid in existing:
        claims.setdefault(r.choice(names), []).append(
            {"instance_uuid": uuid, "vcpus": r.randint(1, 2), "memory_mb": r.choice([256, 512, 1024]), "disk_gb": 5}
        )
    policy = POLICIES[seed % len(POLICIES)]
    members = r.sample(existing, min(len(existing), r.randint(0, 4)))
    member_hosts = [host for host, held in claims.items() for claim in held if claim["instance_uuid"] in members]
    count = r.randint(1, 12)
    spec = {
        "flavor": {
            "vcpus": r.randint(1, 2),
            "memory_mb": r.choice([256, 512, 1024]),
            "root_gb": r.choice([1, 5, 10]),
            "ephemeral_gb": 0,
            "swap_mb": r.choice([0, 512]),
            "extra_specs": r.choice([{}, {"trait:CUSTOM_GPU": "forbidden"}, {"trait:CUSTOM_SSD": "required"}]),
        },
        "image": {"properties": r.choice([{}, {"hw_architecture": "x86_64"}])},
        "availability_zone": r.choice([None, None, "nova"]),
        "force_hosts": [],
        "ignore_hosts": r.sample(names, r.randint(0, 2)),
        "scheduler_hints": r.choice(
            [{}, {"different_host": r.sample(existing, min(len(existing), 3))}, {"same_host": existing[:5]}]
        ),
        "group": None
        if policy is None
        else {
            "uuid": "g",
            "name": "g",
            "policy": policy,
            "rules": {"max_server_per_host": r.randint(1, 3)},
            "members": members,
            "hosts": member_hosts,
        },
        "instance_uuids": [f"new{index}" for index in range(count)],
        "min_count": 1,
    }
    config = scheduler_config(
        {
            "host_subset_size": r.randint(1, 3),
            "max_attempts": r.randint(1, 4),
            "ram_weight_multiplier": r.choice([1.0, -1.0, 2.5]),
            "num_instances_weight_multiplier": r.choice([0.0, 1.0, -1.0]),
            "soft_affinity_weight_multiplier": r.choice([1.0, 5.0]),
        }
    )
    return facts, claims, spec, config


@pytest.mark.parametrize("seed", range(60))
def test_cached_multi_create_equals_the_naive_reference(seed):
    facts, claims, spec, config = random_world(seed)
    expected = naive_select(build_host_states(facts, claims, config), spec, config, random.Random(seed))
    try:
        selections = manager.select_destinations(
            build_host_states(facts, claims, config), spec, config, random.Random(seed)
        )
    except NoValidHost:
        assert expected == []
    else:
        assert [[state.host for state in destinations] for destinations in selections] == expected


def test_the_random_worlds_exercise_what_the_cache_could_get_wrong():
    """Guard against a generator that never places several instances or never uses affinity."""
    placed = {}
    for seed in range(60):
        facts, claims, spec, config = random_world(seed)
        selections = naive_select(build_host_states(facts, claims, config), spec, config, random.Random(seed))
        policy = (spec["group"] or {}).get("policy")
        placed[policy] = max(placed.get(policy, 0), len(selections))
    assert all(placed[policy] >= 3 for policy in POLICIES)
