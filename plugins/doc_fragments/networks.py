# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  networks:
    description:
      - The networks a request may name, each with its C(name), usually the inventory variable C(nimbus_networks);
        a request's networks must be among them.
      - A mapping of names to networks, as the inventory writes it, is taken as this list, each key its entry's
        C(name).
    type: list
    elements: dict
    default: []
    version_added: 0.3.0
    suboptions:
      name:
        description: The network's name, as a request's C(networks[].network) gives it; unique in the list.
        type: str
        required: true
      cidr:
        description: The IPv4 subnet, for example C(198.18.10.0/24).
        type: str
        required: true
      gateway:
        description: The subnet's gateway; by default its first host address, as Neutron's.
        type: str
      dns:
        description: DNS servers the guests are given.
        type: list
        elements: str
        default: []
      mtu:
        description: The network's MTU, 68 to 65535.
        type: int
        default: 1500
      allocation_pools:
        description: The ranges fixed IPs are allocated from; by default the subnet without its gateway.
        type: list
        elements: dict
        suboptions: &address_range
          start:
            description: The range's first address.
            type: str
            required: true
          end:
            description: The range's last address.
            type: str
            required: true
      dhcp:
        description: Whether the guests get their IPv4 address by DHCP (libvirt's dnsmasq) rather than the drive.
        type: bool
        default: true
      libvirt_network:
        description: The libvirt network the ports plug into; by default the network's C(name). Excludes C(bridge).
        type: str
      bridge:
        description: A Linux bridge that exists on the compute hosts, instead of a libvirt network.
        type: str
      dhcp_range:
        description:
          - The libvirt network's dynamic DHCP range, for VMs nimbus.compute did not make; it is kept out of the
            allocation pools.
        type: dict
        suboptions: *address_range
      ipv6:
        description:
          - An IPv6 subnet on the same network; its addresses are static and reach the guest through
            C(network_data.json). A request's C(fixed_ip) may be IPv4 or IPv6.
        type: dict
        suboptions:
          cidr:
            description: The IPv6 subnet.
            type: str
            required: true
          gateway:
            description: The subnet's gateway; by default its first host address.
            type: str
          dns:
            description: IPv6 DNS servers.
            type: list
            elements: str
            default: []
          allocation_pools:
            description: The ranges IPv6 addresses are allocated from.
            type: list
            elements: dict
            suboptions: *address_range
"""
