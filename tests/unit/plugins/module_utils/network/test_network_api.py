"""allocate_for_instance & co. over the store's ports (each backend; the big-network index on the JSON state)."""

from __future__ import annotations

import random

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    FixedIpAlreadyInUse,
    FixedIpInvalid,
    InvalidInput,
    NoMoreFixedIps,
)
from ansible_collections.nimbus.compute.plugins.module_utils.network import api
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import StoreState

NETWORKS = {
    "private": {"cidr": "198.18.0.0/24", "allocation_pools": [{"start": "198.18.0.10", "end": "198.18.0.12"}]},
    "public": {"cidr": "203.0.113.0/28", "dhcp": False},
    "dual": {
        "cidr": "198.18.2.0/24",
        "ipv6": {"cidr": "2001:db8:2::/64", "allocation_pools": [{"start": "2001:db8:2::10", "end": "2001:db8:2::11"}]},
    },
}
NOW = "2026-01-01T00:00:00Z"


@pytest.fixture
def state(store):
    """A transaction's state on an empty store of each backend."""
    with store.transaction() as opened:
        yield opened


def recorded(state, uuid):
    """``uuid``, with an instance record of that uuid (ports belong to an instance the store has)."""
    if state.get_instance(uuid) is None:
        state.add_instance({"uuid": uuid, "name": uuid, "vm_state": "building", "task_state": None, "created_at": NOW})
    return uuid


def allocate(state, uuid, requested, seed=None):
    recorded(state, uuid)
    rng = random.Random(seed) if seed is not None else None
    return api.allocate_for_instance(state, uuid, requested, NETWORKS, NOW, rng=rng)


def ports(state):
    return state.export()["ports"]


def addresses(network_info):
    return [vif["network"]["subnets"][0]["ips"][0]["address"] for vif in network_info]


def test_allocation_in_request_order(state):
    vifs = allocate(state, "u1", [{"network": "public"}, {"network": "private"}, {"network": "private"}])
    assert [vif["network"]["id"] for vif in vifs] == ["public", "private", "private"]
    assert addresses(vifs) == ["203.0.113.2", "198.18.0.10", "198.18.0.11"]
    assert len(ports(state)) == 3
    port = ports(state)[vifs[0]["id"]]
    assert (port["instance_uuid"], port["network"], port["mac"], port["ips"], port["created_at"]) == (
        "u1",
        "public",
        vifs[0]["address"],
        ["203.0.113.2"],
        NOW,
    )
    assert api.network_info_for_instance(state, "u1") == vifs


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ([{"network": "private", "fixed_ip": "198.18.0.12"}, {"network": "private"}], ["198.18.0.12", "198.18.0.10"]),
        # Fixed IPs are taken before any automatic address, as Neutron does.
        ([{"network": "private"}, {"network": "private", "fixed_ip": "198.18.0.10"}], ["198.18.0.11", "198.18.0.10"]),
    ],
)
def test_fixed_ip_is_honoured(state, requested, expected):
    assert addresses(allocate(state, "u1", requested)) == expected


@pytest.mark.parametrize(
    ("requested", "error"),
    [
        ([{"network": "private"}, {"network": "private", "fixed_ip": "198.18.1.10"}], FixedIpInvalid),
        ([{"network": "private"}, {"network": "private", "fixed_ip": "198.18.0.1"}], FixedIpInvalid),
        ([{"network": "private"}, {"network": "private", "fixed_ip": "198.18.0.20"}], FixedIpInvalid),
        ([{"network": "private", "fixed_ip": "198.18.0.10"}] * 2, FixedIpAlreadyInUse),
        ([{"network": "private"}, {"network": "private", "fixed_ip": "198.18.0.11"}], FixedIpAlreadyInUse),
        ([{"network": "private"}, {"network": "dmz"}], InvalidInput),
        ([{"network": "private"}] * 3, NoMoreFixedIps),
        ([{"network": "public"}, {"network": "dual"}, *[{"network": "private"}] * 3], NoMoreFixedIps),
        ([{"network": "dual"}, {"network": "dual"}, {"network": "dual"}], NoMoreFixedIps),
        ([{"network": "dual", "fixed_ip": "2001:db8:2::12"}], FixedIpInvalid),
        ([{"network": "dual", "fixed_ip": "2001:db8:2::10"}] * 2, FixedIpAlreadyInUse),
    ],
)
def test_any_failure_allocates_nothing(state, requested, error):
    allocate(state, "other", [{"network": "private", "fixed_ip": "198.18.0.11"}])
    before = ports(state)
    with pytest.raises(error):
        allocate(state, "u1", requested)
    assert ports(state) == before
    assert api.network_info_for_instance(state, "u1") == []


def test_exhaustion_across_instances(state):
    for uuid in ("u1", "u2", "u3"):
        allocate(state, uuid, [{"network": "private"}])
    with pytest.raises(NoMoreFixedIps):
        allocate(state, "u4", [{"network": "private"}])
    assert api.network_info_for_instance(state, "u4") == []
    assert len(ports(state)) == 3


