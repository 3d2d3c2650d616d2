# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_domain on the compute host, its transition recorded on the controller.

With a store, ``state: present`` sends each instance's firewall (its security
groups' rules and the addresses of the remote groups' members) with its
record. ``state: absent`` is the first host step of a delete: it moves
the instance to task_state deleting before the domain goes (with
``instances``, all of them at once: compute/terminate.py).
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, flow, security_groups, terminate
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.plugin_utils.compute_step_action import ComputeStepAction


class ActionModule(ComputeStepAction):
    ARGUMENT_SPEC = argspecs.LIBVIRT_DOMAIN
    MODULE = "libvirt_domain"
    STEP = states.SPAWNING
    MUTUALLY_EXCLUSIVE = argspecs.ONE_OR_MORE_INSTANCES["mutually_exclusive"]
    REQUIRED_ONE_OF = argspecs.ONE_OR_MORE_INSTANCES["required_one_of"]

    def host_records(self, store, instances: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # The firewall of each instance's ports, from its security groups as the store has them now (the host's
        # firewall_driver decides whether it applies: compute/host_domains.py).
        state = store.snapshot()
        return [security_groups.host_record(state, instance) for instance in instances]

    def result_updates(self, module_result: dict[str, Any]) -> dict[str, Any]:
        return {"power_state": module_result["power_state"]}

    def remove(self, store, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        key = args["instance"].get("uuid") or args["instance"].get("name", "")
        if flow.begin_delete(store, key, self.now(), self.check_mode) is None:
            return {"changed": False, "instance": None}
        return super().remove(store, args, task_vars)

    def start_removal(self, store, uuids: list[str]):
        # The delete's first host step starts the delete of any instance not being deleted yet.
        terminate.begin_terminate(store, uuids, self.now(), self.check_mode)
        return store.snapshot()
