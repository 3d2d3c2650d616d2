# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall driver's filters in libvirt's nwfilter language (Nova's NWFilterFirewall).

- ``nimbus-base`` (setup_basic_filtering): libvirt's own filters against MAC,
  IP and ARP spoofing, and DHCP from the network's server only
  (``allow-dhcp-server`` with the port's ``DHCPSERVER``).
- ``nimbus-port-<port id>`` (prepare_instance_filter): one filter per instance
  port, built from the rules of the port's security groups: the base filter,
  DHCP to and from the network's server, an accept rule per security group
  rule (per member address for a ``remote_group`` rule), and a drop of
  everything else, both ways. nwfilter's iptables rules are stateful: an
  accepted connection's replies pass.
- The domain's interface references its port's filter with the port's address
  (``IP``) and its network's DHCP server (``DHCPSERVER``) as parameters; libvirt
  fills in ``MAC``. Redefining a port's filter applies to the running guest at
  once, without a restart.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.objects.security_group import (
    ICMP_PROTOCOLS,
    PROTOCOL_NUMBERS,
)
from ansible_collections.nimbus.compute.plugins.module_utils.virt.xmlutil import etree

BASE_FILTER = "nimbus-base"
PORT_FILTER_PREFIX = "nimbus-port-"
# libvirt's filters the base filter is made of (nwfilter's built-in set).
BASE_FILTER_REFS = ("no-mac-spoofing", "no-ip-spoofing", "no-arp-spoofing", "allow-dhcp-server")
# The order of a port filter's rules: DHCP first, then the groups' rules, the drop last.
DHCP_PRIORITY = 100
RULE_PRIORITY = 500
DROP_PRIORITY = 1000
# nwfilter's protocol elements (iptables and ip6tables matches) by IP protocol, for IPv4 and IPv6.
PROTOCOL_ELEMENTS = {
    "IPv4": {None: "all", 1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 50: "esp", 51: "ah", 132: "sctp", 136: "udplite"},
    "IPv6": {None: "all-ipv6", 58: "icmpv6", 6: "tcp-ipv6", 17: "udp-ipv6", 50: "esp-ipv6", 51: "ah-ipv6",
             132: "sctp-ipv6", 136: "udplite-ipv6"},
}  # fmt: skip
HOST_MASKS = {"IPv4": "32", "IPv6": "128"}


def port_filter_name(port_id: str) -> str:
    return f"{PORT_FILTER_PREFIX}{port_id}"


def _xml(element: Any) -> str:
    return etree.tostring(element, encoding="unicode", pretty_print=True)


def base_filter_xml() -> str:
    """``nimbus-base``: no MAC, IP or ARP spoofing, DHCP from the network's server only."""
    root = etree.Element("filter", name=BASE_FILTER, chain="root")
    for name in BASE_FILTER_REFS:
        etree.SubElement(root, "filterref", filter=name)
    return _xml(root)


def protocol_element(ethertype: str, protocol: str | int | None) -> str:
    """The nwfilter element that matches ``protocol`` (a name, a number, None for any) over ``ethertype``."""
    number = PROTOCOL_NUMBERS.get(protocol, protocol) if isinstance(protocol, str) else protocol
    return PROTOCOL_ELEMENTS[ethertype][number]


def _remotes(rule: dict[str, Any], group_addresses: dict[str, list[str]]) -> list[tuple[str, str] | None]:
    """The (address, mask) pairs a rule lets in or out: its prefix, its remote group's members, or any (None)."""
    if rule["remote_ip_prefix"] is not None:
        address, mask = rule["remote_ip_prefix"].split("/")
        return [(address, mask)]
    if rule["remote_group"] is not None:
        version = 6 if rule["ethertype"] == "IPv6" else 4
        members = [a for a in group_addresses.get(rule["remote_group"], []) if (":" in a) == (version == 6)]
        return [(address, HOST_MASKS[rule["ethertype"]]) for address in sorted(members)]
    return [None]


def _match(rule: dict[str, Any], remote: tuple[str, str] | None) -> dict[str, str]:
    """The attributes of a rule's protocol element: the remote side's address, the ports or the ICMP type."""
    ingress = rule["direction"] == "ingress"
    attributes: dict[str, str] = {}
    if remote is not None:
        side = "src" if ingress else "dst"
        attributes[f"{side}ipaddr"], attributes[f"{side}ipmask"] = remote
    low, high = rule["port_range_min"], rule["port_range_max"]
    if rule["protocol"] in ICMP_PROTOCOLS:
        if low is not None:
            attributes["type"] = str(low)
        if high is not None:
            attributes["code"] = str(high)
    elif low is not None:
        attributes["dstportstart"], attributes["dstportend"] = str(low), str(high)
    return attributes


def port_filter_xml(port_id: str, rules: list[dict[str, Any]], group_addresses: dict[str, list[str]]) -> str:
    """The filter of one port: the base filter, DHCP, the rules (checked by objects/security_group.py), drop.

    ``group_addresses`` gives each remote group's member addresses (a group without members lets nothing in).
    """
    root = etree.Element("filter", name=port_filter_name(port_id), chain="root")
    etree.SubElement(root, "filterref", filter=BASE_FILTER)
    dhcp_out = etree.SubElement(root, "rule", action="accept", direction="out", priority=str(DHCP_PRIORITY))
    etree.SubElement(dhcp_out, "udp", srcportstart="68", dstportstart="67")
    dhcp_in = etree.SubElement(root, "rule", action="accept", direction="in", priority=str(DHCP_PRIORITY))
    etree.SubElement(dhcp_in, "udp", srcipaddr="$DHCPSERVER", srcportstart="67", dstportstart="68")
    for rule in rules:
        element = protocol_element(rule["ethertype"], rule["protocol"])
        direction = "in" if rule["direction"] == "ingress" else "out"
        for remote in _remotes(rule, group_addresses):
            accept = etree.SubElement(root, "rule", action="accept", direction=direction, priority=str(RULE_PRIORITY))
            etree.SubElement(accept, element, **_match(rule, remote))
    for element in ("all", "all-ipv6"):
        drop = etree.SubElement(root, "rule", action="drop", direction="inout", priority=str(DROP_PRIORITY))
        etree.SubElement(drop, element)
    return _xml(root)


def interface_filterref(port_id: str, address: str, dhcp_server: str) -> Any:
    """The ``<filterref>`` of a domain's interface: its port's filter, with the port's IP and DHCP server."""
    ref = etree.Element("filterref", filter=port_filter_name(port_id))
    etree.SubElement(ref, "parameter", name="IP", value=address)
    etree.SubElement(ref, "parameter", name="DHCPSERVER", value=dhcp_server)
    return ref
