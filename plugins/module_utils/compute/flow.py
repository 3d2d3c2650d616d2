# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The build and delete flow on the store: Nova's compute manager transitions.

Each step of a build is bracketed by two store transactions: ``begin_step``
moves task_state forward with a compare-and-swap on the state before it, and
``finish_step`` (or ``fail_step``) records the result and the step's event.
Compute hosts never see the store: only the controller-side action plugins
call these functions.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import build_owner, notifications
from ansible_collections.nimbus.compute.plugins.module_utils.network import api as network_api
from ansible_collections.nimbus.compute.plugins.module_utils.network import host_holdings
from ansible_collections.nimbus.compute.plugins.module_utils.objects import instance as instance_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import retry_on_conflict
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import ANY

# Event names as `nova instance-action-list` shows them for each step.
STEP_EVENTS = {
    states.SCHEDULING: "schedule",
    states.NETWORKING: "allocate_network",
    states.BLOCK_DEVICE_MAPPING: "block_device_mapping",
    states.SPAWNING: "spawn",
    states.DELETING: "delete",
}

# What the compute-host modules need of an instance; the rest (actions,
# events, attempts) stays on the controller.
COMPUTE_FIELDS = (
    "uuid",
    "name",
    "hostname",
    "flavor",
    "image",
    "metadata",
    "public_keys",
    "key_name",
    "availability_zone",
    "launch_index",
    "network_info",
    "block_device_mapping",
    "block_device_info",
    "config_drive_format",
    # Where the instance lives on its host, recorded with the claim from the host's report.
    "libvirt_uri",
    "instances_path",
    "virt_type",
)

# Not a field of the record: libvirt_domain's action adds it to the compute view from the store's security
# groups (security_groups.instance_firewall), derived anew for each spawn.
FIREWALL_FIELD = "firewall"

# A step's option and the record field that overrides it once the claim recorded the host's own.
HOST_PLACEMENT_OPTIONS = (("uri", "libvirt_uri"), ("instances_path", "instances_path"), ("virt_type", "virt_type"))


def placement_args(args: dict[str, Any], instance: dict[str, Any] | None) -> dict[str, Any]:
    """A step's arguments with the host's uri, instances_path and virt_type as the instance's record has them."""
    if not instance:
        return args
    overrides = {
        option: instance[field] for option, field in HOST_PLACEMENT_OPTIONS if option in args and instance.get(field)
    }
    return {**args, **overrides}


def compute_view(instance: dict[str, Any]) -> dict[str, Any]:
    """The part of an instance record a compute host needs for its step."""
    return {key: instance[key] for key in COMPUTE_FIELDS if key in instance}


def find_instance(state, name_or_uuid: str) -> dict[str, Any] | None:
    """An instance by uuid or, failing that, by name (deleted ones excluded)."""
    found = state.get_instance(name_or_uuid)
    if found and found.get("vm_state") != states.DELETED:
        return found
    return state.find_instance(name_or_uuid)


def get_instance(state, name_or_uuid: str) -> dict[str, Any]:
    found = find_instance(state, name_or_uuid)
    if found is None:
        raise exceptions.InstanceNotFound(name_or_uuid)
    return found


def is_being_deleted(instance: dict[str, Any]) -> bool:
    """A delete has started (task_state deleting) or finished (vm_state deleted): it owns the record."""
    return instance["vm_state"] == states.DELETED or instance["task_state"] == states.DELETING


def build_instance(state, name_or_uuid: str) -> dict[str, Any]:
    """The instance a build works on: by uuid even when a delete already marked it deleted."""
    return state.get_instance(name_or_uuid) or get_instance(state, name_or_uuid)


def check_not_deleted(instance: dict[str, Any], step: str, host: str | None, cause: str | None = None) -> None:
    """A build step's guard before its compare-and-swap: a delete that started wins, and the build says so."""
    if is_being_deleted(instance):
        raise exceptions.InstanceDeletedDuringBuild(instance, step, host, cause)


