# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A compute-host step over a list of instances: each one's outcome or fault, one failure stopping no other.

Kept apart from the step bodies so that each host module carries only the code
it runs (Ansible ships a module with every module_utils file it imports).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute.module_failure import instances_result


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


def instance_uuid(instance: dict[str, Any]) -> str:
    if not instance.get("uuid"):
        raise exceptions.InvalidInput("instance.uuid", "is required")
    if not isinstance(instance["uuid"], str):
        raise exceptions.InvalidInput("instance.uuid", f"must be a uuid string, got {instance['uuid']!r}")
    return instance["uuid"]
