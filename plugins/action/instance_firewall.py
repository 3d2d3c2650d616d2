# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""instance_firewall on the compute host, each instance's rules read from the controller's store.

With a store, the instances are given by uuid: each goes to the host with its compute view and its firewall as
libvirt_domain's spawn gets them (security_groups.instance_firewall); an instance the store no longer has, or that
is being deleted, is reported unchanged without asking the host; a uuid the store never had is refused.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, flow, security_groups
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_failure import instances_result
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import uses_store
from ansible_collections.nimbus.compute.plugins.plugin_utils.instance_list_step import uuid_of
from ansible_collections.nimbus.compute.plugins.plugin_utils.nimbus_action import NimbusAction


class ActionModule(NimbusAction):
    ARGUMENT_SPEC = argspecs.INSTANCE_FIREWALL
    MUTUALLY_EXCLUSIVE = argspecs.ONE_OR_MORE_INSTANCES["mutually_exclusive"]
    REQUIRED_ONE_OF = argspecs.ONE_OR_MORE_INSTANCES["required_one_of"]

    def run_step(self, args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        if not uses_store(args):
            return self.execute("instance_firewall", args, task_vars)
        state = self.store(args).snapshot()
        outcomes: dict[str, dict[str, Any]] = {}
        records = []
        field, given = (
            ("instance", [args["instance"]]) if args.get("instances") is None else ("instances", args["instances"])
        )
        uuids = [uuid_of(item, field) for item in given]
        for index, uuid in enumerate(uuids):
            instance = flow.find_instance(state, uuid)
            if instance is None and state.get_instance(uuid) is None:
                where = field if field == "instance" else f"instances[{index}]"
                raise exceptions.InvalidInput(where, f"names no instance of the store: {exceptions.shown(uuid)}")
            if instance is None or flow.is_being_deleted(instance):
                outcomes[uuid] = {"uuid": uuid, "failed": False, "changed": False, "filters": []}
                continue
            records.append(security_groups.host_record(state, instance))
        # Run with no instance too: the host's base filters are defined either way.
        sent = {key: value for key, value in args.items() if key != "instance"}
        result = self.execute("instance_firewall", {**sent, "instances": records}, task_vars)
        outcomes.update((entry["uuid"], entry) for entry in result["instances"])
        ordered = instances_result([outcomes[uuid] for uuid in uuids])
        return {
            **ordered,
            "changed": ordered["changed"] or bool(result["base_filters"]),
            "base_filters": result["base_filters"],
        }
