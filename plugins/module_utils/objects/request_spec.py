# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduling parts of a build request (Nova's RequestSpec): where, how many, with whom.

``availability_zone`` may force a host as Nova's ``az:host`` does;
``min_count``/``max_count`` ask for several instances in one request;
``scheduler_hints`` name a server group and instances to land near or away from.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown

HINT_KEYS = ("different_host", "group", "same_host")
# One request schedules at most this many instances (Nova's quota would say it).
MAX_COUNT = 1000
MAX_INSTANCE_NAME_LEN = 63


def _count(field: str, value: Any) -> int:
    # An extra var given as key=value is a string: "3" is taken, "abc" is not (never int()'s 0).
    if isinstance(value, str) and value.isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise InvalidInput(field, f"must be an integer from 1 to {MAX_COUNT}, got {shown(value)}")
    return value


def normalise_counts(request: dict[str, Any]) -> tuple[int, int]:
    """(min_count, max_count): max defaults to min, min to 1, and min <= max."""
    min_count = _count("min_count", request.get("min_count", 1))
    max_count = _count("max_count", request.get("max_count", min_count))
    if max_count < min_count:
        raise InvalidInput("max_count", f"must be >= min_count ({min_count}), got {max_count}")
    return min_count, max_count


def instance_names(name: str, max_count: int) -> list[str]:
    """Nova's multi_instance_display_name_template '%(name)s-%(count)d', counting from 1."""
    if max_count == 1:
        return [name]
    names = [f"{name}-{index}" for index in range(1, max_count + 1)]
    if len(names[-1]) > MAX_INSTANCE_NAME_LEN:
        raise InvalidInput(
            "name",
            f"with max_count {max_count} the names {name}-1..{names[-1]} would exceed "
            f"{MAX_INSTANCE_NAME_LEN} characters",
        )
    return names


def parse_availability_zone(value: Any) -> tuple[str | None, str | None]:
    """(zone, forced host) from Nova's 'az', 'az:host' or ':host' (any zone)."""
    if value is None:
        return None, None
    if not isinstance(value, str) or not value or value.count(":") > 1:
        raise InvalidInput("availability_zone", f"must be 'zone', 'zone:host' or ':host', got {value!r}")
    zone, separator, host = value.partition(":")
    if separator and not host:
        raise InvalidInput("availability_zone", f"names no host after ':', got {value!r}")
    return zone or None, host or None


def _names(field: str, value: Any) -> list[str]:
    """A hint naming one instance or several (Nova takes either)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(item, str) and item for item in items):
        raise InvalidInput(field, "must be an instance name or uuid, or a non-empty list of them")
    return list(dict.fromkeys(items))


def normalise_hints(value: Any) -> dict[str, Any]:
    """{group: name or uuid or None, same_host: [...], different_host: [...]}."""
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise InvalidInput("scheduler_hints", f"must be a mapping with any of {', '.join(HINT_KEYS)}")
    unknown = sorted(set(value) - set(HINT_KEYS))
    if unknown:
        raise InvalidInput(f"scheduler_hints.{unknown[0]}", f"unknown hint; known hints: {', '.join(HINT_KEYS)}")
    group = value.get("group")
    if group is not None and (not isinstance(group, str) or not group):
        raise InvalidInput("scheduler_hints.group", f"must be a server group name or uuid, got {group!r}")
    return {
        "group": group,
        "same_host": _names("scheduler_hints.same_host", value["same_host"]) if "same_host" in value else [],
        "different_host": (
            _names("scheduler_hints.different_host", value["different_host"]) if "different_host" in value else []
        ),
    }
