# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nova's network API (allocate_for_instance & co.) over the ports in the store.

A port record is ``{instance_uuid, network, mac, ips, created_at}`` plus
``index`` (its position in the instance's request, so order survives any
backend) and ``vif`` (the network_info entry as allocated, so it does not
change when the inventory does).  MACs and IPs in use are derived from the
ports of the whole store.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Container
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    Conflict,
    FixedIpAlreadyInUse,
    InvalidInput,
    NoMoreFixedIps,
)
from ansible_collections.nimbus.compute.plugins.module_utils.network import ipam, mac, model
from ansible_collections.nimbus.compute.plugins.module_utils.objects import floating_ip
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import utcnow
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import StoreState


class PortsMismatch(Conflict):
    """The instance already has ports, but not the ones requested."""


def _new_port_id(rng: random.Random | None, state: StoreState, new: dict[str, Any]) -> str:
    # A seeded rng (tests, reproducible runs) may repeat itself; never overwrite a port.
    while True:
        port_id = str(uuid.uuid4() if rng is None else uuid.UUID(int=rng.getrandbits(128), version=4))
        if port_id not in new and not state.port_exists(port_id):
            return port_id


def _matches(port: dict[str, Any], request: dict[str, Any]) -> bool:
    fixed_ip = request.get("fixed_ip")
    return port["network"] == request["network"] and (fixed_ip is None or fixed_ip in port["ips"])


def _existing_vifs(
    ports: list[dict[str, Any]], requested_networks: list[dict[str, Any]], instance_uuid: str
) -> list[dict[str, Any]]:
    if len(ports) == len(requested_networks) and all(
        _matches(port, request) for port, request in zip(ports, requested_networks, strict=True)
    ):
        return [copy.deepcopy(port["vif"]) for port in ports]
    have = ", ".join(f"{port['network']} {'/'.join(port['ips'])}" for port in ports)
    raise PortsMismatch(
        f"instance {instance_uuid} already has ports ({have}) that differ from the requested networks; "
        "deallocate them first",
        instance_uuid=instance_uuid,
    )


