#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: security_group
short_description: Create, change or delete a security group and its rules, as Neutron keeps them
description:
  - Keeps a security group of a project in the store, as C(openstack security group create) and C(openstack security
    group rule create) do. A rule lets traffic through the ports of the group's instances; everything else is
    dropped.
  - The rules are set whole, from O(rules); the set is checked as a whole (a bad, repeated or overlapping rule refuses
    all of it, naming C(rules[N].field)) and against the project's quotas C(security_groups) and
    C(security_group_rules) (O(quotas)), in the transaction that writes it, so nothing is applied half way.
  - A project's first security group operation creates its C(default) group, as Neutron does - all egress, and
    ingress from the instances of the same group. A new group without O(rules) gets Neutron's two egress rules.
  - A group is deleted only when no instance uses it and no rule of another group names it as its remote group;
    the default group is never deleted.
  - Runs on the controller (in the action plugin's process); no compute host is contacted.
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.quotas
attributes:
  check_mode:
    support: full
    description: Reports the group as it would be, the default group of a new project included; writes nothing.
  diff_mode:
    support: full
    description: Shows the group record before and after.
  idempotent:
    support: full
    description: A second run with the same name, description and rules changes nothing.
options:
  name:
    description: Name of the security group, unique in its project (or its uuid).
    type: str
    required: true
  project_id:
    description: The project the group belongs to.
    type: str
    default: default
  description:
    description: What the group is for, at most 255 characters; when not given, an existing group keeps its own.
    type: str
  rules:
    description:
      - The group's rules, all of them; when not given, an existing group keeps its own and a new one gets
        Neutron's egress rules. An empty list leaves the group without rules (all its ports' traffic dropped).
    type: list
    elements: dict
    suboptions:
      direction:
        description: V(ingress) (to the instance) or V(egress) (from it).
        type: str
        required: true
        choices: [ingress, egress]
      ethertype:
        description: The IP version of the traffic.
        type: str
        default: IPv4
        choices: [IPv4, IPv6]
      protocol:
        description:
          - V(tcp), V(udp), V(icmp), V(icmpv6), V(any), or an IP protocol number libvirt can match (1, 2, 6, 17, 50,
            51, 58, 132, 136); by default any protocol.
        type: str
      port_range_min:
        description: The first port of a tcp or udp rule (1-65535), or the ICMP type (0-255).
        type: int
      port_range_max:
        description: The last port of a tcp or udp rule, or the ICMP code.
        type: int
      remote_ip_prefix:
        description: The remote end's network (a CIDR of the rule's ethertype); excludes C(remote_group).
        type: str
      remote_group:
        description: The remote end is the instances of this group of the same project (it may be this group).
        type: str
      description:
        description: What the rule is for, at most 255 characters.
        type: str
  state:
    description: V(present) creates or changes the group; V(absent) deletes it.
    type: str
    default: present
    choices: [present, absent]
"""

EXAMPLES = r"""
- name: Let the world reach the web servers on 80 and 443, and ping them
  nimbus.compute.security_group:
    store_path: "{{ nimbus_store_path }}"
    name: web
    description: public web servers
    rules:
      - {direction: egress}
      - {direction: ingress, protocol: tcp, port_range_min: 80, port_range_max: 80, remote_ip_prefix: 0.0.0.0/0}
      - {direction: ingress, protocol: tcp, port_range_min: 443, port_range_max: 443, remote_ip_prefix: 0.0.0.0/0}
      - {direction: ingress, protocol: icmp, port_range_min: 8, remote_ip_prefix: 0.0.0.0/0}

- name: Let only the web servers reach the databases' PostgreSQL port
  nimbus.compute.security_group:
    store_path: "{{ nimbus_store_path }}"
    name: db
    rules:
      - {direction: egress}
      - {direction: ingress, protocol: tcp, port_range_min: 5432, port_range_max: 5432, remote_group: web}

- name: Delete a group no instance uses
  nimbus.compute.security_group:
    store_path: "{{ nimbus_store_path }}"
    name: old
    state: absent
"""

RETURN = r"""
security_group:
  description: The group as the store holds it; null when there is none after O(state=absent).
  returned: always
  type: dict
  sample:
    uuid: 0c4b2f64-1a9e-4a55-9d1e-5a7f3d2b8e10
    name: db
    project_id: default
    description: ""
    rules:
      - {direction: ingress, ethertype: IPv4, protocol: tcp, port_range_min: 5432, port_range_max: 5432,
         remote_ip_prefix: null, remote_group: web, remote_group_id: 5d2c..., description: ""}
    revision_number: 2
    created_at: "2026-12-06T10:00:00.000Z"
    updated_at: "2026-12-06T10:05:00.000Z"
firewall_refresh:
  description:
    - The group's instances on their hosts, when its rules changed (empty otherwise; C(playbooks/security_group.yml)
      applies them). One entry per compute host; run M(nimbus.compute.instance_firewall) there with its instances.
  returned: always
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
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.SECURITY_GROUP, controller.security_group)


if __name__ == "__main__":
    main()
