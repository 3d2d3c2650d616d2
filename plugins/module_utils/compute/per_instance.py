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
    records: list[Any],
    work: Callable[[dict[str, Any]], dict[str, Any]],
    workers: int = 1,
    prepare: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """``work`` on each instance of a list, per instance its result or its fault, reported in the list's order.

    With ``workers`` > 1 the instances are worked on by that many threads at
    once (libvirt's calls release the GIL and a connection serves several
    threads). ``prepare``, when given, first runs for every instance, one
    after the other: for what the host does one at a time anyway, so that the
    threads' work does not queue behind it. An instance whose ``prepare``
    failed is not worked on. The module fails when one instance did, and still
    reports every instance under ``instances`` (lists in, lists out): the
    controller records each.
    """
    entries = [entry if isinstance(entry, dict) else {"uuid": entry} for entry in records]

    def attempt(step: Callable[[dict[str, Any]], Any], record: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
        """``step(record)``, or the instance's failure when it raised one."""
        try:
            return step(record), None
        except exceptions.NimbusError as error:
            return None, _failure(error)
        except OSError as error:
            # As module_runner: the host's own filesystem failed, another host may do better.
            return None, _failure(exceptions.VirtError(str(error), errno=error.errno, filename=error.filename))

    def one(record: dict[str, Any], failure: dict[str, Any] | None) -> dict[str, Any]:
        if failure is None:
            outcome, failure = attempt(work, record)
            if failure is None:
                return {"uuid": record.get("uuid"), "failed": False, **outcome}
        return {"uuid": record.get("uuid"), "failed": False, **failure}

    prepared = [(record, attempt(prepare, record)[1] if prepare is not None else None) for record in entries]
    if workers <= 1 or len(entries) <= 1:
        return instances_result([one(record, failure) for record, failure in prepared])
    with ThreadPoolExecutor(max_workers=min(workers, len(entries))) as pool:
        return instances_result(list(pool.map(lambda pair: one(*pair), prepared)))


def _failure(error: exceptions.NimbusError) -> dict[str, Any]:
    return {"failed": True, "changed": False, "msg": error.message, "fault": error.to_fault(platform.node())}


def instance_uuid(instance: dict[str, Any]) -> str:
    if not instance.get("uuid"):
        raise exceptions.InvalidInput("instance.uuid", "is required")
    if not isinstance(instance["uuid"], str):
        raise exceptions.InvalidInput("instance.uuid", f"must be a uuid string, got {instance['uuid']!r}")
    return instance["uuid"]
