# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters about other instances (nova/scheduler/filters/affinity_filter.py).

Server groups (affinity, anti-affinity) and the same_host/different_host
scheduler hints.  Each passes every host when the request has no such group
or hint, so all of them can be enabled by default.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import request_spec
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.base_filter import BaseHostFilter
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import HostState


def _listed(uuids: list[str]) -> str:
    return ", ".join(uuids)


class SameHostFilter(BaseHostFilter):
    """Hint same_host: the host holds at least one of the listed instances (Nova: any of them)."""

    def read_request(self, spec: dict[str, Any]) -> frozenset[str]:
        return frozenset(request_spec.scheduler_hint(spec, "same_host"))

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        wanted = self.wanted(spec)
        return not wanted or not wanted.isdisjoint(host_state.instance_uuids)

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        wanted = sorted(self.wanted(spec))
        return f"scheduler hint same_host asks for the host of {_listed(wanted)}; none of them is on this host"


class DifferentHostFilter(BaseHostFilter):
    """Hint different_host: the host holds none of the listed instances."""

    def read_request(self, spec: dict[str, Any]) -> frozenset[str]:
        return frozenset(request_spec.scheduler_hint(spec, "different_host"))

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        unwanted = self.wanted(spec)
        return not unwanted or unwanted.isdisjoint(host_state.instance_uuids)

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        unwanted = self.wanted(spec)
        here = [uuid for uuid in host_state.instance_uuids if uuid in unwanted]
        return f"host holds {_listed(here)}, which scheduler hint different_host keeps away from"


class ServerGroupAffinityFilter(BaseHostFilter):
    """Policy affinity: once a member is placed, only the members' hosts pass.

    The group's hosts grow with each pick of a multi-create, which changes the
    answer for hosts that did not take the instance: hence depends_on_other_hosts.
    """

    depends_on_other_hosts = True

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        group = request_spec.group_with_policy(spec, "affinity")
        return not group or not group.get("hosts") or host_state.host in group["hosts"]

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        group = request_spec.group_with_policy(spec, "affinity") or {}
        hosts = ", ".join(sorted(set(group.get("hosts") or ())))
        return f"{request_spec.group_label(group)} has policy affinity and its members are on {hosts}"


def members_on_host(host_state: HostState, group: dict[str, Any], excluding: str | None = None) -> int:
    """How many of the group's members the host holds, ``excluding`` one instance (the one being placed)."""
    members = group.get("members") or ()
    return sum(1 for uuid in host_state.instance_uuids if uuid in members and uuid != excluding)


class ServerGroupAntiAffinityFilter(BaseHostFilter):
    """Policy anti-affinity: fewer than rules.max_server_per_host (default 1) members already on the host."""

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        group = request_spec.group_with_policy(spec, "anti-affinity")
        if not group:
            return True
        on_host = members_on_host(host_state, group, spec.get("instance_uuid"))
        return on_host < request_spec.max_server_per_host(group)

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        group = request_spec.group_with_policy(spec, "anti-affinity") or {}
        on_host = members_on_host(host_state, group, spec.get("instance_uuid"))
        return (
            f"{request_spec.group_label(group)} has policy anti-affinity and the host already holds "
            f"{on_host} of its members (rules.max_server_per_host {request_spec.max_server_per_host(group)})"
        )
