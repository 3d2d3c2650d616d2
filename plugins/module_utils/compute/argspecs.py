# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs of the modules, shared by each module and its action plugin."""

from __future__ import annotations

STORE = {
    "store_path": {"type": "path"},
    "store_url": {"type": "str"},
    "store_password": {"type": "str", "no_log": True},
}
NOTIFICATIONS_PATH = {"notifications_path": {"type": "path"}}
STATE = {"state": {"type": "str", "default": "present", "choices": ["present", "absent"]}}
LIBVIRT_URI = {"uri": {"type": "str", "default": "qemu:///system"}}
INSTANCES_PATH = {"instances_path": {"type": "path", "default": "/var/lib/nimbus/instances"}}

# The compute hosts' reports: given (hosts), or read from the store for the named hosts (compute_hosts).
HOST_REPORTS = {
    "hosts": {"type": "dict", "default": {}},
    "compute_hosts": {"type": "list", "elements": "str"},
    "host_facts_max_age": {"type": "int", "default": 300},
}
HOST_REPORTS_MUTUALLY_EXCLUSIVE = [("hosts", "compute_hosts")]

HOST_FACTS = {
    **LIBVIRT_URI,
    **INSTANCES_PATH,
    **STORE,
    "availability_zone": {"type": "str", "default": "nova"},
    "enabled": {"type": "bool", "default": True},
    "traits": {"type": "list", "elements": "str", "default": []},
    "max_age": {"type": "int", "default": 300},
    "virt_type": {"type": "str", "choices": ["kvm", "qemu"]},
}

HOST_SELECT = {
    **STORE,
    **NOTIFICATIONS_PATH,
    **STATE,
    "request": {"type": "dict"},
    "name": {"type": "str"},
    "flavors": {"type": "dict", "default": {}},
    "images": {"type": "dict", "default": {}},
    "networks": {"type": "dict", "default": {}},
    **HOST_REPORTS,
    "scheduler": {"type": "dict", "default": {}},
    "replace_failed": {"type": "bool", "default": False},
}

NETWORK_ALLOCATE = {
    **STORE,
    **NOTIFICATIONS_PATH,
    **STATE,
    "instance": {"type": "str"},
    "instances": {"type": "list", "elements": "str"},
    "networks": {"type": "dict", "default": {}},
}

BLOCK_DEVICE_MAP = {
    **LIBVIRT_URI,
    **INSTANCES_PATH,
    **STORE,
    **NOTIFICATIONS_PATH,
    **STATE,
    "instance": {"type": "dict"},
    "instances": {"type": "list", "elements": "raw"},
    "user_data": {"type": "str", "no_log": True},
    "admin_pass": {"type": "str", "no_log": True},
    "files": {"type": "raw", "no_log": True},
}

LIBVIRT_DOMAIN = {
    **LIBVIRT_URI,
    **STORE,
    **NOTIFICATIONS_PATH,
    **STATE,
    "instance": {"type": "dict"},
    "instances": {"type": "list", "elements": "raw"},
    "virt_type": {"type": "str", "default": "kvm", "choices": ["kvm", "qemu"]},
    "wait_timeout": {"type": "int", "default": 60},
}

# A compute-host step takes one instance, or a list of them (state=absent: the delete, batched per host).
ONE_OR_MORE_INSTANCES = {
    "mutually_exclusive": [("instance", "instances")],
    "required_one_of": [("instance", "instances")],
}

INSTANCE_DELETE = {
    **STORE,
    **NOTIFICATIONS_PATH,
    "instances": {"type": "list", "elements": "str", "required": True},
    "phase": {"type": "str", "required": True, "choices": ["begin", "complete"]},
}

INSTANCE_INFO = {
    **STORE,
    "name": {"type": "str"},
    "names": {"type": "list", "elements": "str"},
    "include_deleted": {"type": "bool", "default": False},
}

INSTANCE_INFO_MUTUALLY_EXCLUSIVE = [("name", "names")]

STORE_CHECK = {
    **STORE,
    "repair": {"type": "bool", "default": False},
}

STORE_MIGRATE = {
    "store_url": STORE["store_url"],
    "store_password": STORE["store_password"],
    "source_path": {"type": "path"},
}

HOST_SELECT_REQUIRED_IF = [("state", "present", ["request"]), ("state", "absent", ["name"])]

SERVER_GROUP = {
    **STORE,
    **STATE,
    "name": {"type": "str", "required": True},
    "policy": {"type": "str", "choices": ["affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"]},
    "rules": {"type": "dict"},
}

IMAGE_CACHE = {
    **INSTANCES_PATH,
    "remove_unused_original_minimum_age_seconds": {"type": "int", "default": 86400},
}

RESCHEDULE = {
    **STORE,
    "instance": {"type": "str"},
    "instances": {"type": "list", "elements": "str"},
    **HOST_REPORTS,
    "scheduler": {"type": "dict", "default": {}},
    "failure": {"type": "str"},
    "cleanup_failure": {"type": "str"},
}

RESCHEDULE_MUTUALLY_EXCLUSIVE = [*ONE_OR_MORE_INSTANCES["mutually_exclusive"], *HOST_REPORTS_MUTUALLY_EXCLUSIVE]

INSTANCE_SSH_WAIT = {
    "guests": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "uuid": {"type": "str", "required": True},
            "address": {"type": "str", "required": True},
            "console_log": {"type": "path"},
        },
    },
    "port": {"type": "int", "default": 22},
    "timeout": {"type": "int", "default": 300},
    "console_lines": {"type": "int", "default": 20},
    "netns": {"type": "str"},
}
