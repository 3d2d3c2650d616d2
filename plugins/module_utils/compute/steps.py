# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From an instance record to what each compute-host step needs.

Pure functions: the modules call them on the compute host with the instance
the controller sent, and the unit tests call them with plain dicts.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.virt import firewall

REQUIRED_FIELDS = {
    "block_device_map": ("uuid", "name", "hostname", "flavor", "image"),
    "libvirt_domain": ("uuid", "name", "flavor", "block_device_info"),
}


def require_fields(instance: dict[str, Any], module: str) -> None:
    missing = [field for field in REQUIRED_FIELDS[module] if not instance.get(field)]
    if missing:
        raise exceptions.InvalidInput("instance", f"must contain {', '.join(missing)} for {module}")


def _ipv4_subnet(vif: dict[str, Any]) -> dict[str, Any]:
    return next(subnet for subnet in vif["network"]["subnets"] if subnet.get("version", 4) == 4)


def dhcp_server(vif: dict[str, Any]) -> str | None:
    """The address of the DHCP server of a VIF's network: its libvirt network's dnsmasq, on the gateway."""
    meta = vif["network"]["meta"]
    if not (meta.get("dhcp") and meta.get("libvirt_network")):
        return None
    return (_ipv4_subnet(vif).get("gateway") or {}).get("address")


def _interface(vif: dict[str, Any], filtered: bool) -> dict[str, Any]:
    """A NIC on its libvirt network, or on a host bridge when the network has no libvirt network; ``filtered``:
    behind its port's filter (the instance has security groups)."""
    network = vif["network"]["meta"].get("libvirt_network")
    interface = {"mac": vif["address"], "model": "virtio"}
    interface.update({"network": network} if network else {"bridge": vif["network"]["bridge"]})
    if filtered:
        address = _ipv4_subnet(vif)["ips"][0]["address"]
        interface["filter"] = {
            "name": firewall.port_filter_name(vif["id"]),
            "parameters": firewall.filter_parameters(address, dhcp_server(vif)),
        }
    return interface


def port_filters(instance: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, XML) of the filters the instance's ports need, the base filters first; none without a firewall.

    ``firewall`` (the controller's security_groups.instance_firewall) holds the rules of the instance's groups
    and the member addresses of the groups they name.
    """
    rules = instance.get("firewall")
    if rules is None:
        return []
    addresses = {group["id"]: group["addresses"] for group in rules["remote_groups"]}
    return firewall.base_filters() + [
        (
            firewall.port_filter_name(vif["id"]),
            firewall.port_filter_xml(vif["id"], rules["rules"], addresses, dhcp=dhcp_server(vif) is not None),
        )
        for vif in instance.get("network_info") or []
    ]


def domain_spec(instance: dict[str, Any], virt_type: str) -> dict[str, Any]:
    """What virt.domain_xml needs: sizes, disks, NICs, console and metadata."""
    require_fields(instance, "libvirt_domain")
    flavor = instance["flavor"]
    block_device_info = instance["block_device_info"]
    return {
        "uuid": instance["uuid"],
        "name": instance["name"],
        "memory_mb": flavor["memory_mb"],
        "vcpus": flavor["vcpus"],
        "virt_type": virt_type,
        "disks": block_device_info["disks"],
        "interfaces": [
            _interface(vif, instance.get("firewall") is not None) for vif in instance.get("network_info") or []
        ],
        "console_log": os.path.join(block_device_info["instance_dir"], "console.log"),
        "metadata": {
            "flavor": {key: flavor[key] for key in ("name", "vcpus", "memory_mb", "root_gb") if key in flavor},
            "image": {key: instance["image"].get(key) for key in ("name", "sha256")},
        },
    }
