# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nova's versioned notifications, appended as JSON lines to a file on the controller.

The flow calls ``emit`` (or ``emit_build_error``) in the store transaction
that made the change; the line is written once that transaction is saved, so
a rolled-back (or retried) transaction notifies nothing, and lines appear in
the order the store saw the changes. Each line is written with one ``write`` under an exclusive
``flock`` on the file itself, so runs that share a notifications file (even
with different stores) never interleave lines. The file is created with mode
0600. Payloads are built from the instance record, which holds no secret
(user_data, admin_pass and injected file contents never reach it); only
chosen fields are copied, never the whole record.

Without ``notifications_path`` on the store nothing is written.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import uuid as uuidlib
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import NimbusError, StoreError
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import utcnow

FILE_MODE = 0o600
PAYLOAD_VERSION = "1.0"

# Nova's payload object names per event type.
PAYLOAD_NAMES = {
    "instance.create.start": "InstanceCreatePayload",
    "instance.create.end": "InstanceCreatePayload",
    "instance.create.error": "InstanceCreatePayload",
    "instance.delete.start": "InstanceActionPayload",
    "instance.delete.end": "InstanceActionPayload",
}
FLAVOR_FIELDS = ("name", "vcpus", "memory_mb", "root_gb", "ephemeral_gb", "extra_specs")


def set_path(store, path: str | None):
    """The store, told where its transitions' notifications go (None: nowhere)."""
    store.notifications_path = path or None
    return store


def notifications_path(store) -> str | None:
    return getattr(store, "notifications_path", None)


def traceback_of(error: BaseException) -> str | None:
    """The traceback a failed module sent back (its result's ``exception``), if any."""
    module_result = getattr(error, "module_result", None) or {}
    text = module_result.get("exception")
    return text if isinstance(text, str) and text else None


def event_details(fault: dict[str, Any], error: BaseException) -> dict[str, Any]:
    """An error event's details: the fault, plus the traceback when the error carries one."""
    tb = traceback_of(error)
    return {**fault, "traceback": tb} if tb else fault


def _flavor_payload(flavor: dict[str, Any] | None) -> dict[str, Any] | None:
    if not flavor:
        return None
    payload = {key: flavor.get(key) for key in FLAVOR_FIELDS}
    payload["flavorid"] = flavor.get("name")
    payload["swap"] = flavor.get("swap_mb") or 0
    return payload


