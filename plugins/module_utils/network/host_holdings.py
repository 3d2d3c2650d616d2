# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Addresses that others hold on a compute host's libvirt networks: we are guests on the hosts.

A libvirt network on a shared host carries DHCP reservations and leases of
VMs nimbus did not make (virsh, virt-manager, kcli, Terraform, another
controller with a store of its own).  host_facts reports each network's
reservations and live leases (``virt/host.network_holdings``); an address
held there by a MAC that none of this store's ports has is used, whatever
the store says, and is never handed out, replaced or released.
"""

from __future__ import annotations

from typing import Any

RESERVATION = "DHCP reservation"
LEASE = "DHCP lease"


def describe(holder: dict[str, Any], host: str | None) -> str:
    """``DHCP reservation of fa:16:3e:07:a3:85 (demo) on host localhost``."""
    name = f" ({holder['name']})" if holder.get("name") else ""
    where = f" on host {host}" if host else ""
    return f"{holder['kind']} of {holder['mac']}{name}{where}"


def holders(report: dict[str, Any] | None, libvirt_network: str | None) -> list[dict[str, Any]]:
    """Every reservation and live lease a host report lists for one libvirt network: [{ip, mac, name, kind}]."""
    if not report or not libvirt_network:
        return []
    network = (report.get("networks") or {}).get(libvirt_network) or {}
    found = [{**entry, "kind": RESERVATION} for entry in network.get("reservations") or []]
    found.extend({**entry, "kind": LEASE} for entry in network.get("leases") or [])
    return [{**entry, "mac": str(entry.get("mac") or "").lower()} for entry in found if entry.get("ip")]


def foreign_addresses(
    report: dict[str, Any] | None,
    host: str | None,
    libvirt_networks: list[str],
    our_macs: set[str],
) -> dict[str, str]:
    """Address → who holds it, for the addresses of these libvirt networks held by MACs none of our ports has."""
    foreign: dict[str, str] = {}
    for libvirt_network in libvirt_networks:
        for holder in holders(report, libvirt_network):
            if holder["mac"] not in our_macs:
                foreign.setdefault(holder["ip"], describe(holder, host))
    return foreign
