# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""select_destinations (nova/scheduler/filter_scheduler.py): filter, weigh, pick, keep alternates."""

from __future__ import annotations

import random
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import NoValidHost
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.filters import enabled_filters
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import HostState, claim_for
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.weighers import weigh_hosts

__all__ = ["claim_for", "no_valid_host", "rejections", "select_destinations"]

NO_HOSTS_REASON = "no compute hosts are known: run nimbus.compute.host_facts on the compute hosts first"
IGNORED_REASON = "already tried for this instance"


def rejections(host_states: list[HostState], spec: dict[str, Any], config: dict[str, Any]) -> dict[str, str]:
    """host -> why it cannot take the instance (first failing filter), for hosts that cannot."""
    ignored = set(spec.get("ignore_hosts") or ())
    reasons = {}
    for host_state in host_states:
        if host_state.host in ignored:
            reasons[host_state.host] = IGNORED_REASON
            continue
        for host_filter in enabled_filters(config):
            if not host_filter.host_passes(host_state, spec):
                reasons[host_state.host] = f"{host_filter.name}: {host_filter.reason(host_state, spec)}"
                break
    return reasons


def no_valid_host(reasons: dict[str, str]) -> NoValidHost:
    if not reasons:
        return NoValidHost(NO_HOSTS_REASON, hosts={})
    listed = "; ".join(f"{host}: {reason}" for host, reason in sorted(reasons.items()))
    return NoValidHost(f"There are not enough hosts available. {listed}", hosts=dict(reasons))


def select_destinations(
    host_states: list[HostState], spec: dict[str, Any], config: dict[str, Any], rng: random.Random | None = None
) -> list[HostState]:
    """The chosen host first, then up to max_attempts - 1 alternates for rescheduling, best first.

    ``spec`` is {flavor, image, availability_zone, instance_uuid} and may carry
    ``ignore_hosts`` (hosts already tried).  The chosen host is random among
    the best ``host_subset_size``, as Nova's, to spread parallel builds.
    """
    reasons = rejections(host_states, spec, config)
    passing = [host_state for host_state in host_states if host_state.host not in reasons]
    if not passing:
        raise no_valid_host(reasons)
    weighed = [item.obj for item in weigh_hosts(passing, spec, config)]
    subset = weighed[: config["host_subset_size"]]
    chosen = (rng or random.Random()).choice(subset)
    alternates = [host_state for host_state in weighed if host_state is not chosen]
    return [chosen, *alternates[: config["max_attempts"] - 1]]
