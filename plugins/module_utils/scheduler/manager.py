# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""select_destinations (nova/scheduler/filter_scheduler.py): filter, weigh, pick, keep alternates.

A multi-create places its instances one after the other, each seeing the
claims of those before it (Nova's _consume_selected_host).  Between two picks
only the chosen host changed, so HostVerdicts keeps every host's filter
verdict and raw weights and works them out again for the chosen host only;
filters that depend_on_other_hosts (affinity) are asked again about every host.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import NoValidHost
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import request_spec
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.base_filter import BaseHostFilter
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.filters import enabled_filters
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import HostState, claim_for
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.weighers import (
    BaseHostWeigher,
    best_first_key,
    combined_weights,
    enabled_weighers,
)

__all__ = ["HostVerdicts", "claim_for", "select_destinations"]

NO_HOSTS_REASON = "no compute hosts are known: run nimbus.compute.host_facts on the compute hosts first"
IGNORED_REASON = "already tried for this instance"
# The step that drops ignore_hosts, named in the report like a filter.
IGNORE_HOSTS = "ignore_hosts"
# Hosts named per reason in the message (details name them all).
MAX_HOSTS_NAMED = 10


class HostVerdicts:
    """Which filter refuses each candidate host, and its raw weights, kept across the picks of one request.

    Hosts are addressed by their position in ``host_states``.  A verdict is the
    index of the first refusing filter, ``len(filters)`` when all pass.
    """

    def __init__(
        self, host_states: list[HostState], host_filters: list[BaseHostFilter], host_weighers: list[BaseHostWeigher]
    ) -> None:
        self.host_states = host_states
        self.filters = host_filters
        self.weighers = host_weighers
        self.passes_all = len(host_filters)
        self._own_filters = [
            (index, host_filter)
            for index, host_filter in enumerate(host_filters)
            if not host_filter.depends_on_other_hosts
        ]
        self._rechecked = [
            (index, host_filter) for index, host_filter in enumerate(host_filters) if host_filter.depends_on_other_hosts
        ]
        # Worked out on first use, forgotten when the host takes an instance.
        self._own_verdicts: list[int | None] = [None] * len(host_states)
        self._raw_weights: list[dict[int, float]] = [{} for weigher in host_weighers]

    def _own_verdict(self, position: int, spec: dict[str, Any]) -> int:
        """The first filter refusing the host on its own state (rechecked filters left out)."""
        verdict = self._own_verdicts[position]
        if verdict is None:
            verdict = self.passes_all
            host_state = self.host_states[position]
            for index, host_filter in self._own_filters:
                if not host_filter.host_passes(host_state, spec):
                    verdict = index
                    break
            self._own_verdicts[position] = verdict
        return verdict

    def verdict(self, position: int, spec: dict[str, Any]) -> int:
        """The first filter refusing the host, as running the filters in order would find."""
        own = self._own_verdict(position, spec)
        for index, host_filter in self._rechecked:
            if index > own:
                break
            if not host_filter.host_passes(self.host_states[position], spec):
                return index
        return own

    def passing(self, spec: dict[str, Any]) -> list[int]:
        positions = range(len(self.host_states))
        return [position for position in positions if self.verdict(position, spec) == self.passes_all]

    def raw_weights(self, positions: list[int], spec: dict[str, Any]) -> list[list[float]]:
        """Per weigher, the raw weight of each host at ``positions``."""
        by_weigher = []
        for weigher, known in zip(self.weighers, self._raw_weights, strict=True):
            missing = [position for position in positions if position not in known]
            if missing:
                weights = weigher.weigh_objects([self.host_states[position] for position in missing], spec)
                known.update(zip(missing, weights, strict=True))
            by_weigher.append([known[position] for position in positions])
        return by_weigher

    def host_changed(self, position: int) -> None:
        """The host took an instance: its verdict and weights must be worked out again."""
        self._own_verdicts[position] = None
        for known in self._raw_weights:
            known.pop(position, None)

    def report(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """Per filter, in order, the hosts it removed and why (each host counted by its first refusing filter)."""
        removed: list[dict[str, str]] = [{} for host_filter in self.filters]
        for position, host_state in enumerate(self.host_states):
            index = self.verdict(position, spec)
            if index < self.passes_all:
                removed[index][host_state.host] = self.filters[index].reason(host_state, spec)
        return [
            {"name": host_filter.name, "removed": len(hosts), "hosts": hosts}
            for host_filter, hosts in zip(self.filters, removed, strict=True)
        ]


def forced_hosts(host_states: list[HostState], spec: dict[str, Any]) -> list[HostState]:
    """Only the ``force_hosts`` (Nova's ``az:host``) when the request names some, else every host.

    Forcing chooses the host but the filters still run on it, as Nova's
    placement still checks a forced host's capacity: forcing never overcommits.
    """
    forced = spec.get("force_hosts") or []
    if not forced:
        return list(host_states)
    by_name = {host_state.host: host_state for host_state in host_states}
    unknown = [name for name in forced if name not in by_name]
    if unknown:
        reason = "forced (force_hosts) but not a known compute host: check the name, or run host_facts on it"
        raise NoValidHost(
            f"force_hosts names {', '.join(unknown)}, which is not among the {len(by_name)} known compute host(s)",
            hosts=dict.fromkeys(unknown, reason),
            filters=[],
        )
    return [by_name[name] for name in dict.fromkeys(forced)]


def _working_group(group: dict[str, Any] | None, uuids: list[str | None]) -> dict[str, Any] | None:
    """A copy of the request's group that this call may extend: the instances being placed are members
    (Nova adds them at the API) and every pick adds its host, so the caller's spec stays as it was."""
    if not group:
        return None
    members = set(group.get("members") or ())
    members.update(uuid for uuid in uuids if uuid)
    return {**group, "members": members, "hosts": list(group.get("hosts") or ())}


def _ranked(verdicts: HostVerdicts, passing: list[int], spec: dict[str, Any], config: dict[str, Any]) -> list[int]:
    """The best host_subset_size + max_attempts - 1 passing hosts, best first: all a pick can use."""
    multipliers = [weigher.weight_multiplier(config) for weigher in verdicts.weighers]
    totals = combined_weights(len(passing), verdicts.raw_weights(passing, spec), multipliers)
    wanted = config["host_subset_size"] + config["max_attempts"] - 1
    best = heapq.nsmallest(
        wanted,
        zip(passing, totals, strict=True),
        key=lambda item: best_first_key(verdicts.host_states[item[0]], item[1]),
    )
    return [position for position, weight in best]


def _hosts_by_reason(reasons: dict[str, str]) -> str:
    """``host: reason`` for each host, hosts with the same reason named together (at most
    MAX_HOSTS_NAMED of them), so that a fleet with one problem reads as one line."""
    grouped: dict[str, list[str]] = {}
    for host in sorted(reasons):
        grouped.setdefault(reasons[host], []).append(host)
    phrases = []
    for reason, hosts in grouped.items():
        named = ", ".join(hosts[:MAX_HOSTS_NAMED])
        if len(hosts) > MAX_HOSTS_NAMED:
            named += f" and {len(hosts) - MAX_HOSTS_NAMED} more"
        phrases.append(f"{named}: {reason}")
    return "; ".join(phrases)


def _no_valid_host(
    report: list[dict[str, Any]], total: int, uuids: list[str | None], placed: int, required: int
) -> NoValidHost:
    """The message says, per filter, how many hosts it removed and why; details keep every host."""
    steps = []
    remaining = total
    for step in report:
        if step["removed"]:
            listed = _hosts_by_reason(step["hosts"])
            steps.append(f"{step['name']} removed {step['removed']} of {remaining} host(s) ({listed})")
            remaining -= step["removed"]
    intro = f"There are not enough hosts available for {len(uuids)} instance(s)"
    if len(uuids) > 1:
        intro += f": {placed} of {required} instances fit; instance {placed + 1} ({uuids[placed]}) fits on no host"
    hosts = {host: f"{step['name']}: {reason}" for step in report for host, reason in step["hosts"].items()}
    return NoValidHost(f"{intro}: {'; '.join(steps)}", hosts=hosts, filters=report)


def select_destinations(
    host_states: list[HostState], spec: dict[str, Any], config: dict[str, Any], rng: random.Random | None = None
) -> list[list[HostState]]:
    """Per instance of ``spec['instance_uuids']``, in order: the chosen host, then up to
    max_attempts - 1 alternates for rescheduling, best first.

    The chosen host is random among the best ``host_subset_size``, as Nova's,
    to spread parallel builds.  Each pick consumes its claim on the chosen
    HostState, so the next instance sees it.  As many instances as fit are
    placed; fewer than ``min_count`` raises NoValidHost explaining the first
    instance that did not fit.  The instances being placed must hold no claim
    in ``host_states`` yet (a reschedule builds them with ignore_instance):
    verdicts kept between picks rely on it.
    """
    uuids = request_spec.instance_uuids(spec)
    required = request_spec.min_count(spec, len(uuids))
    if not host_states and not spec.get("force_hosts"):
        raise NoValidHost(NO_HOSTS_REASON, hosts={}, filters=[])
    considered = forced_hosts(host_states, spec)
    ignored = set(spec.get("ignore_hosts") or ())
    verdicts = HostVerdicts(
        [host_state for host_state in considered if host_state.host not in ignored],
        enabled_filters(config),
        # A weigher times 0 adds nothing: not weighing with it is the same and cheaper.
        [weigher for weigher in enabled_weighers(config) if weigher.weight_multiplier(config)],
    )
    group = _working_group(spec.get("group"), uuids)
    claim = claim_for(spec)
    rng = rng or random.Random()
    selections: list[list[HostState]] = []
    for uuid in uuids:
        instance_spec = {**spec, "group": group, "instance_uuid": uuid}
        passing = verdicts.passing(instance_spec)
        if not passing:
            if len(selections) >= required:
                break
            skipped = {host_state.host: IGNORED_REASON for host_state in considered if host_state.host in ignored}
            report = [{"name": IGNORE_HOSTS, "removed": len(skipped), "hosts": skipped}] if skipped else []
            report += verdicts.report(instance_spec)
            raise _no_valid_host(report, len(considered), uuids, len(selections), required)
        ranked = _ranked(verdicts, passing, instance_spec, config)
        chosen = rng.choice(ranked[: config["host_subset_size"]])
        alternates = [position for position in ranked if position != chosen][: config["max_attempts"] - 1]
        verdicts.host_states[chosen].consume(claim, uuid)
        verdicts.host_changed(chosen)
        if group is not None:
            group["hosts"].append(verdicts.host_states[chosen].host)
        selections.append([verdicts.host_states[position] for position in (chosen, *alternates)])
    return selections
