from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.virt import host

CAPABILITIES = """<capabilities>
  <host><cpu><arch>x86_64</arch></cpu></host>
  <guest><os_type>hvm</os_type>
    <arch name='i686'><domain type='qemu'/></arch></guest>
  <guest><os_type>hvm</os_type>
    <arch name='x86_64'><domain type='qemu'/><domain type='kvm'/></arch></guest>
  <guest><os_type>xen</os_type>
    <arch name='x86_64'><domain type='xen'/></arch></guest>
</capabilities>"""


@pytest.mark.parametrize(
    ("number", "expected"),
    [(9000000, "9.0.0"), (7002022, "7.2.22"), (2, "0.0.2"), (10010001, "10.10.1")],
)
def test_version_string(number, expected):
    assert host.version_string(number) == expected


@pytest.mark.parametrize(("arch", "expected"), [("x86_64", ["qemu", "kvm"]), ("i686", ["qemu"]), ("ppc64", [])])
def test_virt_types_for_arch_reads_hvm_guests_only(arch, expected):
    assert host.virt_types_for_arch(CAPABILITIES, arch) == expected


def test_host_arch():
    assert host.host_arch(CAPABILITIES) == "x86_64"


def test_nearest_existing_path_creates_nothing(tmp_path):
    missing = tmp_path / "a" / "b" / "instances"
    assert host.nearest_existing_path(str(missing)) == str(tmp_path)
    assert not (tmp_path / "a").exists()


def test_gather_host_facts_on_the_test_driver(conn, tmp_path):
    facts = host.gather_host_facts(conn, str(tmp_path / "not-yet" / "instances"))
    assert facts["hostname"] == conn.getHostname()
    assert facts["vcpus"] == 16
    assert facts["memory_mb"] == 3072
    assert 0 <= facts["free_memory_mb"] <= facts["memory_mb"]
    assert facts["cpu_arch"] == "i686"
    assert facts["virt_types"] == ["test"]
    assert facts["libvirt_version"].count(".") == 2
    assert facts["qemu_version"] == "0.0.2"
    assert 0 <= facts["free_disk_gb"] <= facts["disk_gb"]
    assert facts["up"] is True
    assert not (tmp_path / "not-yet").exists()


def test_network_holdings_report_reservations_and_ranges_of_active_networks(conn):
    net = conn.networkDefineXML(
        "<network><name>nimbus-h</name><bridge name='nbr-h'/>"
        "<ip address='198.18.5.1' netmask='255.255.255.0'><dhcp>"
        "<range start='198.18.5.200' end='198.18.5.250'/>"
        "<host mac='52:54:00:AA:BB:01' name='handmade' ip='198.18.5.20'/>"
        "</dhcp></ip></network>"
    )
    net.create()
    try:
        holdings = host.network_holdings(conn)
    finally:
        net.destroy()
        net.undefine()
    assert holdings["nimbus-h"] == {
        "reservations": [{"ip": "198.18.5.20", "mac": "52:54:00:aa:bb:01", "name": "handmade"}],
        "dhcp_ranges": [{"start": "198.18.5.200", "end": "198.18.5.250"}],
        "leases": [],
    }


def test_live_leases_keep_unexpired_ones_in_report_shape():
    leases = [
        {"ipaddr": "198.18.0.10", "mac": "52:54:00:AA:BB:01", "hostname": "a", "expirytime": 100},
        {"ipaddr": "198.18.0.11", "mac": "52:54:00:AA:BB:02", "hostname": "", "expirytime": 300},
    ]
    assert host.live_leases(leases, now=200) == [
        {"ip": "198.18.0.11", "mac": "52:54:00:aa:bb:02", "name": None, "expires": 300}
    ]
