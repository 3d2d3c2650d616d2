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
        ({"bridge": "br0", "libvirt_network": "nimbus-private"}, "networks.private.bridge"),
        ({"bridge": "a-bridge-name-too-long"}, "networks.private.bridge"),
        ({"bridge": ""}, "networks.private.bridge"),
        ({"vlan": 5}, "networks.private.vlan"),
    ],
)
def test_bad_network_names_the_key(conf, field):
    with pytest.raises(InvalidInput) as error:
        net(**conf)
    assert error.value.field == field


def test_a_host_bridge_replaces_the_libvirt_network():
    bridged = net(bridge="br-guests", dhcp=False)
    assert (bridged["bridge"], bridged["libvirt_network"]) == ("br-guests", None)
    assert ipam.normalise_network("private", bridged) == bridged
    assert "bridge" not in net()


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


def dual(**ipv6):
    return net(ipv6={"cidr": "2001:db8::/64", **ipv6})


def test_ipv6_subnet_defaults():
    assert dual()["ipv6"] == {
        "cidr": "2001:db8::/64",
        "version": 6,
        "prefixlen": 64,
        "gateway": "2001:db8::1",
        "allocation_pools": [{"start": "2001:db8::2", "end": "2001:db8::ffff:ffff:ffff:ffff"}],
        "dns": [],
    }


def test_ipv4_only_network_has_no_ipv6_key():
    assert "ipv6" not in net()
    assert "ipv6" not in net(ipv6=None)


def test_dual_stack_normalising_twice_changes_nothing():
    once = dual(dns=["2001:db8::53"], allocation_pools=[{"start": "2001:db8::10", "end": "2001:db8::20"}])
    assert ipam.normalise_network("private", once) == once


@pytest.mark.parametrize(
    ("ipv6", "field"),
    [
        ("2001:db8::/64", "networks.private.ipv6"),
        ({}, "networks.private.ipv6.cidr"),
        ({"cidr": "198.18.0.0/24"}, "networks.private.ipv6.cidr"),
        ({"cidr": "2001:db8::1/64"}, "networks.private.ipv6.cidr"),
        ({"cidr": "2001:db8::/127"}, "networks.private.ipv6.cidr"),
        ({"cidr": "2001:db8::/64", "gateway": "198.18.0.1"}, "networks.private.ipv6.gateway"),
        ({"cidr": "2001:db8::/64", "gateway": "2001:db9::1"}, "networks.private.ipv6.gateway"),
        ({"cidr": "2001:db8::/64", "dns": ["198.18.0.1"]}, "networks.private.ipv6.dns[0]"),
        (
            {"cidr": "2001:db8::/64", "allocation_pools": [{"start": "2001:db8::1", "end": "2001:db8::5"}]},
            "networks.private.ipv6.allocation_pools[0]",
        ),
        ({"cidr": "2001:db8::/64", "ra_mode": "slaac"}, "networks.private.ipv6.ra_mode"),
    ],
)
def test_bad_ipv6_subnet_names_the_key(ipv6, field):
    with pytest.raises(InvalidInput) as error:
        net(ipv6=ipv6)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("used", "start", "end", "free"),
    [
        ([], 10, 20, 10),
        ([10], 10, 20, 11),
        ([10, 11, 12], 10, 20, 13),
        ([10, 12], 10, 20, 11),
        ([11, 12], 10, 20, 10),
        ([5, 6, 10, 11, 30], 10, 20, 12),
        (list(range(10, 21)), 10, 20, None),
        ([*range(10, 15), *range(16, 21)], 10, 20, 15),
        ([*range(0, 100)], 10, 20, None),
        ([20], 20, 20, None),
    ],
)
def test_lowest_free_in_the_index(used, start, end, free):
    index = ipam.AddressIndex(f"198.18.{value // 256}.{value % 256}" for value in used)
    base = int.from_bytes(bytes([198, 18, 0, 0]), "big")
    found = index.lowest_free(base + start, base + end, 4)
    assert (None if found is None else found - base) == free


def test_index_keeps_versions_apart_and_ignores_junk():
    index = ipam.AddressIndex(["198.18.0.10", "2001:db8::10", "junk"])
    assert len(index) == 2
    assert "198.18.0.10" in index
    assert "2001:db8::10" in index
    assert "198.18.0.11" not in index
    index.add("198.18.0.11")
    index.add("198.18.0.11")
    assert len(index) == 3
    index.discard("198.18.0.10")
    index.discard("198.18.0.10")
    assert "198.18.0.10" not in index
    assert len(index) == 2


@pytest.mark.parametrize(
    ("fixed_ip", "expected"),
    [
        (None, ["198.18.0.2", "2001:db8::2"]),
        ("198.18.0.50", ["198.18.0.50", "2001:db8::2"]),
        ("2001:db8::99", ["198.18.0.2", "2001:db8::99"]),
    ],
)
def test_dual_stack_allocates_one_address_per_subnet(fixed_ip, expected):
    index = ipam.AddressIndex()
    assert ipam.allocate_addresses(dual(), index, fixed_ip) == expected
    assert all(address in index for address in expected)


@pytest.mark.parametrize(
    ("fixed_ip", "error", "message"),
    [
        ("2001:db8::1", FixedIpInvalid, "gateway"),
        ("2001:db9::5", FixedIpInvalid, "outside network private"),
        ("2001:db8::10", FixedIpAlreadyInUse, "already in use"),
    ],
)
def test_dual_stack_fixed_ip_refusals(fixed_ip, error, message):
    with pytest.raises(error, match=message):
        ipam.allocate_addresses(dual(), {"2001:db8::10"}, fixed_ip)


def test_full_ipv6_pool_is_no_more_fixed_ips():
    network = dual(allocation_pools=[{"start": "2001:db8::10", "end": "2001:db8::11"}])
    with pytest.raises(NoMoreFixedIps, match="IPv6"):
        ipam.allocate_addresses(network, {"2001:db8::10", "2001:db8::11"})


OTHERS = {
    "private": {"cidr": "198.18.0.0/24"},
    "static": {"cidr": "198.18.1.0/24", "allocation_pools": [{"start": "198.18.1.10", "end": "198.18.1.200"}]},
    "broken": {"cidr": "nonsense"},
}


@pytest.mark.parametrize(
    ("fixed_ip", "message"),
    [
        ("198.18.1.50", r"outside network private \(198.18.0.0/24\); it is in the allocation pool of network static"),
        ("198.18.1.5", r"outside network private \(198.18.0.0/24\); it belongs to network static \(198.18.1.0/24\)"),
        ("198.18.2.5", r"outside network private \(198.18.0.0/24\)$"),
    ],
)
def test_fixed_ip_refusal_names_the_network_it_belongs_to(fixed_ip, message):
    with pytest.raises(FixedIpInvalid, match=message):
        ipam.check_fixed_ip(net(), fixed_ip, OTHERS)
