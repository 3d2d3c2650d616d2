# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reaching a built guest over SSH: its address, its console, and how Ansible gets there.

The guest's network is the compute host's: a controller reaches it through
the compute host (SSH's ProxyJump), or, where the compute host is the
controller itself, directly or through ``ip netns exec`` when libvirtd runs
inside a network namespace.  The login user is the image's ``os_admin_user``
property (Nova's image property for the admin account; Debian's cloud images
use ``debian``).
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute.summary import fixed_ips
from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput

ADMIN_USER_PROPERTY = "os_admin_user"
CONSOLE_LOG = "console.log"
# New guests have new host keys, and their addresses come back to later
# guests: a known_hosts file would refuse the second guest on an address.
SSH_OPTIONS = ("-o StrictHostKeyChecking=no", "-o UserKnownHostsFile=/dev/null")


def guest_address(instance: dict[str, Any]) -> str:
    """The address SSH reaches the guest on: its first NIC's first fixed IP."""
    addresses = fixed_ips(instance)
    if not addresses:
        raise InvalidInput(f"instance {instance.get('name')}", "has no fixed IP to reach it on (no network_info)")
    return addresses[0]


def admin_user(instance: dict[str, Any]) -> str | None:
    """The image's ``os_admin_user`` property: whom Ansible logs in as, None when the image names nobody."""
    return ((instance.get("image") or {}).get("properties") or {}).get(ADMIN_USER_PROPERTY)


def wait_target(instance: dict[str, Any]) -> dict[str, Any]:
    """What instance_ssh_wait needs of a built instance: its name, uuid, address and console log."""
    instance_dir = (instance.get("block_device_info") or {}).get("instance_dir")
    return {
        "name": instance["name"],
        "uuid": instance["uuid"],
        "address": guest_address(instance),
        "console_log": os.path.join(instance_dir, CONSOLE_LOG) if instance_dir else None,
    }


def _proxy_args(compute: dict[str, Any]) -> list[str]:
    """SSH options that reach a guest network from the controller, through the compute host ``compute``."""
    if compute.get("ansible_connection") == "local":
        netns = compute.get("nimbus_netns")
        if not netns:
            return []
        # %h and %p are ssh's, filled in with the guest's address and port.
        return [f"-o ProxyCommand={shlex.quote(f'ip netns exec {shlex.quote(netns)} nc %h %p')}"]
    host = compute.get("ansible_host") or compute["inventory_hostname"]
    user = compute.get("ansible_user")
    port = compute.get("ansible_port")
    jump = f"{user}@{host}" if user else host
    return [f"-o ProxyJump={jump}:{port}" if port else f"-o ProxyJump={jump}"]


def guest_host_vars(instance: dict[str, Any], compute: dict[str, Any], user: str | None = None) -> dict[str, Any]:
    """Inventory variables for the guest of ``instance``, built on the compute host whose hostvars are ``compute``.

    ``user`` overrides the image's ``os_admin_user``.
    """
    login = user or admin_user(instance)
    host_vars: dict[str, Any] = {
        "ansible_host": guest_address(instance),
        "ansible_connection": "ssh",
        "ansible_ssh_common_args": " ".join([*_proxy_args(compute), *SSH_OPTIONS]),
        "nimbus_instance_uuid": instance["uuid"],
        "nimbus_compute_host": instance.get("host"),
    }
    if login:
        host_vars["ansible_user"] = login
    return host_vars
