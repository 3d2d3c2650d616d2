#!/usr/bin/python
# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
module: floating_ip_nat
short_description: NAT the floating IPs of the instances of a compute host, as the Nova network service did
description:
  - Makes the NAT of a compute host exactly that of the floating IPs associated with its instances, as
    nova-network's linux_net did - each floating IP bound to its pool's interface (a /32 address), DNAT to the
    fixed IP, SNAT of the instance's own connections out of that interface, and forwarding between the two.
  - The rules live in chains of their own (C(nimbus-floating-dnat), C(nimbus-floating-snat) in the nat table,
    C(nimbus-floating-fwd) in the filter table), each jumped to first from its built-in chain; they are rewritten
    whole, and not at all when they hold what they should. Enables IPv4 forwarding when a floating IP is bound.
  - Routed traffic does not pass the guest's network filter, so the forwarding chain applies the instance's
    security group rules itself - ingress rules from an address prefix or from anywhere, egress rules, replies;
    the rest of that traffic is dropped. An instance without security groups is not filtered.
  - Only its own chains and jumps, and /32 addresses inside the pools' ranges, are ever changed or removed.
  - With a store, the floating IPs are the store's for O(host); host preparation (C(playbooks/prepare_hosts.yml))
    runs it so that a rebooted host gets its NAT back.
version_added: 0.3.0
author: nimbus.compute developers (@nimbus-compute)
extends_documentation_fragment:
  - nimbus.compute.store
  - nimbus.compute.floating_pools
attributes:
  check_mode:
    support: full
    description: Reports what would change on the host; changes nothing.
  diff_mode:
    support: none
    description: Reports what changed in its return values instead.
  idempotent:
    support: full
    description: A second run with the same floating IPs changes nothing.
requirements:
  - iptables (with iptables-restore) and iproute2 on the compute host
options:
  floating_ips:
    description:
      - The floating IPs of the host's instances, when no store is given.
      - With a store they are read from it (those associated with instances on O(host)); giving both is refused.
    type: list
    elements: dict
    suboptions:
      floating_ip_address:
        description: The floating IP, inside the ranges of its pool.
        type: str
        required: true
      fixed_ip_address:
        description: The fixed IP of the instance's port it is associated with.
        type: str
        required: true
      pool:
        description: The pool (of O(pools)) it was allocated from.
        type: str
        required: true
      rules:
        description:
          - The rules of the instance's security groups, as the store gives them; null or not given lets all
            traffic through.
        type: list
        elements: dict
        suboptions:
          direction:
            description: V(ingress) or V(egress).
            type: str
            required: true
            choices: [ingress, egress]
          ethertype:
            description: V(IPv4) or V(IPv6) (IPv6 rules do not apply to floating IPs).
            type: str
            default: IPv4
          protocol:
            description: V(tcp), V(udp), V(icmp), V(any), a protocol number, or null for any.
            type: str
          port_range_min:
            description: The first port, or the ICMP type.
            type: int
          port_range_max:
            description: The last port, or the ICMP code.
            type: int
          remote_ip_prefix:
            description: The remote end's network; null for anywhere.
            type: str
          remote_group_id:
            description: The remote group's uuid; such a rule matches fixed IPs only, never a floating IP's client.
            type: str
  host:
    description: With a store, the compute host whose floating IPs to apply; by default the inventory host.
    type: str
  netns:
    description:
      - The network namespace the host's libvirtd and its bridges live in (the inventory variable C(nimbus_netns));
        the NAT is made there.
    type: str
"""

EXAMPLES = r"""
- name: Restore the NAT of every compute host's floating IPs
  nimbus.compute.floating_ip_nat:
    store_path: "{{ hostvars['localhost'].nimbus_store_path }}"
    pools: "{{ nimbus_floating_pools }}"
    netns: "{{ nimbus_netns | default(omit) }}"
"""

RETURN = r"""
floating_ips:
  description: The floating IPs the host NATs now.
  returned: always
  type: list
  elements: str
  sample: [198.19.0.10]
rules_changed:
  description: Whether the chains were rewritten.
  returned: always
  type: bool
jumps_placed:
  description: The jumps to our chains that were missing or not first, as C(table BUILTIN -> chain).
  returned: always
  type: list
  elements: str
addresses_added:
  description: The floating IPs bound to their interface now.
  returned: always
  type: list
  elements: str
addresses_removed:
  description: The /32 addresses of the pools' ranges no floating IP of the host holds any more.
  returned: always
  type: list
  elements: str
ip_forward_enabled:
  description: Whether IPv4 forwarding was off and is on now.
  returned: always
  type: bool
rules:
  description: The rules of the chains, by table and chain, as iptables-restore took them.
  returned: always
  type: dict
"""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import argspecs, host_nat
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_runner import run_module


def main() -> None:
    run_module(argspecs.FLOATING_IP_NAT, host_nat.floating_ip_nat)


if __name__ == "__main__":
    main()
