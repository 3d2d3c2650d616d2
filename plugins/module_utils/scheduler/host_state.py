# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HostState (nova/scheduler/host_manager.py): a compute host as the scheduler sees it.

Capacity comes from the host's facts; usage from the claims in the store, so
two builds scheduled one after the other see each other even before either
instance is running. The store gives usage per host (``usage``: sums of the
claims, their number, and of the instances a request's hints or group name,
those placed there), so scheduling reads one row per host, not every claim.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.objects.block_device import is_boot_from_volume


@dataclasses.dataclass(slots=True)
class HostState:
    host: str
    vcpus: int = 0
    memory_mb: int = 0
    # Size of the filesystem of the instances path (Nova's local_gb): the disk capacity; claims are the usage.
    disk_gb: int = 0
    cpu_arch: str | None = None
    virt_types: list[str] = dataclasses.field(default_factory=list)
    availability_zone: str = "nova"
    enabled: bool = True
    up: bool = False
    traits: list[str] = dataclasses.field(default_factory=list)
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    reserved_host_memory_mb: int = 512
    reserved_host_disk_mb: int = 0
    vcpus_used: int = 0
    memory_mb_claimed: int = 0
    disk_gb_used: int = 0
    # The instances here that the request asks about (hints, group members), not every one.
    instance_uuids: list[str] = dataclasses.field(default_factory=list)
    instance_count: int = 0

    @property
    def num_instances(self) -> int:
        return self.instance_count

    @property
    def memory_mb_used(self) -> int:
        """Claimed RAM plus the host's reservation, as Nova's compute node reports it."""
        return self.memory_mb_claimed + self.reserved_host_memory_mb

    @property
    def free_ram_mb(self) -> int:
        return self.memory_mb - self.memory_mb_used

    @property
    def free_disk_gb(self) -> float:
        return self.disk_gb - self.disk_gb_used - self.reserved_host_disk_mb / 1024

    @property
    def vcpus_limit(self) -> float:
        return self.vcpus * self.cpu_allocation_ratio

    @property
    def usable_vcpus(self) -> float:
        return self.vcpus_limit - self.vcpus_used

    @property
    def memory_mb_limit(self) -> float:
        return self.memory_mb * self.ram_allocation_ratio

    @property
    def usable_ram_mb(self) -> float:
        return self.memory_mb_limit - self.memory_mb_used

    @property
    def disk_gb_limit(self) -> float:
        return self.disk_gb * self.disk_allocation_ratio

    @property
    def usable_disk_gb(self) -> float:
        return self.disk_gb_limit - self.disk_gb_used - self.reserved_host_disk_mb / 1024

    def consume(self, claim: dict[str, Any], instance_uuid: str | None = None) -> None:
        """Account for a claim made after the host state was built (Nova's consume_from_request)."""
        self.vcpus_used += int(claim["vcpus"])
        self.memory_mb_claimed += int(claim["memory_mb"])
        self.disk_gb_used += int(claim["disk_gb"])
        self.instance_count += 1
        if instance_uuid:
            self.instance_uuids.append(instance_uuid)


def claim_for(spec: dict[str, Any]) -> dict[str, int]:
    """The resources an instance of ``spec['flavor']`` takes on its host (swap rounded up to GB).

    Booted from a volume, the root disk lives in the volume, not on the
    host's disk: no root_gb is claimed (Nova's is_bfv).
    """
    flavor = spec["flavor"]
    swap_gb = math.ceil(flavor.get("swap_mb", 0) / 1024)
    root_gb = 0 if is_boot_from_volume(spec.get("block_device_mapping") or []) else int(flavor["root_gb"])
    return {
        "vcpus": int(flavor["vcpus"]),
        "memory_mb": int(flavor["memory_mb"]),
        "disk_gb": root_gb + int(flavor.get("ephemeral_gb", 0)) + swap_gb,
    }


def _number(facts: dict[str, Any], key: str) -> int:
    value = facts.get(key)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


