# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugins of the steps that run on the chosen compute host.

Around the module run on the compute host, the controller moves task_state
forward (compare-and-swap), records the step's event and its result, or the
fault when it fails. A delete that took the instance before or during the
step makes it fail with InstanceDeletedDuringBuild: no fault, no state, only
the build's own create action closed (flow.stop_lost_build). Without
a store (``store_path``, ``store_url`` or NIMBUS_STORE_URL) the module runs alone.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleConnectionFailure

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow, terminate
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_failure import (
    error_from_result,
    instances_result,
    unreachable_error,
)
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import uses_store
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import NimbusAction


class ComputeStepAction(NimbusAction):
    MODULE = ""
    STEP = ""

    def result_updates(self, module_result: dict[str, Any]) -> dict[str, Any]:
        """The instance fields this step's module result sets."""
        raise NotImplementedError

    def begin_updates(self, args: dict[str, Any]) -> dict[str, Any]:
        """The instance fields recorded as the step begins, before the module runs."""
        del args
        return {}

    def run_step(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if args.get("instances") is not None:
            return self.run_for_instances(args, task_vars)
        if not uses_store(args):
            return self.execute(self.MODULE, args, task_vars)
        store = self.store(args)
        if args["state"] == "absent":
            return self.remove(store, args, task_vars)
        uuid = args["instance"].get("uuid")
        if not uuid:
            raise exceptions.InvalidInput(
                "instance.uuid", "is required when the step is recorded in a store (store_path or store_url)"
            )
        # The host's uri, instances_path and virt_type as the claim recorded them win over the options.
        args = flow.placement_args(args, flow.find_instance(store.snapshot(), uuid))
        if self.check_mode:
            instance = flow.find_instance(store.snapshot(), uuid) or args["instance"]
            return self.with_instance(self.execute(self.MODULE, self.module_args(args, instance), task_vars), instance)
        host = self.host_name(task_vars)
        instance, building = flow.begin_step(store, uuid, self.STEP, self.now(), host, **self.begin_updates(args))
        try:
            result = self.execute(self.MODULE, self.module_args(args, instance), task_vars)
        except exceptions.NimbusError as error:
            if building:
                # Raises InstanceDeletedDuringBuild instead when a delete took the instance meanwhile.
                flow.fail_step(store, uuid, self.STEP, error, host, self.now())
            raise
        if building:
            # A delete that started while the module ran wins here (InstanceDeletedDuringBuild);
            # the build role's rescue then removes what the module made.
            instance = flow.finish_step(store, uuid, self.STEP, self.now(), host, **self.result_updates(result))
        return self.with_instance(result, instance)

    def remove(self, store, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        key = args["instance"].get("uuid") or args["instance"].get("name", "")
        instance = flow.find_instance(store.snapshot(), key)
        if instance is None:
            return {"changed": False, "instance": None}
        args = flow.placement_args(args, instance)
        result = self.execute(self.MODULE, self.module_args(args, instance), task_vars)
        return self.with_instance(result, instance)

    def run_for_instances(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        """``instances``: a delete's host step for all of this host's instances in one module run.

        With a store, each instance's outcome is recorded as an event of its
        delete (terminate.record_host_step); an instance the step must not
        touch on this host (terminate.host_step_refusal) fails alone, and a
        host that cannot be reached fails them all, recorded the same way.
        """
        if args["state"] != "absent":
            raise exceptions.InvalidInput("instances", f"is for state=absent only; {self.MODULE} builds one instance")
        if not uses_store(args):
            return self.execute_for_instances(args, args["instances"], task_vars)
        uuids = [_uuid_of(item) for item in args["instances"]]
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
            result = self.execute_for_instances(args, records, task_vars)
            outcomes.update((entry["uuid"], entry) for entry in result["instances"])
        ordered = [outcomes[uuid] for uuid in uuids]
        if not self.check_mode:
            terminate.record_host_step(store, self.MODULE, ordered, host, self.now())
        return instances_result(ordered)

    def start_removal(self, store, uuids: list[str]):
        """The store as the step sees it, once the step started what it belongs to (libvirt_domain: the delete)."""
        del uuids
        return store.snapshot()

    def execute_for_instances(
        self, args: dict[str, Any], records: list[Any], task_vars: dict[str, Any]
    ) -> dict[str, Any]:
        """The module on this host for a list; a host that cannot be reached fails every instance of it."""
        try:
            result = self._execute_module(
                module_name=f"nimbus.compute.{self.MODULE}",
                module_args=self.host_args({**args, "instances": records}),
                task_vars=task_vars,
            )
        except AnsibleConnectionFailure as error:
            message = unreachable_error(self.MODULE, self.host_name(task_vars), str(error)).message
            return instances_result(
                [{"uuid": _uuid_of(item), "failed": True, "changed": False, "msg": message} for item in records]
            )
        if "instances" not in result:
            raise error_from_result(self.MODULE, result)
        return result

    @staticmethod
    def module_args(args: dict[str, Any], instance: dict[str, Any]) -> dict[str, Any]:
        return {**args, "instance": flow.compute_view(instance)}

    @staticmethod
    def with_instance(result: dict[str, Any], instance: dict[str, Any]) -> dict[str, Any]:
        result["instance"] = instance
        result.setdefault("ansible_facts", {})["nimbus_instance"] = instance
        return result


def _uuid_of(item: Any) -> str:
    """An entry of ``instances``: a uuid, or a record carrying one."""
    uuid = item.get("uuid") if isinstance(item, dict) else item
    if not isinstance(uuid, str) or not uuid:
        raise exceptions.InvalidInput("instances", f"each entry must be an instance uuid, got {exceptions.shown(item)}")
    return uuid
