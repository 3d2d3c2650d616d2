"""Addresses others hold on a host's libvirt network are never handed out: the networking step on a real store."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.network import host_holdings
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore

NOW = "2026-12-05T10:00:00.000Z"
FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2"}}
NETWORKS = {
    "private": {
        "cidr": "198.18.0.0/24",
        "gateway": "198.18.0.1",
        "allocation_pools": [{"start": "198.18.0.10", "end": "198.18.0.12"}],
        "libvirt_network": "nimbus-private",
        "dhcp": True,
    }
}
HAND_MADE = {"ip": "198.18.0.10", "mac": "52:54:00:aa:bb:01", "name": "handmade"}
KCLI_LEASE = {"ip": "198.18.0.11", "mac": "52:54:00:aa:bb:02", "name": "kcli1", "expires": 4102444800}
REPORT = {
    "up": True,
    "vcpus": 8,
    "memory_mb": 8192,
    "disk_gb": 100,
    "cpu_arch": "x86_64",
    "networks": {"nimbus-private": {"reservations": [HAND_MADE], "leases": [KCLI_LEASE], "dhcp_ranges": []}},
}


@pytest.fixture
def build(schedule_and_allocate):
    """Schedule an instance on compute1 (whose cached report is ``report``, default REPORT): its addresses."""

    def make(tmp_path, name, report=None, fixed_ip=None):
        report = REPORT if report is None else report
        store_path = str(tmp_path / "store.json")
        with JSONStore(store_path).transaction() as state:
            state.set_host_facts("compute1", report, NOW)
        request = {
            "name": name,
            "flavor": "m1.tiny",
            "image": "tiny",
            "networks": [{"network": "private", "fixed_ip": fixed_ip}],
        }
        allocated = schedule_and_allocate(store_path, request, FLAVORS, IMAGES, NETWORKS, {"compute1": report})
        return [ip["address"] for vif in allocated["network_info"] for ip in vif["network"]["subnets"][0]["ips"]]

    return make


def test_addresses_reserved_or_leased_by_others_are_skipped(build, tmp_path):
    assert build(tmp_path, "web1") == ["198.18.0.12"]


def test_without_a_report_of_the_network_the_store_alone_decides(build, tmp_path):
    assert build(tmp_path, "web1", report={**REPORT, "networks": {}}) == ["198.18.0.10"]


def test_a_full_pool_names_the_network_and_who_holds_its_addresses(build, tmp_path):
    build(tmp_path, "web1")
    with pytest.raises(exceptions.NoMoreFixedIps) as raised:
        build(tmp_path, "web2")
    assert raised.value.message == (
        "network private has no free IPv4 address left in its allocation pools (198.18.0.0/24): "
        "1 port(s) of this store use its addresses, 2 held on the host by others "
        "(198.18.0.10 by DHCP reservation of 52:54:00:aa:bb:01 (handmade) on host compute1; "
        "198.18.0.11 by DHCP lease of 52:54:00:aa:bb:02 (kcli1) on host compute1)"
    )


def test_a_fixed_ip_held_by_another_vm_names_it(build, tmp_path):
    with pytest.raises(exceptions.FixedIpAlreadyInUse) as raised:
        build(tmp_path, "web1", fixed_ip="198.18.0.10")
    assert raised.value.message == (
        "fixed IP 198.18.0.10 of network private is already in use "
        "(DHCP reservation of 52:54:00:aa:bb:01 (handmade) on host compute1)"
    )


def test_our_own_reservations_are_not_foreign():
    report = {"networks": {"n": {"reservations": [HAND_MADE], "leases": [KCLI_LEASE]}}}
    ours = {HAND_MADE["mac"]}
    assert host_holdings.foreign_addresses(report, "c1", ["n"], ours) == {
        "198.18.0.11": "DHCP lease of 52:54:00:aa:bb:02 (kcli1) on host c1"
    }
    assert host_holdings.foreign_addresses(report, "c1", ["other"], set()) == {}
    assert host_holdings.foreign_addresses(None, None, ["n"], set()) == {}
