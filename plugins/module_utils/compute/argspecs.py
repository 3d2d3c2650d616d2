# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of the modules, shared by each module and its action plugin.

The options come from the modules' documentation (option_specs.py, written by
tools/option_specs.py); what is kept here are the rules between options.
"""

from __future__ import annotations

from ansible_collections.nimbus.compute.plugins.module_utils.compute.option_specs import (
    BLOCK_DEVICE_MAP,
    FLOATING_IP,
    FLOATING_IP_NAT,
    HOST_FACTS,
    HOST_SELECT,
    IMAGE_CACHE,
    INSTANCE_DELETE,
    INSTANCE_FIREWALL,
    INSTANCE_INFO,
    INSTANCE_SSH_WAIT,
    LIBVIRT_DOMAIN,
    NETWORK_ALLOCATE,
    RESCHEDULE,
    SECURITY_GROUP,
    SERVER_GROUP,
    STORE_CHECK,
    STORE_MIGRATE,
)

# Each module's options, as its documentation gives them, with the rules below.
__all__ = [
    "BLOCK_DEVICE_MAP",
    "FLOATING_IP",
    "FLOATING_IP_NAT",
    "HOST_FACTS",
    "HOST_REPORTS_MUTUALLY_EXCLUSIVE",
    "HOST_SELECT",
    "HOST_SELECT_REQUIRED_IF",
    "IMAGE_CACHE",
    "INSTANCE_DELETE",
    "INSTANCE_FIREWALL",
    "INSTANCE_INFO",
    "INSTANCE_INFO_MUTUALLY_EXCLUSIVE",
    "INSTANCE_SSH_WAIT",
    "LIBVIRT_DOMAIN",
    "NETWORK_ALLOCATE",
    "ONE_OR_MORE_INSTANCES",
    "RESCHEDULE",
    "RESCHEDULE_MUTUALLY_EXCLUSIVE",
    "SECURITY_GROUP",
    "SERVER_GROUP",
    "STORE_CHECK",
    "STORE_MIGRATE",
]

# The compute hosts' reports: given (hosts), or read from the store for the named hosts (compute_hosts).
HOST_REPORTS_MUTUALLY_EXCLUSIVE = [("hosts", "compute_hosts")]

# A compute-host step takes one instance, or a list of them (state=absent: the delete, batched per host).
ONE_OR_MORE_INSTANCES = {
    "mutually_exclusive": [("instance", "instances")],
    "required_one_of": [("instance", "instances")],
}

INSTANCE_INFO_MUTUALLY_EXCLUSIVE = [("name", "names")]

HOST_SELECT_REQUIRED_IF = [("state", "present", ["request"]), ("state", "absent", ["name"])]

RESCHEDULE_MUTUALLY_EXCLUSIVE = [*ONE_OR_MORE_INSTANCES["mutually_exclusive"], *HOST_REPORTS_MUTUALLY_EXCLUSIVE]
