#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: floating_ip
short_description: Allocate, associate, disassociate and release floating IPs, as Neutron keeps them
description:
  - Keeps a project's floating IPs in the store, as C(openstack floating ip create), C(set --port) and C(unset
    --port) do, and as the openstack.cloud floating_ip module takes them.
  - A floating IP is allocated to a project from a pool (O(pools)) within the project's C(floating_ips) quota
    (O(quotas)), in the transaction that writes it; it stays the project's until it is released.
  - Associated with a fixed IP of an active instance, it is NAT on the instance's compute host; the module only
    changes the store and returns the hosts whose NAT changes (RV(nat_refresh)), where
    M(nimbus.compute.floating_ip_nat) applies it (C(playbooks/floating_ip.yml) does both).
  - The instance's security groups decide what reaches it through its floating IP, as through its fixed IP; the
    client's own address is kept, so a rule from its network (C(remote_ip_prefix)) lets it in.
  - Deleting an instance disassociates its floating IPs; they stay allocated to the project.
  - Runs on the controller (in the action plugin's process); no compute host is contacted.
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.quotas
  - nimbus.compute.floating_pools
attributes:
  check_mode:
    support: full
    description: Reports the floating IP as it would be, and the hosts whose NAT would change; writes nothing.
  diff_mode:
    support: full
    description: Shows the floating IP record before and after.
  idempotent:
    support: partial
    description:
      - A second run with the same O(instance) or O(floating_ip_address) changes nothing.
      - Without O(instance), O(floating_ip_address) is required, so that a second run does not allocate another one.
options:
  instance:
    description:
      - The instance (name or uuid) to associate a floating IP with (O(state=present)), or whose floating IPs to
        disassociate (O(state=absent)). It must be active, on its compute host, and of O(project_id).
    type: str
  floating_ip_address:
    description:
      - The floating IP. With O(state=present) it is allocated when no one holds it (it must be in a pool's
        ranges), and associated with O(instance) when given; a floating IP associated with another fixed IP is
        refused, never moved.
      - Without it, O(instance) keeps the floating IP of its fixed IP, or gets one (O(reuse), else a new one of
        O(pool)).
      - With O(state=absent) and no O(instance), it is released (disassociated first).
    type: str
  pool:
    description: The pool a new floating IP is allocated from; needed when O(pools) has more than one.
    type: str
  fixed_address:
    description: The instance's fixed IPv4 address to associate with; by default the first one of its first port.
    type: str
  reuse:
    description:
      - With O(instance) and no O(floating_ip_address), take a floating IP of the project that is not associated
        (of O(pool), when given) before allocating a new one.
    type: bool
    default: false
  purge:
    description: With O(state=absent) and O(instance), release the disassociated floating IPs too.
    type: bool
    default: false
  project_id:
    description: The project the floating IP and the instance belong to.
    type: str
    default: default
  state:
    description: V(present) allocates and associates; V(absent) disassociates (O(instance)) or releases.
    type: str
    default: present
    choices: [present, absent]
"""

EXAMPLES = r"""
- name: Give web1 a floating IP of the public pool
  nimbus.compute.floating_ip:
    store_path: "{{ nimbus_store_path }}"
    pools: "{{ nimbus_floating_pools }}"
    instance: web1
    pool: public
  register: web1_fip

- name: Apply the NAT on the compute hosts it changed
  nimbus.compute.floating_ip_nat:
    store_path: "{{ hostvars['localhost'].nimbus_store_path }}"
    pools: "{{ nimbus_floating_pools }}"
  delegate_to: "{{ item }}"
  loop: "{{ web1_fip.nat_refresh }}"

- name: Keep an address for the project, associated with nothing
  nimbus.compute.floating_ip:
    store_path: "{{ nimbus_store_path }}"
    pools: "{{ nimbus_floating_pools }}"
    floating_ip_address: 198.19.0.20

- name: Take web1's floating IPs away and release them
  nimbus.compute.floating_ip:
    store_path: "{{ nimbus_store_path }}"
    pools: "{{ nimbus_floating_pools }}"
    instance: web1
    state: absent
    purge: true
"""

RETURN = r"""
floating_ip:
  description:
    - The floating IP as the store holds it (the first of them when O(state=absent) names several); null when
      there is none, or it was released.
  returned: always
  type: dict
  sample:
    id: 3b0e2c5d-5f4e-4c1a-9a53-0d7c2f1e4b6a
    floating_ip_address: 198.19.0.10
    pool: public
    project_id: default
    port_id: 0f3c4b2a-9d1e-4e8f-a7b6-1c2d3e4f5a6b
    fixed_ip_address: 198.18.1.50
    instance_uuid: 6a2f...
    host: compute1
    status: ACTIVE
    created_at: "2026-12-06T10:00:00.000Z"
    updated_at: "2026-12-06T10:00:00.000Z"
nat_refresh:
  description:
    - The compute hosts whose NAT changes (empty when none does; C(playbooks/floating_ip.yml) applies them). Run
      M(nimbus.compute.floating_ip_nat) on each with the store.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.FLOATING_IP, controller.floating_ip)


if __name__ == "__main__":
    main()
