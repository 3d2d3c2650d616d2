# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Allocating, associating, disassociating and releasing floating IPs in the store (Neutron's floating IP API).

A floating IP belongs to a project from its allocation (within the project's
``floating_ips`` quota, counted in the same transaction) until it is released;
associating it with a fixed IP of an instance's port makes the instance's
compute host NAT it (nova-network's linux_net, network/linux_net.py). Each
operation returns ``nat_refresh``, the hosts whose NAT changes: the
playbooks run nimbus.compute.floating_ip_nat there.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import flow
from ansible_collections.nimbus.compute.plugins.module_utils.compute.security_groups import instance_rules
from ansible_collections.nimbus.compute.plugins.module_utils.compute.server_groups import record_diff
from ansible_collections.nimbus.compute.plugins.module_utils.network import model
from ansible_collections.nimbus.compute.plugins.module_utils.objects import floating_ip as fip_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import quotas as quotas_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_safe_name
from ansible_collections.nimbus.compute.plugins.module_utils.objects.quotas import DEFAULT_PROJECT, project_of
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import retry_on_conflict


class NoMoreFloatingIps(exceptions.Conflict):
    """Nova's NoMoreFloatingIps: every address of the pool's ranges is allocated."""


class FloatingIpAssociated(exceptions.Conflict):
    """Neutron's FloatingIPPortAlreadyAssociated."""


def _result(changed: bool, before: dict[str, Any] | None, after: dict[str, Any] | None, hosts: set) -> dict[str, Any]:
    return {
        "changed": changed,
        "floating_ip": after,
        "diff": record_diff(before, after),
        "nat_refresh": sorted(host for host in hosts if host),
    }


def _instance(state, name: str, project_id: str) -> dict[str, Any]:
    """The instance a floating IP is associated with: of the project, active, on its host."""
    instance = flow.find_instance(state, name)
    if instance is None or project_of(instance) != project_id:
        raise exceptions.InvalidInput(
            "instance", f"names no instance of project {project_id}: {exceptions.shown(name)}"
        )
    if instance["vm_state"] != states.ACTIVE or flow.is_being_deleted(instance) or not instance.get("host"):
        raise exceptions.Conflict(
            f"instance {instance['name']} ({instance['uuid']}) is {instance['vm_state']} (task_state "
            f"{instance.get('task_state')}): a floating IP is associated with an active instance on its host",
            instance=instance["uuid"],
        )
    return instance


def _fixed_ip(state, instance: dict[str, Any], fixed_address: str | None) -> tuple[str, str]:
    """(port id, fixed IPv4 address) of the instance: ``fixed_address``, or the first port's first IPv4 one."""
    candidates = [
        (port_id, address)
        for port_id, port in state.ports_of_instance(instance["uuid"]).items()
        for address in port["ips"]
        if ipaddress.ip_address(address).version == 4
    ]
    if fixed_address is not None:
        found = [candidate for candidate in candidates if candidate[1] == fixed_address]
        if not found:
            owned = ", ".join(address for _port, address in candidates) or "none"
            raise exceptions.InvalidInput(
                "fixed_address",
                f"is not an IPv4 address of the ports of instance {instance['name']} ({owned}): "
                f"{exceptions.shown(fixed_address)}",
            )
        return found[0]
    if not candidates:
        raise exceptions.InvalidInput("instance", f"instance {instance['name']} has no port with an IPv4 address")
    return candidates[0]


def _pool_names(pools: dict[str, Any]) -> str:
    return f"pools (nimbus_floating_pools): {', '.join(sorted(pools)) or 'none'}"


def _pool_for(pools: dict[str, dict[str, Any]], pool: str | None, address: str | None) -> dict[str, Any]:
    """The pool a floating IP is taken from: ``pool``, the one whose ranges hold ``address``, or the only one."""
    if pool is not None:
        if pool not in pools:
            raise exceptions.InvalidInput(
                "pool", f"names no floating IP pool: {exceptions.shown(pool)}; {_pool_names(pools)}"
            )
        chosen = pools[pool]
        if address is not None and not fip_obj.in_pool(chosen, address):
            raise exceptions.InvalidInput("floating_ip_address", f"{address} is not in the ranges of pool {pool}")
        return chosen
    if address is not None:
        found = fip_obj.pool_of(pools, address)
        if found is None:
            raise exceptions.InvalidInput("floating_ip_address", f"{address} is in the ranges of no floating IP pool")
        return found
    if len(pools) != 1:
        raise exceptions.InvalidInput("pool", f"is required unless there is exactly one pool; {_pool_names(pools)}")
    return next(iter(pools.values()))


def _allocate(
    state, pools: dict[str, dict[str, Any]], pool: str | None, address: str | None, project_id: str, limits, now: str
) -> dict[str, Any]:
    """A new floating IP of the project (not yet written): ``address``, or the pool's first free one."""
    chosen = _pool_for(pools, pool, address)
    quotas_obj.check_room(limits, "floating_ips", state.project_usage(project_id)["floating_ips"])
    if address is None:
        taken = {fip["floating_ip_address"] for fip in state.floating_ips_where(pool=chosen["name"])}
        address = fip_obj.free_address(chosen, taken)
        if address is None:
            raise NoMoreFloatingIps(f"No more floating IPs in pool {chosen['name']}: every address is allocated")
    return fip_obj.new_floating_ip(address, chosen["name"], project_id, now)


def _owned(state, address: str, project_id: str) -> dict[str, Any] | None:
    """The floating IP of ``address``, refused when another project holds it."""
    fip = state.find_floating_ip(address)
    if fip is not None and project_of(fip) != project_id:
        raise exceptions.Conflict(f"floating IP {address} is allocated to another project", floating_ip=fip["id"])
    return fip


def _checked_address(address: str | None) -> str | None:
    return None if address is None else str(fip_obj.check_address("floating_ip_address", address))


@retry_on_conflict
def ensure(
    store,
    pools: dict[str, Any] | None,
    now: str,
    check_mode: bool,
    *,
    instance: str | None = None,
    pool: str | None = None,
    floating_ip_address: str | None = None,
    fixed_address: str | None = None,
    reuse: bool = False,
    project_id: str = DEFAULT_PROJECT,
    quotas: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The floating IP is allocated to the project and, with ``instance``, associated with one of its fixed IPs.

    openstack.cloud's floating_ip: with ``floating_ip_address`` that address (allocated when free); else the
    instance's own one, else (``reuse``) one of the project's that is not associated, else a new one of ``pool``.
    """
    check_safe_name("project_id", project_id)
    checked_pools = fip_obj.check_pools(pools)
    address = _checked_address(floating_ip_address)
    limits = quotas_obj.project_limits(quotas)
    if instance is None and address is None:
        raise exceptions.InvalidInput("floating_ip_address", "is required without instance (the address to allocate)")
    with store.transaction() as state:
        target = None if instance is None else _instance(state, instance, project_id)
        port_id, fixed = (None, None) if target is None else _fixed_ip(state, target, fixed_address)
        fip = None if address is None else _owned(state, address, project_id)
        if fip is None and address is None:
            held = [f for f in state.floating_ips_where(instance_uuid=target["uuid"]) if f["fixed_ip_address"] == fixed]
            free = [f for f in state.floating_ips_where(project_id=project_id) if f["port_id"] is None]
            free = [f for f in free if pool is None or f["pool"] == pool]
            fip = held[0] if held else (free[0] if reuse and free else None)
        before = fip
        if fip is None:
            fip = _allocate(state, checked_pools, pool, address, project_id, limits, now)
        if target is None:
            if before is None and not check_mode:
                state.add_floating_ip(fip)
            return _result(before is None, before, fip, set())
        if (fip["port_id"], fip["fixed_ip_address"]) == (port_id, fixed):
            return _result(False, before, fip, set())
        if fip["port_id"] is not None:
            raise FloatingIpAssociated(
                f"floating IP {fip['floating_ip_address']} is associated with fixed IP {fip['fixed_ip_address']} of "
                f"instance {fip['instance_uuid']} already: disassociate it first",
                floating_ip=fip["id"],
            )
        other = next((f for f in state.floating_ips_where(port_id=port_id) if f["fixed_ip_address"] == fixed), None)
        if other is not None:
            raise FloatingIpAssociated(
                f"fixed IP {fixed} of instance {target['name']} has floating IP {other['floating_ip_address']} "
                "already: disassociate it first",
                floating_ip=other["id"],
            )
        after = fip_obj.associated(fip, target, port_id, fixed, now)
        if not check_mode:
            (state.add_floating_ip if before is None else state.save_floating_ip)(after)
        return _result(True, before, after, {target["host"]})


@retry_on_conflict
def absent(
    store,
    now: str,
    check_mode: bool,
    *,
    instance: str | None = None,
    floating_ip_address: str | None = None,
    purge: bool = False,
    project_id: str = DEFAULT_PROJECT,
) -> dict[str, Any]:
    """With ``instance``: its floating IPs (only ``floating_ip_address``, when given) are disassociated, and
    released with ``purge``. Without: ``floating_ip_address`` is released (disassociated first)."""
    check_safe_name("project_id", project_id)
    address = _checked_address(floating_ip_address)
    if instance is None and address is None:
        raise exceptions.InvalidInput("floating_ip_address", "is required without instance (the address to release)")
    with store.transaction() as state:
        if instance is None:
            found = [fip for fip in [_owned(state, address, project_id)] if fip is not None]
            release = True
        else:
            target = flow.find_instance(state, instance)
            if target is None or project_of(target) != project_id:
                raise exceptions.InvalidInput(
                    "instance", f"names no instance of project {project_id}: {exceptions.shown(instance)}"
                )
            found = state.floating_ips_where(instance_uuid=target["uuid"])
            found = [fip for fip in found if address is None or fip["floating_ip_address"] == address]
            release = purge
        if not found:
            return _result(False, None, None, set())
        hosts = {fip["host"] for fip in found}
        for fip in found:
            if check_mode:
                continue
            if release:
                state.delete_floating_ip(fip["id"])
            else:
                state.save_floating_ip(fip_obj.disassociated(fip, now))
        after = None if release else fip_obj.disassociated(found[0], now)
        return _result(True, found[0], after, hosts)


def host_bindings(state, host: str) -> list[dict[str, Any]]:
    """The floating IPs associated with instances on ``host``, as floating_ip_nat takes them: each address with
    its fixed IP and the instance's security group rules (None: no groups, nothing filtered)."""
    bindings = []
    for fip in state.floating_ips_where(host=host):
        instance = state.get_instance(fip["instance_uuid"])
        bindings.append(
            {
                "floating_ip_address": fip["floating_ip_address"],
                "fixed_ip_address": fip["fixed_ip_address"],
                "pool": fip["pool"],
                "rules": None if instance is None else instance_rules(state, instance),
            }
        )
    return bindings


def hosts_of(state, uuids: list[str]) -> set[str]:
    """The hosts where instances of ``uuids`` have floating IPs (their NAT changes when they go)."""
    return {fip["host"] for uuid in uuids for fip in state.floating_ips_where(instance_uuid=uuid) if fip["host"]}


def shown(state, instance: dict[str, Any]) -> dict[str, Any]:
    """The instance as instance_info shows it: its ``floating_ips``, and each in its network_info beside the fixed
    IP it is associated with (Nova's network model: a fixed IP's ``floating_ips``). The record keeps neither."""
    floating = [
        {key: fip[key] for key in ("floating_ip_address", "fixed_ip_address", "pool", "port_id")}
        for fip in state.floating_ips_where(instance_uuid=instance["uuid"])
    ]
    network_info = model.with_floating_ips(instance.get("network_info") or [], floating)
    return {**instance, "floating_ips": floating, "network_info": network_info}
