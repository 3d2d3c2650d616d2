# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nova's network model (nova/network/model.py) as plain dicts, and network_data.json from it.

The VIF layout is the one in docs/CONTRACTS.md; ``network_data_from_network_info``
follows nova/virt/netutils.py ``get_network_metadata``.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any

VIF_TYPE_BRIDGE = "bridge"
VNIC_TYPE_NORMAL = "normal"
# Linux limits interface names to 15 characters: "tap" + 11 of the port id, as Nova.
NIC_NAME_LEN = 14


def devname_for_port(port_id: str) -> str:
    return ("tap" + port_id)[:NIC_NAME_LEN]


def _subnet(subnet: dict[str, Any], address: str) -> dict[str, Any]:
    version = subnet["version"]
    return {
        "cidr": subnet["cidr"],
        "version": version,
        "gateway": {"address": subnet["gateway"]},
        "dns": [{"address": server} for server in subnet["dns"]],
        "ips": [{"address": address, "type": "fixed", "version": version}],
        "routes": [],
    }


def build_vif(port_id: str, mac: str, addresses: str | list[str], network: dict[str, Any]) -> dict[str, Any]:
    """One VIF of network_info for a port on a normalised network (see ipam.normalise_network).

    ``addresses`` holds one address per subnet, IPv4 first (a single string: IPv4 only).
    """
    if isinstance(addresses, str):
        addresses = [addresses]
    subnets = [{**network, "version": 4}]
    if network.get("ipv6"):
        subnets.append(network["ipv6"])
    return {
        "id": port_id,
        "address": mac,
        "type": VIF_TYPE_BRIDGE,
        "devname": devname_for_port(port_id),
        "vnic_type": VNIC_TYPE_NORMAL,
        "active": False,
        "network": {
            "id": network["name"],
            "label": network["name"],
            "bridge": network.get("bridge") or network["libvirt_network"],
            "meta": {
                "mtu": network["mtu"],
                "dhcp": network["dhcp"],
                # None on a host bridge: no libvirt network, so no DHCP reservation either.
                "libvirt_network": network["libvirt_network"],
            },
            "subnets": [_subnet(subnet, address) for subnet, address in zip(subnets, addresses, strict=True)],
        },
    }


def with_floating_ips(network_info: list[dict[str, Any]], floating: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``network_info`` in which each fixed IP lists the floating IPs associated with it (``port_id``,
    ``fixed_ip_address``, ``floating_ip_address`` of each), as Nova's FixedIP does: ``{address, type: floating,
    version: 4}``."""
    shown = copy.deepcopy(network_info)
    for vif in shown:
        for subnet in vif["network"]["subnets"]:
            for ip in subnet["ips"]:
                ip["floating_ips"] = [
                    {"address": fip["floating_ip_address"], "type": "floating", "version": 4}
                    for fip in floating
                    if (fip["port_id"], fip["fixed_ip_address"]) == (vif["id"], ip["address"])
                ]
    return shown


def _netmask(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr).netmask)


def _version(subnet: dict[str, Any]) -> int:
    return int(subnet.get("version") or ipaddress.ip_network(subnet["cidr"]).version)


def _link(vif: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": vif["devname"],
        "vif_id": vif["id"],
        "type": "phy",
        "ethernet_mac_address": vif["address"],
        "mtu": vif["network"]["meta"].get("mtu"),
    }


def _dns_services(subnet: dict[str, Any]) -> list[dict[str, str]]:
    return [{"type": "dns", "address": dns["address"]} for dns in subnet.get("dns", [])]


def _routes(subnet: dict[str, Any]) -> list[dict[str, str]]:
    routes = [
        {"network": route["cidr"].split("/")[0], "netmask": _netmask(route["cidr"]), "gateway": route["gateway"]}
        for route in subnet.get("routes", [])
    ]
    gateway = (subnet.get("gateway") or {}).get("address")
    if gateway:
        default = "0.0.0.0" if _version(subnet) == 4 else "::"
        routes.insert(0, {"network": default, "netmask": default, "gateway": gateway})
    return routes


def _entry_type(version: int, dhcp: bool) -> str:
    if version == 6:
        return "ipv6"
    return "ipv4_dhcp" if dhcp else "ipv4"


def _network_entry(vif: dict[str, Any], subnet: dict[str, Any], ip: dict[str, Any], number: int) -> dict[str, Any]:
    """One entry of ``networks`` for a fixed IP, as Nova's netutils ``_get_nets`` writes it.

    An ``ipv4_dhcp`` entry names only its link and network, as Nova's does: an
    address, netmask or routes beside it would make cloud-init configure them
    statically next to the lease.  IPv6 addresses are static (type ipv6):
    libvirt's networks serve no DHCPv6 here.
    """
    entry_type = _entry_type(_version(subnet), bool(vif["network"]["meta"].get("dhcp")))
    entry: dict[str, Any] = {"id": f"network{number}", "type": entry_type, "link": vif["devname"]}
    if entry_type != "ipv4_dhcp":
        entry.update(
            ip_address=ip["address"],
            netmask=_netmask(subnet["cidr"]),
            routes=_routes(subnet),
            services=_dns_services(subnet),
        )
    entry["network_id"] = vif["network"]["id"]
    return entry


def network_data_from_network_info(network_info: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenStack's network_data.json (links, networks, services) for the config drive.

    ``services`` holds every subnet's name servers, DHCP ones too, as Nova's.
    """
    links = [_link(vif) for vif in network_info]
    networks: list[dict[str, Any]] = []
    services: list[dict[str, str]] = []
    for vif in network_info:
        for subnet in vif["network"]["subnets"]:
            for ip in subnet["ips"]:
                networks.append(_network_entry(vif, subnet, ip, len(networks)))
            services.extend(service for service in _dns_services(subnet) if service not in services)
    return {"links": links, "networks": networks, "services": services}
