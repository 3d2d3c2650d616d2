# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall driver's filters in libvirt's nwfilter language (Nova's NWFilterFirewall).

- ``nimbus-base`` (setup_basic_filtering): libvirt's own filters against MAC,
  IP and ARP spoofing, and DHCP from the network's server only
  (``allow-dhcp-server`` with the port's ``DHCPSERVER``); ``nimbus-nodhcp`` the
  same without DHCP, for a port whose network has no DHCP server (Nova's
  nova-base and nova-nodhcp).
- ``nimbus-port-<port id>`` (prepare_instance_filter): one filter per instance
  port, built from the rules of the port's security groups: the base filter,
  DHCP to and from the network's server (when it has one), an accept rule per
  security group rule (per member address for a rule with a remote group), and a drop of
  everything else, both ways. nwfilter's iptables rules are stateful: an
  accepted connection's replies pass.
- The domain's interface references its port's filter with the port's address
  (``IP``) and its network's DHCP server (``DHCPSERVER``) as parameters; libvirt
  fills in ``MAC``. Redefining a port's filter applies to the running guest at
  once, without a restart.

Only filters with these names are ever defined or undefined: a port's filter
is named by its port's uuid, which the store gives the port.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import VirtError
from ansible_collections.nimbus.compute.plugins.module_utils.objects.ip_protocols import (
    ICMP_PROTOCOLS,
    PROTOCOL_NUMBERS,
)
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import libvirt, lookup_or_none, virt_error
from ansible_collections.nimbus.compute.plugins.module_utils.virt.xmlutil import etree

BASE_FILTER = "nimbus-base"
NODHCP_FILTER = "nimbus-nodhcp"
PORT_FILTER_PREFIX = "nimbus-port-"
# libvirt's filters the base filter is made of (nwfilter's built-in set).
BASE_FILTER_REFS = {
    BASE_FILTER: ("no-mac-spoofing", "no-ip-spoofing", "no-arp-spoofing", "allow-dhcp-server"),
    NODHCP_FILTER: ("no-mac-spoofing", "no-ip-spoofing", "no-arp-spoofing"),
}
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


def base_filters() -> list[tuple[str, str]]:
    """(name, XML) of ``nimbus-base`` and ``nimbus-nodhcp``: no MAC, IP or ARP spoofing; DHCP from the server only."""
    filters = []
    for name, refs in BASE_FILTER_REFS.items():
        root = etree.Element("filter", name=name, chain="root")
        for ref in refs:
            etree.SubElement(root, "filterref", filter=ref)
        filters.append((name, _xml(root)))
    return filters


def protocol_element(ethertype: str, protocol: str | int | None) -> str:
    """The nwfilter element that matches ``protocol`` (a name, a number, None for any) over ``ethertype``."""
    number = PROTOCOL_NUMBERS.get(protocol, protocol) if isinstance(protocol, str) else protocol
    return PROTOCOL_ELEMENTS[ethertype][number]


def _remotes(rule: dict[str, Any], group_addresses: dict[str, list[str]]) -> list[tuple[str, str] | None]:
    """The (address, mask) pairs a rule lets in or out: its prefix, its remote group's members, or any (None)."""
    if rule["remote_ip_prefix"] is not None:
        address, mask = rule["remote_ip_prefix"].split("/")
        return [(address, mask)]
    if rule["remote_group_id"] is not None:
        version = 6 if rule["ethertype"] == "IPv6" else 4
        members = [a for a in group_addresses.get(rule["remote_group_id"], []) if (":" in a) == (version == 6)]
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


def port_filter_xml(
    port_id: str, rules: list[dict[str, Any]], group_addresses: dict[str, list[str]], dhcp: bool = True
) -> str:
    """The filter of one port: the base filter, DHCP (``dhcp``: its network has a server), the rules (checked by
    objects/security_group.py), drop.

    ``group_addresses`` gives each remote group's member addresses by the group's uuid (a group without members
    lets nothing in).
    """
    root = etree.Element("filter", name=port_filter_name(port_id), chain="root")
    etree.SubElement(root, "filterref", filter=BASE_FILTER if dhcp else NODHCP_FILTER)
    if dhcp:
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


def filter_parameters(address: str, dhcp_server: str | None) -> dict[str, str]:
    """The parameters a domain's interface gives its port's filter: the port's IP and its network's DHCP server."""
    return {"IP": address, **({"DHCPSERVER": dhcp_server} if dhcp_server else {})}


def _canonical(xml: str) -> bytes:
    """A filter's XML without its uuid and whitespace, attributes in one order (libvirt echoes what it was given)."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    for uuid in root.findall("uuid"):
        root.remove(uuid)
    return etree.tostring(root, method="c14n")


def _lookup(conn: Any, name: str) -> Any | None:
    return lookup_or_none(lambda: conn.nwfilterLookupByName(name), libvirt.VIR_ERR_NO_NWFILTER, f"look up {name}")


def define_filters(conn: Any, filters: Iterable[tuple[str, str]], check_mode: bool) -> tuple[list[str], list[str]]:
    """Each (name, XML) filter defined as given: (the names defined or changed, the names that did not exist).

    A filter defined the same way already is left alone; one defined otherwise is redefined under its own uuid
    (libvirt refuses a redefinition without it), which applies it to the guests that use it at once.
    """
    changed: list[str] = []
    created: list[str] = []
    for name, xml in filters:
        existing = _lookup(conn, name)
        if existing is not None and _canonical(existing.XMLDesc(0)) == _canonical(xml):
            continue
        changed.append(name)
        if existing is None:
            created.append(name)
        if check_mode:
            continue
        root = etree.fromstring(xml)
        if existing is not None:
            etree.SubElement(root, "uuid").text = existing.UUIDString()
            root.insert(0, root[-1])
        try:
            conn.nwfilterDefineXML(_xml(root))
        except libvirt.libvirtError as exc:
            raise virt_error(exc, f"define network filter {name}") from exc
    return changed, created


def undefine_filters(conn: Any, names: Iterable[str], check_mode: bool) -> list[str]:
    """Undefine each port filter of ``names`` that exists; the names undefined (or that would be).

    A libvirt without the nwfilter driver has none to undefine.
    """
    gone = []
    for name in names:
        if not name.startswith(PORT_FILTER_PREFIX):
            continue
        try:
            existing = _lookup(conn, name)
        except VirtError as error:
            if error.details.get("libvirt_code") == libvirt.VIR_ERR_NO_SUPPORT:
                return gone
            raise
        if existing is None:
            continue
        gone.append(name)
        if not check_mode:
            try:
                existing.undefine()
            except libvirt.libvirtError as exc:
                raise virt_error(exc, f"undefine network filter {name}") from exc
    return gone
