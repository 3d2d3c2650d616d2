#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: instance_info
short_description: Read instances, their states, faults and actions from the store
description:
  - Returns one instance by name or uuid, or every instance that is not deleted, with its vm, task and power
    states, host, network_info, block_device_info, fault and instance actions with per-step events, like
    C(nova show) and C(nova instance-action-list).
  - Runs on the controller (in the action plugin's process).
version_added: 0.1.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.quotas
attributes:
  check_mode:
    support: full
    description: The module only reads.
  diff_mode:
    support: none
    description: The module only reads.
  idempotent:
    support: full
    description: The module only reads.
options:
  name:
    description:
      - Name or uuid of the instance; all instances when omitted (and O(names) too). Excludes O(names).
      - A name that create would refuse (1-63 letters, digits and C(-), starting with a letter or digit) is
        refused, not looked up.
    type: str
  names:
    description:
      - Names of instances; the live instance of each that has one, in this order. Reads only those, where leaving
        out O(name) and O(names) returns every instance of the store.
      - Each name follows the rule of O(name).
    type: list
    elements: str
  project_id:
    description:
      - Also report this project's usage against its quotas (O(quotas)) in RV(limits), as C(nova limits) does.
    type: str
    version_added: 0.3.0
  include_deleted:
    description:
      - Also return deleted instances (Nova's C(--deleted)), oldest first. Returns every record of O(name) (or the
        one of that uuid), of each of O(names), or of the whole store. A deleted record keeps its actions and events.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Show what the project uses of its quotas
  nimbus.compute.instance_info:
    store_path: "{{ nimbus_store_path }}"
    names: []
    project_id: default
    quotas: "{{ nimbus_quotas['default'] | default({}) }}"
  register: usage

- name: Show one instance
  nimbus.compute.instance_info:
    store_path: "{{ nimbus_store_path }}"
    name: web1
  register: info
"""

RETURN = r"""
limits:
  description:
    - With O(project_id), each quota of the project with its C(limit) (V(-1) for unlimited) and what the project
      has C(in_use), counted from the store as the builds count it.
  returned: with O(project_id)
  type: dict
  sample:
    project_id: default
    absolute:
      instances: {limit: 10, in_use: 2}
      cores: {limit: 20, in_use: 2}
      ram: {limit: 51200, in_use: 512}
      server_groups: {limit: 10, in_use: 0}
instances:
  description:
    - The matching instances; empty when none matches.
    - Each instance that is not deleted has C(floating_ips), its floating IPs (C(floating_ip_address),
      C(fixed_ip_address), C(pool), C(port_id)), as M(nimbus.compute.floating_ip) associated them; in its
      C(network_info), each fixed IP lists them in C(floating_ips) (C(address), C(type=floating), C(version)), as
      Nova's network model does.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(
        argspecs.INSTANCE_INFO, controller.instance_info, mutually_exclusive=argspecs.INSTANCE_INFO_MUTUALLY_EXCLUSIVE
    )


if __name__ == "__main__":
    main()
