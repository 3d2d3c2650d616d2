# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Floating IP pools and records, as Neutron keeps them on an external network.

A pool (the inventory's ``nimbus_floating_pools``) is an IPv4 network on the
compute hosts' external interface, with the ranges floating IPs are allocated
from; the store owns those ranges, so an address of them on the interface is
ours and nothing else in them is.
"""

from __future__ import annotations

import ipaddress
import uuid as uuidlib
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, shown
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_safe_name

# Neutron's floating IP status: DOWN until it is associated with a port.
ACTIVE = "ACTIVE"
DOWN = "DOWN"
# Linux limits interface names to 15 characters.
MAX_INTERFACE_LEN = 15


def check_address(where: str, value: Any) -> ipaddress.IPv4Address:
    """``value`` as an IPv4 address; InvalidInput naming ``where`` otherwise."""
    try:
        return ipaddress.IPv4Address(value)
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise InvalidInput(where, f"must be an IPv4 address, got {shown(value)}") from None


def check_pool(name: str, pool: dict[str, Any]) -> dict[str, Any]:
    """A pool of the inventory, checked: {name, cidr, interface, ranges: [(first, last)]}, naming the field."""
    where = f"pools.{name}"
    check_safe_name(where, name)
    try:
        network = ipaddress.IPv4Network(pool.get("cidr"))
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError, TypeError):
        raise InvalidInput(
            f"{where}.cidr", f"must be an IPv4 network such as 198.19.0.0/24, got {shown(pool.get('cidr'))}"
        ) from None
    interface = pool.get("interface")
    if not isinstance(interface, str) or not interface or len(interface) > MAX_INTERFACE_LEN or "/" in interface:
        raise InvalidInput(
            f"{where}.interface",
            f"must be the name of the compute hosts' external interface (1-{MAX_INTERFACE_LEN} characters), "
            f"got {shown(interface)}",
        )
    check_safe_name(f"{where}.interface", interface)
    given = pool.get("allocation_pools")
    if not given:
        if network.num_addresses < 4:
            raise InvalidInput(
                f"{where}.cidr", f"{network} has no addresses but its first and last: give allocation_pools"
            )
        given = [{"start": str(network[1]), "end": str(network[-2])}]
    ranges = []
    for index, entry in enumerate(given):
        at = f"{where}.allocation_pools[{index}]"
        first, last = check_address(f"{at}.start", entry.get("start")), check_address(f"{at}.end", entry.get("end"))
        if first not in network or last not in network or last < first:
            raise InvalidInput(at, f"must be a range {first} to {last} inside {network}, start before end")
        for other_first, other_last in ranges:
            if first <= other_last and other_first <= last:
                raise InvalidInput(at, f"overlaps the range {other_first} to {other_last}")
        ranges.append((first, last))
    return {"name": name, "cidr": str(network), "interface": interface, "ranges": ranges}


def check_pools(pools: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    checked = {name: check_pool(name, pool) for name, pool in (pools or {}).items()}
    seen: list[tuple[str, ipaddress.IPv4Address, ipaddress.IPv4Address]] = []
    for name, pool in checked.items():
        for first, last in pool["ranges"]:
            for other, other_first, other_last in seen:
                if first <= other_last and other_first <= last:
                    raise InvalidInput(f"pools.{name}.allocation_pools", f"overlaps a range of pool {other}")
            seen.append((name, first, last))
    return checked


def in_pool(pool: dict[str, Any], address: str) -> bool:
    value = ipaddress.IPv4Address(address)
    return any(first <= value <= last for first, last in pool["ranges"])


def pool_of(pools: dict[str, dict[str, Any]], address: str) -> dict[str, Any] | None:
    return next((pool for pool in pools.values() if in_pool(pool, address)), None)


def free_address(pool: dict[str, Any], taken: set[str]) -> str | None:
    """The pool's first address no floating IP holds, or None when the pool is full."""
    for first, last in pool["ranges"]:
        for number in range(int(first), int(last) + 1):
            address = str(ipaddress.IPv4Address(number))
            if address not in taken:
                return address
    return None


def new_floating_ip(address: str, pool: str, project_id: str, now: str) -> dict[str, Any]:
    return {
        "id": str(uuidlib.uuid4()),
        "floating_ip_address": address,
        "pool": pool,
        "project_id": project_id,
        "port_id": None,
        "fixed_ip_address": None,
        "instance_uuid": None,
        "host": None,
        "status": DOWN,
        "created_at": now,
        "updated_at": now,
    }


def associated(
    fip: dict[str, Any], instance: dict[str, Any], port_id: str, fixed_ip_address: str, now: str
) -> dict[str, Any]:
    return {
        **fip,
        "port_id": port_id,
        "fixed_ip_address": fixed_ip_address,
        "instance_uuid": instance["uuid"],
        "host": instance.get("host"),
        "status": ACTIVE,
        "updated_at": now,
    }


def disassociated(fip: dict[str, Any], now: str | None = None) -> dict[str, Any]:
    """The floating IP without its port; it stays allocated to its project (as Neutron keeps it)."""
    return {
        **fip,
        "port_id": None,
        "fixed_ip_address": None,
        "instance_uuid": None,
        "host": None,
        "status": DOWN,
        "updated_at": now or fip.get("updated_at"),
    }
