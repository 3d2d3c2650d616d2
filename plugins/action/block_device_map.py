# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""block_device_map on the compute host, its transition recorded on the controller."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.plugin_utils.compute_step_action import ComputeStepAction


class ActionModule(ComputeStepAction):
    ARGUMENT_SPEC = argspecs.BLOCK_DEVICE_MAP
    MODULE = "block_device_map"
    STEP = states.BLOCK_DEVICE_MAPPING
    MUTUALLY_EXCLUSIVE = argspecs.ONE_OR_MORE_INSTANCES["mutually_exclusive"]
    REQUIRED_ONE_OF = argspecs.ONE_OR_MORE_INSTANCES["required_one_of"]

    def result_updates(self, module_result: dict[str, Any]) -> dict[str, Any]:
        return {"block_device_info": module_result["block_device_info"]}

    def begin_updates(self, args: dict[str, Any]) -> dict[str, Any]:
        # Where the disks go, known before the step can fail or be killed: a
        # delete of a half-built instance removes them from there.
        return {"instances_path": args["instances_path"]}
