"""Security group rules in Neutron's model: full forms, and a bad, repeated or overlapping rule refusing the set."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import security_group

SSH = {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22}


def test_a_rule_gets_its_full_form():
    assert security_group.validate_rules([{**SSH, "remote_ip_prefix": "198.18.0.7/24"}]) == [
        {
            "direction": "ingress",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "port_range_min": 22,
            "port_range_max": 22,
            # Neutron keeps the network of a prefix given with host bits.
            "remote_ip_prefix": "198.18.0.0/24",
            "remote_group": None,
            "description": "",
        }
    ]


@pytest.mark.parametrize(
    ("given", "protocol"),
    [("any", None), (None, None), ("6", "tcp"), (17, "udp"), (132, 132), ("icmp", "icmp")],
)
def test_protocols_by_name_or_number(given, protocol):
    assert security_group.validate_rule(0, {"direction": "egress", "protocol": given})["protocol"] == protocol


def test_the_default_group_allows_all_egress_and_ingress_from_its_members():
    rules = security_group.default_group_rules()
    assert [(r["direction"], r["ethertype"], r["remote_group"]) for r in rules] == [
        ("egress", "IPv4", None),
        ("egress", "IPv6", None),
        ("ingress", "IPv4", "default"),
        ("ingress", "IPv6", "default"),
    ]


@pytest.mark.parametrize(
    ("rules", "field", "says"),
    [
        ("all", "rules", "must be a list"),
        (["ssh"], "rules[0]", "must be a mapping"),
        ([{**SSH, "colour": "red"}], "rules[0].colour", "unknown key"),
        ([{"protocol": "tcp"}], "rules[0].direction", "must be one of ingress, egress"),
        ([{**SSH, "direction": "in"}], "rules[0].direction", "got 'in'"),
        ([{**SSH, "ethertype": "ipv4"}], "rules[0].ethertype", "must be one of IPv4, IPv6"),
        ([{**SSH, "protocol": "gre"}], "rules[0].protocol", "got 'gre'"),
        ([{"direction": "ingress", "protocol": 47}], "rules[0].protocol", "one of the numbers"),
        ([{"direction": "ingress", "protocol": "icmpv6"}], "rules[0].protocol", "does not go with ethertype IPv4"),
        ([{**SSH, "port_range_min": 0}], "rules[0].port_range_min", "from 1 to 65535"),
        ([{**SSH, "port_range_max": 70000}], "rules[0].port_range_max", "from 1 to 65535"),
        ([{**SSH, "port_range_min": 80, "port_range_max": 79}], "rules[0].port_range_min", "greater than"),
        ([{**SSH, "port_range_max": None}], "rules[0].port_range_max", "is required"),
        ([{**SSH, "port_range_min": "22"}], "rules[0].port_range_min", "must be an integer"),
        ([{"direction": "ingress", "port_range_min": 22, "port_range_max": 22}], "rules[0].port_range_min", "only"),
        ([{"direction": "ingress", "protocol": "icmp", "port_range_max": 0}], "rules[0].port_range_min", "ICMP"),
        ([{**SSH, "remote_ip_prefix": "198.18.0.300/24"}], "rules[0].remote_ip_prefix", "must be a CIDR"),
        ([{**SSH, "remote_ip_prefix": "198.18.0.7"}], "rules[0].remote_ip_prefix", "must be a CIDR"),
        ([{**SSH, "remote_ip_prefix": "2001:db8::/64"}], "rules[0].remote_ip_prefix", "not an IPv4 CIDR"),
        (
            [{**SSH, "remote_ip_prefix": "198.18.0.0/24", "remote_group": "web"}],
            "rules[0].remote_group",
            "exclude each other",
        ),
        ([{**SSH, "remote_group": "../web"}], "rules[0].remote_group", "must be a non-empty string"),
        ([SSH, {**SSH, "description": "again"}], "rules[1]", "Security group rule already exists"),
        (
            [{**SSH, "port_range_max": 80}, {**SSH, "port_range_min": 80, "port_range_max": 443}],
            "rules[1]",
            "ports 80-443 overlap ports 22-80 of rules[0]",
        ),
        (
            [
                {"direction": "ingress", "protocol": "icmp"},
                {"direction": "ingress", "protocol": "icmp", "port_range_min": 8},
            ],
            "rules[1]",
            "overlap",
        ),
    ],
)
def test_a_bad_rule_refuses_the_whole_set_naming_it(rules, field, says):
    with pytest.raises(InvalidInput) as caught:
        security_group.validate_rules(rules)
    assert caught.value.field == field
    assert says in caught.value.message


def test_ranges_of_other_traffic_may_overlap():
    rules = security_group.validate_rules(
        [
            {**SSH, "port_range_max": 80},
            {**SSH, "port_range_max": 80, "remote_ip_prefix": "198.18.0.0/24"},
            {**SSH, "port_range_max": 80, "direction": "egress"},
            {**SSH, "port_range_max": 80, "protocol": "udp"},
            {"direction": "ingress", "protocol": "icmp", "port_range_min": 8},
            {"direction": "ingress", "protocol": "icmp", "port_range_min": 0},
        ]
    )
    assert len(rules) == 6
