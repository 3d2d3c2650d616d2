# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""host_facts with a freshness-limited cache in the controller's store.

A module round trip costs about 0.28 s per host; facts younger than
``max_age`` seconds come from the store instead. Every report this run
makes is written to the store, a host that is down (libvirtd not answering,
or the host not reached) too: the scheduler reads the reports from there
(host_cache.reports_from_store). Capacity in use is not a
fact but the store's claims, so a cached report never double-books a host.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleConnectionFailure

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
                if facts != cached and not self.check_mode:
                    # The inventory changed (a host disabled, say): the store's report says so too, as old as it was.
                    with store.transaction() as state:
                        state.set_host_facts(host, facts, cached["updated_at"])
                return {"changed": False, "cached": True, "ansible_facts": {"nimbus_host": facts}}
        try:
            result = self.execute("host_facts", args, task_vars)
        except AnsibleConnectionFailure as error:
            # Down for the scheduler, which reads the reports from the store; Ansible still marks it unreachable.
            self.record(
                store, host, {"up": False, "reason": f"compute host {host} could not be reached: {error}"}, args
            )
            raise
        facts = result["ansible_facts"]["nimbus_host"]
        # Up or down (libvirtd not answering), the store has this run's word on the host.
        self.record(store, host, facts, args)
        result["cached"] = False
        return result

    def record(self, store, host: str | None, facts: dict[str, Any], args: dict[str, Any]) -> None:
        if store is None or self.check_mode or host is None:
            return
        with store.transaction() as state:
            state.set_host_facts(host, {**facts, **inventory_facts(args)}, self.now())
