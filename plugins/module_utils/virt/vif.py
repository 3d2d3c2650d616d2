# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VIF plugging on a libvirt network (Nova's nova/virt/libvirt/vif.py, for libvirt-managed networks).

libvirt creates the tap device when the domain starts; what has to be made
beforehand is the DHCP reservation MAC → IP (and host name) in the network's
dnsmasq, so that the guest gets the IP the controller allocated. libvirt
refuses a host entry that shares the MAC, the IP or the name with another
one; entries of the same MAC or IP are replaced (the controller's IPAM owns
both), a name taken by another MAC is left out of the new entry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import VirtError
from ansible_collections.nimbus.compute.plugins.module_utils.virt import dhcp
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import libvirt, lookup_or_none, virt_error
from ansible_collections.nimbus.compute.plugins.module_utils.virt.xmlutil import etree


class NetworkNotFound(VirtError):
    """A VIF's libvirt network is not defined on this host (another host may have it)."""


ADD = "add"
DELETE = "delete"


def host_entry(mac: str, ip: str, name: str | None = None) -> dict[str, Any]:
    return {"mac": mac.lower(), "ip": ip, "name": name or None}


def _entry_from_element(element: Any) -> dict[str, Any]:
    return host_entry(element.get("mac", ""), element.get("ip", ""), element.get("name"))


def dhcp_hosts(network_xml: str) -> list[dict[str, Any]]:
    """The ``<host>`` entries of every ``<ip><dhcp>`` of a network XML."""
    root = etree.fromstring(network_xml.encode())
    return [_entry_from_element(element) for element in root.iterfind("ip/dhcp/host")]


def host_xml(entry: dict[str, Any]) -> str:
    attributes = {"mac": entry["mac"], "name": entry["name"], "ip": entry["ip"]}
    return etree.tostring(etree.Element("host", {k: v for k, v in attributes.items() if v}), encoding="unicode")


def dhcp_host_changes(existing: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The (DELETE | ADD, entry) steps, in order, that make ``wanted`` present in ``existing``."""
    current = list(existing)
    changes: list[tuple[str, dict[str, Any]]] = []
    for wanted_entry in wanted:
        entry = wanted_entry
        others = [e for e in current if e["mac"] != entry["mac"] and e["ip"] != entry["ip"]]
        if entry["name"] and any(e["name"] == entry["name"] for e in others):
            entry = {**entry, "name": None}
        if entry in current:
            continue
        changes.extend((DELETE, e) for e in current if e not in others)
        changes.append((ADD, entry))
        current = [*others, entry]
    return changes


def _fixed_ipv4(vif: dict[str, Any]) -> str | None:
    for subnet in vif.get("network", {}).get("subnets", []):
        for ip in subnet.get("ips", []):
            if ip.get("version", 4) == 4 and ipaddress.ip_address(ip["address"]).version == 4:
                return ip["address"]
    return None


def wanted_hosts(network_info: list[dict[str, Any]], hostname: str) -> dict[str, list[dict[str, Any]]]:
    """libvirt network → wanted DHCP host entries, for the VIFs whose network does DHCP.

    The host name goes on the first entry per network only: libvirt wants
    names unique within a network.
    """
    wanted: dict[str, list[dict[str, Any]]] = {}
    for vif in network_info:
        meta = vif.get("network", {}).get("meta", {})
        ip = _fixed_ipv4(vif)
        network = meta.get("libvirt_network")
        if not meta.get("dhcp") or ip is None or not network:
            continue
        entries = wanted.setdefault(network, [])
        entries.append(host_entry(vif["address"], ip, None if entries else hostname))
    return wanted


def _update_flags(network: Any) -> int:
    flags = 0
    if network.isActive():
        flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE
    if network.isPersistent():
        flags |= libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG
    return flags


def _lookup_network(conn: Any, name: str) -> Any | None:
    return lookup_or_none(lambda: conn.networkLookupByName(name), libvirt.VIR_ERR_NO_NETWORK, f"look up network {name}")


def _apply(network: Any, name: str, changes: Iterable[tuple[str, dict[str, Any]]]) -> None:
    flags = _update_flags(network)
    commands = {ADD: libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, DELETE: libvirt.VIR_NETWORK_UPDATE_COMMAND_DELETE}
    for command, entry in changes:
        try:
            network.update(
                commands[command],
                libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
                # libvirt serves DHCP on one IPv4 <ip> per network only: -1 picks it.
                -1,
                host_xml(entry),
                flags,
            )
        except libvirt.libvirtError as exc:
            raise virt_error(exc, f"{command} DHCP host {host_xml(entry)} on network {name}") from exc


def plug_vif_entries(
    conn: Any, network_info: list[dict[str, Any]], hostname: str, check_mode: bool
) -> list[tuple[str, str]]:
    """Reserve each DHCP VIF's MAC → IP on its libvirt network: the (network, MAC) pairs added."""
    added: list[tuple[str, str]] = []
    for name, wanted in wanted_hosts(network_info, hostname).items():
        network = _lookup_network(conn, name)
        if network is None:
            raise NetworkNotFound(f"libvirt network {name} does not exist on this host", network=name)
        changes = dhcp_host_changes(dhcp_hosts(network.XMLDesc(0)), wanted)
        if not check_mode:
            _apply(network, name, changes)
            leases = dhcp.network_leases(network)
            for entry in (entry for command, entry in changes if command == ADD):
                dhcp.release_leases(network, dhcp.stale_leases(leases, entry["ip"], entry["mac"]))
        added.extend((name, entry["mac"]) for command, entry in changes if command == ADD)
    return added


def plug_vifs(conn: Any, network_info: list[dict[str, Any]], hostname: str, check_mode: bool) -> bool:
    """Reserve MAC → IP for the DHCP VIFs of ``network_info``; whether anything changed."""
    return bool(plug_vif_entries(conn, network_info, hostname, check_mode))


def unplug_vifs(conn: Any, macs_by_network: dict[str, list[str]], check_mode: bool) -> bool:
    """Drop the DHCP host entries of these MACs; a missing network or entry is no error."""
    changed = False
    for name, macs in macs_by_network.items():
        network = _lookup_network(conn, name)
        if network is None:
            continue
        wanted_gone = {mac.lower() for mac in macs}
        changes = [(DELETE, e) for e in dhcp_hosts(network.XMLDesc(0)) if e["mac"] in wanted_gone]
        if changes and not check_mode:
            _apply(network, name, changes)
            leases = dhcp.network_leases(network)
            for _command, entry in changes:
                dhcp.release_leases(network, dhcp.leases_of_mac(leases, entry["mac"]))
        changed = changed or bool(changes)
    return changed
