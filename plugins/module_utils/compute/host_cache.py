# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freshness of host facts cached in the store."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def parse_time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def fresh_facts(cached: dict[str, Any] | None, max_age: int, now: str) -> dict[str, Any] | None:
    """The cached facts when they are younger than ``max_age`` seconds."""
    if not cached or not cached.get("updated_at") or not cached.get("up"):
        return None
    age = (parse_time(now) - parse_time(cached["updated_at"])).total_seconds()
    return cached if 0 <= age <= max_age else None


INVENTORY_FACTS = ("availability_zone", "enabled", "traits", "uri", "instances_path", "virt_type")


def inventory_facts(args: dict[str, Any]) -> dict[str, Any]:
    """What the inventory says of a host, which the cache must not override."""
    return {key: args[key] for key in INVENTORY_FACTS if args.get(key) is not None}


def host_placement(report: dict[str, Any] | None) -> dict[str, Any]:
    """Where an instance claimed on the host lives there, from the host's report: recorded with the claim.

    The build steps and the delete read them from the record (flow.placement_args).
    """
    report = report or {}
    fields = {"libvirt_uri": report.get("uri"), "instances_path": report.get("instances_path")}
    fields["virt_type"] = report.get("virt_type")
    return {field: value for field, value in fields.items() if value}
