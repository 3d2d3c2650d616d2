# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A failed build attempt, after its rollback: reschedule it or give up (Nova's conductor reschedule).

The failed step recorded the fault and vm_state error (flow.fail_step), and
the build role undid what the attempt made on its host.  One store
transaction then releases the attempt's ports and decides, as Nova's
conductor does with the alternates the scheduler returned:

* the fault is reschedulable and fewer than ``max_attempts`` hosts were
  tried: the claim moves to the best alternate that still fits (checked
  again with the scheduler's filters against the current claims, the
  instance's own claim and the hosts already tried ignored), the host joins
  ``attempts``, a ``reschedule`` event records the fault, and the instance
  goes back to vm_state building, task_state scheduling;
* otherwise (an error no other host can fix, the attempts spent, or no
  alternate fits any more): the instance stays in vm_state error with its
  fault, task_state none, and its claim is dropped.

An instance a delete took while it was being built (task_state deleting, or
vm_state deleted) is left alone: the delete owns its record, ports and claim,
so there is nothing to reschedule and nothing to release twice.
"""

from __future__ import annotations

import random
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import build_owner, flow, schedule
from ansible_collections.nimbus.compute.plugins.module_utils.compute.host_cache import host_placement
from ansible_collections.nimbus.compute.plugins.module_utils.compute.task_store import store_for
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import utcnow
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import host_state as host_state_mod
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import manager as scheduler
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.config import scheduler_config
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import retry_on_conflict
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import ANY

RESCHEDULE_EVENT = "reschedule"
# Of a failure text (a failed task's msg), what the fault keeps: a console dump or an XML document in a
# msg must not grow the store by its size with every failed attempt.
MAX_FAILURE_BYTES = 65536


def bounded_failure(text: str | None) -> str | None:
    """``text`` cut to MAX_FAILURE_BYTES of UTF-8, with a note saying so; refusing it would leave the build
    failed in its step with no fault at all, since the failure text comes from the build role's own rescue."""
    if text is None:
        return None
    data = text.encode("utf-8")
    if len(data) <= MAX_FAILURE_BYTES:
        return text
    kept = data[:MAX_FAILURE_BYTES].decode("utf-8", "ignore")
    return f"{kept} [truncated: {len(data)} bytes, the first {MAX_FAILURE_BYTES} kept]"


def reschedule_spec(state, instance: dict[str, Any]) -> dict[str, Any]:
    """The request spec of the instance's build, asked again without the hosts it tried."""
    hints = instance.get("scheduler_hints") or {}
    group = state.server_group(hints["group"]) if hints.get("group") else None
    group_spec = None
    if group is not None:
        others = [member for member in group["members"] if member != instance["uuid"]]
        placed = state.claim_hosts(others)
        group_spec = {
            "uuid": group["uuid"],
            "name": group["name"],
            "policy": group["policy"],
            "rules": dict(group.get("rules") or {}),
            "members": list(group["members"]),
            # Where the other members are: the instance's own claim is not where it is any more.
            "hosts": [placed[member] for member in others if member in placed],
        }
    return {
        "flavor": instance["flavor"],
        "image": instance["image"],
        "block_device_mapping": instance.get("block_device_mapping") or [],
        "availability_zone": instance.get("availability_zone"),
        "force_hosts": list(instance.get("force_hosts") or []),
        "ignore_hosts": list(instance.get("attempts") or []),
        "scheduler_hints": {
            "same_host": list(hints.get("same_host") or []),
            "different_host": list(hints.get("different_host") or []),
        },
        "group": group_spec,
        "instance_uuids": [instance["uuid"]],
        "min_count": 1,
    }


def _pick_alternate(
    state,
    instance: dict[str, Any],
    spec: dict[str, Any],
    facts_by_host: dict[str, dict[str, Any]],
    settings: dict[str, Any],
) -> tuple[str | None, dict[str, str]]:
    """The first alternate, best first, that passes the filters now; and why the others did not."""
    tried = set(instance.get("attempts") or [])
    # The instance's own claim is not counted: a reschedule must not compete with itself.
    usage = state.host_usage(schedule.instances_asked_about(spec), excluding=[instance["uuid"]])
    host_states = host_state_mod.host_states_from_usage(facts_by_host, usage, settings)
    by_name = {host_state.host: host_state for host_state in host_states}
    rejected: dict[str, str] = {}
    for host in instance.get("alternates") or []:
        if host in tried:
            continue
        if host not in by_name:
            rejected[host] = "no host facts reported"
            continue
        try:
            scheduler.select_destinations([by_name[host]], spec, {**settings, "host_subset_size": 1}, random.Random(0))
        except exceptions.NoValidHost as error:
            rejected[host] = error.message
            continue
        return host, rejected
    return None, rejected


def _give_up(
    state, instance: dict[str, Any], reason: str | None, rejected: dict[str, str], now: str, keep_claim: bool = False
) -> None:
    uuid = instance["uuid"]
    # Decided: the failed attempt (compute/build.py) is not waiting any more.
    state.save_instance(uuid, ANY, failed_attempt=None)
    if not keep_claim:
        state.drop_claim(uuid)
    if reason is not None:
        state.start_event(uuid, RESCHEDULE_EVENT, now, host=instance.get("host"))
        state.finish_event(uuid, RESCHEDULE_EVENT, "Error", now, details={"reason": reason, "rejected": rejected})
        state.finish_action(uuid, now, message=reason)


def _reason_to_stop(instance: dict[str, Any], settings: dict[str, Any], cleanup_failure: str | None) -> str | None:
    """Why a reschedulable fault is not rescheduled before looking at the alternates, if it is not."""
    attempts = instance.get("attempts") or []
    if cleanup_failure:
        return f"Could not clean up failed build on {instance.get('host')}, not rescheduling: {cleanup_failure}"
    if len(attempts) >= settings["max_attempts"]:
        return (
            f"Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures "
            f"for instance {instance['uuid']} ({len(attempts)} of max_attempts {settings['max_attempts']}: "
            f"{', '.join(attempts)})"
        )
    return None


def _move(
    state,
    instance: dict[str, Any],
    chosen: str,
    spec: dict[str, Any],
    details: dict[str, Any],
    report: dict[str, Any] | None,
    now: str,
) -> None:
    """The claim to ``chosen`` (with where it lives there, from its ``report``), the host to attempts, task_state
    back to scheduling."""
    uuid = instance["uuid"]
    attempts = list(instance.get("attempts") or [])
    state.claim(uuid, chosen, host_state_mod.claim_for(spec))
    # The create action goes on: its events of every attempt stay together.
    state.current_action(uuid)["finish_time"] = None
    state.start_event(uuid, RESCHEDULE_EVENT, now, host=chosen)
    state.save_instance(
        uuid,
        None,
        vm_state=states.BUILDING,
        task_state=states.SCHEDULING,
        host=chosen,
        node=chosen,
        attempts=[*attempts, chosen],
        build_owner=build_owner.current_owner(),
        alternates=[host for host in instance.get("alternates") or [] if host != chosen and host not in attempts],
        failed_attempt=None,
        cleanup_failure=None,
        **host_placement(report),
    )
    state.finish_event(uuid, RESCHEDULE_EVENT, "Success", now, details=details)


@retry_on_conflict
def reschedule(
    store,
    name_or_uuid: str,
    facts_by_host: dict[str, dict[str, Any]],
    config: dict[str, Any],
    now: str,
    message: str | None = None,
    cleanup_failure: str | None = None,
) -> tuple[dict[str, Any], bool, bool]:
    """After a failed, rolled back attempt: (instance, rescheduled, changed).

    An instance still in a build step (the failure happened outside a step,
    so no fault was recorded) is first failed with ``message``, not
    reschedulable.  An instance that is active, being deleted, deleted or
    already rescheduled is returned unchanged (a deleted one by its uuid, not
    as not found).  When the rollback on the host failed
    (``cleanup_failure``), nothing is rescheduled and the claim stays where
    the attempt's leftovers are, for the delete to release (Nova's "Could not
    clean up failed build, not rescheduling").
    """
    settings = scheduler_config(config)
    with store.transaction() as state:
        instance = flow.build_instance(state, name_or_uuid)
        uuid = instance["uuid"]
        if flow.is_built(instance) or flow.is_being_deleted(instance):
            return instance, False, False
        if flow.is_scheduled(instance) and instance["vm_state"] == states.BUILDING:
            # Already rescheduled (or never failed): a repeated call changes nothing.
            return instance, True, False
        if instance["vm_state"] == states.BUILDING and instance["task_state"] is not None:
            error = exceptions.NimbusError(message or "build failed outside a build step")
            flow.record_failure(state, uuid, instance["task_state"], error, instance.get("host"), now)
            instance = state.instance(uuid)
        if not cleanup_failure:
            # What the attempt held on the controller goes in this same
            # transaction: its ports here, its claim moved or dropped below.
            flow.release_ports(state, uuid)
        fault = instance.get("fault") or {}
        if not fault.get("reschedulable"):
            _give_up(state, instance, None, {}, now, keep_claim=bool(cleanup_failure))
            return state.instance(uuid), False, True
        reason = _reason_to_stop(instance, settings, cleanup_failure)
        chosen, rejected = None, {}
        if reason is None:
            spec = reschedule_spec(state, instance)
            chosen, rejected = _pick_alternate(state, instance, spec, facts_by_host, settings)
        if chosen is None:
            reason = reason or f"No valid host was found for rescheduling instance {uuid}: no alternate host fits"
            _give_up(state, instance, reason, rejected, now, keep_claim=bool(cleanup_failure))
            return state.instance(uuid), False, True
        details = {"from": instance.get("host"), "to": chosen, "fault": fault, "rejected": rejected}
        _move(state, instance, chosen, spec, details, facts_by_host.get(chosen), now)
        return state.instance(uuid), True, True


def run(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """The body of the reschedule module (run in the controller's action plugin)."""
    store = store_for(params)
    if check_mode:
        instance = flow.build_instance(store.snapshot(), params["instance"])
        return {
            "changed": False,
            "rescheduled": False,
            "deleted": flow.is_being_deleted(instance),
            "instance": instance,
            "host": instance.get("host"),
        }
    instance, rescheduled, changed = reschedule(
        store,
        params["instance"],
        params["hosts"],
        params["scheduler"],
        utcnow(),
        bounded_failure(params.get("failure")),
        bounded_failure(params.get("cleanup_failure")),
    )
    return {
        "changed": changed,
        "rescheduled": rescheduled,
        # A delete took the instance during the build: not rescheduled, and the delete owns the record.
        "deleted": flow.is_being_deleted(instance),
        "instance": instance,
        "host": instance.get("host") if rescheduled else None,
        "ansible_facts": {"nimbus_instance": instance},
    }
