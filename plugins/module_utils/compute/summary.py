# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an operator wants to see of an instance at a glance."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute.host_cache import parse_time
from ansible_collections.nimbus.compute.plugins.module_utils.objects.states import POWER_STATE_NAMES


def fixed_ips(instance: dict[str, Any]) -> list[str]:
    return [
        ip["address"]
        for vif in instance.get("network_info") or []
        for subnet in vif["network"]["subnets"]
        for ip in subnet["ips"]
    ]


def step_seconds(instance: dict[str, Any]) -> dict[str, float]:
    """Seconds each step of the latest action took, by event name."""
    actions = instance.get("actions") or []
    if not actions:
        return {}
    return {
        event["event"]: round((parse_time(event["finish_time"]) - parse_time(event["start_time"])).total_seconds(), 3)
        for event in actions[-1].get("events", [])
        if event.get("finish_time")
    }


def instance_summary(instance: dict[str, Any]) -> dict[str, Any]:
    power_state = instance.get("power_state", 0)
    return {
        "uuid": instance["uuid"],
        "name": instance["name"],
        "host": instance.get("host"),
        "ip_addresses": fixed_ips(instance),
        "vm_state": instance["vm_state"],
        "task_state": instance.get("task_state"),
        "power_state": power_state,
        "power_state_name": POWER_STATE_NAMES.get(power_state, str(power_state)),
        "flavor": (instance.get("flavor") or {}).get("name"),
        "image": (instance.get("image") or {}).get("name"),
        "fault": instance.get("fault"),
        "created_at": instance.get("created_at"),
        "launched_at": instance.get("launched_at"),
        "step_seconds": step_seconds(instance),
    }