def stop_lost_build(
    store, state, uuid: str, step: str, host: str | None, now: str, cause: str | None = None
) -> exceptions.InstanceDeletedDuringBuild | None:
    """The error of a build a delete took, its create action closed; None while the build is still its own.

    Only the build's own history is written (its open step event Error, its
    create action finished, as Nova's instance-action-list shows a build that
    lost to a delete) and, once, instance.create.error (Nova notifies it for
    an instance that disappeared during its build): the states, fault, ports
    and claim are the delete's.
    """
    instance = state.instance(uuid)
    if not is_being_deleted(instance):
        return None
    error = exceptions.InstanceDeletedDuringBuild(instance, step, host, cause)
    open_creates = [a for a in instance.get("actions") or [] if a["action"] == "create" and a["finish_time"] is None]
    if open_creates:
        create = open_creates[-1]
        for event in create["events"]:
            if event["finish_time"] is None:
                event.update(finish_time=now, result="Error", details={"message": error.message})
        create.update(finish_time=now, message=error.message)
        notifications.emit(store, state, "instance.create.error", uuid, error)
    return error


def is_built(instance: dict[str, Any]) -> bool:
    """Active and idle: a step on it converges instead of moving task_state."""
    return instance["vm_state"] == states.ACTIVE and instance["task_state"] is None


def is_scheduled(instance: dict[str, Any]) -> bool:
    """Claimed on a host and waiting for its next step."""
    return instance["task_state"] == states.SCHEDULING and instance.get("host") is not None


def existing_build(instance: dict[str, Any]) -> dict[str, Any]:
    """A second request for a name: the instance it already is, if usable."""
    if is_built(instance) or is_scheduled(instance):
        return instance
    # A failed build first, even when a delete of it stopped half way: deleting it (again) is the way on.
    if instance["vm_state"] == states.ERROR:
        raise exceptions.Conflict(
            f"instance {instance['name']} ({instance['uuid']}) is in vm_state error: "
            f"{(instance.get('fault') or {}).get('message', 'no fault recorded')}; delete it before building it again",
            instance_uuid=instance["uuid"],
        )
    if is_being_deleted(instance):
        raise exceptions.Conflict(
            f"instance {instance['name']} ({instance['uuid']}) is being deleted (task_state deleting); "
            "let the delete finish, then build it again",
            instance_uuid=instance["uuid"],
        )
    owner = instance.get("build_owner")
    if build_owner.is_orphaned_build(instance):
        raise exceptions.Conflict(
            f"instance {instance['name']} ({instance['uuid']}) was being built by {build_owner.describe(owner)}, "
            f"which is gone (task_state {instance['task_state']}); delete it, or re-run with "
            "nimbus_replace_failed_builds to replace it",
            instance_uuid=instance["uuid"],
        )
    raise exceptions.Conflict(
        f"instance {instance['name']} ({instance['uuid']}) is already being built by {build_owner.describe(owner)} "
        f"(vm_state {instance['vm_state']}, task_state {instance['task_state']})",
        instance_uuid=instance["uuid"],
    )


@retry_on_conflict
def allocate_network(
    store, name_or_uuid: str, networks: dict[str, dict[str, Any]], now: str, check_mode: bool = False
) -> tuple[dict[str, Any], bool]:
    """The networking step: ports, MACs and IPs for every requested NIC."""
    with store.transaction() as state:
        instance = build_instance(state, name_or_uuid)
        uuid = instance["uuid"]
        before = network_api.network_info_for_instance(state, uuid)
        if check_mode:
            return instance, len(before) != len(instance.get("requested_networks") or [])
        building = not is_built(instance)
        failure = (
            stop_lost_build(store, state, uuid, states.NETWORKING, instance.get("host"), now) if building else None
        )
        if failure is None:
            failure = _allocate(store, state, instance, networks, building, now)
        instance = state.instance(uuid)
    if failure is not None:
        raise failure
    return instance, before != instance["network_info"]


