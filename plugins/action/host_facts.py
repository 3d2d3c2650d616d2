# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_facts with a freshness-limited cache in the controller's store.

A module round trip costs about 0.28 s per host; facts younger than
``max_age`` seconds come from the store instead. Capacity in use is not a
fact but the store's claims, so a cached report never double-books a host.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs
from ansible_collections.nimbus.compute.plugins.module_utils.compute.host_cache import fresh_facts, inventory_facts
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import uses_store
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import NimbusAction


class ActionModule(NimbusAction):
    ARGUMENT_SPEC = argspecs.HOST_FACTS
    UNREACHABLE_FAILS = False

    def run_step(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        host = self.host_name(task_vars)
        store = self.store(args) if uses_store(args) else None
        if store is not None and args["max_age"] > 0:
            cached = fresh_facts(store.snapshot().host_facts(host), args["max_age"], self.now())
            if cached is not None:
                facts = {**cached, **inventory_facts(args)}
                return {"changed": False, "cached": True, "ansible_facts": {"nimbus_host": facts}}
        result = self.execute("host_facts", args, task_vars)
        facts = result["ansible_facts"]["nimbus_host"]
        if store is not None and facts.get("up") and not self.check_mode:
            with store.transaction() as state:
                state.set_host_facts(host, facts, self.now())
        result["cached"] = False
        return result
