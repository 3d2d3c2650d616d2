"""Scheduler options: defaults in one place, overrides type-checked."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
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


def test_defaults_are_not_shared():
    config = scheduler_config()
    config["enabled_filters"].append("X")
    assert "X" not in DEFAULTS["enabled_filters"]


def test_overrides():
    config = scheduler_config({"cpu_allocation_ratio": 16, "enabled_filters": ["RamFilter"], "max_attempts": 1})
    assert config["cpu_allocation_ratio"] == 16.0
    assert config["enabled_filters"] == ["RamFilter"]
    assert config["max_attempts"] == 1
    assert config["ram_allocation_ratio"] == 1.0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cpu_allocation_ratio": 0}, "nimbus_scheduler.cpu_allocation_ratio"),
        ({"ram_allocation_ratio": "1.5"}, "nimbus_scheduler.ram_allocation_ratio"),
        ({"disk_allocation_ratio": True}, "nimbus_scheduler.disk_allocation_ratio"),
        ({"reserved_host_memory_mb": -1}, "nimbus_scheduler.reserved_host_memory_mb"),
        ({"reserved_host_memory_mb": 1.5}, "nimbus_scheduler.reserved_host_memory_mb"),
        ({"host_subset_size": 0}, "nimbus_scheduler.host_subset_size"),
        ({"max_attempts": 0}, "nimbus_scheduler.max_attempts"),
        ({"ram_weight_multiplier": "high"}, "nimbus_scheduler.ram_weight_multiplier"),
        ({"enabled_filters": ["RamFilter", "RetryFilter"]}, "nimbus_scheduler.enabled_filters"),
        ({"enabled_filters": "RamFilter"}, "nimbus_scheduler.enabled_filters"),
        ({"weight_classes": ["CPUWeigher"]}, "nimbus_scheduler.weight_classes"),
        ({"default_availability_zone": ""}, "nimbus_scheduler.default_availability_zone"),
        ({"cpu_ratio": 2.0}, "nimbus_scheduler.cpu_ratio"),
    ],
)
def test_bad_option_names_itself(overrides, field):
    with pytest.raises(InvalidInput) as error:
        scheduler_config(overrides)
    assert error.value.field == field
