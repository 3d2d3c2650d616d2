# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bodies of the modules that report from a compute host: its resources (host_facts) and its guests' SSH."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import guest_wait
from ansible_collections.nimbus.compute.plugins.module_utils.virt import netns
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import open_connection
from ansible_collections.nimbus.compute.plugins.module_utils.virt.host import gather_host_facts


def host_facts(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """The host's resources from libvirt; an unreachable libvirt reports the host down."""
    del check_mode  # reading changes nothing
    inventory = {key: params[key] for key in ("availability_zone", "enabled", "traits")}
    if params.get("virt_type"):
        inventory["virt_type"] = params["virt_type"]
    try:
        conn = open_connection(params["uri"])
    except exceptions.VirtError as error:
        facts = {"up": False, "reason": error.message}
    else:
        try:
            facts = gather_host_facts(conn, params["instances_path"])
        finally:
            conn.close()
    facts.update(inventory, instances_path=params["instances_path"], uri=params["uri"])
    return {"changed": False, "ansible_facts": {"nimbus_host": facts}}


def instance_ssh_wait(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Wait until each guest answers on SSH; check mode waits for nothing (there may be no guest yet)."""
    guests = params["guests"]
    if check_mode:
        return {
            "changed": False,
            "guests": [{**guest, "ready": None, "seconds": None, "banner": None} for guest in guests],
        }
    if params.get("netns"):
        netns.enter(params["netns"])
    ready = guest_wait.wait_for_ssh(guests, params["port"], params["timeout"], params["console_lines"])
    return {"changed": False, "guests": ready}
