# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host filters as in nova/scheduler/filters: each answers one question with ``host_passes``.

``reason`` says, in words an operator can act on, why a host did not pass;
NoValidHost collects them.  The filters about other instances (server groups,
same/different host hints) are in affinity_filter.py, as in Nova.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.affinity_filter import (
    DifferentHostFilter,
    SameHostFilter,
    ServerGroupAffinityFilter,
    ServerGroupAntiAffinityFilter,
)
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.base_filter import BaseHostFilter
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import HostState, claim_for

__all__ = [
    "ALL_FILTERS",
    "AvailabilityZoneFilter",
    "BaseHostFilter",
    "ComputeCapabilitiesFilter",
    "ComputeFilter",
    "CoreFilter",
    "DifferentHostFilter",
    "DiskFilter",
    "ImagePropertiesFilter",
    "RamFilter",
    "SameHostFilter",
    "ServerGroupAffinityFilter",
    "ServerGroupAntiAffinityFilter",
    "enabled_filters",
]


def _fmt(value: float) -> str:
    return f"{value:g}"


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


# Nova's Architecture.canonicalize and VMMode.canonicalize, for the names images really carry.
_ARCH_ALIASES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "i386": "i686", "x86_32": "i686"}
_VM_MODE_ALIASES = {"hv": "hvm", "baremetal": "hvm", "pv": "xen"}
# libvirt with KVM/QEMU runs fully virtualised guests only.
HOST_VM_MODES = ("hvm",)


def canonical_arch(arch: str | None) -> str | None:
    return _ARCH_ALIASES.get(arch.lower(), arch.lower()) if arch else None


class ImagePropertiesFilter(BaseHostFilter):
    """The image's hw_architecture, img_hv_type and hw_vm_mode (when set) are what the host offers."""

    def read_request(self, spec: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
        properties = (spec.get("image") or {}).get("properties") or {}
        arch = properties.get("hw_architecture") or properties.get("architecture")
        hv_type = properties.get("img_hv_type") or properties.get("hypervisor_type")
        vm_mode = properties.get("hw_vm_mode") or properties.get("vm_mode")
        return canonical_arch(arch), hv_type, _VM_MODE_ALIASES.get(vm_mode, vm_mode) if vm_mode else None

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        arch, hv_type, vm_mode = self.wanted(spec)
        return (
            (not arch or arch == canonical_arch(host_state.cpu_arch))
            and (not hv_type or hv_type in host_state.virt_types)
            and (not vm_mode or vm_mode in HOST_VM_MODES)
        )

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        arch, hv_type, vm_mode = self.wanted(spec)
        if arch and arch != canonical_arch(host_state.cpu_arch):
            return f"image needs architecture {arch} (hw_architecture), host is {host_state.cpu_arch}"
        if hv_type and hv_type not in host_state.virt_types:
            offered = ", ".join(host_state.virt_types) or "none"
            return f"image needs hypervisor type {hv_type} (img_hv_type), host offers {offered}"
        return f"image needs vm mode {vm_mode} (hw_vm_mode), host offers {', '.join(HOST_VM_MODES)}"


class ComputeCapabilitiesFilter(BaseHostFilter):
    """Flavor extra_specs ``trait:NAME`` = required | forbidden against the host's traits.

    Nova asks placement for these; here the host's facts list its traits.
    Other extra_specs scopes (hw:, quota:, ...) are not about host choice and
    are ignored.  A value other than required/forbidden fails every host with a
    reason naming the extra spec, rather than being silently dropped.
    """

    def read_request(self, spec: dict[str, Any]) -> dict[str, str]:
        """trait name -> required | forbidden (or whatever the flavor says)."""
        extra_specs = (spec.get("flavor") or {}).get("extra_specs") or {}
        return {key[len("trait:") :]: str(value) for key, value in extra_specs.items() if key.startswith("trait:")}

    @staticmethod
    def _broken(rules: dict[str, str], traits: list[str]) -> list[str]:
        """What keeps the host out, one phrase per trait."""
        broken = []
        for trait, value in sorted(rules.items()):
            if value == "required" and trait not in traits:
                broken.append(f"lacks required trait {trait}")
            elif value == "forbidden" and trait in traits:
                broken.append(f"has forbidden trait {trait}")
            elif value not in ("required", "forbidden"):
                broken.append(f"flavor extra_specs trait:{trait} is {value!r}; use 'required' or 'forbidden'")
        return broken

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        rules = self.wanted(spec)
        return not rules or not self._broken(rules, host_state.traits)

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        broken = self._broken(self.wanted(spec), host_state.traits)
        return f"host {'; '.join(broken)} (host traits: {', '.join(host_state.traits) or 'none'})"


class CapacityFilter(BaseHostFilter):
    """Passes when the host's usable amount of ``resource`` covers the flavor's claim."""

    resource = ""

    def usable(self, host_state: HostState) -> float:
        raise NotImplementedError

    def arithmetic(self, host_state: HostState) -> str:
        """How ``usable`` was reached, in the operator's terms."""
        raise NotImplementedError

    def read_request(self, spec: dict[str, Any]) -> int:
        return claim_for(spec)[self.resource]

    def host_passes(self, host_state: HostState, spec: dict[str, Any]) -> bool:
        return self.usable(host_state) >= self.wanted(spec)

    def reason(self, host_state: HostState, spec: dict[str, Any]) -> str:
        return f"needs {self.wanted(spec)} {self.arithmetic(host_state)}"


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
            f"({host_state.disk_gb} GB size of the instances path x disk_allocation_ratio "
            f"{_fmt(host_state.disk_allocation_ratio)}{reserved} - {host_state.disk_gb_used} GB claimed)"
        )


# In the default order: cheap checks on the host itself first, then capacity
# (what Nova's placement query does before any filter), then the request's
# image, traits and its relations to other instances.
ALL_FILTERS: dict[str, type[BaseHostFilter]] = {
    cls.__name__: cls
    for cls in (
        ComputeFilter,
        AvailabilityZoneFilter,
        CoreFilter,
        RamFilter,
        DiskFilter,
        ComputeCapabilitiesFilter,
        ImagePropertiesFilter,
        ServerGroupAntiAffinityFilter,
        ServerGroupAffinityFilter,
        SameHostFilter,
        DifferentHostFilter,
    )
}


def enabled_filters(config: dict[str, Any]) -> list[BaseHostFilter]:
    """One object per enabled filter, in ``enabled_filters`` order; built once per scheduling call."""
    return [ALL_FILTERS[name]() for name in config["enabled_filters"]]
