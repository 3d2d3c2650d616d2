# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading the request spec (nova/objects/request_spec.py) the same way in every filter and weigher.

The spec is a plain dict: flavor, image, availability_zone, force_hosts,
ignore_hosts, scheduler_hints, group, instance_uuids, min_count.  Absent keys
mean "no constraint", so a filter for a feature the request does not use passes.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects.server_group import max_server_per_host

__all__ = ["group_label", "group_with_policy", "instance_uuids", "max_server_per_host", "min_count", "scheduler_hint"]


def group_with_policy(spec: dict[str, Any], policy: str) -> dict[str, Any] | None:
    """The request's server group when its policy is ``policy``, else None."""
    group = spec.get("group")
    if group and group.get("policy") == policy:
        return group
    return None


def group_label(group: dict[str, Any]) -> str:
    """How an operator finds the group again: its name and uuid."""
    return f"server group {group.get('name') or '(unnamed)'} ({group.get('uuid', 'no uuid')})"


def scheduler_hint(spec: dict[str, Any], name: str) -> list[str]:
    return list((spec.get("scheduler_hints") or {}).get(name) or [])


def instance_uuids(spec: dict[str, Any]) -> list[str | None]:
    """The instances to place, in order; a single-instance spec may give ``instance_uuid`` instead."""
    uuids = spec.get("instance_uuids")
    if uuids is None:
        return [spec.get("instance_uuid")]
    if not isinstance(uuids, list) or not uuids:
        raise InvalidInput("instance_uuids", f"must list at least one instance, got {uuids!r}")
    return list(uuids)


def min_count(spec: dict[str, Any], count: int) -> int:
    """How many of the ``count`` instances must fit (Nova's min_count); all of them by default."""
    wanted = spec.get("min_count")
    if wanted is None:
        return count
    if isinstance(wanted, bool) or not isinstance(wanted, int) or not 1 <= wanted <= count:
        raise InvalidInput(
            "min_count", f"must be an integer from 1 to {count} (the instances requested), got {wanted!r}"
        )
    return wanted
