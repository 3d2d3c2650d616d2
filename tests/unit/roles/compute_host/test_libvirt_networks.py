"""roles/compute_host/files/libvirt_networks.py: the libvirt network each nimbus network rides on."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[4] / "roles" / "compute_host" / "files" / "libvirt_networks.py"
spec = importlib.util.spec_from_file_location("libvirt_networks", SCRIPT)
libvirt_networks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(libvirt_networks)

PRIVATE = {
    "cidr": "198.18.0.0/24",
    "gateway": "198.18.0.1",
    "allocation_pools": [{"start": "198.18.0.10", "end": "198.18.0.250"}],
    "libvirt_network": "nimbus-private",
    "dhcp": True,
    "mtu": 1500,
}
STATIC = {
    **PRIVATE,
    "cidr": "198.18.1.0/24",
    "gateway": "198.18.1.1",
    "allocation_pools": [{"start": "198.18.1.10", "end": "198.18.1.250"}],
    "libvirt_network": "nimbus-static",
    "dhcp": False,
}


@pytest.mark.parametrize(
    ("spec", "dhcp_range", "has_dhcp"),
    [
        (PRIVATE, ("198.18.0.10", "198.18.0.250"), True),
        (STATIC, None, False),
        ({**STATIC, "ipv6": {"cidr": "2001:db8::/64"}}, None, False),
    ],
)
def test_dhcp_element_only_for_dhcp_networks(spec, dhcp_range, has_dhcp):
    settings = libvirt_networks.desired_settings("net", spec, "nbr-")
    assert settings["dhcp_range"] == dhcp_range
    root = ET.fromstring(libvirt_networks.network_xml(spec["libvirt_network"], settings, None))
    assert (root.find("ip/dhcp") is not None) == has_dhcp
    assert [ip.get("address") for ip in root.iter("ip")] == [spec["gateway"]]  # IPv4 only, never the ipv6 subnet
    assert root.find("forward") is None
    assert libvirt_networks.current_settings(root) == settings


def test_two_networks_get_two_bridges():
    wanted = libvirt_networks.libvirt_networks({"private": PRIVATE, "static": STATIC}, "nbr-")
    assert [libvirt_networks.bridge_name("nbr-", name) for name in wanted] == ["nbr-private", "nbr-static"]


def test_dhcp_range_is_the_dynamic_range_when_given():
    spec = {**PRIVATE, "dhcp_range": {"start": "198.18.0.251", "end": "198.18.0.254"}}
    assert libvirt_networks.desired_settings("private", spec, "nbr-")["dhcp_range"] == ("198.18.0.251", "198.18.0.254")


def definition_with_range(start, end):
    return ET.fromstring(
        f"<network><name>n</name><ip address='198.18.0.1' prefix='24'><dhcp><range start='{start}' end='{end}'/>"
        "</dhcp></ip></network>"
    )


@pytest.mark.parametrize(
    ("start", "end", "overlapping"),
    [
        ("198.18.0.10", "198.18.0.250", True),  # the range the pool used to give itself
        ("198.18.0.200", "198.18.0.254", True),
        ("198.18.0.2", "198.18.0.10", True),
        ("198.18.0.251", "198.18.0.254", False),
        ("198.18.0.2", "198.18.0.9", False),
    ],
)
def test_pool_overlaps_the_dynamic_range(start, end, overlapping):
    found = libvirt_networks.pool_overlaps("private", PRIVATE, definition_with_range(start, end))
    assert bool(found) is overlapping
    if overlapping:
        assert found == [
            f"network private: allocation pool 198.18.0.10-198.18.0.250 overlaps the dynamic DHCP range {start}-{end} "
            "of libvirt network nimbus-private: VMs nimbus does not make take leases there; give the network a "
            "dhcp_range outside its allocation_pools"
        ]


def test_no_dynamic_range_no_overlap():
    static = ET.fromstring("<network><name>n</name><ip address='198.18.1.1' prefix='24'/></network>")
    assert libvirt_networks.pool_overlaps("static", STATIC, static) == []
    assert libvirt_networks.pool_overlaps("static", STATIC, None) == []


def test_definitions_nimbus_writes_are_marked_as_its_own():
    settings = libvirt_networks.desired_settings("private", PRIVATE, "nbr-")
    root = ET.fromstring(libvirt_networks.network_xml("nimbus-private", settings, None, "private"))
    assert libvirt_networks.made_by(root, "private", "nbr-") == libvirt_networks.NIMBUS


@pytest.mark.parametrize(
    ("xml", "owner"),
    [
        # An older nimbus: its bridge, no metadata, isolated.
        ("<network><name>nimbus-private</name><bridge name='nbr-private'/></network>", "an older nimbus"),
        # Somebody else's: another bridge, a <forward>, or metadata of their own.
        ("<network><name>default</name><bridge name='virbr0'/><forward mode='nat'/></network>", None),
        ("<network><name>nimbus-private</name><bridge name='virbr1'/></network>", None),
        ("<network><name>nimbus-private</name><bridge name='nbr-private'/><forward mode='nat'/></network>", None),
        (
            "<network><name>n</name><metadata><kcli:info xmlns:kcli='urn:kcli'/></metadata>"
            "<bridge name='nbr-private'/></network>",
            None,
        ),
    ],
)
def test_who_made_an_existing_network(xml, owner):
    assert libvirt_networks.made_by(ET.fromstring(xml), "private", "nbr-") == owner


def test_a_network_somebody_else_made_is_used_as_it_is_and_its_differences_reported():
    want = libvirt_networks.desired_settings("private", PRIVATE, "nbr-")
    have = {**want, "bridge": "virbr1", "dhcp_range": ("198.18.0.2", "198.18.0.254")}
    notes = libvirt_networks.foreign_network_notes("private", "nimbus-private", want, have, {"active": False})
    assert notes == [
        "libvirt network nimbus-private (network private) was not made by nimbus: it is used as it is, never "
        "redefined; it differs in bridge 'virbr1' (nimbus_networks wants 'nbr-private'), dhcp_range "
        "('198.18.0.2', '198.18.0.254') (nimbus_networks wants ('198.18.0.10', '198.18.0.250'))",
        "libvirt network nimbus-private (network private) was not made by nimbus and is not active: nimbus does "
        "not start it; guests on it cannot start until its owner does",
    ]
    assert libvirt_networks.foreign_network_notes("private", "nimbus-private", want, want, {"active": True}) == []
