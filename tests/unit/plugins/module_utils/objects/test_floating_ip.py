"""Floating IP pools: each bad field refused by name, default ranges, free addresses; records and associations."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import floating_ip

CIDR = "198.19.0.0/24"


def pool(**fields):
    return {"cidr": CIDR, "interface": "eth1", **fields}


def span(start, end):
    return {"start": start, "end": end}


@pytest.mark.parametrize(
    ("given", "field", "says"),
    [
        (pool(cidr="198.19.0.0/33"), "pools.ext.cidr", "must be an IPv4 network"),
        (pool(cidr="198.19.0.1/24"), "pools.ext.cidr", "got '198.19.0.1/24'"),
        (pool(cidr="2001:db8::/64"), "pools.ext.cidr", "must be an IPv4 network"),
        ({"interface": "eth1"}, "pools.ext.cidr", "got None"),
        ({"cidr": CIDR}, "pools.ext.interface", "got None"),
        (pool(interface=""), "pools.ext.interface", "1-15 characters"),
        (pool(interface="e" * 16), "pools.ext.interface", "1-15 characters"),
        (pool(interface="br/ext"), "pools.ext.interface", "got 'br/ext'"),
        (pool(interface="br ext"), "pools.ext.interface", "without whitespace"),
        (pool(allocation_pools=[span("198.19.1.10", "198.19.1.20")]), "pools.ext.allocation_pools[0]", "inside"),
        (pool(allocation_pools=[span("198.19.0.10", "198.19.1.20")]), "pools.ext.allocation_pools[0]", "inside"),
        (
            pool(allocation_pools=[span("198.19.0.20", "198.19.0.10")]),
            "pools.ext.allocation_pools[0]",
            "198.19.0.20 to 198.19.0.10 inside 198.19.0.0/24, start before end",
        ),
        (
            pool(allocation_pools=[span("198.19.0.10", "198.19.0.20"), span("198.19.0.20", "198.19.0.30")]),
            "pools.ext.allocation_pools[1]",
            "overlaps the range 198.19.0.10 to 198.19.0.20",
        ),
        (pool(allocation_pools=[span("198.19.0.x", "198.19.0.20")]), "pools.ext.allocation_pools[0].start", "IPv4"),
        (pool(allocation_pools=[span("198.19.0.10", None)]), "pools.ext.allocation_pools[0].end", "got None"),
    ],
)
def test_a_bad_pool_is_refused_naming_its_field(given, field, says):
    with pytest.raises(InvalidInput, match=says) as raised:
        floating_ip.check_pool("ext", given)
    assert raised.value.field == field


def test_a_bad_pool_name_is_refused():
    with pytest.raises(InvalidInput) as raised:
        floating_ip.check_pool("ext net", pool())
    assert raised.value.field == "pools.ext net"


def test_a_single_address_network_without_ranges_is_refused_naming_its_cidr():
    """BUG: a /32 pool without allocation_pools fails with IndexError (network[1] of a one-address network)."""
    try:
        floating_ip.check_pool("ext", pool(cidr="198.19.0.7/32"))
    except InvalidInput as refused:
        assert refused.field.startswith("pools.ext")
    except IndexError as crash:
        pytest.fail(f"check_pool crashed on a /32 cidr instead of refusing it by name: IndexError {crash}")
    else:
        pytest.fail("a /32 pool has no address between its first and last one, yet it was accepted")


def test_two_pools_with_overlapping_ranges_are_refused_naming_the_second():
    pools = {"a": pool(), "b": pool(cidr="198.19.0.0/25", interface="eth2")}
    with pytest.raises(InvalidInput, match="overlaps a range of pool a") as raised:
        floating_ip.check_pools(pools)
    assert raised.value.field == "pools.b.allocation_pools"
    apart = {
        "a": pool(allocation_pools=[span("198.19.0.10", "198.19.0.19")]),
        "b": pool(allocation_pools=[span("198.19.0.20", "198.19.0.29")]),
    }
    assert sorted(floating_ip.check_pools(apart)) == ["a", "b"]


def addresses(ranges):
    return [(str(first), str(last)) for first, last in ranges]


def test_the_default_range_is_the_whole_cidr_but_its_first_and_last_address():
    checked = floating_ip.check_pool("ext", pool())
    assert {**checked, "ranges": addresses(checked["ranges"])} == {
        "name": "ext",
        "cidr": CIDR,
        "interface": "eth1",
        "ranges": [("198.19.0.1", "198.19.0.254")],
    }
    assert floating_ip.check_pools(None) == {} == floating_ip.check_pools({})
    given = floating_ip.check_pool(
        "ext", pool(allocation_pools=[span("198.19.0.30", "198.19.0.31"), span("198.19.0.10", "198.19.0.10")])
    )
    assert addresses(given["ranges"]) == [("198.19.0.30", "198.19.0.31"), ("198.19.0.10", "198.19.0.10")]


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("198.19.0.9", False),
        ("198.19.0.10", True),
        ("198.19.0.11", True),
        ("198.19.0.12", True),
        ("198.19.0.13", False),
    ],
)
def test_in_pool_and_pool_of_take_only_the_ranges(address, inside):
    pools = floating_ip.check_pools(
        {"ext": pool(allocation_pools=[span("198.19.0.10", "198.19.0.12")]), "far": pool(cidr="203.0.113.0/24")}
    )
    assert floating_ip.in_pool(pools["ext"], address) is inside
    assert floating_ip.pool_of(pools, address) == (pools["ext"] if inside else None)
    assert floating_ip.pool_of(pools, "203.0.113.254")["name"] == "far"


def test_free_address_skips_taken_ones_across_ranges_and_is_none_when_full():
    ranges = [span("198.19.0.10", "198.19.0.11"), span("198.19.0.20", "198.19.0.20")]
    checked = floating_ip.check_pool("ext", pool(allocation_pools=ranges))
    assert floating_ip.free_address(checked, set()) == "198.19.0.10"
    assert floating_ip.free_address(checked, {"198.19.0.10"}) == "198.19.0.11"
    assert floating_ip.free_address(checked, {"198.19.0.10", "198.19.0.11", "198.19.0.12"}) == "198.19.0.20"
    assert floating_ip.free_address(checked, {"198.19.0.10", "198.19.0.11", "198.19.0.20"}) is None


def test_a_new_floating_ip_is_down_until_associated_and_disassociated_keeps_its_project():
    fip = floating_ip.new_floating_ip("198.19.0.10", "ext", "alpha", "t0")
    assert {key: value for key, value in fip.items() if key != "id"} == {
        "floating_ip_address": "198.19.0.10",
        "pool": "ext",
        "project_id": "alpha",
        "port_id": None,
        "fixed_ip_address": None,
        "instance_uuid": None,
        "host": None,
        "status": floating_ip.DOWN,
        "created_at": "t0",
        "updated_at": "t0",
    }
    assert floating_ip.new_floating_ip("198.19.0.10", "ext", "alpha", "t0")["id"] != fip["id"]
    instance = {"uuid": "u1", "host": "c1"}
    bound = floating_ip.associated(fip, instance, "p1", "198.18.0.10", "t1")
    assert (bound["port_id"], bound["fixed_ip_address"], bound["instance_uuid"], bound["host"]) == (
        "p1",
        "198.18.0.10",
        "u1",
        "c1",
    )
    assert (bound["status"], bound["updated_at"], bound["created_at"], bound["id"]) == ("ACTIVE", "t1", "t0", fip["id"])
    assert floating_ip.disassociated(bound, "t2") == {**fip, "updated_at": "t2"}
    assert floating_ip.disassociated(bound)["updated_at"] == "t1"
