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

REQUIRED_FIELDS = {
    "block_device_map": ("uuid", "name", "hostname", "flavor", "image"),
    "libvirt_domain": ("uuid", "name", "flavor", "block_device_info"),
}


def require_fields(instance: dict[str, Any], module: str) -> None:
    missing = [field for field in REQUIRED_FIELDS[module] if not instance.get(field)]
    if missing:
        raise exceptions.InvalidInput("instance", f"must contain {', '.join(missing)} for {module}")


def _interface(vif: dict[str, Any]) -> dict[str, Any]:
    """A NIC on its libvirt network, or on a host bridge when the network has no libvirt network."""
    network = vif["network"]["meta"].get("libvirt_network")
    if network:
        return {"mac": vif["address"], "network": network, "model": "virtio"}
    return {"mac": vif["address"], "bridge": vif["network"]["bridge"], "model": "virtio"}


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
        "interfaces": [_interface(vif) for vif in instance.get("network_info") or []],
        "console_log": os.path.join(block_device_info["instance_dir"], "console.log"),
        "metadata": {
            "flavor": {key: flavor[key] for key in ("name", "vcpus", "memory_mb", "root_gb") if key in flavor},
            "image": {key: instance["image"].get(key) for key in ("name", "sha256")},
        },
    }
