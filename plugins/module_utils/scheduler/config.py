# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Scheduler options (``nimbus_scheduler``), with Nova's defaults in one place."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import filters, weighers

# Every filter and weigher is on by default: each passes (or weighs 0) when the
# request does not use its feature, as Nova's defaults do.
DEFAULT_FILTERS = tuple(filters.ALL_FILTERS)
DEFAULT_WEIGHERS = tuple(weighers.ALL_WEIGHERS)

DEFAULTS: dict[str, Any] = {
    "cpu_allocation_ratio": 4.0,
    "ram_allocation_ratio": 1.0,
    "disk_allocation_ratio": 1.0,
    "reserved_host_memory_mb": 512,
    "reserved_host_disk_mb": 0,
    "ram_weight_multiplier": 1.0,
    "cpu_weight_multiplier": 1.0,
    "disk_weight_multiplier": 1.0,
    "num_instances_weight_multiplier": 0.0,
    "soft_affinity_weight_multiplier": 1.0,
    "soft_anti_affinity_weight_multiplier": 1.0,
    "host_subset_size": 1,
    "max_attempts": 3,
    "default_availability_zone": "nova",
    "enabled_filters": list(DEFAULT_FILTERS),
    "weight_classes": list(DEFAULT_WEIGHERS),
}

_RATIOS = ("cpu_allocation_ratio", "ram_allocation_ratio", "disk_allocation_ratio")
_COUNTS = {"reserved_host_memory_mb": 0, "reserved_host_disk_mb": 0, "host_subset_size": 1, "max_attempts": 1}
# Weight multipliers and their lower bound. Nova gives the soft affinity ones
# min=0.0: a negative one would turn soft affinity into soft anti-affinity.
_MULTIPLIERS: dict[str, float | None] = {
    "ram_weight_multiplier": None,
    "cpu_weight_multiplier": None,
    "disk_weight_multiplier": None,
    "num_instances_weight_multiplier": None,
    "soft_affinity_weight_multiplier": 0.0,
    "soft_anti_affinity_weight_multiplier": 0.0,
}


def _field(key: str) -> str:
    return f"nimbus_scheduler.{key}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_names(key: str, value: Any, known: tuple[str, ...] | list[str]) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(_field(key), "must be a list of names")
    unknown = [item for item in value if item not in known]
    if unknown:
        raise InvalidInput(_field(key), f"unknown {', '.join(unknown)}; known: {', '.join(known)}")
    repeated = sorted({item for item in value if value.count(item) > 1})
    if repeated:
        raise InvalidInput(_field(key), f"lists {', '.join(repeated)} more than once")
    return list(value)


def _check(key: str, value: Any, known_filters: list[str], known_weighers: list[str]) -> Any:
    if key in _RATIOS:
        if not _is_number(value) or value <= 0:
            raise InvalidInput(_field(key), f"must be a number > 0, got {value!r}")
        return float(value)
    if key in _COUNTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < _COUNTS[key]:
            raise InvalidInput(_field(key), f"must be an integer >= {_COUNTS[key]}, got {value!r}")
        return value
    if key in _MULTIPLIERS:
        minimum = _MULTIPLIERS[key]
        if not _is_number(value) or (minimum is not None and value < minimum):
            rule = "a number" if minimum is None else f"a number >= {minimum:g}"
            raise InvalidInput(_field(key), f"must be {rule}, got {value!r}")
        return float(value)
    if key == "default_availability_zone":
        if not isinstance(value, str) or not value:
            raise InvalidInput(_field(key), f"must be a non-empty string, got {value!r}")
        return value
    if key == "enabled_filters":
        return _check_names(key, value, known_filters)
    return _check_names(key, value, known_weighers)


def scheduler_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """DEFAULTS updated with ``overrides`` (``nimbus_scheduler``), each option type-checked."""
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise InvalidInput("nimbus_scheduler", "must be a mapping of scheduler options")
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if unknown:
        raise InvalidInput(_field(unknown[0]), f"unknown option; known: {', '.join(sorted(DEFAULTS))}")
    known_filters = sorted(filters.ALL_FILTERS)
    known_weighers = sorted(weighers.ALL_WEIGHERS)
    config = {key: _check(key, value, known_filters, known_weighers) for key, value in DEFAULTS.items()}
    config.update({key: _check(key, value, known_filters, known_weighers) for key, value in overrides.items()})
    return config
