"""The firewall driver's nwfilter XML, read back by libvirt's own schema (virt-xml-validate)."""

from __future__ import annotations

import pytest
from lxml import etree

from ansible_collections.nimbus.compute.plugins.module_utils.objects import ip_protocols, security_group
from ansible_collections.nimbus.compute.plugins.module_utils.virt import firewall
from ansible_collections.nimbus.compute.tests.libvirt_schema import assert_valid

PORT = "0b6d2a1e-0000-4000-8000-000000000001"


def valid_nwfilter(xml: str, tmp_path) -> None:
    assert_valid(xml, "nwfilter", tmp_path)


def ports(low: str, high: str) -> dict[str, str]:
    return {"dstportstart": low, "dstportend": high}


def rules_of(xml: str) -> list[tuple[str, str, str, dict[str, str]]]:
    """(action, direction, protocol element, its attributes) of each rule, in order."""
    root = etree.fromstring(xml)
    return [
        (rule.get("action"), rule.get("direction"), rule[0].tag, dict(rule[0].attrib)) for rule in root.iter("rule")
    ]


def firewall_rules(rules: list[dict], group_ids: dict[str, str] | None = None) -> list[dict]:
    """Checked rules as the firewall gets them: each remote group by its uuid (security_groups.instance_firewall)."""
    ids = group_ids or {}
    return [{**rule, "remote_group_id": ids.get(rule["remote_group"])} for rule in rules]


def test_the_base_filters_are_libvirts_anti_spoofing_with_and_without_the_dhcp_server(tmp_path):
    filters = dict(firewall.base_filters())
    spoofing = ["no-mac-spoofing", "no-ip-spoofing", "no-arp-spoofing"]
    for name, refs in (("nimbus-base", [*spoofing, "allow-dhcp-server"]), ("nimbus-nodhcp", spoofing)):
        valid_nwfilter(filters[name], tmp_path)
        root = etree.fromstring(filters[name])
        assert root.get("name") == name
        assert [ref.get("filter") for ref in root.iter("filterref")] == refs


def test_a_port_filter_accepts_its_rules_and_drops_the_rest(tmp_path):
    rules = security_group.validate_rules(
        [
            {"direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22},
            {"direction": "ingress", "protocol": "tcp", "port_range_min": 80, "port_range_max": 81,
             "remote_ip_prefix": "198.19.0.0/24"},
            {"direction": "ingress", "protocol": "icmp", "port_range_min": 8, "port_range_max": 0},
            {"direction": "ingress", "ethertype": "IPv6", "protocol": "icmpv6"},
            {"direction": "egress", "protocol": "udp", "port_range_min": 53, "port_range_max": 53,
             "remote_ip_prefix": "198.18.0.1/32"},
            {"direction": "egress", "ethertype": "IPv6"},
            {"direction": "ingress", "protocol": 132},
        ]
    )  # fmt: skip
    xml = firewall.port_filter_xml(PORT, firewall_rules(rules), {})
    valid_nwfilter(xml, tmp_path)
    root = etree.fromstring(xml)
    assert root.get("name") == f"nimbus-port-{PORT}"
    assert root.find("filterref").get("filter") == "nimbus-base"
    assert rules_of(xml) == [
        ("accept", "out", "udp", {"srcportstart": "68", "dstportstart": "67"}),
        ("accept", "in", "udp", {"srcipaddr": "$DHCPSERVER", "srcportstart": "67", "dstportstart": "68"}),
        ("accept", "in", "tcp", {"dstportstart": "22", "dstportend": "22"}),
        ("accept", "in", "tcp", {"srcipaddr": "198.19.0.0", "srcipmask": "24", **ports("80", "81")}),
        ("accept", "in", "icmp", {"type": "8", "code": "0"}),
        ("accept", "in", "icmpv6", {}),
        ("accept", "out", "udp", {"dstipaddr": "198.18.0.1", "dstipmask": "32", **ports("53", "53")}),
        ("accept", "out", "all-ipv6", {}),
        ("accept", "in", "sctp", {}),
        ("drop", "inout", "all", {}),
        ("drop", "inout", "all-ipv6", {}),
    ]  # fmt: skip


def test_a_remote_group_rule_names_each_member_of_its_ethertype(tmp_path):
    xml = firewall.port_filter_xml(
        PORT,
        firewall_rules(security_group.default_group_rules(), {"default": "uuid-of-default"}),
        {"uuid-of-default": ["198.18.0.12", "2001:db8::12", "198.18.0.11"]},
    )
    valid_nwfilter(xml, tmp_path)
    accepted = [rule for rule in rules_of(xml) if rule[0] == "accept"][2:]
    assert accepted == [
        ("accept", "out", "all", {}),
        ("accept", "out", "all-ipv6", {}),
        ("accept", "in", "all", {"srcipaddr": "198.18.0.11", "srcipmask": "32"}),
        ("accept", "in", "all", {"srcipaddr": "198.18.0.12", "srcipmask": "32"}),
        ("accept", "in", "all-ipv6", {"srcipaddr": "2001:db8::12", "srcipmask": "128"}),
    ]


def test_a_remote_group_without_members_lets_nothing_in(tmp_path):
    rules = security_group.validate_rules([{"direction": "ingress", "remote_group": "web"}])
    xml = firewall.port_filter_xml(PORT, firewall_rules(rules, {"web": "uuid-of-web"}), {"uuid-of-web": []})
    valid_nwfilter(xml, tmp_path)
    assert [rule for rule in rules_of(xml) if rule[1] == "in" and rule[0] == "accept"][1:] == []


@pytest.mark.parametrize("number", sorted(ip_protocols.MATCHABLE_PROTOCOL_NUMBERS))
def test_every_protocol_a_rule_may_name_has_an_nwfilter_element(number):
    ethertype = "IPv6" if number == 58 else "IPv4"
    rule = security_group.validate_rule(0, {"direction": "ingress", "ethertype": ethertype, "protocol": number})
    assert firewall.protocol_element(ethertype, rule["protocol"])


def test_a_port_without_a_dhcp_server_gets_the_base_filter_without_dhcp(tmp_path):
    rules = firewall_rules(security_group.validate_rules([{"direction": "egress"}]))
    xml = firewall.port_filter_xml(PORT, rules, {}, dhcp=False)
    valid_nwfilter(xml, tmp_path)
    assert etree.fromstring(xml).find("filterref").get("filter") == "nimbus-nodhcp"
    assert "DHCPSERVER" not in xml
    assert rules_of(xml) == [
        ("accept", "out", "all", {}),
        ("drop", "inout", "all", {}),
        ("drop", "inout", "all-ipv6", {}),
    ]


def test_the_filter_parameters_name_the_dhcp_server_only_when_there_is_one():
    assert firewall.filter_parameters("198.18.0.12", "198.18.0.1") == {"IP": "198.18.0.12", "DHCPSERVER": "198.18.0.1"}
    assert firewall.filter_parameters("198.18.2.12", None) == {"IP": "198.18.2.12"}
