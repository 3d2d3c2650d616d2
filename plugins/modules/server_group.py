#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: server_group
short_description: Create or delete a server group, the policy over where its members may land
description:
  - Keeps a server group in the store, as Nova's C(openstack server group create) does. Instances join a group
    through the C(scheduler_hints.group) of their build request (M(nimbus.compute.host_select)), and leave it
    when they are deleted.
  - The scheduler's C(ServerGroupAffinityFilter) keeps the members of an C(affinity) group on one host, and
    C(ServerGroupAntiAffinityFilter) puts at most C(rules.max_server_per_host) members of an C(anti-affinity)
    group on one host. The C(soft-affinity) and C(soft-anti-affinity) policies only weigh hosts, so a build never
    fails for them.
  - A group's policy and rules cannot change, as in Nova; delete the group and create it again.
  - Runs on the controller (in the action plugin's process); no compute host is contacted.
version_added: 0.2.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.quotas
attributes:
  check_mode:
    support: full
    description: Reports whether the group would be created or deleted; writes nothing.
  diff_mode:
    support: full
    description: Shows the group record before and after.
  idempotent:
    support: full
    description: A second run with the same name, policy and rules changes nothing.
options:
  name:
    description: Name (or, to delete, uuid) of the server group; names are unique in the store.
    type: str
    required: true
  policy:
    description:
      - Where the members may land. Required to create a group; when the group exists it must be the same.
    type: str
    choices: [affinity, anti-affinity, soft-affinity, soft-anti-affinity]
  project_id:
    description:
      - The project the group belongs to. A new group must fit the project's C(server_groups) quota (O(quotas));
        a group of another project by this name is refused.
    type: str
    default: default
    version_added: 0.3.0
  rules:
    description: Rules of the policy (Nova's server group rules); only V(anti-affinity) takes one.
    type: dict
    suboptions:
      max_server_per_host:
        description: The most members one host may hold, from 1 to 1000 (1 when not given); V(anti-affinity) only.
        type: int
  state:
    description: V(present) creates the group; V(absent) deletes it (its members stay, outside any group).
    type: str
    default: present
    choices: [present, absent]
"""

EXAMPLES = r"""
- name: Keep the three database servers on different hosts
  nimbus.compute.server_group:
    store_path: "{{ nimbus_store_path }}"
    name: db
    policy: anti-affinity

- name: Allow at most two web servers per host
  nimbus.compute.server_group:
    store_path: "{{ nimbus_store_path }}"
    name: web
    policy: anti-affinity
    rules:
      max_server_per_host: 2

- name: Build a member of the group
  nimbus.compute.host_select:
    store_path: "{{ nimbus_store_path }}"
    request:
      name: db1
      flavor: m1.small
      image: nimbus-tiny
      networks:
        - network: private
      scheduler_hints:
        group: db
    flavors: "{{ nimbus_flavors }}"
    images: "{{ nimbus_images }}"
    networks: "{{ nimbus_networks }}"
    hosts: "{{ nimbus_host_reports }}"

- name: Delete the group
  nimbus.compute.server_group:
    store_path: "{{ nimbus_store_path }}"
    name: db
    state: absent
"""

RETURN = r"""
server_group:
  description: The group as the store holds it; null when there is none after O(state=absent).
  returned: always
  type: dict
  sample:
    uuid: 5a0b7e4c-3b9f-4f0e-8d1a-2c6f3e9b1a77
    name: db
    policy: anti-affinity
    rules: {max_server_per_host: 1}
    members: [2f5b0a8e-3a53-4f7e-9a62-0f3f0f2a1b11]
    created_at: "2026-11-23T10:00:00.000Z"
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.SERVER_GROUP, controller.server_group)


if __name__ == "__main__":
    main()
