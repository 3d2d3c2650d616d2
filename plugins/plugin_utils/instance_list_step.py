# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A compute-host step for a list of instances: one module run on the host for all of them.

Lists in, lists out: ``instances`` takes the run's uuids; the owner of the
lifecycle picks the ones this host's step works on (compute/build.py for a
build, compute/terminate.py for a delete), each instance's transition is its
own compare-and-swap, and each outcome comes back under ``instances``. One
instance's failure never stops the others; a host that cannot be reached
fails them all, recorded the same way.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import build, flow, terminate
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_failure import (
    error_from_result,
    instances_result,
    unreachable_error,
)
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import uses_store


class InstanceListStep:
    """Mixed into ComputeStepAction: ``run_for_instances`` for its MODULE and STEP."""

    MODULE = ""
    STEP = ""

    def run_for_instances(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if not uses_store(args):
            return self.execute_for_instances(self.MODULE, args, args["instances"], task_vars)
        uuids = [uuid_of(item) for item in args["instances"]]
        if args["state"] == "absent":
            return self.remove_instances(uuids, args, task_vars)
        return self.build_instances(uuids, args, task_vars)

    # The delete (compute/terminate.py).

    def remove_instances(self, uuids: list[str], args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """Each instance's outcome is recorded as an event of its delete (terminate.record_host_step)."""
        store = self.store(args)
        host = self.host_name(task_vars)
        state = self.start_removal(store, uuids)
        outcomes: dict[str, dict[str, Any]] = {}
        records = []
        for uuid in uuids:
            instance = flow.find_instance(state, uuid)
            refusal = terminate.host_step_refusal(instance, uuid, self.MODULE, host, self.check_mode)
            if instance is None:
                outcomes[uuid] = {"uuid": uuid, "failed": False, "changed": False, "msg": refusal}
            elif refusal:
                outcomes[uuid] = {"uuid": uuid, "failed": True, "changed": False, "msg": refusal}
            else:
                records.append(flow.compute_view(instance))
        if records:
            result = self.execute_for_instances(self.MODULE, args, records, task_vars)
            outcomes.update((entry["uuid"], entry) for entry in result["instances"])
        ordered = [outcomes[uuid] for uuid in uuids]
        if not self.check_mode:
            terminate.record_host_step(store, self.MODULE, ordered, host, self.now())
        return instances_result(ordered)

    def start_removal(self, store, uuids: list[str]):
        """The store as the step sees it, once the step started what it belongs to (libvirt_domain: the delete)."""
        del uuids
        return store.snapshot()

    # The build (compute/build.py).

    def build_instances(self, uuids: list[str], args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """This host's instances of the run waiting for this step (or active, to converge), in one module run.

        Each begins and finishes by its own compare-and-swap; a failed attempt
        is rolled back on this host at once (build.needs_rollback) and left for
        the round's end to reschedule (build.record_failed_attempts).
        """
        store = self.store(args)
        host = self.host_name(task_vars)
        chosen = build.instances_for_step(store.snapshot(), uuids, self.STEP, host)
        if not chosen:
            return {"changed": False, "instances": []}
        if self.check_mode:
            return self.execute_for_instances(self.MODULE, args, self.host_records(store, chosen), task_vars)
        before = {instance["uuid"]: instance for instance in chosen}
        outcomes: dict[str, dict[str, Any]] = {}
        begun: dict[str, bool] = {}
        started_instances = []
        for instance in chosen:
            uuid = instance["uuid"]
            updates = self.begin_updates(flow.placement_args(args, instance))
            try:
                started, begun[uuid] = flow.begin_step(store, uuid, self.STEP, self.now(), host, **updates)
            except exceptions.NimbusError as error:
                # A delete took it (InstanceDeletedDuringBuild: what this run made goes), or another run moved it
                # on (its compare-and-swap won: the instance and what is on the host are that run's, untouched).
                deleted = flow.is_being_deleted(_latest(store, uuid))
                outcomes[uuid] = {**_failed(uuid, error.message, deleted=deleted), "not_ours": not deleted}
                continue
            started_instances.append(started)
        if started_instances:
            records = self.host_records(store, started_instances)
            result = self.execute_for_instances(self.MODULE, args, records, task_vars)
            for entry in result["instances"]:
                outcomes[entry["uuid"]] = self.record_outcome(store, entry, begun[entry["uuid"]], host)
        rollback = [
            uuid
            for uuid, outcome in outcomes.items()
            if outcome["failed"]
            and build.needs_rollback(before[uuid], outcome.get("deleted", False), not outcome.get("not_ours"))
        ]
        cleanup_failures = self.roll_back(rollback, store, args, task_vars)
        build.record_failed_attempts(
            store,
            {uuid: cleanup_failures.get(uuid) for uuid in rollback if not outcomes[uuid].get("deleted")},
            host,
        )
        lost = {uuid: cleanup_failures.get(uuid) for uuid in rollback if outcomes[uuid].get("deleted")}
        if lost:
            build.record_lost_builds(store, lost, host)
        for uuid, failure in cleanup_failures.items():
            outcomes[uuid]["cleanup_failure"] = failure
        return instances_result([outcomes[instance["uuid"]] for instance in chosen])

    def host_records(self, store, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What this step's module gets for each instance it builds: the compute view of its record."""
        del store
        return [flow.compute_view(instance) for instance in instances]

    def record_outcome(self, store, entry: dict[str, Any], building: bool, host: str | None) -> dict[str, Any]:
        """One instance's module outcome in the store: finish_step, or fail_step; a delete that took it wins."""
        uuid = entry["uuid"]
        if not building:
            if entry["failed"] and not self.check_mode:
                build.record_converge_failure(store, uuid, self.STEP, host, entry["msg"])
            return entry
        try:
            if entry["failed"]:
                error = error_from_result(self.MODULE, entry)
                flow.fail_step(store, uuid, self.STEP, error, host, self.now())
                return entry
            flow.finish_step(store, uuid, self.STEP, self.now(), host, **self.result_updates(entry))
            return entry
        except exceptions.InstanceDeletedDuringBuild as lost:
            return _failed(uuid, lost.message, deleted=True)
        except exceptions.UnexpectedTaskStateError as theirs:
            # Another run moved the instance on meanwhile: its build, which this step leaves alone.
            return {**_failed(uuid, theirs.message), "not_ours": True}

    def roll_back(self, uuids: list[str], store, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, str]:
        """Remove what the failed attempts made on this host (domain, then disks); {uuid: what could not be}."""
        if not uuids:
            return {}
        state = store.snapshot()
        records = [flow.compute_view(state.get_instance(uuid) or {"uuid": uuid}) for uuid in uuids]
        failures: dict[str, list[str]] = {}
        # Each removal takes only its own module's options (records carry their URI and instances path).
        removals = {"libvirt_domain": ("uri",), "block_device_map": ("uri", "instances_path")}
        for module, options in removals.items():
            removal = {key: args[key] for key in options if args.get(key) is not None}
            result = self.execute_for_instances(module, {**removal, "state": "absent"}, records, task_vars)
            for entry in result["instances"]:
                if entry["failed"]:
                    failures.setdefault(entry["uuid"], []).append(entry["msg"])
        return {uuid: "; ".join(messages) for uuid, messages in failures.items()}

    # Both.

    def execute_for_instances(
        self, module: str, args: dict[str, Any], records: list[Any], task_vars: dict[str, Any]
    ) -> dict[str, Any]:
        """``module`` on this host for a list; a host that cannot be reached fails every instance of it."""
        try:
            result = self._execute_module(
                module_name=f"nimbus.compute.{module}",
                module_args=self.host_args({**args, "instances": records}),
                task_vars=task_vars,
            )
        except AnsibleConnectionFailure as error:
            host = self.host_name(task_vars)
            unreachable = unreachable_error(module, host, str(error))
            return instances_result(
                [
                    {**_failed(uuid_of(item), unreachable.message), "fault": unreachable.to_fault(host)}
                    for item in records
                ]
            )
        if "instances" not in result:
            raise error_from_result(module, result)
        return result


def _failed(uuid: str, message: str, deleted: bool = False) -> dict[str, Any]:
    outcome = {"uuid": uuid, "failed": True, "changed": False, "msg": message}
    if deleted:
        outcome["deleted"] = True
    return outcome


def _latest(store, uuid: str) -> dict[str, Any]:
    return store.snapshot().get_instance(uuid) or {"vm_state": "deleted", "task_state": None}


def uuid_of(item: Any, field: str = "instances") -> str:
    """An entry of ``instances`` (or the ``instance`` option, ``field``): a uuid, or a record carrying one."""
    uuid = item.get("uuid") if isinstance(item, dict) else item
    if not isinstance(uuid, str) or not uuid:
        what = "each entry" if field == "instances" else "it"
        raise exceptions.InvalidInput(field, f"{what} must be an instance uuid, got {exceptions.shown(item)}")
    return uuid
