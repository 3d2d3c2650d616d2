# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a compute host reports about itself (Nova's compute node resources, virt/libvirt/host.py)."""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.virt import dhcp
from ansible_collections.nimbus.compute.plugins.module_utils.virt.connection import libvirt, virt_error
from ansible_collections.nimbus.compute.plugins.module_utils.virt.xmlutil import etree

MiB = 1024 * 1024
GiB = 1024 * MiB


def version_string(number: int) -> str:
    """libvirt's encoded version (major * 1,000,000 + minor * 1,000 + micro) as 'X.Y.Z'."""
    return f"{number // 1_000_000}.{number // 1_000 % 1_000}.{number % 1_000}"


def nearest_existing_path(path: str) -> str:
    """``path`` or its closest ancestor that exists, so nothing has to be created to measure it."""
    current = os.path.abspath(path)
    while not os.path.exists(current):
        current = os.path.dirname(current)
    return current


def host_arch(capabilities_xml: str) -> str:
    return etree.fromstring(capabilities_xml.encode()).findtext("host/cpu/arch", default="")


def virt_types_for_arch(capabilities_xml: str, arch: str) -> list[str]:
    """Domain types (e.g. ['qemu', 'kvm']) offered for hvm guests of ``arch``, in libvirt's order."""
    root = etree.fromstring(capabilities_xml.encode())
    types: list[str] = []
    for guest in root.iterfind("guest"):
        if guest.findtext("os_type") != "hvm":
            continue
        for arch_node in guest.iterfind("arch"):
            if arch_node.get("name") != arch:
                continue
            for domain in arch_node.iterfind("domain"):
                if domain.get("type") and domain.get("type") not in types:
                    types.append(domain.get("type"))
    return types


def runnable_virt_types(conn: Any, arch: str, offered: list[str]) -> list[str]:
    """The offered domain types libvirt's domain capabilities confirm it can run for ``arch``.

    The capabilities list what QEMU binaries exist; domcapabilities asks the
    driver whether a guest of that type can start (kvm without /dev/kvm cannot).
    """
    runnable = []
    for virt_type in offered:
        try:
            conn.getDomainCapabilities(None, arch, None, virt_type, 0)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                # A driver without domcapabilities (the test driver) cannot confirm: trust the capabilities.
                return list(offered)
            continue
        runnable.append(virt_type)
    return runnable


def memory_mb(conn: Any, info: list[Any]) -> tuple[int, int]:
    """(total, available) MiB, both from one source so that available never exceeds total.

    The node memory statistics (/proc/meminfo on Linux) come first: free plus
    buffers plus cache, as Nova counts it. getInfo() and getFreeMemory() add up
    NUMA cells, which on some virtual machines cover only part of the memory.
    """
    try:
        stats = conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)
    except libvirt.libvirtError:
        return info[1], conn.getFreeMemory() // MiB
    available_kib = stats.get("free", 0) + stats.get("buffers", 0) + stats.get("cached", 0)
    return stats["total"] // 1024, available_kib // 1024


def disk_usage_gb(instances_path: str) -> tuple[int, int]:
    usage = shutil.disk_usage(nearest_existing_path(instances_path))
    return usage.total // GiB, usage.free // GiB


def network_definition(network_xml: str) -> dict[str, Any]:
    """A libvirt network's DHCP reservations and dynamic ranges: {reservations: [{ip, mac, name}], dhcp_ranges}."""
    root = etree.fromstring(network_xml.encode())
    reservations = [
        {"ip": host.get("ip"), "mac": (host.get("mac") or "").lower(), "name": host.get("name")}
        for host in root.iterfind("ip/dhcp/host")
        if host.get("ip")
    ]
    ranges = [{"start": item.get("start"), "end": item.get("end")} for item in root.iterfind("ip/dhcp/range")]
    return {"reservations": reservations, "dhcp_ranges": ranges}


def live_leases(leases: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """The live leases (``dhcp.live_leases``) as the host report lists them: {ip, mac, name, expires}."""
    return [
        {
            "ip": lease["ipaddr"],
            "mac": (lease.get("mac") or "").lower(),
            "name": lease.get("hostname") or None,
            "expires": int(lease.get("expirytime") or 0),
        }
        for lease in dhcp.live_leases(leases, now)
        if lease.get("ipaddr")
    ]


def network_holdings(conn: Any, now: float | None = None) -> dict[str, dict[str, Any]]:
    """Each active libvirt network's reservations, live leases and dynamic DHCP ranges, by network name."""
    now = time.time() if now is None else now
    holdings = {}
    try:
        for network in conn.listAllNetworks(libvirt.VIR_CONNECT_LIST_NETWORKS_ACTIVE):
            holdings[network.name()] = {
                **network_definition(network.XMLDesc(0)),
                "leases": live_leases(dhcp.network_leases(network), now),
            }
    except libvirt.libvirtError as exc:
        raise virt_error(exc, "list the networks and their DHCP leases") from exc
    return holdings


def gather_host_facts(conn: Any, instances_path: str) -> dict[str, Any]:
    """The host's resources and capabilities as the scheduler's host_state reads them."""
    try:
        info = conn.getInfo()
        capabilities = conn.getCapabilities()
        total_mb, available_mb = memory_mb(conn, info)
        facts: dict[str, Any] = {
            "hostname": conn.getHostname(),
            "vcpus": info[2],
            "memory_mb": total_mb,
            "free_memory_mb": available_mb,
            "libvirt_version": version_string(conn.getLibVersion()),
            "qemu_version": version_string(conn.getVersion()),
        }
    except libvirt.libvirtError as exc:
        raise virt_error(exc, "gather host facts") from exc
    arch = host_arch(capabilities) or info[0]
    disk_gb, free_disk_gb = disk_usage_gb(instances_path)
    facts.update(
        cpu_arch=arch,
        virt_types=runnable_virt_types(conn, arch, virt_types_for_arch(capabilities, arch)),
        disk_gb=disk_gb,
        free_disk_gb=free_disk_gb,
        networks=network_holdings(conn),
        up=True,
    )
    return facts
