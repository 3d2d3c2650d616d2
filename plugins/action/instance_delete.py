# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""instance_delete runs in-process on the controller: both ends of a delete are the store's."""

from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import ControllerAction


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = argspecs.INSTANCE_DELETE
    BODY = controller.instance_delete
