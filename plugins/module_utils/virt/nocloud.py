# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A cloud-init NoCloud seed (label ``cidata``): meta-data, user-data and network-config.

The alternative to Nova's config-2 drive for images whose cloud-init (or
other agent) looks for NoCloud.  Each document is JSON, which is YAML too, so
cloud-init reads it and a guest without a YAML parser can as well.
``network-config`` is netplan version 2, translated from Nova's
network_data.json so both formats describe the same NICs.  NoCloud has no
place for Nova's admin_pass or injected files.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

VOLUME_LABEL = "cidata"
META_DATA = "meta-data"
USER_DATA = "user-data"
NETWORK_CONFIG = "network-config"
SEED_FILES = (META_DATA, USER_DATA, NETWORK_CONFIG)


def is_seed(files: dict[str, bytes]) -> bool:
    return META_DATA in files and NETWORK_CONFIG in files


def meta_data(openstack_meta_data: dict[str, Any]) -> dict[str, Any]:
    """NoCloud's meta-data from Nova's meta_data.json: instance-id, local-hostname, public-keys and the rest."""
    return {
        "instance-id": openstack_meta_data["uuid"],
        "local-hostname": openstack_meta_data.get("hostname") or openstack_meta_data["name"],
        "availability-zone": openstack_meta_data.get("availability_zone"),
        "launch-index": openstack_meta_data.get("launch_index", 0),
        "public-keys": sorted((openstack_meta_data.get("public_keys") or {}).values()),
        "meta": dict(openstack_meta_data.get("meta") or {}),
    }


def _prefix_length(netmask: str) -> int:
    return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen


def _route(route: dict[str, str]) -> dict[str, str]:
    if route["network"] == "0.0.0.0" and route["netmask"] == "0.0.0.0":
        destination = "0.0.0.0/0"
    else:
        destination = f"{route['network']}/{_prefix_length(route['netmask'])}"
    return {"to": destination, "via": route["gateway"]}


def network_config(network_data: dict[str, Any]) -> dict[str, Any]:
    """Netplan v2 ``ethernets`` from Nova's network_data.json: one per link, matched by MAC.

    A link whose networks are ``ipv4_dhcp`` gets ``dhcp4: true``; ``ipv4``
    networks give static addresses, routes and name servers.
    """
    ethernets: dict[str, dict[str, Any]] = {}
    names: dict[str, str] = {}
    for index, link in enumerate(network_data.get("links") or []):
        name = f"nic{index}"
        names[link["id"]] = name
        ethernet: dict[str, Any] = {"match": {"macaddress": link["ethernet_mac_address"].lower()}}
        if link.get("mtu"):
            ethernet["mtu"] = link["mtu"]
        ethernets[name] = ethernet
    for network in network_data.get("networks") or []:
        ethernet = ethernets.get(names.get(network.get("link"), ""))
        if ethernet is None:
            continue
        if network.get("type") in ("ipv4_dhcp", "dhcp4"):
            ethernet["dhcp4"] = True
            continue
        if network.get("type") != "ipv4":
            continue
        address = f"{network['ip_address']}/{_prefix_length(network['netmask'])}"
        ethernet.setdefault("addresses", []).append(address)
        routes = ethernet.setdefault("routes", [])
        routes.extend(route for route in map(_route, network.get("routes") or []) if route not in routes)
        dns = [service["address"] for service in network.get("services") or [] if service.get("type") == "dns"]
        if dns:
            servers = ethernet.setdefault("nameservers", {"addresses": []})["addresses"]
            servers.extend(address for address in dns if address not in servers)
    for ethernet in ethernets.values():
        if "addresses" not in ethernet and not ethernet.get("dhcp4"):
            ethernet["dhcp4"] = False
    return {"version": 2, "ethernets": ethernets}


def seed_files(
    openstack_meta_data: dict[str, Any], network_data: dict[str, Any], user_data: bytes | None
) -> dict[str, bytes]:
    """Path on the seed → content.  user-data is always there (cloud-init wants it), empty when not given."""
    return {
        META_DATA: json.dumps(meta_data(openstack_meta_data)).encode(),
        USER_DATA: user_data or b"",
        NETWORK_CONFIG: json.dumps(network_config(network_data)).encode(),
    }