def ip_addresses(network_info: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nova's IpPayload list: one entry per address of every VIF."""
    addresses = []
    for vif in network_info or []:
        network = vif.get("network") or {}
        for subnet in network.get("subnets") or []:
            for ip in subnet.get("ips") or []:
                addresses.append(
                    {
                        "label": network.get("label"),
                        "mac": vif.get("address"),
                        "meta": dict(network.get("meta") or {}),
                        "port_uuid": vif.get("id"),
                        "version": ip.get("version", subnet.get("version")),
                        "address": ip.get("address"),
                        "device_name": vif.get("devname"),
                    }
                )
    return addresses


def block_devices(instance: dict[str, Any]) -> list[dict[str, Any]]:
    """Nova's BlockDevicePayload list, from the disks the host mapped (or the requested mapping before that)."""
    disks = (instance.get("block_device_info") or {}).get("disks")
    if disks is not None:
        return [
            {
                "device_name": disk.get("device_name"),
                "boot_index": disk.get("boot_index"),
                "delete_on_termination": disk.get("delete_on_termination", True),
                "source_type": disk.get("source_type"),
                "destination_type": disk.get("destination_type"),
                "device_type": disk.get("type"),
                "disk_bus": disk.get("bus"),
                "volume_id": disk.get("volume_name"),
                "tag": None,
            }
            for disk in disks
        ]
    return [
        {
            "device_name": mapping.get("device_name"),
            "boot_index": mapping.get("boot_index"),
            "delete_on_termination": mapping.get("delete_on_termination", True),
            "source_type": mapping.get("source_type"),
            "destination_type": mapping.get("destination_type"),
            "device_type": mapping.get("device_type"),
            "disk_bus": mapping.get("disk_bus"),
            "volume_id": mapping.get("uuid") if mapping.get("destination_type") == "volume" else None,
            "tag": None,
        }
        for mapping in instance.get("block_device_mapping") or []
    ]


def fault_payload(fault: dict[str, Any] | None, error: BaseException | None = None) -> dict[str, Any] | None:
    """Nova's ExceptionPayload from the instance's fault (and the error, when at hand).

    An error that recorded no fault (a build that lost to a delete, which owns
    the record) is its own fault here, as Nova builds the payload from the exception.
    """
    if not fault and isinstance(error, NimbusError):
        fault = error.to_fault(error.details.get("host"))
    if not fault:
        return None
    return {
        "exception": type(error).__name__ if error is not None else None,
        "exception_message": fault.get("message"),
        "code": fault.get("code"),
        "host": fault.get("host"),
        "details": fault.get("details") or {},
        "traceback": traceback_of(error) if error is not None else None,
    }


def instance_payload(instance: dict[str, Any], error: BaseException | None = None) -> dict[str, Any]:
    """Nova's InstanceActionPayload fields from an instance record; secrets are never among them."""
    image = instance.get("image") or {}
    return {
        "uuid": instance["uuid"],
        "display_name": instance.get("name"),
        "host_name": instance.get("hostname"),
        "host": instance.get("host"),
        "node": instance.get("node"),
        "availability_zone": instance.get("availability_zone"),
        "flavor": _flavor_payload(instance.get("flavor")),
        "image_uuid": image.get("name"),
        "image_sha256": image.get("sha256"),
        "key_name": instance.get("key_name"),
        "metadata": dict(instance.get("metadata") or {}),
        "state": instance.get("vm_state"),
        "task_state": instance.get("task_state"),
        "power_state": instance.get("power_state"),
        "launch_index": instance.get("launch_index"),
        "created_at": instance.get("created_at"),
        "launched_at": instance.get("launched_at"),
        "deleted_at": instance.get("deleted_at"),
        "updated_at": instance.get("updated_at"),
        "ip_addresses": ip_addresses(instance.get("network_info") or []),
        "block_devices": block_devices(instance),
        "fault": fault_payload(instance.get("fault"), error),
    }


def notification(
    event_type: str, instance: dict[str, Any], now: str, error: BaseException | None = None
) -> dict[str, Any]:
    """One versioned notification: the oslo.messaging envelope around a Nova payload object."""
    host = instance.get("host")
    publisher = f"nimbus-compute:{host}" if host else f"nimbus-conductor:{socket.gethostname()}"
    return {
        "message_id": str(uuidlib.uuid4()),
        "publisher_id": publisher,
        "event_type": event_type,
        "priority": "ERROR" if event_type.endswith(".error") else "INFO",
        "timestamp": now,
        "payload": {
            "nova_object.name": PAYLOAD_NAMES.get(event_type, "InstanceActionPayload"),
            "nova_object.namespace": "nimbus",
            "nova_object.version": PAYLOAD_VERSION,
            "nova_object.data": instance_payload(instance, error),
        },
    }


def append_line(path: str, record: dict[str, Any]) -> None:
    """Append one JSON line under an exclusive flock; the file is created 0600."""
    line = (json.dumps(record, separators=(",", ":"), sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
    try:
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise StoreError(f"cannot open notifications file {path}: {exc}", path=path, reason=str(exc)) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        written = os.write(fd, line)
        if written != len(line):
            raise StoreError(f"short write to notifications file {path}", path=path, reason="short write")
    except OSError as exc:
        raise StoreError(f"cannot write notifications file {path}: {exc}", path=path, reason=str(exc)) from exc
    finally:
        os.close(fd)


def emit(store, state, event_type: str, uuid: str, error: BaseException | None = None) -> dict[str, Any] | None:
    """Append ``event_type`` for the instance as the transaction ``state`` leaves it; None when not configured."""
    path = notifications_path(store)
    if not path:
        return None
    record = notification(event_type, state.instance(uuid), utcnow(), error)
    # Written once the transaction is saved: a notification tells what happened, never what was rolled back.
    state.after_commit(lambda: append_line(path, record))
    return record


def emit_build_error(store, state, uuid: str, error: NimbusError) -> dict[str, Any] | None:
    """instance.create.error when the failure left the build in error (a reschedule does not)."""
    if state.instance(uuid).get("vm_state") != states.ERROR:
        return None
    return emit(store, state, "instance.create.error", uuid, error)
