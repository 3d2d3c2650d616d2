# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A compute-host module's failure, as the controller's NimbusError.

A module that failed the expected way sends a fault (its NimbusError, see
module_runner) and keeps its code and whether another host could do better.
A failure without a fault is unexpected: the module crashed, a library was
missing on that host, or the host could not be reached. Nova's compute
manager reschedules any unexpected build exception, so these are
reschedulable too; max_attempts bounds the cost of a failure every host
would share.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions


def error_from_result(module: str, result: dict[str, Any]) -> exceptions.NimbusError:
    """The NimbusError for a failed module result; the result stays on it (its traceback goes to the event)."""
    fault = result.get("fault")
    if isinstance(fault, dict):
        error = exceptions.NimbusError(result.get("msg") or f"{module} failed", **(fault.get("details") or {}))
        error.code = fault.get("code", 500)
        error.reschedulable = bool(fault.get("reschedulable"))
    else:
        error = exceptions.NimbusError(
            f"{module} failed on its host without a fault (an unexpected error): {result.get('msg') or 'no message'}"
        )
        error.reschedulable = True
    error.module_result = result
    return error


def unreachable_error(module: str, host: str | None, reason: str) -> exceptions.NimbusError:
    """The compute host could not be reached to run ``module``: another host may be."""
    return exceptions.VirtError(f"{module}: compute host {host or 'unknown'} could not be reached: {reason}", host=host)


def instances_result(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    """Lists out: every instance's outcome of a step for a list; the step fails naming each instance that failed."""
    result: dict[str, Any] = {"changed": any(entry.get("changed") for entry in outcomes), "instances": outcomes}
    failed = [entry for entry in outcomes if entry.get("failed")]
    if failed:
        result.update(failed=True, msg="; ".join(f"instance {entry['uuid']}: {entry['msg']}" for entry in failed))
    return result
