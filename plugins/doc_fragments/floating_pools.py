# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  pools:
    description:
      - The floating IP pools, for example the inventory variable C(nimbus_floating_pools), a mapping of each pool's
        name to its fields (a list of entries with C(name) is taken too).
      - A pool is an IPv4 network reached through the same external interface on every compute host; floating IPs are
        allocated from its ranges, which belong to nimbus.compute alone (an address of them on the interface is taken
        as one of ours).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The name of the pool, as the floating IP records name it.
        type: str
        required: true
      cidr:
        description: The external IPv4 network, for example C(198.19.0.0/24).
        type: str
        required: true
      interface:
        description:
          - The compute hosts' interface on that network (a bridge or NIC, at most 15 characters); floating IPs are
            bound to it as /32 addresses.
        type: str
        required: true
      allocation_pools:
        description: The ranges floating IPs are taken from; by default every address of O(pools[].cidr) but its
          first and last.
        type: list
        elements: dict
        suboptions:
          start:
            description: The range's first address.
            type: str
            required: true
          end:
            description: The range's last address.
            type: str
            required: true
"""
