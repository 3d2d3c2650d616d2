# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""floating_ip runs in-process on the controller: its state is the store's; the NAT is floating_ip_nat's."""

from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import ControllerAction


class ActionModule(ControllerAction):
    ARGUMENT_SPEC = argspecs.FLOATING_IP
    BODY = controller.floating_ip
