# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bodies of block_device_map and image_cache, which run on a compute host: Nova's block device
mapping (disks in files or volumes, the config drive) and its image cache manager."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute.per_instance import each_instance, instance_uuid
from ansible_collections.nimbus.compute.plugins.module_utils.compute.steps import require_fields
from ansible_collections.nimbus.compute.plugins.module_utils.network.model import network_data_from_network_info
from ansible_collections.nimbus.compute.plugins.module_utils.virt import block_device, imagecache
from ansible_collections.nimbus.compute.plugins.module_utils.virt.configdrive import meta_data_for
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import DEFAULT_URI, open_connection


def block_device_map(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    if params.get("instances") is not None:
        if params["state"] == "absent":
            return remove_disks_of_instances(params, check_mode)
        return map_block_devices_of_instances(params, check_mode)
    instance = params["instance"]
    # Opened only when a volume is involved: disks in files need no libvirt.
    uri = params.get("uri") or DEFAULT_URI

    def connect() -> Any:
        return open_connection(uri)

    if params["state"] == "absent":
        return block_device.remove_block_devices(params["instances_path"], instance_uuid(instance), check_mode, connect)
    spec = block_device_spec(
        instance, params["instances_path"], params["user_data"], params["admin_pass"], params.get("files")
    )
    return block_device.ensure_block_devices(spec, check_mode, connect)


def map_block_devices_of_instances(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """block_device_map for a list: each instance's disks and config drive where its record says."""

    def map_devices(record: dict[str, Any]) -> dict[str, Any]:
        uri = record.get("libvirt_uri") or params.get("uri") or DEFAULT_URI
        path = record.get("instances_path") or params["instances_path"]
        spec = block_device_spec(record, path, params["user_data"], params["admin_pass"], params.get("files"))
        return block_device.ensure_block_devices(spec, check_mode, lambda: open_connection(uri))

    return each_instance(params["instances"], map_devices)


def remove_disks_of_instances(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """block_device_map state=absent for a list: each instance's directory and volumes, where its record says."""

    def remove(record: dict[str, Any]) -> dict[str, Any]:
        uri = record.get("libvirt_uri") or params.get("uri") or DEFAULT_URI
        path = record.get("instances_path") or params["instances_path"]
        return block_device.remove_block_devices(path, instance_uuid(record), check_mode, lambda: open_connection(uri))

    return each_instance(params["instances"], remove)


def image_cache(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Nova's image cache manager pass: remove cached images no instance uses once old enough."""
    minimum_age = params["remove_unused_original_minimum_age_seconds"]
    if minimum_age < 0:
        raise exceptions.InvalidInput("remove_unused_original_minimum_age_seconds", f"must be >= 0, got {minimum_age}")
    return imagecache.clean_unused_bases(params["instances_path"], minimum_age, check_mode)


def block_device_spec(
    instance: dict[str, Any],
    instances_path: str,
    user_data: str | None,
    admin_pass: str | None,
    files: Any = None,
) -> dict[str, Any]:
    """What virt.block_device needs: the block device mapping, image, flavor disk sizes, config drive."""
    require_fields(instance, "block_device_map")
    return {
        "uuid": instance["uuid"],
        "instances_path": instances_path,
        "image": instance["image"],
        "root_gb": instance["flavor"]["root_gb"],
        "ephemeral_gb": instance["flavor"].get("ephemeral_gb") or 0,
        "swap_mb": instance["flavor"].get("swap_mb") or 0,
        # None for a record made before mappings existed: the flavor's disks then.
        "block_device_mapping": instance.get("block_device_mapping"),
        "config_drive": {
            "meta_data": meta_data_for(instance, admin_pass),
            "network_data": network_data_from_network_info(instance.get("network_info") or []),
            "user_data": user_data,
            "format": instance.get("config_drive_format"),
            "files": files,
        },
    }