def test_allocation_is_idempotent(state):
    requested = [{"network": "private"}, {"network": "public", "fixed_ip": "203.0.113.9"}]
    first = allocate(state, "u1", requested)
    again = allocate(state, "u1", requested)
    assert again == first
    assert len(ports(state)) == 2


def test_changed_request_for_allocated_instance_is_a_conflict(state):
    allocate(state, "u1", [{"network": "private"}])
    with pytest.raises(api.PortsMismatch, match="deallocate"):
        allocate(state, "u1", [{"network": "public"}])
    with pytest.raises(api.PortsMismatch):
        allocate(state, "u1", [{"network": "private"}, {"network": "public"}])


def test_returned_vifs_are_copies(state):
    vifs = allocate(state, "u1", [{"network": "private"}])
    vifs[0]["active"] = True
    assert api.network_info_for_instance(state, "u1")[0]["active"] is False


def test_deallocate_releases_ports_for_reuse(state):
    first = allocate(state, "u1", [{"network": "private"}, {"network": "public"}])
    allocate(state, "u2", [{"network": "private"}])
    released = api.deallocate_for_instance(state, "u1")
    assert sorted(released) == sorted(vif["id"] for vif in first)
    assert api.network_info_for_instance(state, "u1") == []
    assert api.deallocate_for_instance(state, "u1") == []
    assert addresses(allocate(state, "u3", [{"network": "private"}])) == ["198.18.0.10"]
    assert len(api.network_info_for_instance(state, "u2")) == 1


def test_instances_never_share_an_ip_or_mac(state):
    # Reused seeds repeat MACs and port ids unless the store is consulted.
    big = {"cidr": "198.18.4.0/22"}
    for index in range(20):
        api.allocate_for_instance(
            state,
            recorded(state, f"u{index}"),
            [{"network": "big"}, {"network": "big"}],
            {"big": big},
            NOW,
            rng=random.Random(index % 4),
        )
    held = list(ports(state).values())
    assert len(held) == 40
    assert len({port["mac"] for port in held}) == 40
    assert len({port["ips"][0] for port in held}) == 40


def test_a_repeated_port_id_is_drawn_again(state):
    macs = random.Random(0)
    port_bits = iter([1, 1, 1, 2])  # u1 takes 1; u2 draws 1 twice more, then 2

    class RepeatingBits(random.Random):
        def getrandbits(self, k):
            return next(port_bits)

        def randrange(self, *args):
            return macs.randrange(*args)

    vifs = api.allocate_for_instance(
        state, recorded(state, "u1"), [{"network": "private"}], NETWORKS, NOW, rng=RepeatingBits(0)
    )
    vifs += api.allocate_for_instance(
        state, recorded(state, "u2"), [{"network": "private"}], NETWORKS, NOW, rng=RepeatingBits(0)
    )
    assert len({vif["id"] for vif in vifs}) == 2
    assert len(ports(state)) == 2


def test_dual_stack_port_holds_both_addresses(state):
    vifs = allocate(state, "u1", [{"network": "dual"}, {"network": "dual", "fixed_ip": "2001:db8:2::10"}])
    subnets = [[(s["version"], s["ips"][0]["address"]) for s in vif["network"]["subnets"]] for vif in vifs]
    assert subnets == [[(4, "198.18.2.2"), (6, "2001:db8:2::11")], [(4, "198.18.2.3"), (6, "2001:db8:2::10")]]
    assert [ports(state)[vif["id"]]["ips"] for vif in vifs] == [
        ["198.18.2.2", "2001:db8:2::11"],
        ["198.18.2.3", "2001:db8:2::10"],
    ]
    assert state.ips_in_use(["198.18.2.0/24", "2001:db8:2::/64"]) == {
        "198.18.2.2",
        "2001:db8:2::11",
        "198.18.2.3",
        "2001:db8:2::10",
    }


def test_fixed_ip_of_another_network_is_refused_by_name(state):
    with pytest.raises(FixedIpInvalid, match="in the allocation pool of network private"):
        allocate(state, "u1", [{"network": "public", "fixed_ip": "198.18.0.11"}])


def test_nearly_full_big_network_allocates_the_lowest_hole():
    networks = {"big": {"cidr": "198.18.0.0/16"}}
    state = StoreState()
    for value in range(2, 3002):
        if value != 1500:
            address = f"198.18.{value // 256}.{value % 256}"
            state.ports[f"p{value}"] = {"instance_uuid": "old", "network": "big", "mac": f"m{value}", "ips": [address]}
    vifs = api.allocate_for_instance(state, "u1", [{"network": "big"}, {"network": "big"}], networks, NOW)
    assert addresses(vifs) == ["198.18.5.220", "198.18.11.186"]
