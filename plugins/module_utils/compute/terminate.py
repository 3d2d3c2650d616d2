# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The delete lifecycle's one owner: Nova's terminate_instance, for a list of instances.

A delete runs in three parts, each one call for the whole list:

1. ``begin_terminate`` (controller): every named instance goes to task_state
   deleting in one store transaction (a build running at the same time loses
   its next compare-and-swap), and the instances are grouped by the compute
   host that holds them.
2. On each compute host, one call per step for all of its instances
   (``record_host_step``): libvirt_domain removes the domains (event
   shutdown_instance), then block_device_map the disks (event
   cleanup_instance) of the instances whose domain is gone
   (``may_remove_disks``). Each instance's outcome is an event of its delete.
3. ``complete_terminate`` (controller): an instance whose host removed
   everything (or that never landed on a host) has its ports released, its
   claim dropped and its record marked deleted; the others stay in
   task_state deleting, claim and ports kept, and are reported with why
   (``unfinished_reason``), for a later run of the delete to finish.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import retry_on_conflict

SHUTDOWN_EVENT = "shutdown_instance"
CLEANUP_EVENT = "cleanup_instance"
# The event each host step of a delete records, by the module that runs it.
HOST_STEP_EVENTS = {"libvirt_domain": SHUTDOWN_EVENT, "block_device_map": CLEANUP_EVENT}


