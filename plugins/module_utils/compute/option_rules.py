# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rules a module option keeps beyond its Ansible type, one per option name.

An option name means the same thing in every module that has it (argspecs.py
shares their definitions), so its rule is kept once, here, and checked for
every module whose spec has the option: by the action plugin before it changes
anything in the store (plugin_utils/nimbus_action.py), and by the module before
it touches its host (module_runner.py). No module can skip a rule another makes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.compute import guest_wait
from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_safe_name, check_user_data
from ansible_collections.nimbus.compute.plugins.module_utils.store.store_options import check_path, check_url_option

# The libvirt drivers nimbus can drive: QEMU/KVM, and libvirt's mock driver that the tests use.
LIBVIRT_DRIVERS = ("qemu", "test")
# libvirt's remote transports (https://libvirt.org/uri.html).
LIBVIRT_TRANSPORTS = ("unix", "ssh", "libssh", "libssh2", "tcp", "tls", "ext")
_LIBVIRT_URI_RE = re.compile(
    r"(?P<driver>[a-z][a-z0-9]*)(?:\+(?P<transport>[a-z0-9]+))?"
    r"://(?P<host>[^/?#\s]*)(?P<path>/[^?#\s]*)(?:\?[^#\s]*)?"
)
LIBVIRT_URI_RULE = (
    f"must be a libvirt URI driver[+transport]://[host]/path with driver {' or '.join(LIBVIRT_DRIVERS)} "
    f"and transport one of {', '.join(LIBVIRT_TRANSPORTS)} (for example qemu:///system or "
    "qemu+ssh://root@host/system)"
)
# Seconds libvirt_domain waits for a domain to run: 0 asks once; an hour is more than any boot takes.
MAX_WAIT_TIMEOUT = 3600


def check_libvirt_uri(field: str, value: Any) -> str:
    match = _LIBVIRT_URI_RE.fullmatch(value) if isinstance(value, str) else None
    if (
        match is None
        or match["driver"] not in LIBVIRT_DRIVERS
        or (match["transport"] is not None and match["transport"] not in LIBVIRT_TRANSPORTS)
    ):
        raise InvalidInput(field, f"{LIBVIRT_URI_RULE}, got {shown(value)}")
    return value


def check_wait_timeout(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WAIT_TIMEOUT:
        raise InvalidInput(field, f"must be an integer from 0 to {MAX_WAIT_TIMEOUT} (seconds), got {shown(value)}")
    return value


def check_host_reports(field: str, hosts: Any) -> dict[str, dict[str, Any]]:
    """Hosts by name with their ``nimbus_host`` facts, as host_select and reschedule take them."""
    if not isinstance(hosts, dict):
        raise InvalidInput(field, "must be a mapping of host names to their nimbus_host facts (from host_facts)")
    for host, report in hosts.items():
        if not isinstance(report, dict):
            raise InvalidInput(f"{field}.{host}", "must be the host's nimbus_host facts (from host_facts)")
    return hosts


RULES: dict[str, Callable[[str, Any], Any]] = {
    # A zone is a name the scheduler compares and the store keeps: the rule of every name.
    "availability_zone": check_safe_name,
    # instance_ssh_wait's: seconds for all guests together, their SSH port, lines of console shown.
    "console_lines": guest_wait.check_console_lines,
    "port": guest_wait.check_port,
    "timeout": guest_wait.check_timeout,
    "hosts": check_host_reports,
    "uri": check_libvirt_uri,
    "store_path": lambda field, value: check_path(value, field),
    "store_url": check_url_option,
    "user_data": check_user_data,
    "wait_timeout": check_wait_timeout,
}


def check_options(argument_spec: dict[str, Any], params: dict[str, Any]) -> None:
    """InvalidInput naming the first option of ``argument_spec`` given in ``params`` that breaks its rule."""
    for option in sorted(argument_spec):
        rule = RULES.get(option)
        if rule is not None and params.get(option) is not None:
            rule(option, params[option])
