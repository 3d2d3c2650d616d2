# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host filters as in nova/scheduler/filters: each answers one question with ``host_passes``.

``reason`` says, in words an operator can act on, why a host did not pass;
NoValidHost collects them.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import HostState, claim_for


def _fmt(value: float) -> str:
    return f"{value:g}"


class BaseHostFilter:
    """One scheduling rule; subclasses implement ``host_passes`` and ``reason``."""

    @property
    def name(self) -> str:
        return type(self).__name__

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        raise NotImplementedError

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        return f"{self.name} did not pass"

    def filter_all(self, host_states: list[HostState], spec: dict[str, Any]) -> list[HostState]:
        return [host_state for host_state in host_states if self.host_passes(host_state, spec)]


class ComputeFilter(BaseHostFilter):
    """The host is enabled and its facts say libvirt is up."""

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        return host_state.enabled and host_state.up

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        if not host_state.enabled:
            return "host is disabled in the inventory (enabled: false)"
        return "host is down: no fresh host facts or libvirt not reachable; run nimbus.compute.host_facts on it"


class AvailabilityZoneFilter(BaseHostFilter):
    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        wanted = spec.get("availability_zone")
        return not wanted or host_state.availability_zone == wanted

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        return (
            f"host is in availability zone {host_state.availability_zone!r}, "
            f"the request asks for {spec.get('availability_zone')!r}"
        )


class ImagePropertiesFilter(BaseHostFilter):
    """The image's hw_architecture and img_hv_type (when set) match the host."""

    @staticmethod
    def _wanted(spec: dict[str, Any]) -> tuple[str | None, str | None]:
        properties = (spec.get("image") or {}).get("properties") or {}
        arch = properties.get("hw_architecture") or properties.get("architecture")
        return arch, properties.get("img_hv_type") or properties.get("hypervisor_type")

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        arch, hv_type = self._wanted(spec)
        return (not arch or arch == host_state.cpu_arch) and (not hv_type or hv_type in host_state.virt_types)

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        arch, hv_type = self._wanted(spec)
        if arch and arch != host_state.cpu_arch:
            return f"image needs architecture {arch}, host is {host_state.cpu_arch}"
        return f"image needs hypervisor type {hv_type}, host offers {', '.join(host_state.virt_types) or 'none'}"


class CapacityFilter(BaseHostFilter):
    """Passes when the host's usable amount of ``resource`` covers the flavor's claim."""

    resource = ""

    def usable(self, host_state: HostState) -> float:
        raise NotImplementedError

    def arithmetic(self, host_state: HostState) -> str:
        """How ``usable`` was reached, in the operator's terms."""
        raise NotImplementedError

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        return self.usable(host_state) >= claim_for(spec)[self.resource]

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        return f"needs {claim_for(spec)[self.resource]} {self.arithmetic(host_state)}"


class CoreFilter(CapacityFilter):
    """Enough vCPUs left: vcpus x cpu_allocation_ratio - claimed."""

    resource = "vcpus"

    def usable(self, host_state: HostState) -> float:
        return host_state.usable_vcpus

    def arithmetic(self, host_state: HostState) -> str:
        return (
            f"vCPUs, {_fmt(host_state.usable_vcpus)} usable "
            f"({host_state.vcpus} x cpu_allocation_ratio {_fmt(host_state.cpu_allocation_ratio)} "
            f"- {host_state.vcpus_used} claimed)"
        )


class RamFilter(CapacityFilter):
    """Enough RAM left: memory_mb x ram_allocation_ratio - reserved_host_memory_mb - claimed."""

    resource = "memory_mb"

    def usable(self, host_state: HostState) -> float:
        return host_state.usable_ram_mb

    def arithmetic(self, host_state: HostState) -> str:
        return (
            f"MB RAM, {_fmt(host_state.usable_ram_mb)} MB usable "
            f"({host_state.memory_mb} MB x ram_allocation_ratio {_fmt(host_state.ram_allocation_ratio)} "
            f"- {host_state.reserved_host_memory_mb} MB reserved - {host_state.memory_mb_claimed} MB claimed)"
        )


class DiskFilter(CapacityFilter):
    """Enough disk left for root + ephemeral + swap: disk_gb x disk_allocation_ratio - claimed."""

    resource = "disk_gb"

    def usable(self, host_state: HostState) -> float:
        return host_state.usable_disk_gb

    def arithmetic(self, host_state: HostState) -> str:
        reserved = f" - {host_state.reserved_host_disk_mb} MB reserved" if host_state.reserved_host_disk_mb else ""
        return (
            f"GB disk, {_fmt(host_state.usable_disk_gb)} GB usable "
            f"({host_state.disk_gb} GB free in the instances path x disk_allocation_ratio "
            f"{_fmt(host_state.disk_allocation_ratio)}{reserved} - {host_state.disk_gb_used} GB claimed)"
        )


ALL_FILTERS: dict[str, type[BaseHostFilter]] = {
    cls.__name__: cls
    for cls in (ComputeFilter, AvailabilityZoneFilter, ImagePropertiesFilter, CoreFilter, RamFilter, DiskFilter)
}


def enabled_filters(config: dict[str, Any]) -> list[BaseHostFilter]:
    return [ALL_FILTERS[name]() for name in config["enabled_filters"]]
