# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VIF plugging on a libvirt network (Nova's nova/virt/libvirt/vif.py, for libvirt-managed networks).

libvirt creates the tap device when the domain starts; what has to be made
beforehand is the DHCP reservation MAC → IP (and host name) in the network's
dnsmasq, so that the guest gets the IP the controller allocated.

We are guests on the host: the network may carry reservations and leases of
VMs nimbus did not make.  Only an entry of the port's own MAC (which the
controller allocated) is ever replaced; an address that another MAC reserves
or holds a live lease on, made since the controller's last look at the host,
fails the step (``AddressHeldOnHost``, reschedulable) and is never taken
over.  A name taken by another MAC is left out of the new entry (libvirt
wants names unique).  Unplugging drops only the given MACs' entries and
leases.
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


class AddressHeldOnHost(VirtError):
    """The port's address is reserved or leased on the host's network by a MAC nimbus did not allocate."""


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


def held_by_others(
    existing: list[dict[str, Any]], leases: list[dict[str, Any]], wanted: list[dict[str, Any]]
) -> list[str]:
    """Why a wanted address cannot be ours: reservations and live leases of its IP by another MAC."""
    found = []
    for entry in wanted:
        for other in existing:
            if other["ip"] == entry["ip"] and other["mac"] != entry["mac"]:
                name = f" ({other['name']})" if other["name"] else ""
                found.append(f"{entry['ip']} is reserved for {other['mac']}{name}")
        for lease in dhcp.stale_leases(leases, entry["ip"], entry["mac"]):
            found.append(f"{entry['ip']} is leased to {lease.get('mac', '').lower()}")
    return found


def dhcp_host_changes(existing: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The (DELETE | ADD, entry) steps, in order, that make ``wanted`` present in ``existing``.

    Only entries of a wanted MAC are replaced; ``held_by_others`` must have
    found no other MAC on a wanted IP.
    """
    current = list(existing)
    changes: list[tuple[str, dict[str, Any]]] = []
    for wanted_entry in wanted:
        entry = wanted_entry
        others = [e for e in current if e["mac"] != entry["mac"]]
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
        existing = dhcp_hosts(network.XMLDesc(0))
        held = held_by_others(existing, dhcp.live_leases(dhcp.network_leases(network)), wanted)
        if held:
            raise AddressHeldOnHost(
                f"network {name}: {'; '.join(held)}, which nimbus did not allocate; it is left alone and this "
                "build does not take the address over",
                network=name,
                held=held,
            )
        changes = dhcp_host_changes(existing, wanted)
        if not check_mode:
            _apply(network, name, changes)
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
