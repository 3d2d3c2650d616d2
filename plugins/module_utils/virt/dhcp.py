# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release DHCP leases on a libvirt network, as nova-network's release_dhcp did.

A lease outlives the guest that took it: dnsmasq will not hand a reserved
address to a new MAC while an old MAC's lease on it runs (an hour by
default), so an address released by a delete and given to the next instance
would not reach that guest. ``dhcp_release`` (package dnsmasq-utils) sends
dnsmasq the DHCPRELEASE the vanished guest never sent. It runs in the network
namespace of the network's dnsmasq, which is the host's own unless libvirtd
runs in a namespace (the local inventory's choice).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import VirtError
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import libvirt, virt_error

# Where libvirt's network driver keeps the pid of each network's dnsmasq.
DNSMASQ_PID_DIR = "/run/libvirt/network"


def live_leases(leases: list[dict[str, Any]], now: float | None = None) -> list[dict[str, Any]]:
    """Leases that have not expired (libvirt's ``expirytime`` is epoch seconds; 0 never expires)."""
    now = time.time() if now is None else now
    return [lease for lease in leases if not lease.get("expirytime") or int(lease["expirytime"]) > now]


def stale_leases(leases: list[dict[str, Any]], ip: str, mac: str) -> list[dict[str, Any]]:
    """Leases on ``ip`` held by another MAC than ``mac``."""
    return [lease for lease in leases if lease.get("ipaddr") == ip and lease.get("mac", "").lower() != mac.lower()]


def leases_of_mac(leases: list[dict[str, Any]], mac: str) -> list[dict[str, Any]]:
    return [lease for lease in leases if lease.get("mac", "").lower() == mac.lower()]


def network_leases(network: Any) -> list[dict[str, Any]]:
    if not network.isActive():
        return []
    try:
        return list(network.DHCPLeases())
    except libvirt.libvirtError as exc:
        if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            return []  # a driver that keeps no leases (test:///) has none to go stale
        raise virt_error(exc, f"read the DHCP leases of network {network.name()}") from exc


def release_command(dnsmasq_pid: int, lease: dict[str, Any]) -> list[str]:
    return [
        "nsenter",
        f"--net=/proc/{dnsmasq_pid}/ns/net",
        "dhcp_release",
        lease["iface"],
        lease["ipaddr"],
        lease["mac"],
    ]


def dnsmasq_pid(network_name: str, pid_dir: str = DNSMASQ_PID_DIR) -> int | None:
    try:
        with open(os.path.join(pid_dir, f"{network_name}.pid"), encoding="ascii") as pid_file:
            return int(pid_file.read().strip())
    except (OSError, ValueError):
        return None


def release_leases(network: Any, leases: list[dict[str, Any]]) -> None:
    """Make dnsmasq forget these leases; raise when it cannot be told."""
    if not leases:
        return
    pid = dnsmasq_pid(network.name())
    if pid is None:
        return  # no dnsmasq serves the network, so nothing holds a lease
    if shutil.which("dhcp_release") is None:
        raise VirtError(
            f"cannot release DHCP leases on network {network.name()}: dhcp_release not found "
            "(install the dnsmasq-utils package; the compute_host role does)",
            network=network.name(),
        )
    for lease in leases:
        command = release_command(pid, lease)
        completed = subprocess.run(command, capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise VirtError(
                f"dhcp_release of {lease['ipaddr']} ({lease['mac']}) on network {network.name()} failed: "
                f"{completed.stderr.strip() or completed.returncode}",
                network=network.name(),
                command=command,
            )
