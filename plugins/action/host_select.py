# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_select runs in-process on the controller: its state is the store's, no host is involved."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import NimbusAction


class ActionModule(NimbusAction):
    ARGUMENT_SPEC = argspecs.HOST_SELECT
    REQUIRED_IF = argspecs.REQUIRED_BY_STATE["host_select"]
    _requires_connection = False

    def run_step(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        return controller.host_select(args, self.check_mode)