EMPTY_USAGE = {"vcpus": 0, "memory_mb": 0, "disk_gb": 0, "instances": 0, "instance_uuids": []}


def usage_of_claims(claims: list[dict[str, Any]]) -> dict[str, Any]:
    """A host's usage from its claims, in one pass with local sums: a controller may hold tens of thousands."""
    vcpus = memory_mb = disk_gb = 0
    for claim in claims:
        vcpus += int(claim["vcpus"])
        memory_mb += int(claim["memory_mb"])
        disk_gb += int(claim["disk_gb"])
    uuids = [claim["instance_uuid"] for claim in claims if claim.get("instance_uuid")]
    return {
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "disk_gb": disk_gb,
        "instances": len(claims),
        "instance_uuids": uuids,
    }


def host_state_from_facts(
    host: str, facts: dict[str, Any] | None, claims: list[dict[str, Any]], config: dict[str, Any]
) -> HostState:
    """One HostState from the host's claims (see host_state_from_usage)."""
    return host_state_from_usage(host, facts, usage_of_claims(claims), config)


def host_state_from_usage(
    host: str, facts: dict[str, Any] | None, usage: dict[str, Any], config: dict[str, Any]
) -> HostState:
    """One HostState; missing facts make the host count as down rather than fail the whole run."""
    facts = facts or {}
    return HostState(
        host=host,
        vcpus=_number(facts, "vcpus"),
        memory_mb=_number(facts, "memory_mb"),
        disk_gb=_number(facts, "disk_gb"),
        cpu_arch=facts.get("cpu_arch"),
        virt_types=list(facts.get("virt_types") or []),
        availability_zone=facts.get("availability_zone") or config["default_availability_zone"],
        enabled=bool(facts.get("enabled", True)),
        up=bool(facts.get("up", False)),
        traits=list(facts.get("traits") or []),
        # A host may override the ratios (Nova keeps them per compute node).
        cpu_allocation_ratio=float(facts.get("cpu_allocation_ratio", config["cpu_allocation_ratio"])),
        ram_allocation_ratio=float(facts.get("ram_allocation_ratio", config["ram_allocation_ratio"])),
        disk_allocation_ratio=float(facts.get("disk_allocation_ratio", config["disk_allocation_ratio"])),
        reserved_host_memory_mb=int(facts.get("reserved_host_memory_mb", config["reserved_host_memory_mb"])),
        reserved_host_disk_mb=int(facts.get("reserved_host_disk_mb", config["reserved_host_disk_mb"])),
        vcpus_used=int(usage["vcpus"]),
        memory_mb_claimed=int(usage["memory_mb"]),
        disk_gb_used=int(usage["disk_gb"]),
        instance_uuids=list(usage["instance_uuids"]),
        instance_count=int(usage["instances"]),
    )


def build_host_states(
    facts_by_host: dict[str, dict[str, Any]],
    claims_by_host: dict[str, list[dict[str, Any]]],
    config: dict[str, Any],
    ignore_instance: str | None = None,
) -> list[HostState]:
    """HostStates for every host with facts, sorted by name, from each host's claims; ``ignore_instance``'s own
    claim is not counted (a reschedule must not compete with itself)."""
    usage = {
        host: usage_of_claims([claim for claim in claims if claim.get("instance_uuid") != ignore_instance])
        for host, claims in claims_by_host.items()
    }
    return host_states_from_usage(facts_by_host, usage, config)


def host_states_from_usage(
    facts_by_host: dict[str, dict[str, Any]], usage_by_host: dict[str, dict[str, Any]], config: dict[str, Any]
) -> list[HostState]:
    """HostStates for every host with facts, sorted by name, from the store's usage per host (store.host_usage)."""
    return [
        host_state_from_usage(host, facts_by_host[host], usage_by_host.get(host, EMPTY_USAGE), config)
        for host in sorted(facts_by_host)
    ]
