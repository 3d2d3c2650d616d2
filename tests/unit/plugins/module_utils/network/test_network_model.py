"""VIFs in the contract's shape and network_data.json from them."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.network import ipam, model

PORT_ID = "0123456789ab-cdef-0123-4567-89abcdef0123"


def vif(**conf):
    network = ipam.normalise_network("private", {"cidr": "198.18.0.0/24", "dns": ["198.18.0.1"], **conf})
    return model.build_vif(PORT_ID, "fa:16:3e:00:00:01", "198.18.0.10", network)


def test_vif_matches_the_contract():
    assert vif(libvirt_network="nimbus-private") == {
        "id": PORT_ID,
        "address": "fa:16:3e:00:00:01",
        "type": "bridge",
        "devname": "tap0123456789a",
        "vnic_type": "normal",
        "active": False,
        "network": {
            "id": "private",
            "label": "private",
            "bridge": "nimbus-private",
            "meta": {"mtu": 1500, "dhcp": True, "libvirt_network": "nimbus-private"},
            "subnets": [
                {
                    "cidr": "198.18.0.0/24",
                    "version": 4,
                    "gateway": {"address": "198.18.0.1"},
                    "dns": [{"address": "198.18.0.1"}],
                    "ips": [{"address": "198.18.0.10", "type": "fixed", "version": 4}],
                    "routes": [],
                }
            ],
        },
    }


def test_network_data_for_dhcp():
    data = model.network_data_from_network_info([vif()])
    assert data == {
        "links": [
            {
                "id": "tap0123456789a",
                "vif_id": PORT_ID,
                "type": "phy",
                "ethernet_mac_address": "fa:16:3e:00:00:01",
                "mtu": 1500,
            }
        ],
        "networks": [
            {
                "id": "network0",
                "type": "ipv4_dhcp",
                "link": "tap0123456789a",
                "network_id": "private",
            }
        ],
        "services": [{"type": "dns", "address": "198.18.0.1"}],
    }


def test_network_data_for_static_and_two_nics():
    second = model.build_vif(
        "fedcba98-7654-3210-fedc-ba9876543210",
        "fa:16:3e:00:00:02",
        "203.0.113.5",
        ipam.normalise_network("public", {"cidr": "203.0.113.0/28", "dhcp": False, "mtu": 9000, "gateway": None}),
    )
    data = model.network_data_from_network_info([vif(dhcp=False), second])
    assert [link["id"] for link in data["links"]] == ["tap0123456789a", "tapfedcba98-76"]
    assert [link["mtu"] for link in data["links"]] == [1500, 9000]
    first_net, second_net = data["networks"]
    assert (first_net["id"], first_net["type"], first_net["link"]) == ("network0", "ipv4", "tap0123456789a")
    assert (second_net["id"], second_net["type"], second_net["link"]) == ("network1", "ipv4", "tapfedcba98-76")
    assert second_net["netmask"] == "255.255.255.240"
    assert second_net["routes"] == []  # no gateway, no default route
    assert data["services"] == [{"type": "dns", "address": "198.18.0.1"}]


def test_network_data_of_no_nics():
    assert model.network_data_from_network_info([]) == {"links": [], "networks": [], "services": []}


def test_dual_stack_vif_and_network_data():
    network = ipam.normalise_network(
        "private",
        {"cidr": "198.18.0.0/24", "dhcp": False, "ipv6": {"cidr": "2001:db8::/64", "dns": ["2001:db8::53"]}},
    )
    dual = model.build_vif(PORT_ID, "fa:16:3e:00:00:01", ["198.18.0.10", "2001:db8::2"], network)
    assert dual["network"]["subnets"][1] == {
        "cidr": "2001:db8::/64",
        "version": 6,
        "gateway": {"address": "2001:db8::1"},
        "dns": [{"address": "2001:db8::53"}],
        "ips": [{"address": "2001:db8::2", "type": "fixed", "version": 6}],
        "routes": [],
    }
    data = model.network_data_from_network_info([dual])
    assert [(n["id"], n["type"], n["link"], n["ip_address"]) for n in data["networks"]] == [
        ("network0", "ipv4", "tap0123456789a", "198.18.0.10"),
        ("network1", "ipv6", "tap0123456789a", "2001:db8::2"),
    ]
    assert data["networks"][1]["netmask"] == "ffff:ffff:ffff:ffff::"
    assert data["networks"][1]["routes"] == [{"network": "::", "netmask": "::", "gateway": "2001:db8::1"}]
    assert data["services"] == [{"type": "dns", "address": "2001:db8::53"}]


def test_vif_needs_one_address_per_subnet():
    network = ipam.normalise_network("private", {"cidr": "198.18.0.0/24", "ipv6": {"cidr": "2001:db8::/64"}})
    with pytest.raises(ValueError):
        model.build_vif(PORT_ID, "fa:16:3e:00:00:01", "198.18.0.10", network)
