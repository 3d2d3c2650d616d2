# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bodies of the modules that run on a compute host (Nova's compute service)."""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import guest_wait, steps
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_failure import instances_result
from ansible_collections.nimbus.compute.plugins.module_utils.virt import block_device, driver, imagecache, netns
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import open_connection
from ansible_collections.nimbus.compute.plugins.module_utils.virt.host import gather_host_facts

DEFAULT_URI = "qemu:///system"
# Domains of one host started or destroyed at once: QEMU's start and its exit on destroy are mostly waiting.
DOMAIN_WORKERS = 8


def host_facts(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """The host's resources from libvirt; an unreachable libvirt reports the host down."""
    del check_mode  # reading changes nothing
    inventory = {key: params[key] for key in ("availability_zone", "enabled", "traits")}
    if params.get("virt_type"):
        inventory["virt_type"] = params["virt_type"]
    try:
        conn = open_connection(params["uri"])
    except exceptions.VirtError as error:
        facts = {"up": False, "reason": error.message}
    else:
        try:
            facts = gather_host_facts(conn, params["instances_path"])
        finally:
            conn.close()
    facts.update(inventory, instances_path=params["instances_path"], uri=params["uri"])
    return {"changed": False, "ansible_facts": {"nimbus_host": facts}}


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
        return block_device.remove_block_devices(params["instances_path"], _uuid(instance), check_mode, connect)
    spec = steps.block_device_spec(
        instance, params["instances_path"], params["user_data"], params["admin_pass"], params.get("files")
    )
    return block_device.ensure_block_devices(spec, check_mode, connect)


def image_cache(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Nova's image cache manager pass: remove cached images no instance uses once old enough."""
    minimum_age = params["remove_unused_original_minimum_age_seconds"]
    if minimum_age < 0:
        raise exceptions.InvalidInput("remove_unused_original_minimum_age_seconds", f"must be >= 0, got {minimum_age}")
    return imagecache.clean_unused_bases(params["instances_path"], minimum_age, check_mode)


def libvirt_domain(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    if params.get("instances") is not None:
        return domains_of_instances(params, check_mode)
    instance = params["instance"]
    conn = open_connection(params["uri"])
    try:
        if params["state"] == "absent":
            return driver.destroy(conn, _uuid(instance), check_mode)
        spec = steps.domain_spec(instance, params["virt_type"])
        return driver.spawn(
            conn,
            spec,
            instance.get("network_info") or [],
            instance.get("hostname") or instance["name"],
            check_mode,
            timeout=params["wait_timeout"],
        )
    finally:
        conn.close()


def domains_of_instances(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """libvirt_domain for a list, one connection per URI: each instance's domain spawned (as driver.spawn does for
    one), or destroyed and undefined with state=absent. One instance's failure does not stop the others."""
    connections: dict[str, Any] = {}
    opening = threading.Lock()

    def connection(record: dict[str, Any]) -> Any:
        uri = record.get("libvirt_uri") or params["uri"]
        with opening:
            if uri not in connections:
                connections[uri] = open_connection(uri)
            return connections[uri]

    def destroy(record: dict[str, Any]) -> dict[str, Any]:
        return driver.destroy(connection(record), _uuid(record), check_mode)

    def spawn(record: dict[str, Any]) -> dict[str, Any]:
        spec = steps.domain_spec(record, record.get("virt_type") or params["virt_type"])
        hostname = record.get("hostname") or record["name"]
        network_info = record.get("network_info") or []
        return driver.spawn(
            connection(record), spec, network_info, hostname, check_mode, timeout=params["wait_timeout"]
        )

    try:
        work = destroy if params["state"] == "absent" else spawn
        return each_instance(params["instances"], work, workers=DOMAIN_WORKERS)
    finally:
        for conn in connections.values():
            conn.close()


def map_block_devices_of_instances(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """block_device_map for a list: each instance's disks and config drive where its record says."""

    def map_devices(record: dict[str, Any]) -> dict[str, Any]:
        uri = record.get("libvirt_uri") or params.get("uri") or DEFAULT_URI
        path = record.get("instances_path") or params["instances_path"]
        spec = steps.block_device_spec(record, path, params["user_data"], params["admin_pass"], params.get("files"))
        return block_device.ensure_block_devices(spec, check_mode, lambda: open_connection(uri))

    return each_instance(params["instances"], map_devices)


def remove_disks_of_instances(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """block_device_map state=absent for a list: each instance's directory and volumes, where its record says."""

    def remove(record: dict[str, Any]) -> dict[str, Any]:
        uri = record.get("libvirt_uri") or params.get("uri") or DEFAULT_URI
        path = record.get("instances_path") or params["instances_path"]
        return block_device.remove_block_devices(path, _uuid(record), check_mode, lambda: open_connection(uri))

    return each_instance(params["instances"], remove)


def each_instance(
    records: list[Any], work: Callable[[dict[str, Any]], dict[str, Any]], workers: int = 1
) -> dict[str, Any]:
    """``work`` on each instance of a list, per instance its result or its fault, reported in the list's order.

    With ``workers`` > 1 the instances are worked on by that many threads at
    once (libvirt's calls release the GIL and a connection serves several
    threads). The module fails when one instance did, and still reports every
    instance under ``instances`` (lists in, lists out): the controller records each.
    """

    def one(entry: Any) -> dict[str, Any]:
        record = entry if isinstance(entry, dict) else {"uuid": entry}
        try:
            outcome = work(record)
        except exceptions.NimbusError as error:
            outcome = _failure(error)
        except OSError as error:
            # As module_runner: the host's own filesystem failed, another host may do better.
            outcome = _failure(exceptions.VirtError(str(error), errno=error.errno, filename=error.filename))
        return {"uuid": record.get("uuid"), "failed": False, **outcome}

    if workers <= 1 or len(records) <= 1:
        return instances_result([one(entry) for entry in records])
    with ThreadPoolExecutor(max_workers=min(workers, len(records))) as pool:
        return instances_result(list(pool.map(one, records)))


def _failure(error: exceptions.NimbusError) -> dict[str, Any]:
    return {"failed": True, "changed": False, "msg": error.message, "fault": error.to_fault(platform.node())}


def _uuid(instance: dict[str, Any]) -> str:
    if not instance.get("uuid"):
        raise exceptions.InvalidInput("instance.uuid", "is required")
    if not isinstance(instance["uuid"], str):
        raise exceptions.InvalidInput("instance.uuid", f"must be a uuid string, got {instance['uuid']!r}")
    return instance["uuid"]


def instance_ssh_wait(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Wait until each guest answers on SSH; check mode waits for nothing (there may be no guest yet)."""
    guests = params["guests"]
    if check_mode:
        return {
            "changed": False,
            "guests": [{**guest, "ready": None, "seconds": None, "banner": None} for guest in guests],
        }
    if params.get("netns"):
        netns.enter(params["netns"])
    ready = guest_wait.wait_for_ssh(guests, params["port"], params["timeout"], params["console_lines"])
    return {"changed": False, "guests": ready}