def _network_for(index: int, request: dict[str, Any], networks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    name = request.get("network") if isinstance(request, dict) else None
    if name not in networks:
        known = ", ".join(sorted(networks)) or "none defined"
        raise InvalidInput(f"networks[{index}].network", f"unknown network {name!r}; known networks: {known}")
    return ipam.normalise_network(name, networks[name])


def allocate_for_instance(
    state: StoreState,
    instance_uuid: str,
    requested_networks: list[dict[str, Any]],
    networks: dict[str, dict[str, Any]],
    now: str,
    *,
    rng: random.Random | None = None,
    foreign: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Ports, MACs and fixed IPs for each requested NIC: network_info, in request order.

    Idempotent (an instance's existing ports are returned) and all-or-nothing
    (``state`` is untouched when any NIC fails).  ``foreign`` maps addresses
    that others hold on the host (see host_holdings) to who holds them: they
    are used, and the errors name their holders.
    """
    try:
        return _allocate_ports(state, instance_uuid, requested_networks, networks, now, rng, foreign)
    except FixedIpAlreadyInUse as error:
        holder = (foreign or {}).get(error.details.get("address"))
        if holder is None:
            raise
        raise FixedIpAlreadyInUse(f"{error.message} ({holder})", **error.details) from None
    except NoMoreFixedIps as error:
        raise NoMoreFixedIps(
            f"{error.message}: {_holders_of_pools(state, error.details.get('network'), networks, foreign)}",
            **error.details,
        ) from None


def _holders_of_pools(
    state: StoreState, name: str | None, networks: dict[str, dict[str, Any]], foreign: dict[str, str] | None
) -> str:
    """Who holds the addresses of network ``name``'s pools: this store's ports, and others on the host."""
    network = ipam.normalise_network(name, networks[name]) if name in networks else None
    foreign = foreign or {}
    in_pools = [] if network is None else [address for address in foreign if ipam.in_allocation_pools(network, address)]
    in_pools.sort(key=lambda address: ipam.address_as_int(address) or (0, 0))
    ours = state.count_ports_on_network(name)
    shown = "; ".join(f"{address} by {foreign[address]}" for address in in_pools[:5])
    more = f" and {len(in_pools) - 5} more" if len(in_pools) > 5 else ""
    others = f"{len(in_pools)} held on the host by others ({shown}{more})" if in_pools else "none held by others"
    return f"{ours} port(s) of this store use its addresses, {others}"


def _allocate_ports(
    state: StoreState,
    instance_uuid: str,
    requested_networks: list[dict[str, Any]],
    networks: dict[str, dict[str, Any]],
    now: str,
    rng: random.Random | None,
    foreign: dict[str, str] | None,
) -> list[dict[str, Any]]:
    existing = state.ports_of_instance(instance_uuid)
    if existing:
        return _existing_vifs(list(existing.values()), requested_networks, instance_uuid)
    foreign = foreign or {}
    new_ports: dict[str, dict[str, Any]] = {}
    chosen = [_network_for(index, request, networks) for index, request in enumerate(requested_networks)]
    used_ips = ipam.AddressIndex(state.ips_in_use(_cidrs(chosen)) | set(foreign))
    used_macs = _MacsTaken(state.macs_in_use())
    held = ipam.reserve_fixed_ips(
        [(network, request.get("fixed_ip")) for network, request in zip(chosen, requested_networks, strict=True)],
        used_ips,
        networks,
    )
    for index, (network, request) in enumerate(zip(chosen, requested_networks, strict=True)):
        # allocate_addresses marks what it takes in used_ips, so the next NIC sees it.
        addresses = ipam.allocate_addresses(network, used_ips, request.get("fixed_ip"), networks, held)
        port_mac = mac.generate_mac(used_macs, rng)
        port_id = _new_port_id(rng, state, new_ports)
        used_macs.add(port_mac)
        new_ports[port_id] = {
            "instance_uuid": instance_uuid,
            "network": network["name"],
            "mac": port_mac,
            "ips": addresses,
            "created_at": now,
            "index": index,
            "vif": model.build_vif(port_id, port_mac, addresses, network),
        }
    state.add_ports(new_ports)
    return [copy.deepcopy(port["vif"]) for port in new_ports.values()]


def deallocate_for_instance(state: StoreState, instance_uuid: str) -> list[str]:
    """Release the instance's ports (and so its MACs and IPs); the released port ids. Their floating IPs are
    disassociated first and stay with the project, as Neutron does when a port is deleted."""
    for fip in state.floating_ips_where(instance_uuid=instance_uuid):
        state.save_floating_ip(floating_ip.disassociated(fip, utcnow()))
    return state.delete_ports(list(state.ports_of_instance(instance_uuid)))


def network_info_for_instance(state: StoreState, instance_uuid: str) -> list[dict[str, Any]]:
    return [copy.deepcopy(port["vif"]) for port in state.ports_of_instance(instance_uuid).values()]


def _cidrs(networks: list[dict[str, Any]]) -> list[str]:
    """The subnets the NICs take addresses from: the addresses in use that matter are in these."""
    cidrs = {network["cidr"] for network in networks}
    cidrs.update(network["ipv6"]["cidr"] for network in networks if network.get("ipv6"))
    return sorted(cidrs)


class _MacsTaken:
    """The store's MACs in use plus the ones this allocation took: the container generate_mac checks."""

    def __init__(self, in_store: Container[str]) -> None:
        self.in_store = in_store
        self.taken: set[str] = set()

    def __contains__(self, mac: object) -> bool:
        return mac in self.taken or mac in self.in_store

    def add(self, mac: str) -> None:
        self.taken.add(mac.lower())
