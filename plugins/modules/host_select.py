#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: host_select
short_description: Schedule an instance on a compute host and claim its resources, as Nova's scheduler does
description:
  - Validates the build request, creates the instance record in the store (vm_state C(building), task_state
    C(scheduling)), filters the compute hosts and weighs the ones that pass, then claims the chosen host's vcpus,
    memory and disk for the instance in the same store transaction, so concurrent runs never over-commit a host.
  - When no host fits, fails with C(No valid host was found), naming every host and why it was rejected, and
    records the fault on the instance (vm_state C(error)).
  - A request whose C(name) is already an active instance changes nothing and returns that instance.
  - With O(state=absent), drops the instance's claim; when the instance is being deleted this completes the delete.
  - Runs on the controller, in the action plugin's process; no compute host is contacted.
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
attributes:
  check_mode:
    support: full
    description: Reports whether an instance would be created and claimed; writes nothing.
  diff_mode:
    support: none
    description: The change is the instance record, returned as RV(instance).
  idempotent:
    support: full
    description: A second run for the same name returns the existing instance with C(changed=false).
options:
  flavors:
    description:
      - Flavors by name, usually the inventory variable C(nimbus_flavors).
      - Each has C(vcpus), C(memory_mb), C(root_gb), and optionally C(ephemeral_gb), C(swap_mb), C(extra_specs).
    type: dict
    default: {}
  hosts:
    description:
      - Compute hosts by inventory name, each with its C(nimbus_host) fact from M(nimbus.compute.host_facts).
    type: dict
    default: {}
  images:
    description:
      - Images by name, usually C(nimbus_images); each has C(source) (path or URL), C(sha256), C(disk_format).
    type: dict
    default: {}
  name:
    description: Name or uuid of the instance whose claim to drop, with O(state=absent).
    type: str
  networks:
    description: Networks by name, usually C(nimbus_networks); the request's networks must be among them.
    type: dict
    default: {}
  request:
    description:
      - The build request, required with O(state=present).
      - Keys C(name), C(flavor), C(image), C(networks) (a list of C({network, fixed_ip})), and optionally
        C(availability_zone), C(key_name), C(public_keys), C(metadata). Secrets do not belong here; pass
        C(user_data) and C(admin_pass) to M(nimbus.compute.block_device_map).
    type: dict
  scheduler:
    description:
      - Scheduler settings in Nova's names, for example C(cpu_allocation_ratio) (4.0), C(ram_allocation_ratio)
        (1.0), C(disk_allocation_ratio) (1.0), C(reserved_host_memory_mb) (512), C(enabled_filters),
        C(ram_weight_multiplier), C(host_subset_size), C(max_attempts).
    type: dict
    default: {}
  state:
    description: V(present) schedules and claims; V(absent) drops the claim.
    type: str
    default: present
    choices: [present, absent]
"""

EXAMPLES = r"""
- name: Schedule an instance on one of the compute hosts
  nimbus.compute.host_select:
    store_path: "{{ nimbus_store_path }}"
    request:
      name: web1
      flavor: m1.tiny
      image: nimbus-tiny
      networks:
        - network: private
    flavors: "{{ nimbus_flavors }}"
    images: "{{ nimbus_images }}"
    networks: "{{ nimbus_networks }}"
    hosts: "{{ dict(groups['compute'] | zip(groups['compute'] | map('extract', hostvars, 'nimbus_host'))) }}"
  register: scheduled

- name: Drop the claim of a failed build
  nimbus.compute.host_select:
    store_path: "{{ nimbus_store_path }}"
    name: web1
    state: absent
"""

RETURN = r"""
instance:
  description: The instance record as the store holds it.
  returned: always
  type: dict
  sample:
    uuid: 2f5b0a8e-3a53-4f7e-9a62-0f3f0f2a1b11
    name: web1
    host: compute1
    vm_state: building
    task_state: scheduling
host:
  description: The chosen compute host.
  returned: with O(state=present)
  type: str
  sample: compute1
alternates:
  description: Alternate hosts for a reschedule, best first.
  returned: with O(state=present)
  type: list
  elements: str
  sample: [compute2, compute3]
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.HOST_SELECT, controller.host_select, required_if=argspecs.HOST_SELECT_REQUIRED_IF)


if __name__ == "__main__":
    main()