def _foreign_addresses(
    state, instance: dict[str, Any], requested: list[dict[str, Any]], networks: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """Addresses others hold on the libvirt networks of the instance's host, by its latest host report."""
    host = instance.get("host")
    libvirt_networks = [
        (networks.get(item.get("network")) or {}).get("libvirt_network") for item in requested if isinstance(item, dict)
    ]
    return host_holdings.foreign_addresses(
        state.host_facts(host) if host else None,
        host,
        [name for name in libvirt_networks if isinstance(name, str)],
        state.macs_in_use(),
    )


def _allocate(
    store, state, instance: dict[str, Any], networks: dict[str, dict[str, Any]], building: bool, now: str
) -> exceptions.NimbusError | None:
    """The networking step in the caller's transaction; its failure, recorded when building."""
    uuid = instance["uuid"]
    if building:
        _begin(state, uuid, states.NETWORKING, now)
    try:
        requested = instance.get("requested_networks") or []
        network_info = network_api.allocate_for_instance(
            state, uuid, requested, networks, now, foreign=_foreign_addresses(state, instance, requested, networks)
        )
    except exceptions.StoreError:
        # The store itself failed (or another writer got in the way: StoreRetry): not the build's fault, and
        # its transaction cannot record one.
        raise
    except exceptions.NimbusError as error:
        if building:
            record_failure(state, uuid, states.NETWORKING, error, instance.get("host"), now)
            notifications.emit_build_error(store, state, uuid, error)
        return error
    state.save_instance(uuid, states.NETWORKING if building else None, network_info=network_info)
    if building:
        state.finish_event(uuid, STEP_EVENTS[states.NETWORKING], "Success", instance_obj.utcnow())
    return None


@retry_on_conflict
def deallocate_network(store, name_or_uuid: str, check_mode: bool = False) -> tuple[dict[str, Any] | None, bool]:
    """Release every port of the instance; nothing to release is no change."""
    with store.transaction() as state:
        instance = find_instance(state, name_or_uuid)
        if instance is None:
            return None, False
        uuid = instance["uuid"]
        held = network_api.network_info_for_instance(state, uuid)
        if check_mode or not held:
            return instance, bool(held)
        release_ports(state, uuid)
        return state.instance(uuid), True


def release_ports(state, uuid: str) -> bool:
    """Release the instance's ports (and so its MACs and IPs) in the caller's transaction; whether it held any."""
    if not network_api.deallocate_for_instance(state, uuid):
        return False
    state.save_instance(uuid, ANY, network_info=[])
    return True


@retry_on_conflict
def begin_step(
    store, uuid: str, step: str, now: str, on_host: str | None = None, **updates: Any
) -> tuple[dict[str, Any], bool]:
    """Move task_state to ``step`` unless the instance is built already.

    Returns the instance and whether the step is part of a build (False: the
    step only converges an active instance and records nothing). An instance
    a delete took raises InstanceDeletedDuringBuild, naming ``on_host``.
    ``updates`` are saved with the new task_state, before the step runs
    (where the step will leave things, for a delete of a half-built instance).
    """
    with store.transaction() as state:
        instance = state.instance(uuid)
        if is_built(instance):
            return instance, False
        lost = stop_lost_build(store, state, uuid, step, on_host, now)
        if lost is None:
            _begin(state, uuid, step, now, **updates)
            return state.instance(uuid), True
    raise lost


@retry_on_conflict
def finish_step(store, uuid: str, step: str, now: str, on_host: str | None = None, **updates: Any) -> dict[str, Any]:
    """Record a step's result; the last build step makes the instance active.

    A delete that started while the step ran wins: InstanceDeletedDuringBuild,
    and only the build's own history is closed (stop_lost_build). An instance
    going active has no fault any more (Nova shows one only in vm_state
    error); a failed attempt's fault stays in its reschedule event.
    """
    with store.transaction() as state:
        lost = stop_lost_build(store, state, uuid, step, on_host, now)
        if lost is None:
            if step == states.SPAWNING:
                updates.update(vm_state=states.ACTIVE, task_state=None, launched_at=now, fault=None)
            state.save_instance(uuid, step, **updates)
            state.finish_event(uuid, STEP_EVENTS[step], "Success", now)
            if step == states.SPAWNING:
                state.finish_action(uuid, now)
                notifications.emit(store, state, "instance.create.end", uuid)
            return state.instance(uuid)
    # Raised after the transaction, so that the closed history is saved.
    raise lost


@retry_on_conflict
def fail_step(store, uuid: str, step: str, error: exceptions.NimbusError, host: str | None, now: str) -> None:
    """Record a failed step: fault, event result, vm_state error (unless a delete took the instance)."""
    with store.transaction() as state:
        lost = stop_lost_build(store, state, uuid, step, host, now, cause=error.message)
        if lost is None:
            record_failure(state, uuid, step, error, host, now)
            notifications.emit_build_error(store, state, uuid, error)
            return
    raise lost


@retry_on_conflict
def begin_delete(store, name_or_uuid: str, now: str, check_mode: bool = False) -> dict[str, Any] | None:
    """Start a delete (task_state deleting) unless one already runs."""
    with store.transaction() as state:
        instance = find_instance(state, name_or_uuid)
        if instance is None or check_mode:
            return instance
        return start_delete(store, state, instance, now)


def start_delete(store, state, instance: dict[str, Any], now: str) -> dict[str, Any]:
    """task_state deleting, the delete action and instance.delete.start, in the caller's transaction.

    A delete already running is left as it is: a second run of it goes on.
    """
    uuid = instance["uuid"]
    if instance["task_state"] == states.DELETING:
        return instance
    state.save_instance(uuid, states.EXPECTED_BEFORE[states.DELETING], task_state=states.DELETING)
    state.start_action(uuid, "delete", now)
    state.start_event(uuid, STEP_EVENTS[states.DELETING], now)
    notifications.emit(store, state, "instance.delete.start", uuid)
    return state.instance(uuid)


@retry_on_conflict
def release_claim(store, name_or_uuid: str, now: str, check_mode: bool = False) -> tuple[dict[str, Any] | None, bool]:
    """Drop the instance's host claim; a delete in progress ends here.

    A failed build keeps its record in vm_state error (with its fault) so the
    operator can see it; a delete marks the record deleted, as Nova does. An
    instance that never landed on a host is deleted here directly (Nova's
    local delete): it has no domain, disks or ports to remove first.
    """
    with store.transaction() as state:
        instance = find_instance(state, name_or_uuid)
        if instance is None:
            return None, False
        uuid = instance["uuid"]
        local_delete = instance.get("host") is None
        deleting = instance["task_state"] == states.DELETING or local_delete
        held = state.claim_of(uuid) is not None
        if check_mode:
            return instance, held or deleting
        state.drop_claim(uuid)
        if deleting:
            mark_deleted(store, state, instance, now)
        return state.instance(uuid), held or deleting


def mark_deleted(store, state, instance: dict[str, Any], now: str) -> None:
    """The end of a delete, in the caller's transaction: claim and group membership gone, record deleted.

    Its ports must be released first (release_ports). An instance no delete
    started (one that never landed on a host) gets its delete action here.
    """
    uuid = instance["uuid"]
    state.drop_claim(uuid)
    state.drop_group_member(uuid)
    if instance["task_state"] != states.DELETING:
        state.start_action(uuid, "delete", now)
        state.start_event(uuid, STEP_EVENTS[states.DELETING], now)
        notifications.emit(store, state, "instance.delete.start", uuid)
    state.save_instance(
        uuid,
        states.EXPECTED_BEFORE[states.DELETING],
        vm_state=states.DELETED,
        task_state=None,
        power_state=states.NOSTATE,
        deleted_at=now,
    )
    state.finish_event(uuid, STEP_EVENTS[states.DELETING], "Success", now)
    state.finish_action(uuid, now)
    notifications.emit(store, state, "instance.delete.end", uuid)


def _begin(state, uuid: str, step: str, now: str, **updates: Any) -> None:
    updates.setdefault("build_owner", build_owner.current_owner())
    state.save_instance(uuid, states.EXPECTED_BEFORE[step], task_state=step, **updates)
    state.start_event(uuid, STEP_EVENTS[step], now)


def record_failure(state, uuid: str, step: str, error: exceptions.NimbusError, host: str | None, now: str) -> None:
    # A delete that raced the build owns the instance now: leave it alone.
    check_not_deleted(state.instance(uuid), step, host, cause=error.message)
    fault = error.to_fault(host)
    fault["created_at"] = now
    state.save_instance(uuid, step, vm_state=states.ERROR, task_state=None, fault=fault)
    state.finish_event(uuid, STEP_EVENTS[step], "Error", now, details=notifications.event_details(fault, error))
    state.finish_action(uuid, now, message=error.message)
