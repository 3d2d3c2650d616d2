# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""floating_ip_nat on the compute host, its floating IPs read from the controller's store."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, floating_ips, option_shapes
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import uses_store
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import NimbusAction


class ActionModule(NimbusAction):
    ARGUMENT_SPEC = argspecs.FLOATING_IP_NAT

    def run_step(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        sent = {key: value for key, value in args.items() if key != "host"}
        sent["pools"] = option_shapes.as_entries(args.get("pools") or {})
        if uses_store(args):
            if args.get("floating_ips") is not None:
                raise exceptions.InvalidInput("floating_ips", "is read from the store: give one or the other")
            host = args.get("host") or self.host_name(task_vars)
            sent["floating_ips"] = floating_ips.host_bindings(self.store(args).snapshot(), host)
        return self.execute("floating_ip_nat", sent, task_vars)
