# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Freshness of host facts cached in the store."""

from __future__ import annotations

from datetime import datetime, timedelta
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
    fields = {"libvirt_uri": "uri", "instances_path": "instances_path", "virt_type": "virt_type"}
    return {field: report[key] for field, key in fields.items() if report.get(key)}


def reports_from_store(
    state, hosts: list[str], max_age: int, now: str, run_age: float | None
) -> dict[str, dict[str, Any]]:
    """The scheduler's view of ``hosts``: each one's report as this run's host_facts left it in the store.

    A report counts when this run's host_facts wrote it, or served it from
    the cache (then it is at most ``max_age`` seconds older than the run's
    start, ``run_age`` seconds before ``now``); host_facts records a host it
    could not reach as down. A host without such a report is down for the
    scheduler, with the reason.
    """
    started = parse_time(now) - timedelta(seconds=run_age or 0)
    reports: dict[str, dict[str, Any]] = {}
    for host in hosts:
        report = state.host_facts(host)
        if report is None:
            reports[host] = {"up": False, "reason": "no host_facts report in the store"}
        elif not report.get("updated_at") or parse_time(report["updated_at"]) < started - timedelta(seconds=max_age):
            reports[host] = {
                "up": False,
                "reason": f"its host_facts report ({report.get('updated_at')}) is older than this run, "
                f"and than max_age ({max_age} s) before it",
            }
        else:
            reports[host] = report
    return reports


def reports_from_facts(facts_by_host: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The reports of this run's host_facts as the play holds them (check mode, which writes none to the store)."""
    return {
        host: facts if isinstance(facts, dict) else {"up": False, "reason": "no host_facts report in this run"}
        for host, facts in facts_by_host.items()
    }
