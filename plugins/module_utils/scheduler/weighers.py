# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host weighers as in nova/scheduler/weights: raw weights, min-max normalised, times a multiplier."""

from __future__ import annotations

import dataclasses
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import HostState


@dataclasses.dataclass
class WeighedHost:
    obj: HostState
    weight: float = 0.0


def normalize(weights: list[float]) -> list[float]:
    """nova.weights.normalize: scale to [0, 1]; all equal gives all 0."""
    if not weights:
        return []
    low, high = min(weights), max(weights)
    if low == high:
        return [0.0] * len(weights)
    return [(weight - low) / (high - low) for weight in weights]


class BaseHostWeigher:
    multiplier_option = ""

    def weight_multiplier(self, config: dict[str, Any]) -> float:
        return float(config.get(self.multiplier_option, 1.0))

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        raise NotImplementedError


class RAMWeigher(BaseHostWeigher):
    """More free RAM weighs more (a positive multiplier spreads, a negative one stacks)."""

    multiplier_option = "ram_weight_multiplier"

    def _weigh_object(self, host_state: HostState, spec: dict[str, Any]) -> float:
        return float(host_state.free_ram_mb)


ALL_WEIGHERS: dict[str, type[BaseHostWeigher]] = {cls.__name__: cls for cls in (RAMWeigher,)}


def weigh_hosts(host_states: list[HostState], spec: dict[str, Any], config: dict[str, Any]) -> list[WeighedHost]:
    """The hosts with their summed weights, heaviest first (ties by host name, for stable output)."""
    weighed = [WeighedHost(host_state) for host_state in host_states]
    for name in config["weight_classes"]:
        weigher = ALL_WEIGHERS[name]()
        multiplier = weigher.weight_multiplier(config)
        raw = [weigher._weigh_object(item.obj, spec) for item in weighed]
        for item, weight in zip(weighed, normalize(raw), strict=True):
            item.weight += multiplier * weight
    return sorted(weighed, key=lambda item: (-item.weight, item.obj.host))
