#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: instance_firewall
short_description: Apply changed security group rules to running guests, as refresh_instance_security_rules does
description:
  - Redefines the network filters (libvirt nwfilter) of instances' ports on their compute host from their security
    groups as the store has them now; libvirt applies a redefined filter to the running guest at once, without a
    restart. Run it on each host that M(nimbus.compute.security_group) names in
    RV(nimbus.compute.security_group#module:firewall_refresh) after a change of rules (C(playbooks/security_group.yml)
    does), and after builds and deletes for the instances whose rules name the changed groups as remote groups
    (C(playbooks/create_instance.yml) and C(playbooks/delete_instance.yml) do).
  - First defines the base filters every port's filter builds on, C(nimbus-base) and C(nimbus-nodhcp) (libvirt's
    filters against MAC, IP and ARP spoofing, and DHCP from the network's server only), when they are missing or
    different, as Nova's setup_basic_filtering does; with an empty O(instances) that is all it does (the
    host preparation, the C(nimbus.compute.compute_host) role, runs it so).
  - Only the filters the instance's domain on this host references are redefined; an instance whose domain is not
    here, not nimbus's, or has no filters (built before security groups) is left alone and reported unchanged.
  - With a store (O(store_path) or O(store_url)), O(instances) gives the instances' uuids and the action plugin adds
    each one's rules from the store. Without a store, each record must carry C(network_info) and C(firewall).
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.instance_record
  - nimbus.compute.libvirt
  - nimbus.compute.store
attributes:
  check_mode:
    support: full
    description: Reports the filters that would be redefined; defines nothing.
  diff_mode:
    support: none
    description: Reports the names of the filters it redefines, not their XML.
  idempotent:
    support: full
    description: A filter already defined with the same rules is not redefined.
requirements:
  - lxml
"""

EXAMPLES = r"""
- name: Change the web group's rules
  nimbus.compute.security_group:
    store_path: "{{ nimbus_store_path }}"
    name: web
    rules:
      - {direction: egress}
      - {direction: ingress, protocol: tcp, port_range_min: 443, port_range_max: 443}
  register: web_group

- name: Apply them to the running guests, one call per compute host
  nimbus.compute.instance_firewall:
    store_path: "{{ nimbus_store_path }}"
    instances: "{{ item.instances }}"
  delegate_to: "{{ item.host }}"
  loop: "{{ web_group.firewall_refresh }}"
"""

RETURN = r"""
base_filters:
  description: The base filters (C(nimbus-base), C(nimbus-nodhcp)) defined because they were missing or different.
  returned: always
  type: list
  elements: str
instances:
  description: One entry per instance, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    uuid:
      description: The instance's uuid.
      type: str
    changed:
      description: Whether a filter of its ports was redefined.
      type: bool
    filters:
      description: The names of the filters redefined.
      type: list
      elements: str
    failed:
      description: Whether the refresh failed for it.
      type: bool
    msg:
      description: Why it failed.
      type: str
      returned: when it failed
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, host_domains
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR
from ansible_collections.nimbus.compute.plugins.module_utils.virt.xmlutil import HAS_LXML, LXML_IMPORT_ERROR


def main() -> None:
    run_module(
        argspecs.INSTANCE_FIREWALL,
        host_domains.instance_firewall,
        [("libvirt-python", HAS_LIBVIRT, LIBVIRT_IMPORT_ERROR), ("lxml", HAS_LXML, LXML_IMPORT_ERROR)],
        **argspecs.ONE_OR_MORE_INSTANCES,
    )


if __name__ == "__main__":
    main()