def _delete_events(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of the instance's delete in progress (its latest action, when that is a delete)."""
    actions = instance.get("actions") or []
    if not actions or actions[-1]["action"] != "delete":
        return []
    return actions[-1]["events"]


def last_result(instance: dict[str, Any], event: str) -> dict[str, Any] | None:
    """The latest ``event`` of the instance's delete in progress, if it ran."""
    found = [record for record in _delete_events(instance) if record["event"] == event]
    return found[-1] if found else None


def succeeded(instance: dict[str, Any], event: str) -> bool:
    record = last_result(instance, event)
    return record is not None and record["result"] == "Success"


def may_remove_disks(instance: dict[str, Any]) -> bool:
    """Disks go only once the domain using them is gone (or a delete is not what removes them)."""
    return instance["task_state"] != states.DELETING or succeeded(instance, SHUTDOWN_EVENT)


def host_cleaned(instance: dict[str, Any]) -> bool:
    """Nothing of the instance is left on a compute host: it never landed on one, or its host removed it all."""
    return instance.get("host") is None or (succeeded(instance, SHUTDOWN_EVENT) and succeeded(instance, CLEANUP_EVENT))


def unfinished_reason(instance: dict[str, Any]) -> str:
    """Why the instance's host did not remove everything: the failed step's message, or the step that did not run."""
    host = instance.get("host")
    for event in (SHUTDOWN_EVENT, CLEANUP_EVENT):
        record = last_result(instance, event)
        if record is None:
            return f"{event} did not run on {host} (the host was not part of this run, or stopped before it)"
        if record["result"] != "Success":
            return f"{event} failed on {host}: {(record.get('details') or {}).get('message', 'no message')}"
    return "its host removed everything"


@retry_on_conflict
def begin_terminate(store, names: list[str], now: str, check_mode: bool = False) -> dict[str, Any]:
    """Start the delete of each named instance: {instances, hosts: {host: [uuid]}, missing}.

    One transaction for the whole list; an instance already being deleted
    goes on where its delete stopped. Check mode changes nothing.
    """
    found: dict[str, dict[str, Any]] = {}
    missing: list[str] = []
    with store.transaction() as state:
        for name in names:
            instance = flow.find_instance(state, name)
            if instance is None:
                missing.append(name)
                continue
            if instance["uuid"] in found:
                continue
            if not check_mode:
                instance = flow.start_delete(store, state, instance, now)
            found[instance["uuid"]] = instance
    hosts: dict[str, list[str]] = {}
    for instance in found.values():
        if instance.get("host"):
            hosts.setdefault(instance["host"], []).append(instance["uuid"])
    return {"instances": list(found.values()), "hosts": hosts, "missing": missing}


def host_step_refusal(
    instance: dict[str, Any] | None, uuid: str, module: str, host: str | None, check_mode: bool = False
) -> str | None:
    """Why a delete's host step must not touch the instance on ``host``; None when it may.

    Check mode predicts the disks' removal as if the domain step had removed the domain.
    """
    if instance is None:
        return f"instance {uuid} not found"
    if instance.get("host") and host and instance["host"] != host:
        # Its domain and disks are on another host: reporting them removed from this one would leak them there.
        return f"instance {instance['name']} ({uuid}) is on {instance['host']}, not on {host}"
    if module == "block_device_map" and not check_mode and not may_remove_disks(instance):
        return (
            f"instance {instance['name']} ({uuid}): its domain is not removed yet "
            f"({unfinished_reason(instance)}); its disks stay"
        )
    return None


@retry_on_conflict
def record_host_step(store, module: str, outcomes: list[dict[str, Any]], host: str | None, now: str) -> None:
    """Each instance's outcome of a delete's host step as an event of its delete, in one transaction.

    ``outcomes``: {uuid, failed, msg} per instance. An instance no delete
    runs for (the step was used on its own) records nothing.
    """
    event = HOST_STEP_EVENTS[module]
    with store.transaction() as state:
        for outcome in outcomes:
            instance = state.get_instance(outcome["uuid"])
            if instance is None or instance["task_state"] != states.DELETING:
                continue
            state.start_event(outcome["uuid"], event, now, host=host)
            details = {"message": outcome["msg"]} if outcome.get("failed") else None
            state.finish_event(outcome["uuid"], event, "Error" if outcome.get("failed") else "Success", now, details)


@retry_on_conflict
def complete_terminate(store, uuids: list[str], now: str, check_mode: bool = False) -> dict[str, Any]:
    """Finish the deletes whose hosts removed everything: {changed, deleted, unfinished}.

    ``deleted``: the records marked deleted now or before; ``unfinished``:
    {name, uuid, host, reason} of the instances still on their host, left in
    task_state deleting with their claim and ports. In check mode every
    instance found is predicted deleted (the host steps recorded nothing).
    """
    deleted: list[dict[str, Any]] = []
    unfinished: list[dict[str, Any]] = []
    changed = False
    with store.transaction() as state:
        for uuid in uuids:
            instance = state.get_instance(uuid)
            if instance is None:
                raise exceptions.InstanceNotFound(uuid)
            if instance["vm_state"] == states.DELETED:
                deleted.append(instance)
                continue
            if check_mode:
                deleted.append(instance)
                changed = True
                continue
            if instance["task_state"] != states.DELETING and instance.get("host") is not None:
                unfinished.append(_unfinished(instance, f"no delete runs for it (task_state {instance['task_state']})"))
                continue
            if not host_cleaned(instance):
                unfinished.append(_unfinished(instance, unfinished_reason(instance)))
                continue
            flow.release_ports(state, uuid)
            flow.mark_deleted(store, state, state.instance(uuid), now)
            deleted.append(state.instance(uuid))
            changed = True
    return {"changed": changed, "deleted": deleted, "unfinished": unfinished}


def _unfinished(instance: dict[str, Any], reason: str) -> dict[str, Any]:
    return {"name": instance["name"], "uuid": instance["uuid"], "host": instance.get("host"), "reason": reason}


def unfinished_message(result: dict[str, Any]) -> str:
    """The failure of a delete that left instances on their hosts, naming each and why."""
    total = len(result["deleted"]) + len(result["unfinished"])
    stuck = "; ".join(
        f"{entry['name']} ({entry['uuid']}) on {entry['host']}: {entry['reason']}" for entry in result["unfinished"]
    )
    return (
        f"deleted {len(result['deleted'])} of {total} instances; not deleted: {stuck}. Those stay in task_state "
        "deleting with their claims and ports; delete them again once their hosts answer"
    )
