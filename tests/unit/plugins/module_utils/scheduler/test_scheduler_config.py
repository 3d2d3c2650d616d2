"""Scheduler options: defaults in one place, overrides type-checked."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import filters, weighers
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.config import DEFAULTS, scheduler_config


def test_defaults_are_novas():
    config = scheduler_config()
    assert config == DEFAULTS
    assert (config["cpu_allocation_ratio"], config["ram_allocation_ratio"], config["disk_allocation_ratio"]) == (
        4.0,
        1.0,
        1.0,
    )
    assert (config["reserved_host_memory_mb"], config["max_attempts"], config["host_subset_size"]) == (512, 3, 1)
    multipliers = {key: value for key, value in config.items() if key.endswith("_weight_multiplier")}
    assert multipliers == {
        "ram_weight_multiplier": 1.0,
        "cpu_weight_multiplier": 1.0,
        "disk_weight_multiplier": 1.0,
        "num_instances_weight_multiplier": 0.0,
        "soft_affinity_weight_multiplier": 1.0,
        "soft_anti_affinity_weight_multiplier": 1.0,
    }


def test_every_filter_and_weigher_is_enabled_by_default():
    config = scheduler_config()
    assert sorted(config["enabled_filters"]) == sorted(filters.ALL_FILTERS)
    assert sorted(config["weight_classes"]) == sorted(weighers.ALL_WEIGHERS)
    assert config["enabled_filters"][:2] == ["ComputeFilter", "AvailabilityZoneFilter"]


def test_defaults_are_not_shared():
    config = scheduler_config()
    config["enabled_filters"].append("X")
    assert "X" not in DEFAULTS["enabled_filters"]


def test_overrides():
    config = scheduler_config(
        {
            "cpu_allocation_ratio": 16,
            "enabled_filters": ["RamFilter"],
            "max_attempts": 1,
            "ram_weight_multiplier": -1,
            "soft_affinity_weight_multiplier": 0,
            "weight_classes": ["CPUWeigher"],
        }
    )
    assert config["cpu_allocation_ratio"] == 16.0
    assert (config["ram_weight_multiplier"], config["soft_affinity_weight_multiplier"]) == (-1.0, 0.0)
    assert config["weight_classes"] == ["CPUWeigher"]
    assert config["enabled_filters"] == ["RamFilter"]
    assert config["max_attempts"] == 1
    assert config["ram_allocation_ratio"] == 1.0


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"cpu_allocation_ratio": 0}, "cpu_allocation_ratio", "must be a number > 0"),
        ({"ram_allocation_ratio": "1.5"}, "ram_allocation_ratio", "must be a number > 0"),
        ({"disk_allocation_ratio": True}, "disk_allocation_ratio", "must be a number > 0"),
        ({"reserved_host_memory_mb": -1}, "reserved_host_memory_mb", "must be an integer >= 0"),
        ({"reserved_host_memory_mb": 1.5}, "reserved_host_memory_mb", "must be an integer >= 0"),
        ({"host_subset_size": 0}, "host_subset_size", "must be an integer >= 1"),
        ({"max_attempts": 0}, "max_attempts", "must be an integer >= 1"),
        ({"ram_weight_multiplier": "high"}, "ram_weight_multiplier", "must be a number"),
        ({"cpu_weight_multiplier": None}, "cpu_weight_multiplier", "must be a number"),
        ({"disk_weight_multiplier": False}, "disk_weight_multiplier", "must be a number"),
        ({"num_instances_weight_multiplier": [1]}, "num_instances_weight_multiplier", "must be a number"),
        ({"soft_affinity_weight_multiplier": -0.5}, "soft_affinity_weight_multiplier", "must be a number >= 0"),
        ({"soft_anti_affinity_weight_multiplier": -1}, "soft_anti_affinity_weight_multiplier", "must be a number >= 0"),
        ({"enabled_filters": ["RamFilter", "RetryFilter"]}, "enabled_filters", "unknown RetryFilter; known: "),
        ({"enabled_filters": "RamFilter"}, "enabled_filters", "must be a list of names"),
        ({"enabled_filters": ["RamFilter", "RamFilter"]}, "enabled_filters", "lists RamFilter more than once"),
        ({"weight_classes": ["GPUWeigher"]}, "weight_classes", "unknown GPUWeigher; known: CPUWeigher, "),
        ({"weight_classes": [1]}, "weight_classes", "must be a list of names"),
        ({"default_availability_zone": ""}, "default_availability_zone", "must be a non-empty string"),
        ({"cpu_ratio": 2.0}, "cpu_ratio", "unknown option; known: "),
    ],
)
def test_bad_option_names_itself_and_the_rule(overrides, field, rule):
    with pytest.raises(InvalidInput) as error:
        scheduler_config(overrides)
    assert error.value.field == f"nimbus_scheduler.{field}"
    assert error.value.message.startswith(f"nimbus_scheduler.{field}: {rule}")
