# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A project's quotas, as Nova and Neutron keep them, and the check of a build against them.

Usage is counted from the store's records, as Nova counts it since Pike (no
reservations): a project's instances, cores and RAM are those of its instances
that are not deleted, whatever their state. The check runs inside the store
transaction that claims the hosts (compute/schedule.py), so builds that run
at the same time take turns and never exceed a quota together.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, NimbusError, shown

DEFAULT_PROJECT = "default"
UNLIMITED = -1
# Nova's [quota] defaults and Neutron's (floating IPs, security groups and their rules).
DEFAULT_QUOTAS: dict[str, int] = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "server_groups": 10,
    "server_group_members": 10,
    "floating_ips": 50,
    "security_groups": 10,
    "security_group_rules": 100,
}
# What one instance of a flavor takes of each counted resource.
INSTANCE_RESOURCES = ("instances", "cores", "ram")


def project_of(record: dict[str, Any]) -> str:
    """The project an instance or a group belongs to (records from before projects: the default one)."""
    return record.get("project_id") or DEFAULT_PROJECT


def security_group_usage(groups: Any) -> dict[str, int]:
    """What a project's security groups count against Neutron's quotas: the groups and all their rules."""
    groups = list(groups)
    return {"security_groups": len(groups), "security_group_rules": sum(len(group["rules"]) for group in groups)}


class QuotaExceeded(NimbusError):
    """Nova's TooManyInstances / OverQuota: the project's quota has no room for the request."""

    code = 403

    def __init__(self, overs: list[str], requested: dict[str, int], used: dict[str, int], limits: dict[str, int]):
        # Nova's compute_utils.get_over_quota_detail and TooManyInstances message.
        names = ", ".join(overs)
        super().__init__(
            f"Quota exceeded for {names}: Requested {', '.join(str(requested[r]) for r in overs)}, but already used "
            f"{', '.join(str(used[r]) for r in overs)} of {', '.join(str(limits[r]) for r in overs)} {names}",
            overs=overs,
        )


def project_limits(quotas: Any, field: str = "quotas") -> dict[str, int]:
    """The project's limits: ``quotas`` over Nova's defaults, each an integer >= -1 (-1: unlimited)."""
    if quotas is None:
        quotas = {}
    if not isinstance(quotas, dict):
        raise InvalidInput(field, f"must be a mapping of quota names to limits, got {shown(quotas)}")
    unknown = sorted(set(quotas) - set(DEFAULT_QUOTAS))
    if unknown:
        raise InvalidInput(f"{field}.{unknown[0]}", f"unknown quota; known quotas: {', '.join(DEFAULT_QUOTAS)}")
    limits = dict(DEFAULT_QUOTAS)
    for name, value in quotas.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < UNLIMITED:
            raise InvalidInput(f"{field}.{name}", f"must be an integer >= -1 (-1: unlimited), got {shown(value)}")
        limits[name] = value
    return limits


def per_instance(flavor: dict[str, Any]) -> dict[str, int]:
    """What one instance of ``flavor`` counts against the quotas."""
    return {"instances": 1, "cores": int(flavor["vcpus"]), "ram": int(flavor["memory_mb"])}


def _room(limit: int, used: int, each: int) -> int | None:
    """How many more of ``each`` fit under ``limit``; None when unlimited or free."""
    if limit == UNLIMITED or each == 0:
        return None
    return max(limit - used, 0) // each


def instances_that_fit(
    limits: dict[str, int], usage: dict[str, int], flavor: dict[str, Any], wanted: int, required: int
) -> int:
    """How many of ``wanted`` new instances the quotas let in, at least ``required``; else QuotaExceeded.

    Nova's _check_num_instances_quota: a multi-create of min_count..max_count
    gets as many as fit, and none when fewer than min_count fit.
    """
    each = per_instance(flavor)
    rooms = [_room(limits[r], usage[r], each[r]) for r in INSTANCE_RESOURCES]
    fit = min([wanted, *(room for room in rooms if room is not None)])
    if fit >= required:
        return fit
    requested = {r: wanted * each[r] for r in INSTANCE_RESOURCES}
    overs = [
        r for r in INSTANCE_RESOURCES if limits[r] != UNLIMITED and usage[r] + max(required, 1) * each[r] > limits[r]
    ]
    raise QuotaExceeded(overs, requested, usage, limits)


def check_room(limits: dict[str, int], resource: str, used: int, adding: int = 1) -> None:
    """``adding`` more of ``resource`` fit the project's quota (a server group, a group's members: Nova's
    check_server_group_quota), or QuotaExceeded."""
    limit = limits[resource]
    if adding and limit != UNLIMITED and used + adding > limit:
        raise QuotaExceeded([resource], {resource: adding}, {resource: used}, {resource: limit})


def usage_report(limits: dict[str, int], usage: dict[str, int]) -> dict[str, dict[str, int]]:
    """Each quota with its limit and what the project uses (``nova limits``' absolute limits)."""
    return {name: {"limit": limit, "in_use": int(usage.get(name, 0))} for name, limit in limits.items()}
