# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: guest_host_vars
short_description: Inventory variables that let Ansible log in to a built guest through its compute host
description:
  - C(ansible_host) is the guest's first fixed IP; C(ansible_user) the image's C(os_admin_user) property, or
    O(user).
  - The controller reaches the guest network through the compute host the guest runs on, given by its hostvars
    O(compute) - with SSH's C(ProxyJump) to a remote compute host, directly when the compute host is the controller
    itself, or through C(ip netns exec NETNS nc) when that one runs libvirtd inside C(nimbus_netns).
  - Host key checking is off for guests (C(StrictHostKeyChecking=no), no known_hosts file); new guests bring new
    host keys, and their addresses come back to later guests.
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
options:
  _input:
    description: The instance record, as the build steps return it.
    type: dict
    required: true
  compute:
    description: The hostvars of the compute host the instance runs on (C(hostvars[instance.host])).
    type: dict
    required: true
  user:
    description: The login user, instead of the image's C(os_admin_user) property.
    type: str
"""

EXAMPLES = r"""
- name: Add a guest to the inventory
  ansible.builtin.add_host:
    name: "{{ instance.name }}"
    groups: nimbus_instances
    ansible_host: "{{ guest.ansible_host }}"
    ansible_user: "{{ guest.ansible_user }}"
    ansible_ssh_common_args: "{{ guest.ansible_ssh_common_args }}"
  vars:
    guest: "{{ instance | nimbus.compute.guest_host_vars(hostvars[instance.host]) }}"
"""

RETURN = r"""
_value:
  description: C(ansible_host), C(ansible_connection), C(ansible_ssh_common_args), C(ansible_user) and the
    instance's C(nimbus_instance_uuid) and C(nimbus_compute_host).
  type: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute.guest_access import guest_host_vars


class FilterModule:
    def filters(self):
        return {"guest_host_vars": guest_host_vars}
