# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IP protocols of security group rules: what the controller checks and the compute host's firewall matches.

No imports: the firewall driver (virt/firewall.py) runs on the compute host, where the controller's code is not sent.
"""

from __future__ import annotations

# Neutron's protocol names and their IP protocol numbers.
PROTOCOL_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}
PROTOCOL_NAMES = {number: name for name, number in PROTOCOL_NUMBERS.items()}
# The IP protocols libvirt's nwfilter can match (virt/firewall.py): icmp, igmp, tcp, udp, esp, ah, icmpv6,
# sctp, udplite. A rule for another one could never be applied, so it is refused.
MATCHABLE_PROTOCOL_NUMBERS = frozenset({1, 2, 6, 17, 50, 51, 58, 132, 136})
PORT_PROTOCOLS = ("tcp", "udp")
ICMP_PROTOCOLS = ("icmp", "icmpv6")
