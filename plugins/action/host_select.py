# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_select runs in-process on the controller: its state is the store's, no host is involved."""

from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import SchedulingAction


class ActionModule(SchedulingAction):
    ARGUMENT_SPEC = argspecs.HOST_SELECT
    REQUIRED_IF = argspecs.HOST_SELECT_REQUIRED_IF
    MUTUALLY_EXCLUSIVE = argspecs.HOST_REPORTS_MUTUALLY_EXCLUSIVE
    BODY = controller.host_select
