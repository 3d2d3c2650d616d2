"""Which DHCP leases to release, and how."""

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.virt import dhcp

OLD = {"iface": "nbr-private", "ipaddr": "198.18.0.10", "mac": "fa:16:3e:00:00:01"}
OTHER = {"iface": "nbr-private", "ipaddr": "198.18.0.11", "mac": "fa:16:3e:00:00:02"}


@pytest.mark.parametrize(
    ("ip", "mac", "expected"),
    [
        ("198.18.0.10", "fa:16:3e:00:00:09", [OLD]),  # another MAC holds the reserved address
        ("198.18.0.10", "FA:16:3E:00:00:01", []),  # the same guest, whatever the case
        ("198.18.0.12", "fa:16:3e:00:00:09", []),  # nobody holds it
    ],
)
def test_stale_leases(ip, mac, expected):
    assert dhcp.stale_leases([OLD, OTHER], ip, mac) == expected


def test_leases_of_mac():
    assert dhcp.leases_of_mac([OLD, OTHER], "FA:16:3E:00:00:02") == [OTHER]


def test_release_runs_in_the_dnsmasq_network_namespace():
    assert dhcp.release_command(4242, OLD) == [
        "nsenter",
        "--net=/proc/4242/ns/net",
        "dhcp_release",
        "nbr-private",
        "198.18.0.10",
        "fa:16:3e:00:00:01",
    ]


@pytest.mark.parametrize(("content", "expected"), [("4242\n", 4242), ("not a pid", None), (None, None)])
def test_dnsmasq_pid(tmp_path, content, expected):
    if content is not None:
        (tmp_path / "private.pid").write_text(content)
    assert dhcp.dnsmasq_pid("private", str(tmp_path)) == expected
