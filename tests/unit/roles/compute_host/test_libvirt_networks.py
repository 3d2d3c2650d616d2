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
