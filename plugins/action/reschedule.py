# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""reschedule runs in-process on the controller: its state is the store's, no host is involved."""

from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import SchedulingAction


class ActionModule(SchedulingAction):
    ARGUMENT_SPEC = argspecs.RESCHEDULE
    MUTUALLY_EXCLUSIVE = argspecs.RESCHEDULE_MUTUALLY_EXCLUSIVE
    REQUIRED_ONE_OF = argspecs.ONE_OR_MORE_INSTANCES["required_one_of"]
    BODY = controller.reschedule
