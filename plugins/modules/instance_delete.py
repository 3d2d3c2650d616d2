#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: instance_delete
short_description: Start and complete the delete of instances, as Nova's terminate_instance does
description:
  - The controller's two ends of a delete of one or more instances; in between, each compute host removes the
    domains (M(nimbus.compute.libvirt_domain)) and then the disks (M(nimbus.compute.block_device_map)) of all of its
    instances in one call each, with their options C(instances) and C(state=absent) (playbook
    C(nimbus.compute.delete_instance)).
  - O(phase=begin) moves every instance found to task_state C(deleting) in one store transaction (a build running at
    the same time loses its next compare-and-swap and removes what it made), starts its C(delete) action and
    notifies C(instance.delete.start), and returns the instances grouped by compute host in RV(hosts). An instance
    already being deleted goes on where its delete stopped. Names that match no instance are listed in RV(missing).
  - O(phase=complete) finishes the delete of each instance whose host removed its domain and disks (events
    C(shutdown_instance) and C(cleanup_instance) of its delete), or that never landed on a host. Its ports, MACs
    and IPs are released, its claim and server group membership dropped, its record marked C(deleted)
    (C(instance.delete.end)).
  - An instance its host did not clean up (the host could not be reached, or a step failed) stays in task_state
    C(deleting) with its claim and ports, is listed in RV(unfinished) with why, and the module fails naming it,
    after completing the others. Running the delete again once the host answers finishes it.
  - Runs on the controller, in the action plugin's process.
version_added: 0.2.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.notifications
attributes:
  check_mode:
    support: full
    description: Changes nothing; O(phase=complete) predicts every instance found deleted.
  diff_mode:
    support: none
    description: The change is the instances' records.
  idempotent:
    support: full
    description: Deleted instances are not found again; a delete stopped half way goes on.
options:
  instances:
    description:
      - Names or uuids of the instances. With O(phase=complete), the uuids O(phase=begin) returned.
    type: list
    elements: str
    required: true
  phase:
    description: V(begin) starts the deletes; V(complete) finishes those whose hosts removed everything.
    type: str
    required: true
    choices: [begin, complete]
"""

EXAMPLES = r"""
- name: Start the deletes
  nimbus.compute.instance_delete:
    store_path: "{{ nimbus_store_path }}"
    instances: [web-1, web-2]
    phase: begin
  register: deleting

- name: Remove the domains on each host
  nimbus.compute.libvirt_domain:
    store_path: "{{ nimbus_store_path }}"
    instances: "{{ item.value }}"
    state: absent
  delegate_to: "{{ item.key }}"
  loop: "{{ deleting.hosts | dict2items }}"
  ignore_errors: true

- name: Remove the disks on each host
  nimbus.compute.block_device_map:
    store_path: "{{ nimbus_store_path }}"
    instances: "{{ item.value }}"
    state: absent
  delegate_to: "{{ item.key }}"
  loop: "{{ deleting.hosts | dict2items }}"
  ignore_errors: true

- name: Release ports and claims, mark the instances deleted
  nimbus.compute.instance_delete:
    store_path: "{{ nimbus_store_path }}"
    instances: "{{ deleting.instances | map(attribute='uuid') }}"
    phase: complete
"""

RETURN = r"""
instances:
  description: The instances found, as O(phase=begin) left them.
  returned: with O(phase=begin)
  type: list
  elements: dict
hosts:
  description: The uuids of the instances each compute host holds.
  returned: with O(phase=begin)
  type: dict
  sample: {compute1: [2f5b0a8e-3a53-4f7e-9a62-0f3f0f2a1b11]}
missing:
  description: The names given that match no instance.
  returned: with O(phase=begin)
  type: list
  elements: str
deleted:
  description: The instances deleted (now or by an earlier run).
  returned: with O(phase=complete)
  type: list
  elements: dict
unfinished:
  description: The instances still on their hosts, left in task_state C(deleting).
  returned: with O(phase=complete)
  type: list
  elements: dict
  contains:
    name:
      description: The instance's name.
      type: str
    uuid:
      description: The instance's uuid.
      type: str
    host:
      description: The compute host that holds it.
      type: str
    reason:
      description: Which step did not remove it there, and why.
      type: str
firewall_refresh:
  description:
    - The instances whose rules name a group of the deleted ones as their remote group (their filters must drop the
      deleted members' addresses). One entry per compute host; run M(nimbus.compute.instance_firewall) there with its
      instances.
  returned: with O(phase=complete)
  type: list
  elements: dict
  contains:
    host:
      description: The compute host.
      type: str
    instances:
      description: The uuids of its instances whose filters change.
      type: list
      elements: str
nat_refresh:
  description:
    - The compute hosts where the deleted instances had floating IPs, now disassociated (they stay allocated to the
      project); run M(nimbus.compute.floating_ip_nat) there to drop their NAT (C(delete_instance.yml) does).
  returned: with O(phase=complete)
  type: list
  elements: str
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.INSTANCE_DELETE, controller.instance_delete)


if __name__ == "__main__":
    main()
