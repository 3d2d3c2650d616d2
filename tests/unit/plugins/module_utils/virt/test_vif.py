from __future__ import annotations

import libvirt
import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.virt import dhcp, vif
from ansible_collections.nimbus.compute.plugins.module_utils.virt.vif import ADD, DELETE, host_entry

NET_XML = """<network><name>nimbus-a</name>
  <ip address='198.18.0.1' prefix='24'><dhcp><range start='198.18.0.10' end='198.18.0.99'/></dhcp></ip>
  <ip family='ipv6' address='2001:db8::1' prefix='64'/>
</network>"""

MAC1, MAC2, MAC3 = "fa:16:3e:00:00:01", "fa:16:3e:00:00:02", "fa:16:3e:00:00:03"


def make_vif(mac, ip, network="nimbus-a", dhcp=True):
    return {
        "id": f"port-{mac[-2:]}",
        "address": mac,
        "type": "bridge",
        "network": {
            "id": network,
            "label": network,
            "bridge": network,
            "meta": {"mtu": 1500, "dhcp": dhcp, "libvirt_network": network},
            "subnets": [
                {"cidr": "198.18.0.0/24", "version": 4, "ips": [{"address": ip, "type": "fixed", "version": 4}]}
            ],
        },
    }


@pytest.fixture
def network(conn):
    """A persistent, active network on the test driver, in 198.18.0.0/15."""
    net = conn.networkDefineXML(NET_XML)
    net.create()
    yield net
    if net.isActive():
        net.destroy()
    net.undefine()


def hosts(net):
    return vif.dhcp_hosts(net.XMLDesc(0))


@pytest.mark.parametrize(
    ("existing", "wanted", "expected"),
    [
        ([], [host_entry(MAC1, "198.18.0.10", "vm1")], [(ADD, host_entry(MAC1, "198.18.0.10", "vm1"))]),
        ([host_entry(MAC1, "198.18.0.10", "vm1")], [host_entry(MAC1, "198.18.0.10", "vm1")], []),
        (
            [host_entry(MAC1, "198.18.0.11", "vm1")],
            [host_entry(MAC1, "198.18.0.10", "vm1")],
            [(DELETE, host_entry(MAC1, "198.18.0.11", "vm1")), (ADD, host_entry(MAC1, "198.18.0.10", "vm1"))],
        ),
        # Another MAC's entry elsewhere is never touched.
        (
            [host_entry(MAC2, "198.18.0.11", "demo")],
            [host_entry(MAC1, "198.18.0.10", "vm1")],
            [(ADD, host_entry(MAC1, "198.18.0.10", "vm1"))],
        ),
        (
            [host_entry(MAC2, "198.18.0.20", "vm1")],
            [host_entry(MAC1, "198.18.0.10", "vm1")],
            [(ADD, host_entry(MAC1, "198.18.0.10"))],
        ),
        (
            [host_entry(MAC2, "198.18.0.20", "vm1"), host_entry(MAC1, "198.18.0.10")],
            [host_entry(MAC1, "198.18.0.10", "vm1")],
            [],
        ),
    ],
    ids=["add", "present", "same-mac-new-ip", "other-mac-kept", "name-taken", "name-taken-present"],
)
def test_dhcp_host_changes(existing, wanted, expected):
    assert vif.dhcp_host_changes(existing, wanted) == expected


def test_wanted_hosts_names_the_first_entry_per_network_and_skips_non_dhcp():
    on_host_bridge = make_vif("fa:16:3e:00:00:04", "198.18.3.10", network="br-guests")
    on_host_bridge["network"]["meta"]["libvirt_network"] = None
    network_info = [
        make_vif(MAC1, "198.18.0.10"),
        make_vif(MAC2, "198.18.0.11"),
        make_vif(MAC3, "198.18.2.10", network="nimbus-b", dhcp=False),
        on_host_bridge,  # no libvirt network: nobody to ask for a reservation
    ]
    assert vif.wanted_hosts(network_info, "vm1") == {
        "nimbus-a": [host_entry(MAC1, "198.18.0.10", "vm1"), host_entry(MAC2, "198.18.0.11")]
    }


def test_plug_is_idempotent_and_check_mode_touches_nothing(conn, network):
    network_info = [make_vif(MAC1, "198.18.0.10"), make_vif(MAC2, "198.18.0.30")]
    assert vif.plug_vifs(conn, network_info, "vm1", check_mode=True) is True
    assert hosts(network) == []
    assert vif.plug_vifs(conn, network_info, "vm1", check_mode=False) is True
    assert hosts(network) == [host_entry(MAC1, "198.18.0.10", "vm1"), host_entry(MAC2, "198.18.0.30")]
    assert vif.plug_vifs(conn, network_info, "vm1", check_mode=True) is False
    assert vif.plug_vifs(conn, network_info, "vm1", check_mode=False) is False


