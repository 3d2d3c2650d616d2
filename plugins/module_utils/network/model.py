# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nova's network model (nova/network/model.py) as plain dicts, and network_data.json from it.

The VIF layout is the one in docs/CONTRACTS.md; ``network_data_from_network_info``
follows nova/virt/netutils.py ``get_network_metadata``.
"""

from __future__ import annotations

from typing import Any

VIF_TYPE_BRIDGE = "bridge"
VNIC_TYPE_NORMAL = "normal"
# Linux limits interface names to 15 characters: "tap" + 11 of the port id, as Nova.
NIC_NAME_LEN = 14


def devname_for_port(port_id: str) -> str:
    return ("tap" + port_id)[:NIC_NAME_LEN]


def build_vif(port_id: str, mac: str, address: str, network: dict[str, Any]) -> dict[str, Any]:
    """One VIF of network_info for a port on a normalised network (see ipam.normalise_network)."""
    gateway = network["gateway"]
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
            "bridge": network["libvirt_network"],
            "meta": {
                "mtu": network["mtu"],
                "dhcp": network["dhcp"],
                "libvirt_network": network["libvirt_network"],
            },
            "subnets": [
                {
                    "cidr": network["cidr"],
                    "version": 4,
                    "gateway": {"address": gateway},
                    "dns": [{"address": server} for server in network["dns"]],
                    "ips": [{"address": address, "type": "fixed", "version": 4}],
                    "routes": [],
                }
            ],
        },
    }


def _netmask(cidr: str) -> str:
    prefixlen = int(cidr.split("/", 1)[1])
    value = (0xFFFFFFFF << (32 - prefixlen)) & 0xFFFFFFFF
    return ".".join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


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
        routes.insert(0, {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": gateway})
    return routes


def _network_entries(vif: dict[str, Any], first_index: int) -> list[dict[str, Any]]:
    """One entry per fixed IP.  Nova leaves the address out of ipv4_dhcp entries; we keep it so a
    guest without a DHCP client still knows its address (cloud-init ignores it for DHCP)."""
    entries = []
    dhcp = bool(vif["network"]["meta"].get("dhcp"))
    for subnet in vif["network"]["subnets"]:
        for ip in subnet["ips"]:
            entries.append(
                {
                    "id": f"network{first_index + len(entries)}",
                    "type": "ipv4_dhcp" if dhcp else "ipv4",
                    "link": vif["devname"],
                    "ip_address": ip["address"],
                    "netmask": _netmask(subnet["cidr"]),
                    "routes": _routes(subnet),
                    "network_id": vif["network"]["id"],
                    "services": _dns_services(subnet),
                }
            )
    return entries


def network_data_from_network_info(network_info: list[dict[str, Any]]) -> dict[str, Any]:
    """OpenStack's network_data.json (links, networks, services) for the config drive."""
    links = [_link(vif) for vif in network_info]
    networks: list[dict[str, Any]] = []
    for vif in network_info:
        networks.extend(_network_entries(vif, len(networks)))
    services: list[dict[str, str]] = []
    for network in networks:
        for service in network["services"]:
            if service not in services:
                services.append(service)
    return {"links": links, "networks": networks, "services": services}
