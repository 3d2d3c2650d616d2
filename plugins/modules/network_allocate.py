#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: network_allocate
short_description: Allocate ports, MACs and IPs for an instance, as Nova's allocate_for_instance does
description:
  - For each network the instance requested, in order, creates a port with an id, a MAC unique in the store
    (C(fa:16:3e:xx:xx:xx)) and the lowest free address of the network's allocation pools, or the requested fixed IP
    when it lies inside the subnet and is free.
  - Returns Nova-shaped C(network_info). Allocating again for the same instance returns the same ports.
  - All or nothing; a failure records the fault on the instance and leaves nothing allocated.
  - With O(state=absent), releases every port, MAC and IP of the instance.
  - Runs on the controller, in the action plugin's process; the addresses live in the store.
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.networks
  - nimbus.compute.notifications
attributes:
  check_mode:
    support: full
    description: Reports whether ports would be allocated or released; writes nothing.
  diff_mode:
    support: none
    description: The change is RV(network_info).
  idempotent:
    support: full
    description: Ports already allocated for the instance are returned unchanged.
options:
  instance:
    description: Name or uuid of the instance in the store. Exactly one of O(instance) and O(instances).
    type: str
  instances:
    description:
      - A build round's networking step for the uuids of the run's instances (playbook
        C(nimbus.compute.create_instance)), with O(state=present) only. The instances waiting for this step are
        allocated their ports, the active ones keep theirs; one instance's failure is recorded on it for the round's
        end (M(nimbus.compute.reschedule)) and does not stop the others, and the module then fails naming each.
    type: list
    elements: str
  state:
    description: V(present) allocates; V(absent) releases.
    type: str
    default: present
    choices: [present, absent]
"""

EXAMPLES = r"""
- name: Allocate the instance's ports
  nimbus.compute.network_allocate:
    store_path: "{{ nimbus_store_path }}"
    instance: web1
    networks: "{{ nimbus_networks }}"
  register: ports

- name: Release them
  nimbus.compute.network_allocate:
    store_path: "{{ nimbus_store_path }}"
    instance: web1
    state: absent
"""

RETURN = r"""
instances:
  description: With O(instances), one entry per instance the step worked on (C(uuid), C(changed), C(failed), C(msg)).
  returned: with O(instances)
  type: list
  elements: dict
network_info:
  description: One VIF per requested network, in Nova's network model.
  returned: with O(instance)
  type: list
  elements: dict
  sample:
    - id: 0c6b6c64-0b5c-4a0e-8f1e-1a2b3c4d5e6f
      address: fa:16:3e:12:34:56
      network:
        id: private
        subnets:
          - cidr: 198.18.0.0/24
            ips: [{address: 198.18.0.10, type: fixed, version: 4}]
instance:
  description: The instance record after the step, or null when it does not exist.
  returned: with O(instance)
  type: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.NETWORK_ALLOCATE, controller.network_allocate, **argspecs.ONE_OR_MORE_INSTANCES)


if __name__ == "__main__":
    main()
