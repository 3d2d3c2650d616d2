# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP address management: inventory networks and fixed-IP allocation.

A network from ``nimbus_networks`` is checked once by ``normalise_network`` and
from then on handled in canonical form.  Allocation walks the allocation pools
as integer ranges and skips used addresses with set lookups, so a /16 is never
turned into a list.
"""

from __future__ import annotations

import itertools
import socket
import traceback
from collections.abc import Iterable, Iterator
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    FixedIpAlreadyInUse,
    FixedIpInvalid,
    InvalidInput,
    NimbusError,
    NoMoreFixedIps,
)

try:
    import netaddr
except ImportError:
    HAS_NETADDR = False
    NETADDR_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    HAS_NETADDR = True
    NETADDR_IMPORT_ERROR = None

DEFAULT_MTU = 1500
MIN_MTU = 68
MAX_MTU = 65535
# The smallest subnet that still has one address besides the gateway.
MAX_PREFIXLEN = 30
NETWORK_KEYS = frozenset({"cidr", "gateway", "dns", "mtu", "allocation_pools", "libvirt_network", "dhcp"})
# Keys normalise_network adds; accepted (and recomputed) so normalising twice is harmless.
DERIVED_KEYS = frozenset({"name", "version", "netmask"})


def require_netaddr() -> None:
    if not HAS_NETADDR:
        raise NimbusError("the Python library netaddr is required on the controller", traceback=NETADDR_IMPORT_ERROR)


def _field(name: str, key: str) -> str:
    return f"networks.{name}.{key}"


def _parse_address(field: str, value: Any) -> netaddr.IPAddress:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, f"must be an IPv4 address, got {value!r}")
    try:
        address = netaddr.IPAddress(value.strip())
    except (netaddr.AddrFormatError, ValueError) as exc:
        raise InvalidInput(field, f"must be an IPv4 address, got {value!r}") from exc
    if address.version != 4:
        raise InvalidInput(field, f"must be an IPv4 address, got {value!r}")
    return address


def _parse_cidr(name: str, value: Any) -> netaddr.IPNetwork:
    field = _field(name, "cidr")
    rule = "must be an IPv4 network such as 198.18.0.0/24 (prefix length 30 or shorter)"
    if not isinstance(value, str) or "/" not in value:
        raise InvalidInput(field, f"{rule}, got {value!r}")
    try:
        cidr = netaddr.IPNetwork(value.strip())
    except (netaddr.AddrFormatError, ValueError) as exc:
        raise InvalidInput(field, f"{rule}, got {value!r}") from exc
    if cidr.version != 4 or cidr.prefixlen > MAX_PREFIXLEN:
        raise InvalidInput(field, f"{rule}, got {value!r}")
    if cidr.ip != cidr.network:
        raise InvalidInput(field, f"{value!r} has host bits set; did you mean {cidr.cidr}?")
    return cidr.cidr


def _usable_range(cidr: netaddr.IPNetwork) -> tuple[int, int]:
    """First and last host address of the subnet, as integers."""
    return int(cidr.first) + 1, int(cidr.last) - 1


def _check_host_address(field: str, address: netaddr.IPAddress, cidr: netaddr.IPNetwork) -> None:
    first, last = _usable_range(cidr)
    if address not in cidr:
        raise InvalidInput(field, f"{address} is outside {cidr}")
    if not first <= int(address) <= last:
        raise InvalidInput(field, f"{address} is the network or broadcast address of {cidr}")


def _normalise_gateway(name: str, conf: dict[str, Any], cidr: netaddr.IPNetwork) -> netaddr.IPAddress | None:
    if "gateway" not in conf:
        # Neutron's default: the first host address.
        return netaddr.IPAddress(_usable_range(cidr)[0])
    if conf["gateway"] is None:
        return None
    field = _field(name, "gateway")
    gateway = _parse_address(field, conf["gateway"])
    _check_host_address(field, gateway, cidr)
    return gateway


def _default_pools(cidr: netaddr.IPNetwork, gateway: netaddr.IPAddress | None) -> list[tuple[int, int]]:
    first, last = _usable_range(cidr)
    if gateway is None:
        return [(first, last)]
    gw = int(gateway)
    return [(start, end) for start, end in ((first, gw - 1), (gw + 1, last)) if start <= end]


def _normalise_pools(
    name: str, conf: dict[str, Any], cidr: netaddr.IPNetwork, gateway: netaddr.IPAddress | None
) -> list[tuple[int, int]]:
    pools = conf.get("allocation_pools")
    if pools is None:
        return _default_pools(cidr, gateway)
    field = _field(name, "allocation_pools")
    if not isinstance(pools, list) or not pools:
        raise InvalidInput(field, "must be a non-empty list of {start, end}")
    ranges = []
    for index, pool in enumerate(pools):
        pool_field = f"{field}[{index}]"
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise InvalidInput(pool_field, "must be a mapping with exactly the keys start and end")
        start = _parse_address(f"{pool_field}.start", pool["start"])
        end = _parse_address(f"{pool_field}.end", pool["end"])
        _check_host_address(f"{pool_field}.start", start, cidr)
        _check_host_address(f"{pool_field}.end", end, cidr)
        if start > end:
            raise InvalidInput(pool_field, f"start {start} is after end {end}")
        if gateway is not None and start <= gateway <= end:
            raise InvalidInput(pool_field, f"{start}-{end} contains the gateway {gateway}")
        ranges.append((int(start), int(end)))
    ranges.sort()
    for previous, current in itertools.pairwise(ranges):
        start = current[0]
        if start <= previous[1]:
            raise InvalidInput(field, f"pools overlap at {netaddr.IPAddress(start)}")
    return ranges


def _normalise_dns(name: str, conf: dict[str, Any]) -> list[str]:
    dns = conf.get("dns", [])
    field = _field(name, "dns")
    if not isinstance(dns, list):
        raise InvalidInput(field, "must be a list of IPv4 addresses")
    return [str(_parse_address(f"{field}[{index}]", server)) for index, server in enumerate(dns)]


def _normalise_mtu(name: str, conf: dict[str, Any]) -> int:
    mtu = conf.get("mtu", DEFAULT_MTU)
    if isinstance(mtu, bool) or not isinstance(mtu, int) or not MIN_MTU <= mtu <= MAX_MTU:
        raise InvalidInput(_field(name, "mtu"), f"must be an integer from {MIN_MTU} to {MAX_MTU}, got {mtu!r}")
    return mtu


def _normalise_dhcp(name: str, conf: dict[str, Any]) -> bool:
    dhcp = conf.get("dhcp", True)
    if not isinstance(dhcp, bool):
        raise InvalidInput(_field(name, "dhcp"), f"must be true or false, got {dhcp!r}")
    return dhcp


def _normalise_libvirt_network(name: str, conf: dict[str, Any]) -> str:
    value = conf.get("libvirt_network", name)
    if not isinstance(value, str) or not value or any(c in value for c in "<>&'\"/ \t\r\n"):
        raise InvalidInput(_field(name, "libvirt_network"), f"must be a libvirt network name, got {value!r}")
    return value


def normalise_network(name: str, conf: dict[str, Any]) -> dict[str, Any]:
    """The canonical form of one ``nimbus_networks`` entry; InvalidInput names the bad key."""
    require_netaddr()
    if not isinstance(conf, dict):
        raise InvalidInput(f"networks.{name}", "must be a mapping with at least cidr")
    unknown = sorted(set(conf) - NETWORK_KEYS - DERIVED_KEYS)
    if unknown:
        raise InvalidInput(_field(name, unknown[0]), f"unknown key; known keys: {', '.join(sorted(NETWORK_KEYS))}")
    if "cidr" not in conf:
        raise InvalidInput(_field(name, "cidr"), "is required")
    cidr = _parse_cidr(name, conf["cidr"])
    gateway = _normalise_gateway(name, conf, cidr)
    pools = _normalise_pools(name, conf, cidr, gateway)
    return {
        "name": name,
        "cidr": str(cidr),
        "version": 4,
        "netmask": str(cidr.netmask),
        "gateway": None if gateway is None else str(gateway),
        "allocation_pools": [
            {"start": str(netaddr.IPAddress(start)), "end": str(netaddr.IPAddress(end))} for start, end in pools
        ],
        "dns": _normalise_dns(name, conf),
        "mtu": _normalise_mtu(name, conf),
        "dhcp": _normalise_dhcp(name, conf),
        "libvirt_network": _normalise_libvirt_network(name, conf),
    }


def _pool_ranges(network: dict[str, Any]) -> Iterator[tuple[int, int]]:
    for pool in network["allocation_pools"]:
        yield int(netaddr.IPAddress(pool["start"])), int(netaddr.IPAddress(pool["end"]))


def _ipv4_as_int(address: str) -> int | None:
    """The address as an integer; None for IPv6.  inet_pton is ~30x faster than netaddr here,
    which matters when the store holds tens of thousands of addresses."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
    except OSError:
        return None


