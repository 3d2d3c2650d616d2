"""IPAM: network normalisation and fixed-IP allocation."""

from __future__ import annotations

import time

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    FixedIpAlreadyInUse,
    FixedIpInvalid,
    InvalidInput,
    NoMoreFixedIps,
)
from ansible_collections.nimbus.compute.plugins.module_utils.network import ipam


def net(name="private", **conf):
    return ipam.normalise_network(name, {"cidr": "198.18.0.0/24", **conf})


def test_defaults():
    assert net() == {
        "name": "private",
        "cidr": "198.18.0.0/24",
        "version": 4,
        "netmask": "255.255.255.0",
        "gateway": "198.18.0.1",
        "allocation_pools": [{"start": "198.18.0.2", "end": "198.18.0.254"}],
        "dns": [],
        "mtu": 1500,
        "dhcp": True,
        "libvirt_network": "private",
    }


def test_normalising_twice_changes_nothing():
    once = net(dns=["198.18.0.1"], mtu=9000, dhcp=False, libvirt_network="br-priv")
    assert ipam.normalise_network("private", once) == once


@pytest.mark.parametrize(
    ("gateway", "pools"),
    [
        (
            "198.18.0.100",
            [{"start": "198.18.0.1", "end": "198.18.0.99"}, {"start": "198.18.0.101", "end": "198.18.0.254"}],
        ),
        ("198.18.0.254", [{"start": "198.18.0.1", "end": "198.18.0.253"}]),
        (None, [{"start": "198.18.0.1", "end": "198.18.0.254"}]),
    ],
)
def test_default_pool_is_the_usable_range_minus_gateway(gateway, pools):
    assert net(gateway=gateway)["allocation_pools"] == pools


def test_explicit_pools_are_sorted():
    pools = [{"start": "198.18.0.50", "end": "198.18.0.60"}, {"start": "198.18.0.10", "end": "198.18.0.20"}]
    assert [pool["start"] for pool in net(allocation_pools=pools)["allocation_pools"]] == ["198.18.0.10", "198.18.0.50"]


@pytest.mark.parametrize(
    ("conf", "field"),
    [
        ({"cidr": None}, "networks.private.cidr"),
        ({"cidr": "198.18.0.0"}, "networks.private.cidr"),
        ({"cidr": "198.18.0.5/24"}, "networks.private.cidr"),
        ({"cidr": "198.18.0.0/31"}, "networks.private.cidr"),
        ({"cidr": "2001:db8::/64"}, "networks.private.cidr"),
        ({"cidr": "banana/24"}, "networks.private.cidr"),
        ({"gateway": "198.18.1.1"}, "networks.private.gateway"),
        ({"gateway": "198.18.0.0"}, "networks.private.gateway"),
        ({"gateway": "198.18.0.255"}, "networks.private.gateway"),
        ({"gateway": "gw"}, "networks.private.gateway"),
        ({"allocation_pools": []}, "networks.private.allocation_pools"),
        ({"allocation_pools": [{"start": "198.18.0.10"}]}, "networks.private.allocation_pools[0]"),
        (
            {"allocation_pools": [{"start": "198.18.0.20", "end": "198.18.0.10"}]},
            "networks.private.allocation_pools[0]",
        ),
        ({"allocation_pools": [{"start": "198.18.0.1", "end": "198.18.0.10"}]}, "networks.private.allocation_pools[0]"),
        (
            {"allocation_pools": [{"start": "198.18.0.10", "end": "198.18.1.10"}]},
            "networks.private.allocation_pools[0].end",
        ),
        (
            {"allocation_pools": [{"start": "198.18.0.0", "end": "198.18.0.10"}]},
            "networks.private.allocation_pools[0].start",
        ),
        (
            {
                "allocation_pools": [
                    {"start": "198.18.0.10", "end": "198.18.0.20"},
                    {"start": "198.18.0.20", "end": "198.18.0.30"},
                ]
            },
            "networks.private.allocation_pools",
        ),
        ({"dns": "8.8.8.8"}, "networks.private.dns"),
        ({"dns": ["8.8.8"]}, "networks.private.dns[0]"),
        ({"mtu": 67}, "networks.private.mtu"),
        ({"mtu": "1500"}, "networks.private.mtu"),
        ({"dhcp": "yes"}, "networks.private.dhcp"),
        ({"libvirt_network": "my net"}, "networks.private.libvirt_network"),
        ({"vlan": 5}, "networks.private.vlan"),
    ],
)
def test_bad_network_names_the_key(conf, field):
    with pytest.raises(InvalidInput) as error:
        net(**conf)
    assert error.value.field == field


def test_missing_cidr():
    with pytest.raises(InvalidInput) as error:
        ipam.normalise_network("n", {})
    assert error.value.field == "networks.n.cidr"


def test_lowest_free_address_first():
    network = net(allocation_pools=[{"start": "198.18.0.10", "end": "198.18.0.12"}])
    assert ipam.allocate_address(network, set()) == "198.18.0.10"
    assert ipam.allocate_address(network, {"198.18.0.10"}) == "198.18.0.11"
    assert ipam.allocate_address(network, {"198.18.0.10", "198.18.0.11"}) == "198.18.0.12"
    with pytest.raises(NoMoreFixedIps, match="private"):
        ipam.allocate_address(network, {"198.18.0.10", "198.18.0.11", "198.18.0.12"})


def test_allocation_continues_in_the_next_pool():
    network = net(
        gateway="198.18.0.3",
        allocation_pools=[{"start": "198.18.0.2", "end": "198.18.0.2"}, {"start": "198.18.0.4", "end": "198.18.0.5"}],
    )
    assert ipam.allocate_address(network, {"198.18.0.2"}) == "198.18.0.4"


@pytest.mark.parametrize(
    ("fixed_ip", "error"),
    [
        ("198.18.0.10", None),
        ("198.18.0.20", None),
        ("198.18.1.10", FixedIpInvalid),  # outside the subnet
        ("198.18.0.1", FixedIpInvalid),  # the gateway
        ("198.18.0.5", FixedIpInvalid),  # outside the pool
        ("198.18.0.255", FixedIpInvalid),  # broadcast, outside the pool
        ("not-an-ip", FixedIpInvalid),
        ("2001:db8::1", FixedIpInvalid),
        ("198.18.0.11", FixedIpAlreadyInUse),
    ],
)
def test_fixed_ip(fixed_ip, error):
    network = net(allocation_pools=[{"start": "198.18.0.10", "end": "198.18.0.20"}])
    if error is None:
        assert ipam.allocate_address(network, {"198.18.0.11"}, fixed_ip) == fixed_ip
    else:
        with pytest.raises(error):
            ipam.allocate_address(network, {"198.18.0.11"}, fixed_ip)


def test_big_network_stays_fast():
    network = ipam.normalise_network("big", {"cidr": "10.0.0.0/16"})
    used = {f"10.0.{i // 256}.{i % 256}" for i in range(2, 30000)}
    start = time.perf_counter()
    for _round in range(20):
        address = ipam.allocate_address(network, used)
    assert address == "10.0.117.48"
    assert time.perf_counter() - start < 3
