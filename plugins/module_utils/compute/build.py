# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build lifecycle's one owner: Nova's build_and_run_instance, for the instances of one run.

create_instance.yml schedules the whole request at once (compute/schedule.py:
the names it lacks, failed builds deleted first), then builds in rounds, at
most ``max_attempts``. In a round every step runs once for the run's list of
instances: networking on the controller, then on each compute host one call
for all the instances claimed there (block device mapping, then spawn). The
decisions are made here:

* which instances a step works on (``instances_for_step``): those waiting
  for it on that host, and the active ones, which it converges;
* what a failed attempt leaves (``needs_rollback``): a build in progress is
  rolled back on its host at once, by the step that failed it; an instance
  that was active is left as it is; an instance a delete took is the
  delete's;
* what follows a failed attempt (``finish_round``, at the round's end): it is
  rescheduled to an alternate or given up (compute/reschedule.py), and
  whether another round is needed;
* what the run reports (``build_report``).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import build_owner, flow, reschedule
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_failure import instances_result
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import retry_on_conflict
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import ANY

# The task_state an instance waits in for each step of its build.
WAITS_IN = {
    states.NETWORKING: states.SCHEDULING,
    states.BLOCK_DEVICE_MAPPING: states.NETWORKING,
    states.SPAWNING: states.BLOCK_DEVICE_MAPPING,
}
# A failed attempt waiting for the round's end: where it failed and what its rollback could not undo.
FAILED_ATTEMPT = "failed_attempt"
# A step that failed on an active instance (a re-run converging it): the instance stays as it is, the run says so.
CONVERGE_FAILURE = "converge_failure"
# A build a delete took: where this run's rollback ran and what it could not remove.
LOST_BUILD = "lost_build"


def is_waiting_for(instance: dict[str, Any], step: str) -> bool:
    return (
        instance["vm_state"] == states.BUILDING
        and instance["task_state"] == WAITS_IN[step]
        and not instance.get(FAILED_ATTEMPT)
    )


def instances_for_step(state, uuids: list[str], step: str, host: str | None) -> list[dict[str, Any]]:
    """The run's instances ``step`` works on, on ``host`` (any host when None), in the run's order.

    Those waiting for the step, and the active ones, which it converges (a
    re-run leaves them as they are, or starts a domain that stopped).
    """
    chosen = []
    for uuid in uuids:
        instance = state.get_instance(uuid)
        if instance is None or flow.is_being_deleted(instance):
            continue
        if host is not None and instance.get("host") != host:
            continue
        if flow.is_built(instance) or is_waiting_for(instance, step):
            chosen.append(instance)
    return chosen


def needs_rollback(before: dict[str, Any], lost_to_delete: bool, ours: bool = True) -> bool:
    """Whether a failed step's attempt is undone on its host.

    A build in progress is; an instance that was active before this run is
    never torn down by a failed re-run; one another run moved on (its
    compare-and-swap won, ``ours`` false) is that run's. One a delete took
    is undone too: the delete owns its record, not what this build made.
    """
    if lost_to_delete:
        return True
    return ours and not flow.is_built(before)


@retry_on_conflict
def record_failed_attempts(store, failures: dict[str, str | None], host: str | None) -> None:
    """Mark each failed, rolled back attempt for the round's end: {uuid: what the rollback could not undo}."""
    with store.transaction() as state:
        for uuid, cleanup_failure in failures.items():
            instance = state.get_instance(uuid)
            if instance is None or flow.is_being_deleted(instance) or flow.is_built(instance):
                continue
            attempt = {"host": host or instance.get("host"), "cleanup_failure": cleanup_failure}
            # cleanup_failure stays on the record for the run's report; the attempt goes at the round's end.
            state.save_instance(uuid, ANY, cleanup_failure=cleanup_failure, **{FAILED_ATTEMPT: attempt})


def allocate_networks(
    store, uuids: list[str], networks: dict[str, dict[str, Any]], now: str, check_mode: bool = False
) -> dict[str, Any]:
    """The networking step for the run's instances waiting for it (active ones keep their ports): lists out.

    A failed allocation is recorded (flow.allocate_network) and left for the round's end; nothing was made on a
    host, so there is nothing to roll back there.
    """
    outcomes = []
    failed: dict[str, str | None] = {}
    for instance in instances_for_step(store.snapshot(), uuids, states.NETWORKING, None):
        uuid = instance["uuid"]
        try:
            _record, changed = flow.allocate_network(store, uuid, networks, now, check_mode)
        except exceptions.StoreError:
            raise
        except exceptions.NimbusError as error:
            lost = isinstance(error, exceptions.InstanceDeletedDuringBuild)
            outcomes.append({"uuid": uuid, "failed": True, "changed": False, "msg": error.message, "deleted": lost})
            # Another run's compare-and-swap won (UnexpectedTaskStateError): its build, not a failed attempt of ours.
            theirs = isinstance(error, exceptions.UnexpectedTaskStateError)
            if not lost and not theirs and not flow.is_built(instance):
                failed[uuid] = None
            continue
        outcomes.append({"uuid": uuid, "failed": False, "changed": changed})
    if failed and not check_mode:
        record_failed_attempts(store, failed, None)
    return instances_result(outcomes)


@retry_on_conflict
def record_converge_failure(store, uuid: str, step: str, host: str | None, message: str) -> None:
    """A step failed on an active instance: it stays active and untouched; this run reports the failure."""
    with store.transaction() as state:
        instance = state.get_instance(uuid)
        if instance is None or not flow.is_built(instance):
            return
        failure = {"step": step, "host": host, "message": message, "run": build_owner.current_owner()}
        state.save_instance(uuid, ANY, **{CONVERGE_FAILURE: failure})


@retry_on_conflict
def record_lost_builds(store, cleanup_failures: dict[str, str | None], host: str | None) -> None:
    """What this run's rollback did for each instance a delete took during its build (the run reports it).

    Only this field is written: the record, ports and claim are the delete's.
    """
    with store.transaction() as state:
        for uuid, cleanup_failure in cleanup_failures.items():
            if state.get_instance(uuid) is not None:
                state.save_instance(uuid, ANY, **{LOST_BUILD: {"host": host, "cleanup_failure": cleanup_failure}})


def finish_round(
    store, uuids: list[str], facts_by_host: dict[str, dict[str, Any]], config: dict[str, Any], now: str
) -> dict[str, Any]:
    """The round's end: every failed attempt rescheduled to an alternate or given up; {pending, rescheduled}.

    ``pending``: an instance of the run still waits for a step, so another round is needed.
    """
    rescheduled: dict[str, str] = {}
    before = store.snapshot()
    attempts = {uuid: (before.get_instance(uuid) or {}).get(FAILED_ATTEMPT) for uuid in uuids}
    for uuid, attempt in attempts.items():
        if not attempt:
            continue
        moved, was_rescheduled, _changed = reschedule.reschedule(
            store, uuid, facts_by_host, config, now, cleanup_failure=attempt.get("cleanup_failure")
        )
        if was_rescheduled:
            rescheduled[moved["name"]] = moved["host"]
    state = store.snapshot()
    pending = any(
        instance["vm_state"] == states.BUILDING and instance["task_state"] in WAITS_IN.values()
        for instance in (state.get_instance(uuid) for uuid in uuids)
        if instance is not None and not flow.is_being_deleted(instance)
    )
    return {"pending": pending, "rescheduled": rescheduled}


def build_report(state, uuids: list[str]) -> dict[str, Any]:
    """The run's outcome: {active: [records], failed: [messages]}, one message per instance not built."""
    active = []
    failed = []
    for uuid in uuids:
        instance = state.get_instance(uuid)
        if instance is None:
            failed.append(f"instance {uuid} not found")
            continue
        converge = instance.get(CONVERGE_FAILURE) or {}
        if flow.is_built(instance) and converge.get("run") == build_owner.current_owner():
            failed.append(
                f"Build of {instance['name']} failed on {converge['host']}: {converge['message']} "
                f"(step {converge['step']} of the active instance; it stays active)"
            )
            continue
        if flow.is_built(instance):
            active.append(instance)
            continue
        failed.append(failure_message(instance))
    return {"active": active, "failed": failed}


def failure_message(instance: dict[str, Any]) -> str:
    """Why the instance was not built, as the run reports it."""
    creates = [action for action in instance.get("actions") or [] if action["action"] == "create"]
    create = creates[-1] if creates else {}
    fault = instance.get("fault") or {}
    host = fault.get("host") or instance.get("host") or (instance.get("attempts") or ["no host"])[-1]
    attempts = ", ".join(instance.get("attempts") or []) or "none"
    if flow.is_being_deleted(instance):
        lost = instance.get(LOST_BUILD) or {"host": host, "cleanup_failure": None}
        undone = (
            f"this build could not remove what it had made on {lost['host']}: {lost['cleanup_failure']}"
            if lost.get("cleanup_failure")
            else f"this build removed the domain and disks it had made on {lost['host']}"
        )
        return (
            f"Build of {instance['name']} failed on {lost['host']}: the instance was deleted while it was being "
            f"built; {undone}; the delete owns the record. ({create.get('message') or 'no message'})"
        )
    if instance["vm_state"] != states.ERROR:
        return (
            f"Build of {instance['name']} did not finish on {host} (vm_state {instance['vm_state']}, task_state "
            f"{instance['task_state']}): the run ran out of rounds"
        )
    failure = fault.get("message") or create.get("message")
    cleanup = instance.get("cleanup_failure")
    # Why it was not rescheduled, when the round's end said more than the failure (and its cleanup) itself.
    reason = create.get("message") if create.get("message") not in (None, failure) and not cleanup else None
    message = f"Build of {instance['name']} failed on {host}: {failure}"
    message += f" (attempts {attempts}; not rescheduled{': ' + reason if reason else ''})"
    return f"{message}; could not clean up: {cleanup}" if cleanup else message
