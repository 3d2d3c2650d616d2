# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Body of floating_ip_nat, which runs on a compute host: its floating IPs' NAT (network/linux_net.py)."""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.network import linux_net
from ansible_collections.nimbus.compute.plugins.module_utils.objects import floating_ip as fip_obj
from ansible_collections.nimbus.compute.plugins.module_utils.virt import netns


def bindings_of(floating_ips: list[dict[str, Any]], pools: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each floating IP with its pool's interface, the pool named by ``floating_ips[N].pool``."""
    bindings = []
    for index, fip in enumerate(floating_ips):
        pool = pools.get(fip["pool"])
        if pool is None:
            raise exceptions.InvalidInput(
                f"floating_ips[{index}].pool", f"names no pool of pools: {exceptions.shown(fip['pool'])}"
            )
        if not fip_obj.in_pool(pool, fip["floating_ip_address"]):
            raise exceptions.InvalidInput(
                f"floating_ips[{index}].floating_ip_address", f"is not in the ranges of pool {pool['name']}"
            )
        bindings.append({**fip, "interface": pool["interface"]})
    return bindings


def floating_ip_nat(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    pools = fip_obj.check_pools(params.get("pools"))
    bindings = bindings_of(params.get("floating_ips") or [], pools)
    if params.get("netns"):
        netns.enter(params["netns"])
    host_pools = [
        {
            "name": name,
            "interface": pool["interface"],
            "ranges": [[str(first), str(last)] for first, last in pool["ranges"]],
        }
        for name, pool in pools.items()
    ]
    try:
        result = linux_net.ensure_floating_forwards(bindings, host_pools, check_mode)
    except linux_net.NatError as error:
        raise exceptions.VirtError(str(error)) from None
    return {**result, "floating_ips": [binding["floating_ip_address"] for binding in bindings]}
