from __future__ import annotations

import json

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.virt import nocloud

META = {
    "uuid": "0d8e6f7a-1b2c-4d5e-8f90-a1b2c3d4e5f6",
    "name": "vm1",
    "hostname": "vm1",
    "availability_zone": "nova",
    "launch_index": 0,
    "public_keys": {"ops": "ssh-ed25519 AAAA ops"},
    "meta": {"role": "web"},
    "admin_pass": "s3cret",
}


def link(index, mac, mtu=1500):
    return {"id": f"tap{index}", "vif_id": f"p{index}", "type": "phy", "ethernet_mac_address": mac, "mtu": mtu}


def network(index, link_id, kind, address, routes=(), dns=()):
    return {
        "id": f"network{index}",
        "type": kind,
        "link": link_id,
        "ip_address": address,
        "netmask": "255.255.255.0",
        "routes": list(routes),
        "services": [{"type": "dns", "address": item} for item in dns],
    }


DEFAULT_ROUTE = {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "198.18.0.1"}
NET_ROUTE = {"network": "198.19.0.0", "netmask": "255.255.0.0", "gateway": "198.18.1.1"}


@pytest.mark.parametrize(
    ("network_data", "expected"),
    [
        ({"links": [], "networks": []}, {}),
        (
            {"links": [link(0, "FA:16:3E:00:00:01")], "networks": [network(0, "tap0", "ipv4_dhcp", "198.18.0.10")]},
            {"nic0": {"match": {"macaddress": "fa:16:3e:00:00:01"}, "mtu": 1500, "dhcp4": True}},
        ),
        (
            {
                "links": [link(0, "fa:16:3e:00:00:01", None)],
                "networks": [network(0, "tap0", "ipv4", "198.18.1.10", [DEFAULT_ROUTE, NET_ROUTE], ["198.18.1.1"])],
            },
            {
                "nic0": {
                    "match": {"macaddress": "fa:16:3e:00:00:01"},
                    "addresses": ["198.18.1.10/24"],
                    "routes": [{"to": "0.0.0.0/0", "via": "198.18.0.1"}, {"to": "198.19.0.0/16", "via": "198.18.1.1"}],
                    "nameservers": {"addresses": ["198.18.1.1"]},
                }
            },
        ),
        (
            {"links": [link(0, "fa:16:3e:00:00:01"), link(1, "fa:16:3e:00:00:02")], "networks": []},
            {
                "nic0": {"match": {"macaddress": "fa:16:3e:00:00:01"}, "mtu": 1500, "dhcp4": False},
                "nic1": {"match": {"macaddress": "fa:16:3e:00:00:02"}, "mtu": 1500, "dhcp4": False},
            },
        ),
    ],
)
def test_network_config_translates_network_data(network_data, expected):
    assert nocloud.network_config(network_data) == {"version": 2, "ethernets": expected}


def test_seed_has_nocloud_files_and_no_admin_pass():
    files = nocloud.seed_files(META, {"links": [], "networks": []}, None)
    assert sorted(files) == ["meta-data", "network-config", "user-data"]
    assert files["user-data"] == b""
    meta = json.loads(files["meta-data"])
    assert meta["instance-id"] == META["uuid"]
    assert meta["local-hostname"] == "vm1"
    assert meta["public-keys"] == ["ssh-ed25519 AAAA ops"]
    assert b"s3cret" not in b"".join(files.values())
    assert nocloud.is_seed(files)
