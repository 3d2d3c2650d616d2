# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scheduling step of a build (Nova's conductor schedule_and_build_instances, up to the claim).

One store transaction creates the instance records, resolves the request's
hints and server group, runs the scheduler over the hosts' facts and the
store's claims, and claims a host for every instance that fits: two runs at
once can never claim the same room twice.
"""

from __future__ import annotations

import random
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, notifications
from ansible_collections.nimbus.compute.plugins.module_utils.objects import instance as instance_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import host_state as host_state_mod
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import manager as scheduler
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.config import scheduler_config

SCHEDULE_EVENT = flow.STEP_EVENTS[states.SCHEDULING]


def _instance_uuids(state, field: str, names: list[str]) -> list[str]:
    uuids = []
    for name in names:
        found = flow.find_instance(state, name)
        if found is None:
            raise exceptions.InvalidInput(field, f"no live instance is called {name!r}")
        uuids.append(found["uuid"])
    return uuids


def _group_spec(state, group: dict[str, Any] | None, new_uuids: list[str]) -> dict[str, Any] | None:
    """The group as the scheduler sees it: members (the new ones included) and the hosts of those placed."""
    if group is None:
        return None
    claims = state.data["claims"]
    placed_hosts = [claims[member]["host"] for member in group["members"] if member in claims]
    return {
        "uuid": group["uuid"],
        "name": group["name"],
        "policy": group["policy"],
        "rules": dict(group.get("rules") or {}),
        "members": [*group["members"], *new_uuids],
        "hosts": placed_hosts,
    }


def request_spec(state, request: dict[str, Any], instances: list[dict[str, Any]]) -> dict[str, Any]:
    """What the scheduler needs to place ``instances``; bad hints are InvalidInput naming the hint."""
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
        "group": _group_spec(state, group, uuids),
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


def schedule_instances(
    store,
    request: dict[str, Any],
    facts_by_host: dict[str, dict[str, Any]],
    config: dict[str, Any],
    now: str,
    check_mode: bool = False,
    rng: random.Random | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Create the request's instance records and claim a host for each; (instances, changed).

    A request whose instances exist already returns them unchanged.  With
    ``min_count`` < ``max_count``, as many as fit are created (at least
    min_count); when fewer fit, none is placed and every requested instance is
    recorded in vm_state error with the NoValidHost fault, as Nova does.
    Check mode runs the scheduler too, so it predicts a NoValidHost truthfully.
    """
    settings = scheduler_config(config)
    names = request["names"]
    failure: exceptions.NimbusError | None = None
    with store.transaction() as state:
        existing = state.live_instances_by_name(names)
        if existing:
            return [flow.existing_build(existing[name]) for name in names if name in existing], False
        instances = [
            instance_obj.new_instance(request, now, name=name, launch_index=index) for index, name in enumerate(names)
        ]
        spec = request_spec(state, request, instances)
        host_states = host_state_mod.build_host_states(facts_by_host, state.claims_by_host(), settings)
        try:
            placements = scheduler.select_destinations(host_states, spec, settings, rng)
        except exceptions.NoValidHost as error:
            if check_mode:
                raise
            failure = error
            placements = []
        if check_mode:
            return [
                {**instance, "host": hosts[0].host, "node": hosts[0].host}
                for instance, hosts in zip(instances, placements, strict=False)
            ], True
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
            )
            state.finish_event(instance["uuid"], SCHEDULE_EVENT, "Success", instance_obj.utcnow())
        result = [state.instance(instance["uuid"]) for instance in created]
    if failure is not None:
        raise failure
    return result, True