def test_plug_survives_a_network_restart(conn, network):
    vif.plug_vifs(conn, [make_vif(MAC1, "198.18.0.30")], "vm1", check_mode=False)
    network.destroy()
    network.create()
    assert hosts(network) == [host_entry(MAC1, "198.18.0.30", "vm1")]


def test_plug_replaces_an_entry_of_the_same_mac(conn, network):
    vif.plug_vifs(conn, [make_vif(MAC1, "198.18.0.10")], "vm1", check_mode=False)
    assert vif.plug_vifs(conn, [make_vif(MAC1, "198.18.0.20")], "vm1", check_mode=False) is True
    assert hosts(network) == [host_entry(MAC1, "198.18.0.20", "vm1")]


def test_plug_on_an_inactive_network_changes_its_config(conn, network):
    network.destroy()
    assert vif.plug_vifs(conn, [make_vif(MAC1, "198.18.0.10")], "vm1", check_mode=False) is True
    assert hosts(network) == [host_entry(MAC1, "198.18.0.10", "vm1")]


def test_plug_into_a_missing_network_fails(conn):
    with pytest.raises(vif.NetworkNotFound) as info:
        vif.plug_vifs(conn, [make_vif(MAC1, "198.18.0.10", network="nope")], "vm1", check_mode=False)
    assert "nope" in info.value.message
    assert info.value.reschedulable


def test_plug_the_test_drivers_default_network(conn):
    default = conn.networkLookupByName("default")
    vif_default = make_vif(MAC1, "192.168.122.10", network="default")
    assert vif.plug_vifs(conn, [vif_default], "vm1", check_mode=False) is True
    assert hosts(default) == [host_entry(MAC1, "192.168.122.10", "vm1")]
    assert vif.unplug_vifs(conn, {"default": [MAC1]}, check_mode=False) is True
    assert hosts(default) == []


def test_unplug(conn, network):
    vif.plug_vifs(conn, [make_vif(MAC1, "198.18.0.10"), make_vif(MAC2, "198.18.0.11")], "vm1", check_mode=False)
    assert vif.unplug_vifs(conn, {"nimbus-a": [MAC1.upper()]}, check_mode=True) is True
    assert len(hosts(network)) == 2
    assert vif.unplug_vifs(conn, {"nimbus-a": [MAC1.upper()]}, check_mode=False) is True
    assert hosts(network) == [host_entry(MAC2, "198.18.0.11")]
    assert vif.unplug_vifs(conn, {"nimbus-a": [MAC1], "missing-net": [MAC3]}, check_mode=False) is False


@pytest.mark.parametrize(
    ("existing", "leases", "expected"),
    [
        ([], [], []),
        ([host_entry(MAC1, "198.18.0.10", "vm1")], [{"mac": MAC1, "ipaddr": "198.18.0.10"}], []),
        ([host_entry(MAC2, "198.18.0.10", "demo")], [], ["198.18.0.10 is reserved for " + MAC2 + " (demo)"]),
        ([host_entry(MAC2, "198.18.0.10")], [], ["198.18.0.10 is reserved for " + MAC2]),
        ([], [{"mac": MAC2.upper(), "ipaddr": "198.18.0.10"}], ["198.18.0.10 is leased to " + MAC2]),
        ([], [{"mac": MAC2, "ipaddr": "198.18.0.99"}], []),
    ],
    ids=["free", "ours", "reserved-named", "reserved", "leased", "lease-elsewhere"],
)
def test_held_by_others(existing, leases, expected):
    assert vif.held_by_others(existing, leases, [host_entry(MAC1, "198.18.0.10", "vm1")]) == expected


def test_live_leases_drop_expired_ones():
    leases = [{"ipaddr": "a", "expirytime": 100}, {"ipaddr": "b", "expirytime": 300}, {"ipaddr": "c", "expirytime": 0}]
    assert [lease["ipaddr"] for lease in dhcp.live_leases(leases, now=200)] == ["b", "c"]


def test_plug_never_takes_an_address_another_mac_reserves(conn, network):
    # A VM made by hand (or by another store) reserved the address after the controller looked.
    network.update(
        libvirt.VIR_NETWORK_UPDATE_COMMAND_ADD_LAST,
        libvirt.VIR_NETWORK_SECTION_IP_DHCP_HOST,
        -1,
        f"<host mac='{MAC2}' name='demo' ip='198.18.0.10'/>",
        libvirt.VIR_NETWORK_UPDATE_AFFECT_LIVE | libvirt.VIR_NETWORK_UPDATE_AFFECT_CONFIG,
    )
    before = network.XMLDesc(0)
    with pytest.raises(vif.AddressHeldOnHost) as info:
        vif.plug_vifs(conn, [make_vif(MAC1, "198.18.0.10")], "vm1", check_mode=False)
    assert info.value.message.startswith(f"network nimbus-a: 198.18.0.10 is reserved for {MAC2} (demo), which nimbus")
    assert info.value.reschedulable
    assert network.XMLDesc(0) == before
    assert vif.unplug_vifs(conn, {"nimbus-a": [MAC1]}, check_mode=False) is False
    assert network.XMLDesc(0) == before
