# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_domain on the compute host, its transition recorded on the controller.

With a store, ``state: absent`` is the first step of a delete: it moves the
instance to task_state deleting before the domain goes.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, flow
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.plugin_utils.compute_step_action import ComputeStepAction


class ActionModule(ComputeStepAction):
    ARGUMENT_SPEC = argspecs.LIBVIRT_DOMAIN
    MODULE = "libvirt_domain"
    STEP = states.SPAWNING

    def result_updates(self, module_result: dict[str, Any]) -> dict[str, Any]:
        return {"power_state": module_result["power_state"]}

    def remove(self, store, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        key = args["instance"].get("uuid") or args["instance"].get("name", "")
        if flow.begin_delete(store, key, self.now(), self.check_mode) is None:
            return {"changed": False, "instance": None}
        return super().remove(store, args, task_vars)
