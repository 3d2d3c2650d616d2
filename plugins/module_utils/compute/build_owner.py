# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which run builds an instance, so that a later run can tell a build in progress from one whose run is gone.

Each build transition records ``build_owner``: the controller's host name and
the ``ansible-playbook`` process that runs the build (the parent of the worker
process an action plugin runs in), with that process's start time so a reused
pid is not taken for it. A run that was killed, or stopped because the store
went away in the middle of a step, leaves its instance in a build state it can
never finish or roll back. When that run's process is gone from this
controller, the instance is an orphaned build, which a re-run replaces as it
replaces a failed one (Nova's ``_init_instance`` puts such instances in error
when their compute service comes back). A build owned by another controller
(another AWX job's container) cannot be checked from here and counts as in
progress.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.objects import states


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, /proc/PID/stat field 22); None when gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from its closing parenthesis.
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def current_owner() -> dict[str, Any]:
    """This run: the controller's host name and the ansible-playbook process (the worker's parent)."""
    pid = os.getppid()
    return {"controller": socket.gethostname(), "pid": pid, "started": process_start(pid)}


def run_age_seconds() -> float | None:
    """How long this run's ansible-playbook process has been running; None when /proc cannot tell."""
    started = process_start(os.getppid())
    try:
        with open("/proc/uptime", encoding="utf-8") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if started is None:
        return None
    return max(0.0, uptime - int(started) / os.sysconf("SC_CLK_TCK"))


def owner_is_gone(owner: Any) -> bool:
    """Whether ``owner`` is a run on this controller whose process has ended (never for another controller's)."""
    if not isinstance(owner, dict) or owner.get("controller") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    return process_start(pid) != owner.get("started")


def is_orphaned_build(instance: dict[str, Any]) -> bool:
    """A build in one of its steps whose run is gone: nobody will finish it or roll it back."""
    return (
        instance.get("vm_state") == states.BUILDING
        and instance.get("task_state") not in (None, states.DELETING)
        and owner_is_gone(instance.get("build_owner"))
    )


def describe(owner: Any) -> str:
    """The owner as messages name it."""
    if not isinstance(owner, dict):
        return "an unknown run"
    return f"ansible-playbook pid {owner.get('pid')} on {owner.get('controller')}"
