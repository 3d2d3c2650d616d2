# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduling step of a build (Nova's conductor schedule_and_build_instances, up to the claim).

One store transaction creates the instance records, resolves the request's
hints and server group, runs the scheduler over the hosts' facts and the
store's claims, and claims a host for every instance that fits: two runs at
once can never claim the same room twice.

A failed build of a requested name (vm_state error) is deleted by
create_instance.yml before it schedules (the build_instance role's
``nimbus_replace_failed_builds``, passed as ``replace_failed``); check mode,
which deletes nothing, predicts that run: it schedules as if those instances
were gone. Without ``replace_failed`` it is refused (flow.existing_build).
"""

from __future__ import annotations

import random
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    build_owner,
    flow,
    notifications,
    security_groups,
)
from ansible_collections.nimbus.compute.plugins.module_utils.compute.host_cache import host_placement
from ansible_collections.nimbus.compute.plugins.module_utils.objects import instance as instance_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import quotas as quotas_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import request_spec as request_spec_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import host_state as host_state_mod
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import manager as scheduler
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.config import scheduler_config
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import retry_on_conflict

SCHEDULE_EVENT = flow.STEP_EVENTS[states.SCHEDULING]


def request_names(request: Any) -> list[str]:
    """The names a raw build request gives its instances: NAME, or NAME-1..NAME-N for a multi-create.

    A request too broken to name its instances names none: host_select then
    refuses it, naming the bad field.
    """
    if not isinstance(request, dict) or not isinstance(request.get("name"), str) or not request["name"]:
        return []
    try:
        max_count = request_spec_obj.normalise_counts(request)[1]
        return request_spec_obj.instance_names(request["name"], max_count)
    except exceptions.InvalidInput:
        return []


def is_failed_build(instance: dict[str, Any]) -> bool:
    """A build that failed (vm_state error), or one whose run is gone (build_owner.is_orphaned_build)."""
    return instance.get("vm_state") == states.ERROR or build_owner.is_orphaned_build(instance)


def failed_builds(instances: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """The instances named in ``names`` whose build failed or was orphaned, in the order of ``names``."""
    wanted = {name: index for index, name in enumerate(names)}
    failed = [i for i in instances if i.get("name") in wanted and is_failed_build(i)]
    return sorted(failed, key=lambda instance: wanted[instance["name"]])


def _instance_uuids(state, field: str, names: list[str]) -> list[str]:
    uuids = []
    for name in names:
        found = flow.find_instance(state, name)
        if found is None:
            raise exceptions.InvalidInput(field, f"no live instance is called {name!r}")
        uuids.append(found["uuid"])
    return uuids


def _group_spec(
    state, group: dict[str, Any] | None, new_uuids: list[str], gone: frozenset[str]
) -> dict[str, Any] | None:
    """The group as the scheduler sees it: members (the new ones included) and the hosts of those placed."""
    if group is None:
        return None
    members = [member for member in group["members"] if member not in gone]
    placed = state.claim_hosts(members)
    placed_hosts = [placed[member] for member in members if member in placed]
    return {
        "uuid": group["uuid"],
        "name": group["name"],
        "policy": group["policy"],
        "rules": dict(group.get("rules") or {}),
        "members": [*members, *new_uuids],
        "hosts": placed_hosts,
    }


def request_spec(
    state, request: dict[str, Any], instances: list[dict[str, Any]], gone: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """What the scheduler needs to place ``instances``; bad hints are InvalidInput naming the hint.

    ``gone``: uuids of instances to count as deleted (check mode's replaced failed builds).
    """
    hints = request["scheduler_hints"]
    group = None
    if hints["group"] is not None:
        group = state.find_server_group(hints["group"])
        if group is None:
            raise exceptions.InvalidInput("scheduler_hints.group", f"no server group is called {hints['group']!r}")
    uuids = [instance["uuid"] for instance in instances]
    return {
        "flavor": request["flavor"],
        "image": request["image"],
        # A boot volume takes no root disk on the host (claim_for).
        "block_device_mapping": request["block_device_mapping"],
        "availability_zone": request.get("availability_zone"),
        "force_hosts": [request["force_host"]] if request.get("force_host") else [],
        "scheduler_hints": {
            "same_host": _instance_uuids(state, "scheduler_hints.same_host", hints["same_host"]),
            "different_host": _instance_uuids(state, "scheduler_hints.different_host", hints["different_host"]),
        },
        "group": _group_spec(state, group, uuids, gone),
        "instance_uuids": uuids,
        "min_count": request["min_count"],
    }


def _record_hints(instance: dict[str, Any], spec: dict[str, Any]) -> None:
    """Keep what a reschedule needs to ask the same question again."""
    instance["scheduler_hints"] = {
        **spec["scheduler_hints"],
        "group": (spec["group"] or {}).get("uuid"),
    }
    instance["force_hosts"] = list(spec["force_hosts"])


def instances_asked_about(spec: dict[str, Any]) -> list[str]:
    """The instances whose hosts a request's filters look at: its same_host and different_host hints and its
    group's members. The scheduler learns of every other instance only how many each host holds."""
    hints = spec["scheduler_hints"]
    members = (spec.get("group") or {}).get("members") or []
    return list(dict.fromkeys([*hints.get("same_host", []), *hints.get("different_host", []), *members]))


def _replaced_in_check_mode(existing: dict[str, dict[str, Any]], predict_replacement: bool) -> frozenset[str]:
    """The failed builds a real run would have deleted before it got here (none unless predicting that)."""
    if not predict_replacement:
        return frozenset()
    return frozenset(instance["uuid"] for instance in existing.values() if is_failed_build(instance))


def _within_quotas(
    state, request: dict[str, Any], missing: list, required: int, gone: frozenset[str], quotas: Any
) -> tuple[list, dict[str, int]]:
    """The missing names the project's quotas have room for, and its limits; QuotaExceeded when fewer than
    ``required`` fit. Counted in the claim's transaction: Nova's check before scheduling and its recheck with
    the claim are one here."""
    limits = quotas_obj.project_limits(quotas)
    usage = state.project_usage(request["project_id"], excluding=gone)
    fit = quotas_obj.instances_that_fit(limits, usage, request["flavor"], len(missing), max(required, 0))
    return missing[:fit], limits


def _check_group_quota(group: dict[str, Any] | None, limits: dict[str, int], adding: int) -> None:
    """Nova's check_server_group_quota: the group's members (the new ones are in ``group['members']``)."""
    if group is not None:
        quotas_obj.check_room(limits, "server_group_members", len(group["members"]) - adding, adding)


@retry_on_conflict
def schedule_instances(
    store,
    request: dict[str, Any],
    facts_by_host: dict[str, dict[str, Any]],
    config: dict[str, Any],
    now: str,
    check_mode: bool = False,
    rng: random.Random | None = None,
    replace_failed: bool = False,
    quotas: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Create the request's instance records and claim a host for each; (instances, changed).

    ``quotas``: the limits of the request's project (objects/quotas.py; Nova's defaults for the ones not
    given). A request over them is refused with Nova's QuotaExceeded and nothing is created; a
    multi-create gets as many instances as fit, at least min_count.

    A request whose instances exist already returns them unchanged, and
    schedules the names it lacks (a multi-create's names that did not fit
    before, or failed builds create_instance.yml deleted): as many as fit, at
    least min_count less the instances kept.  With
    ``min_count`` < ``max_count``, as many as fit are created (at least
    min_count); when fewer fit, none is placed and every requested instance is
    recorded in vm_state error with the NoValidHost fault, as Nova does.
    Check mode runs the scheduler too, so it predicts a NoValidHost truthfully,
    and with ``replace_failed`` counts the requested names' failed builds as
    deleted (module docstring). A real run that meets one refuses it
    (flow.existing_build), as check mode does without ``replace_failed``.
    """
    settings = scheduler_config(config)
    names = request["names"]
    failure: exceptions.NimbusError | None = None
    with store.transaction() as state:
        existing = state.live_instances_by_name(names)
        gone = _replaced_in_check_mode(existing, check_mode and replace_failed)
        existing = {name: instance for name, instance in existing.items() if instance["uuid"] not in gone}
        kept = [flow.existing_build(existing[name]) for name in names if name in existing]
        missing = [(index, name) for index, name in enumerate(names) if name not in existing]
        if not missing:
            return kept, False
        # The names a request still lacks (never placed, or failed builds deleted before this run scheduled):
        # as many of them as fit, at least what min_count asks beyond the instances kept.
        required = request["min_count"] - len(kept)
        missing, limits = _within_quotas(state, request, missing, required, gone, quotas)
        if not missing:
            return kept, False
        owner = build_owner.current_owner()
        group_uuids = security_groups.requested_groups(
            state, request["project_id"], request["security_groups"], now, check_mode, quotas
        )
        instances = [
            {
                **instance_obj.new_instance(request, now, name=name, launch_index=index),
                "build_owner": owner,
                "security_groups": group_uuids,
            }
            for index, name in missing
        ]
        spec = request_spec(state, {**request, "min_count": max(required, 1)}, instances, gone)
        _check_group_quota(spec["group"], limits, len(instances))
        usage = state.host_usage(instances_asked_about(spec), excluding=gone)
        host_states = host_state_mod.host_states_from_usage(facts_by_host, usage, settings)
        try:
            placements = scheduler.select_destinations(host_states, spec, settings, rng)
        except exceptions.NoValidHost as error:
            if required <= 0:
                # Enough instances exist already: the ones that do not fit are not asked for.
                return kept, False
            if check_mode:
                raise
            failure = error
            placements = []
        if check_mode:
            predicted = [
                {**instance, "host": hosts[0].host, "node": hosts[0].host}
                for instance, hosts in zip(instances, placements, strict=False)
            ]
            return in_request_order(names, kept + predicted), bool(predicted)
        created = instances if failure is not None else instances[: len(placements)]
        for instance in created:
            _record_hints(instance, spec)
            state.add_instance(instance)
            state.start_action(instance["uuid"], "create", now)
            state.start_event(instance["uuid"], SCHEDULE_EVENT, now)
            notifications.emit(store, state, "instance.create.start", instance["uuid"])
        if spec["group"] is not None:
            state.add_group_members(spec["group"]["uuid"], [instance["uuid"] for instance in created])
        if failure is not None:
            for instance in created:
                flow.record_failure(state, instance["uuid"], states.SCHEDULING, failure, None, now)
                notifications.emit_build_error(store, state, instance["uuid"], failure)
        for instance, hosts in zip(created, placements, strict=False):
            chosen = hosts[0]
            state.claim(instance["uuid"], chosen.host, host_state_mod.claim_for(spec))
            state.save_instance(
                instance["uuid"],
                states.SCHEDULING,
                host=chosen.host,
                node=chosen.host,
                attempts=[chosen.host],
                alternates=[alternate.host for alternate in hosts[1:]],
                **host_placement(facts_by_host.get(chosen.host)),
            )
            state.finish_event(instance["uuid"], SCHEDULE_EVENT, "Success", instance_obj.utcnow())
        result = in_request_order(names, kept + [state.instance(instance["uuid"]) for instance in created])
    if failure is not None:
        raise failure
    return result, bool(created)


def in_request_order(names: list[str], instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The instances of a request in the order of its names (NAME-1, NAME-2, ...)."""
    position = {name: index for index, name in enumerate(names)}
    return sorted(instances, key=lambda instance: position[instance["name"]])
