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

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import uses_store
from ansible_collections.nimbus.compute.plugins.plugin_utils.instance_list_step import InstanceListStep
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import NimbusAction


class ComputeStepAction(InstanceListStep, NimbusAction):
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
        recorded = flow.find_instance(store.snapshot(), uuid)
        # The host's uri, instances_path and virt_type as the claim recorded them win over the options.
        args = flow.placement_args(args, recorded)
        if self.check_mode:
            instance = recorded or args["instance"]
            module_args = self.module_args(args, self.host_records(store, [instance])[0])
            return self.with_instance(self.execute(self.MODULE, module_args, task_vars), instance)
        host = self.host_name(task_vars)
        instance, building = flow.begin_step(store, uuid, self.STEP, self.now(), host, **self.begin_updates(args))
        try:
            record = self.host_records(store, [instance])[0]
            result = self.execute(self.MODULE, self.module_args(args, record), task_vars)
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
        result = self.execute(self.MODULE, self.module_args(args, flow.compute_view(instance)), task_vars)
        return self.with_instance(result, instance)

    @staticmethod
    def module_args(args: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        return {**args, "instance": record}

    @staticmethod
    def with_instance(result: dict[str, Any], instance: dict[str, Any]) -> dict[str, Any]:
        result["instance"] = instance
        result.setdefault("ansible_facts", {})["nimbus_instance"] = instance
        return result
