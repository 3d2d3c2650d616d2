# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host weighers as in nova/scheduler/weights: raw weights, min-max normalised, times a multiplier.

A positive multiplier prefers hosts with more of what the weigher measures;
a negative one prefers less (a negative RAM multiplier packs instead of
spreading).  ``_weigh_object`` must depend only on the host state and the
request, so the manager can keep a host's raw weight across the picks of a
multi-create until that host takes an instance.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import request_spec
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.affinity_filter import members_on_host
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import HostState


@dataclasses.dataclass
class WeighedHost:
    obj: HostState
    weight: float = 0.0


def normalize(weights: Sequence[float]) -> list[float]:
    """nova.weights.normalize: scale to [0, 1]; all equal gives all 0."""
    if not weights:
        return []
    low, high = min(weights), max(weights)
    if low == high:
        return [0.0] * len(weights)
    spread = high - low
    return [(weight - low) / spread for weight in weights]


class BaseHostWeigher:
    multiplier_option = ""

    def weight_multiplier(self, config: dict[str, Any]) -> float:
        return float(config[self.multiplier_option])

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        raise NotImplementedError

    def weigh_objects(self, host_states: Sequence[HostState], spec: dict[str, Any]) -> list[float]:
        """The raw, not yet normalised weights, as Nova's BaseWeigher.weigh_objects."""
        return [self._weigh_object(host_state, spec) for host_state in host_states]


class RAMWeigher(BaseHostWeigher):
    """More free RAM weighs more (a positive multiplier spreads, a negative one packs)."""

    multiplier_option = "ram_weight_multiplier"

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        return float(host_state.free_ram_mb)


class CPUWeigher(BaseHostWeigher):
    """More free vCPUs (vcpus x cpu_allocation_ratio - claimed) weighs more."""

    multiplier_option = "cpu_weight_multiplier"

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        return float(host_state.usable_vcpus)


class DiskWeigher(BaseHostWeigher):
    """More free disk weighs more."""

    multiplier_option = "disk_weight_multiplier"

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        return float(host_state.free_disk_gb)


class NumInstancesWeigher(BaseHostWeigher):
    """More instances weighs more; Nova's default multiplier 0.0 turns it off, negative spreads."""

    multiplier_option = "num_instances_weight_multiplier"

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        return float(host_state.num_instances)


class _SoftAffinityWeigherBase(BaseHostWeigher):
    """Members of the request's group already on the host, when the group has ``policy``."""

    policy = ""

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        group = request_spec.group_with_policy(spec, self.policy)
        return float(members_on_host(host_state, group)) if group else 0.0


class ServerGroupSoftAffinityWeigher(_SoftAffinityWeigherBase):
    """soft-affinity: the more members on the host, the better, but any host will do."""

    policy = "soft-affinity"
    multiplier_option = "soft_affinity_weight_multiplier"


class ServerGroupSoftAntiAffinityWeigher(_SoftAffinityWeigherBase):
    """soft-anti-affinity: the fewer members on the host, the better, but any host will do."""

    policy = "soft-anti-affinity"
    multiplier_option = "soft_anti_affinity_weight_multiplier"

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        return -super()._weigh_object(host_state, spec)


ALL_WEIGHERS: dict[str, type[BaseHostWeigher]] = {
    cls.__name__: cls
    for cls in (
        RAMWeigher,
        CPUWeigher,
        DiskWeigher,
        NumInstancesWeigher,
        ServerGroupSoftAffinityWeigher,
        ServerGroupSoftAntiAffinityWeigher,
    )
}


def enabled_weighers(config: dict[str, Any]) -> list[BaseHostWeigher]:
    return [ALL_WEIGHERS[name]() for name in config["weight_classes"]]


def combined_weights(
    count: int, raw_by_weigher: Sequence[Sequence[float]], multipliers: Sequence[float]
) -> list[float]:
    """For ``count`` hosts, the sum over weighers of multiplier x normalised raw weight (Nova's weight handler)."""
    totals = [0.0] * count
    for raw, multiplier in zip(raw_by_weigher, multipliers, strict=True):
        if multiplier:
            totals = [total + multiplier * weight for total, weight in zip(totals, normalize(raw), strict=True)]
    return totals


def best_first_key(host_state: HostState, weight: float) -> tuple[float, str]:
    """Heaviest first, ties by host name so that equal hosts are chosen in a stable order."""
    return (-weight, host_state.host)


def weigh_hosts(host_states: list[HostState], spec: dict[str, Any], config: dict[str, Any]) -> list[WeighedHost]:
    """The hosts with their summed weights, heaviest first."""
    host_weighers = enabled_weighers(config)
    raw = [weigher.weigh_objects(host_states, spec) for weigher in host_weighers]
    totals = combined_weights(len(host_states), raw, [weigher.weight_multiplier(config) for weigher in host_weighers])
    weighed = [WeighedHost(host_state, weight) for host_state, weight in zip(host_states, totals, strict=True)]
    return sorted(weighed, key=lambda item: best_first_key(item.obj, item.weight))