def _addresses_as_ints(addresses: Iterable[str]) -> set[int]:
    return {value for value in map(_ipv4_as_int, addresses) if value is not None}


def check_fixed_ip(network: dict[str, Any], fixed_ip: Any) -> str:
    """The canonical form of a requested fixed IP, or FixedIpInvalid saying why it cannot be had."""
    require_netaddr()
    name = network["name"]
    if not isinstance(fixed_ip, str):
        raise FixedIpInvalid("fixed_ip", f"must be an IPv4 address, got {fixed_ip!r}", network=name)
    try:
        address = netaddr.IPAddress(fixed_ip.strip())
    except (netaddr.AddrFormatError, ValueError) as exc:
        raise FixedIpInvalid("fixed_ip", f"{fixed_ip!r} is not an IPv4 address", network=name) from exc
    cidr = netaddr.IPNetwork(network["cidr"])
    if address.version != 4 or address not in cidr:
        raise FixedIpInvalid("fixed_ip", f"{fixed_ip} is outside network {name} ({cidr})", network=name)
    if network["gateway"] is not None and address == netaddr.IPAddress(network["gateway"]):
        raise FixedIpInvalid("fixed_ip", f"{fixed_ip} is the gateway of network {name}", network=name)
    value = int(address)
    if not any(start <= value <= end for start, end in _pool_ranges(network)):
        pools = ", ".join(f"{pool['start']}-{pool['end']}" for pool in network["allocation_pools"])
        raise FixedIpInvalid(
            "fixed_ip", f"{fixed_ip} is outside the allocation pools of network {name} ({pools})", network=name
        )
    return str(address)


def allocate_address(network: dict[str, Any], in_use: set[str], fixed_ip: str | None = None) -> str:
    """The requested fixed IP if free, else the lowest free address of the pools (network is normalised)."""
    require_netaddr()
    used = _addresses_as_ints(in_use)
    if fixed_ip is not None:
        address = check_fixed_ip(network, fixed_ip)
        if int(netaddr.IPAddress(address)) in used:
            raise FixedIpAlreadyInUse(
                f"fixed IP {address} of network {network['name']} is already in use",
                address=address,
                network=network["name"],
            )
        return address
    for start, end in _pool_ranges(network):
        for value in range(start, end + 1):
            if value not in used:
                return str(netaddr.IPAddress(value))
    raise NoMoreFixedIps(
        f"network {network['name']} has no free address left in its allocation pools",
        network=network["name"],
    )
