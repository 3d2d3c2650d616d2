# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP address management: inventory networks and fixed-IP allocation.

A network from ``nimbus_networks`` is checked once by ``normalise_network`` and
from then on handled in canonical form: an IPv4 subnet (``cidr``...) and, if
the entry has an ``ipv6`` block, an IPv6 subnet beside it (dual stack, as a
Neutron network with two subnets).  Allocation gives a port one address per
subnet, the lowest free one of the allocation pools.  The addresses in use are
kept in an ``AddressIndex`` (sorted integers per IP version), in which the
lowest free address of a pool is a binary search, so a /16 that is nearly
full is never walked address by address.
"""

from __future__ import annotations

import bisect
import itertools
import socket
import traceback
from collections.abc import Collection, Iterable
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
# The smallest subnets that still have one address besides the gateway.
MAX_PREFIXLEN = {4: 30, 6: 126}
EXAMPLE_CIDR = {4: "198.18.0.0/24", 6: "2001:db8::/64"}
# Linux limits interface names (bridges too) to 15 characters.
BRIDGE_NAME_LEN = 15
NETWORK_KEYS = frozenset(
    {"cidr", "gateway", "dns", "mtu", "allocation_pools", "libvirt_network", "bridge", "dhcp", "dhcp_range", "ipv6"}
)
IPV6_KEYS = frozenset({"cidr", "gateway", "dns", "allocation_pools"})
# Keys normalise_network adds; accepted (and recomputed) so normalising twice is harmless.
DERIVED_KEYS = frozenset({"name", "version", "netmask"})
IPV6_DERIVED_KEYS = frozenset({"version", "prefixlen"})
_FAMILY = {4: socket.AF_INET, 6: socket.AF_INET6}


def require_netaddr() -> None:
    if not HAS_NETADDR:
        raise NimbusError("the Python library netaddr is required on the controller", traceback=NETADDR_IMPORT_ERROR)


def _field(name: str, key: str, version: int = 4) -> str:
    return f"networks.{name}.{key}" if version == 4 else f"networks.{name}.ipv6.{key}"


def _parse_address(field: str, value: Any, version: int = 4) -> netaddr.IPAddress:
    rule = f"must be an IPv{version} address, got {value!r}"
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, rule)
    try:
        address = netaddr.IPAddress(value.strip())
    except (netaddr.AddrFormatError, ValueError) as exc:
        raise InvalidInput(field, rule) from exc
    if address.version != version:
        raise InvalidInput(field, rule)
    return address


def _parse_cidr(name: str, value: Any, version: int = 4) -> netaddr.IPNetwork:
    field = _field(name, "cidr", version)
    rule = (
        f"must be an IPv{version} network such as {EXAMPLE_CIDR[version]}"
        f" (prefix length {MAX_PREFIXLEN[version]} or shorter)"
    )
    if not isinstance(value, str) or "/" not in value:
        raise InvalidInput(field, f"{rule}, got {value!r}")
    try:
        cidr = netaddr.IPNetwork(value.strip())
    except (netaddr.AddrFormatError, ValueError) as exc:
        raise InvalidInput(field, f"{rule}, got {value!r}") from exc
    if cidr.version != version or cidr.prefixlen > MAX_PREFIXLEN[version]:
        raise InvalidInput(field, f"{rule}, got {value!r}")
    if cidr.ip != cidr.network:
        raise InvalidInput(field, f"{value!r} has host bits set; did you mean {cidr.cidr}?")
    return cidr.cidr


def _usable_range(cidr: netaddr.IPNetwork) -> tuple[int, int]:
    """First and last host address of the subnet, as integers.

    IPv4 loses the network and broadcast addresses; IPv6 has no broadcast but,
    as in Neutron, the subnet-router anycast address (the first) is not handed out.
    """
    if cidr.version == 6:
        return int(cidr.first) + 1, int(cidr.last)
    return int(cidr.first) + 1, int(cidr.last) - 1


def _check_host_address(field: str, address: netaddr.IPAddress, cidr: netaddr.IPNetwork) -> None:
    first, last = _usable_range(cidr)
    if address not in cidr:
        raise InvalidInput(field, f"{address} is outside {cidr}")
    if not first <= int(address) <= last:
        raise InvalidInput(field, f"{address} is the network or broadcast address of {cidr}")


def _normalise_gateway(
    name: str, conf: dict[str, Any], cidr: netaddr.IPNetwork, version: int = 4
) -> netaddr.IPAddress | None:
    if "gateway" not in conf:
        # Neutron's default: the first host address.
        return netaddr.IPAddress(_usable_range(cidr)[0], version)
    if conf["gateway"] is None:
        return None
    field = _field(name, "gateway", version)
    gateway = _parse_address(field, conf["gateway"], version)
    _check_host_address(field, gateway, cidr)
    return gateway


def _default_pools(cidr: netaddr.IPNetwork, gateway: netaddr.IPAddress | None) -> list[tuple[int, int]]:
    first, last = _usable_range(cidr)
    if gateway is None:
        return [(first, last)]
    gw = int(gateway)
    return [(start, end) for start, end in ((first, gw - 1), (gw + 1, last)) if start <= end]


def _normalise_pools(
    name: str, conf: dict[str, Any], cidr: netaddr.IPNetwork, gateway: netaddr.IPAddress | None, version: int = 4
) -> list[tuple[int, int]]:
    pools = conf.get("allocation_pools")
    if pools is None:
        return _default_pools(cidr, gateway)
    field = _field(name, "allocation_pools", version)
    if not isinstance(pools, list) or not pools:
        raise InvalidInput(field, "must be a non-empty list of {start, end}")
    ranges = []
    for index, pool in enumerate(pools):
        pool_field = f"{field}[{index}]"
        if not isinstance(pool, dict) or set(pool) != {"start", "end"}:
            raise InvalidInput(pool_field, "must be a mapping with exactly the keys start and end")
        start = _parse_address(f"{pool_field}.start", pool["start"], version)
        end = _parse_address(f"{pool_field}.end", pool["end"], version)
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
            raise InvalidInput(field, f"pools overlap at {netaddr.IPAddress(start, version)}")
    return ranges


def _normalise_dns(name: str, conf: dict[str, Any], version: int = 4) -> list[str]:
    dns = conf.get("dns", [])
    field = _field(name, "dns", version)
    if not isinstance(dns, list):
        raise InvalidInput(field, f"must be a list of IPv{version} addresses")
    return [str(_parse_address(f"{field}[{index}]", server, version)) for index, server in enumerate(dns)]


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


def _check_device_name(name: str, key: str, value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "<>&'\"/ \t\r\n"):
        raise InvalidInput(_field(name, key), f"must be {what}, got {value!r}")
    return value


def _normalise_attachment(name: str, conf: dict[str, Any]) -> tuple[str | None, str | None]:
    """(libvirt network, host bridge) the network rides on: a libvirt network (by default the
    network's own name) or, with ``bridge``, a Linux bridge that already exists on the hosts."""
    if conf.get("bridge") is not None:
        if conf.get("libvirt_network") is not None:
            raise InvalidInput(_field(name, "bridge"), "and libvirt_network exclude each other; give one of them")
        bridge = _check_device_name(name, "bridge", conf["bridge"], "a bridge name")
        if len(bridge) > BRIDGE_NAME_LEN:
            raise InvalidInput(_field(name, "bridge"), f"must be at most {BRIDGE_NAME_LEN} characters, got {bridge!r}")
        return None, bridge
    libvirt_network = conf.get("libvirt_network", name)
    return _check_device_name(name, "libvirt_network", libvirt_network, "a libvirt network name"), None


def _pools_as_dicts(pools: list[tuple[int, int]], version: int) -> list[dict[str, str]]:
    return [
        {"start": str(netaddr.IPAddress(start, version)), "end": str(netaddr.IPAddress(end, version))}
        for start, end in pools
    ]


def _normalise_ipv6(name: str, conf: Any) -> dict[str, Any]:
    """The IPv6 subnet of a dual-stack network: {cidr, gateway, dns, allocation_pools} in canonical form.

    Addresses are static (Neutron's ipv6_address_mode unset): the guest learns
    them from network_data.json; libvirt's networks carry no IPv6.
    """
    field = f"networks.{name}.ipv6"
    if not isinstance(conf, dict):
        raise InvalidInput(field, "must be a mapping with at least cidr")
    unknown = sorted(set(conf) - IPV6_KEYS - IPV6_DERIVED_KEYS)
    if unknown:
        raise InvalidInput(f"{field}.{unknown[0]}", f"unknown key; known keys: {', '.join(sorted(IPV6_KEYS))}")
    if "cidr" not in conf:
        raise InvalidInput(f"{field}.cidr", "is required")
    cidr = _parse_cidr(name, conf["cidr"], 6)
    gateway = _normalise_gateway(name, conf, cidr, 6)
    pools = _normalise_pools(name, conf, cidr, gateway, 6)
    return {
        "cidr": str(cidr),
        "version": 6,
        "prefixlen": cidr.prefixlen,
        "gateway": None if gateway is None else str(gateway),
        "allocation_pools": _pools_as_dicts(pools, 6),
        "dns": _normalise_dns(name, conf, 6),
    }


def normalise_network(name: str, conf: dict[str, Any]) -> dict[str, Any]:
    """The canonical form of one ``nimbus_networks`` entry; InvalidInput names the bad key.

    ``ipv6`` appears only when the entry has one, so an IPv4-only network keeps its old form.
    """
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
    network = {
        "name": name,
        "cidr": str(cidr),
        "version": 4,
        "netmask": str(cidr.netmask),
        "gateway": None if gateway is None else str(gateway),
        "allocation_pools": _pools_as_dicts(pools, 4),
        "dns": _normalise_dns(name, conf),
        "mtu": _normalise_mtu(name, conf),
        "dhcp": _normalise_dhcp(name, conf),
    }
    network["libvirt_network"], bridge = _normalise_attachment(name, conf)
    if bridge is not None:
        # Only bridged networks carry the key, so a libvirt network keeps its old form.
        network["bridge"] = bridge
    if conf.get("ipv6") is not None:
        network["ipv6"] = _normalise_ipv6(name, conf["ipv6"])
    if conf.get("dhcp_range") is not None:
        network["dhcp_range"] = _normalise_dhcp_range(name, conf["dhcp_range"], cidr)
    return network


def _normalise_dhcp_range(name: str, value: Any, cidr: netaddr.IPNetwork) -> dict[str, str]:
    """The libvirt network's dynamic DHCP range, for VMs nimbus did not make: {start, end} inside the cidr."""
    field = _field(name, "dhcp_range")
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise InvalidInput(field, "must be a mapping with exactly the keys start and end")
    start = _parse_address(f"{field}.start", value["start"], 4)
    end = _parse_address(f"{field}.end", value["end"], 4)
    _check_host_address(f"{field}.start", start, cidr)
    _check_host_address(f"{field}.end", end, cidr)
    if start > end:
        raise InvalidInput(field, f"start {start} is after end {end}")
    return {"start": str(start), "end": str(end)}


def subnets_of(network: dict[str, Any]) -> list[dict[str, Any]]:
    """The subnets of a normalised network, IPv4 first: each {cidr, version, gateway, dns, allocation_pools}."""
    ipv4 = {key: network[key] for key in ("cidr", "version", "gateway", "dns", "allocation_pools")}
    return [ipv4, network["ipv6"]] if network.get("ipv6") else [ipv4]


def _pool_ranges(subnet: dict[str, Any]) -> list[tuple[int, int]]:
    version = subnet["version"]
    return [
        (int(netaddr.IPAddress(pool["start"], version)), int(netaddr.IPAddress(pool["end"], version)))
        for pool in subnet["allocation_pools"]
    ]


def address_as_int(address: str) -> tuple[int, int] | None:
    """(version, integer) of an address string; None if it is neither.  inet_pton is ~30x faster
    than netaddr here, which matters when the store holds tens of thousands of addresses."""
    for version in (4, 6) if ":" not in address else (6,):
        try:
            return version, int.from_bytes(socket.inet_pton(_FAMILY[version], address), "big")
        except OSError:
            continue
    return None


class AddressIndex:
    """The addresses in use, as sorted integers per IP version.

    Built once from the store's ports (O(n log n)); then the lowest free
    address of a pool is a binary search (O(log^2 n)) and taking one is an
    insort, so allocating in a nearly full /16 costs microseconds.
    """

    def __init__(self, addresses: Iterable[str] = ()) -> None:
        values: dict[int, set[int]] = {4: set(), 6: set()}
        for address in addresses:
            parsed = address_as_int(address)
            if parsed is not None:
                values[parsed[0]].add(parsed[1])
        self._sorted = {version: sorted(found) for version, found in values.items()}

    def __len__(self) -> int:
        return sum(len(values) for values in self._sorted.values())

    def __contains__(self, address: object) -> bool:
        parsed = address_as_int(address) if isinstance(address, str) else None
        if parsed is None:
            return False
        values = self._sorted[parsed[0]]
        position = bisect.bisect_left(values, parsed[1])
        return position < len(values) and values[position] == parsed[1]

    def add(self, address: str) -> None:
        parsed = address_as_int(address)
        if parsed is not None and address not in self:
            bisect.insort(self._sorted[parsed[0]], parsed[1])

    def discard(self, address: str) -> None:
        parsed = address_as_int(address)
        if parsed is not None and address in self:
            values = self._sorted[parsed[0]]
            del values[bisect.bisect_left(values, parsed[1])]

    def lowest_free(self, start: int, end: int, version: int) -> int | None:
        """The lowest integer of [start, end] not in use, or None when the range is full."""
        values = self._sorted[version]
        low = bisect.bisect_left(values, start)
        high = bisect.bisect_right(values, end)
        # Within values[low:high] (sorted, unique, inside the range), values[i] - i is
        # non-decreasing, and equals start - low exactly while there is no gap before i.
        lo, hi = low, high
        while lo < hi:
            mid = (lo + hi) // 2
            if values[mid] - mid == start - low:
                lo = mid + 1
            else:
                hi = mid
        candidate = start + (lo - low)
        return candidate if candidate <= end else None


def as_index(in_use: AddressIndex | Iterable[str]) -> AddressIndex:
    return in_use if isinstance(in_use, AddressIndex) else AddressIndex(in_use)


def _subnet_holding(network: dict[str, Any], address: netaddr.IPAddress) -> dict[str, Any] | None:
    return next((s for s in subnets_of(network) if address in netaddr.IPNetwork(s["cidr"])), None)


def _in_pools(subnet: dict[str, Any], value: int) -> bool:
    return any(start <= value <= end for start, end in _pool_ranges(subnet))


def in_allocation_pools(network: dict[str, Any], address: str) -> bool:
    """Whether ``address`` lies in an allocation pool of the (normalised) network."""
    parsed = address_as_int(address)
    return parsed is not None and any(
        subnet["version"] == parsed[0] and _in_pools(subnet, parsed[1]) for subnet in subnets_of(network)
    )


def _where_else(address: netaddr.IPAddress, name: str, others: dict[str, Any] | None) -> str:
    """'; it is in the allocation pool of network X' when another network hands the address out."""
    for other_name, other_conf in sorted((others or {}).items()):
        if other_name == name:
            continue
        try:
            other = normalise_network(other_name, other_conf)
        except InvalidInput:
            continue  # a broken network is reported when it is used, not here
        subnet = _subnet_holding(other, address)
        if subnet is not None and _in_pools(subnet, int(address)):
            return f"; it is in the allocation pool of network {other_name}"
        if subnet is not None:
            return f"; it belongs to network {other_name} ({subnet['cidr']})"
    return ""


def check_fixed_ip(network: dict[str, Any], fixed_ip: Any, others: dict[str, Any] | None = None) -> str:
    """The canonical form of a requested fixed IP, or FixedIpInvalid saying why it cannot be had.

    ``others`` (the inventory's networks) lets the refusal name the network an
    address outside this one belongs to.
    """
    require_netaddr()
    name = network["name"]
    versions = "an IPv4 or IPv6 address" if network.get("ipv6") else "an IPv4 address"
    if not isinstance(fixed_ip, str):
        raise FixedIpInvalid("fixed_ip", f"must be {versions}, got {fixed_ip!r}", network=name)
    try:
        address = netaddr.IPAddress(fixed_ip.strip())
    except (netaddr.AddrFormatError, ValueError) as exc:
        raise FixedIpInvalid("fixed_ip", f"{fixed_ip!r} is not {versions}", network=name) from exc
    subnet = _subnet_holding(network, address)
    if subnet is None:
        cidrs = ", ".join(s["cidr"] for s in subnets_of(network))
        raise FixedIpInvalid(
            "fixed_ip",
            f"{fixed_ip} is outside network {name} ({cidrs}){_where_else(address, name, others)}",
            network=name,
        )
    if subnet["gateway"] is not None and address == netaddr.IPAddress(subnet["gateway"]):
        raise FixedIpInvalid("fixed_ip", f"{fixed_ip} is the gateway of network {name}", network=name)
    if not _in_pools(subnet, int(address)):
        pools = ", ".join(f"{pool['start']}-{pool['end']}" for pool in subnet["allocation_pools"])
        raise FixedIpInvalid(
            "fixed_ip",
            f"{fixed_ip} is outside the allocation pools of network {name} ({pools})"
            f"{_where_else(address, name, others)}",
            network=name,
        )
    return str(address)


def _allocate_in_subnet(name: str, subnet: dict[str, Any], index: AddressIndex) -> str:
    version = subnet["version"]
    for start, end in _pool_ranges(subnet):
        value = index.lowest_free(start, end, version)
        if value is not None:
            return str(netaddr.IPAddress(value, version))
    raise NoMoreFixedIps(
        f"network {name} has no free IPv{version} address left in its allocation pools ({subnet['cidr']})",
        network=name,
    )


def allocate_addresses(
    network: dict[str, Any],
    in_use: AddressIndex | Iterable[str],
    fixed_ip: str | None = None,
    others: dict[str, Any] | None = None,
    held: Collection[str] = (),
) -> list[str]:
    """One address per subnet of the (normalised) network, IPv4 first: the requested fixed IP in
    its subnet if free, else the lowest free address of the pools.  Taken addresses are added to
    ``in_use`` when it is an AddressIndex, so the next NIC of the same request sees them.
    ``held`` are fixed IPs the same request already reserved in ``in_use`` (see reserve_fixed_ips)."""
    require_netaddr()
    index = as_index(in_use)
    fixed = None if fixed_ip is None else check_fixed_ip(network, fixed_ip, others)
    fixed_version = None if fixed is None else netaddr.IPAddress(fixed).version
    addresses = []
    for subnet in subnets_of(network):
        if subnet["version"] == fixed_version:
            if fixed in index and fixed not in held:
                raise FixedIpAlreadyInUse(
                    f"fixed IP {fixed} of network {network['name']} is already in use",
                    address=fixed,
                    network=network["name"],
                )
            address = fixed
        else:
            address = _allocate_in_subnet(network["name"], subnet, index)
        addresses.append(address)
    for address in addresses:
        index.add(address)
    return addresses


def reserve_fixed_ips(
    requests: list[tuple[dict[str, Any], str | None]], in_use: AddressIndex, others: dict[str, Any] | None = None
) -> set[str]:
    """Check and take every fixed IP of one request (network, fixed_ip) before any address is picked,
    as Neutron does, so an automatic address of an earlier NIC never takes a later NIC's fixed IP."""
    held: set[str] = set()
    for network, fixed_ip in requests:
        if fixed_ip is None:
            continue
        address = check_fixed_ip(network, fixed_ip, others)
        if address in in_use:
            raise FixedIpAlreadyInUse(
                f"fixed IP {address} of network {network['name']} is already in use",
                address=address,
                network=network["name"],
            )
        in_use.add(address)
        held.add(address)
    return held


def allocate_address(network: dict[str, Any], in_use: AddressIndex | Iterable[str], fixed_ip: str | None = None) -> str:
    """The IPv4 address allocate_addresses would give (the network's first subnet)."""
    return allocate_addresses(network, as_index(in_use), fixed_ip)[0]
