# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Instance states as in nova/compute/vm_states.py, task_states.py and power_state.py."""

from __future__ import annotations

# vm_state: what the instance is.
BUILDING = "building"
ACTIVE = "active"
STOPPED = "stopped"
ERROR = "error"
DELETED = "deleted"
VM_STATES = (BUILDING, ACTIVE, STOPPED, ERROR, DELETED)

# task_state: what is being done to it (None when idle).
SCHEDULING = "scheduling"
NETWORKING = "networking"
BLOCK_DEVICE_MAPPING = "block_device_mapping"
SPAWNING = "spawning"
DELETING = "deleting"
TASK_STATES = (None, SCHEDULING, NETWORKING, BLOCK_DEVICE_MAPPING, SPAWNING, DELETING)

# The build steps in order; each may only start from the task_state before it,
# or from its own (a re-run of an idempotent step converges). Two runs racing
# past the same step still meet at the next compare-and-swap: only one wins.
BUILD_STEPS = (SCHEDULING, NETWORKING, BLOCK_DEVICE_MAPPING, SPAWNING)
EXPECTED_BEFORE = {
    SCHEDULING: (None, SCHEDULING),
    NETWORKING: (SCHEDULING, NETWORKING),
    BLOCK_DEVICE_MAPPING: (NETWORKING, BLOCK_DEVICE_MAPPING),
    SPAWNING: (BLOCK_DEVICE_MAPPING, SPAWNING),
    # A delete may start from any task_state: a half-built instance must be
    # deletable, and the build notices through its own compare-and-swap.
    DELETING: TASK_STATES,
}

# power_state: what libvirt reports (nova/compute/power_state.py).
NOSTATE = 0
RUNNING = 1
PAUSED = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED = 7
POWER_STATE_NAMES = {
    NOSTATE: "pending",
    RUNNING: "running",
    PAUSED: "paused",
    SHUTDOWN: "shutdown",
    CRASHED: "crashed",
    SUSPENDED: "suspended",
}

# libvirt's virDomainState to Nova's power_state (nova/virt/libvirt/driver.py).
LIBVIRT_POWER_STATE = {
    0: NOSTATE,  # VIR_DOMAIN_NOSTATE
    1: RUNNING,  # VIR_DOMAIN_RUNNING
    2: RUNNING,  # VIR_DOMAIN_BLOCKED: still running as far as Nova cares
    3: PAUSED,  # VIR_DOMAIN_PAUSED
    4: SHUTDOWN,  # VIR_DOMAIN_SHUTDOWN
    5: SHUTDOWN,  # VIR_DOMAIN_SHUTOFF
    6: CRASHED,  # VIR_DOMAIN_CRASHED
    7: SUSPENDED,  # VIR_DOMAIN_PMSUSPENDED
}
