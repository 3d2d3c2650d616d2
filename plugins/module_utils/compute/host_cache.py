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


def inventory_facts(args: dict[str, Any]) -> dict[str, Any]:
    """What the inventory says of a host, which the cache must not override."""
    return {key: args[key] for key in ("availability_zone", "enabled", "traits")}
