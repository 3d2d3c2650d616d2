"""Each filter as a truth table, and reasons an operator can act on."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler import filters


def claims(vcpus=0, memory_mb=0, disk_gb=0):
    return [{"instance_uuid": "x", "vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb}]


@pytest.mark.parametrize(
    ("enabled", "up", "passes"),
    [(True, True, True), (True, False, False), (False, True, False), (False, False, False)],
)
def test_compute_filter(host, spec, enabled, up, passes):
    state = host(enabled=enabled, up=up)
    assert filters.ComputeFilter().host_passes(state, spec()) is passes


@pytest.mark.parametrize(
    ("enabled", "reason"), [(False, "disabled in the inventory"), (True, "run nimbus.compute.host_facts")]
)
def test_compute_filter_reason(host, spec, enabled, reason):
    assert reason in filters.ComputeFilter().reason(host(enabled=enabled, up=False), spec())


@pytest.mark.parametrize(
    ("host_az", "wanted", "passes"),
    [("nova", None, True), ("nova", "", True), ("nova", "nova", True), ("az1", "nova", False), ("az1", "az1", True)],
)
def test_availability_zone_filter(host, spec, host_az, wanted, passes):
    state = host(availability_zone=host_az)
    request = spec(availability_zone=wanted)
    assert filters.AvailabilityZoneFilter().host_passes(state, request) is passes
    if not passes:
        assert repr(host_az) in filters.AvailabilityZoneFilter().reason(state, request)


@pytest.mark.parametrize(
    ("properties", "passes"),
    [
        ({}, True),
        ({"hw_architecture": "x86_64"}, True),
        ({"hw_architecture": "aarch64"}, False),
        ({"architecture": "aarch64"}, False),
        ({"img_hv_type": "qemu"}, True),
        ({"img_hv_type": "xen"}, False),
        ({"hw_architecture": "x86_64", "img_hv_type": "kvm"}, True),
    ],
)
def test_image_properties_filter(host, spec, properties, passes):
    assert filters.ImagePropertiesFilter().host_passes(host(), spec(properties=properties)) is passes


# 4 vCPUs x 4.0 = 16 schedulable.
@pytest.mark.parametrize(
    ("vcpus_claimed", "vcpus_wanted", "passes"),
    [(0, 1, True), (0, 16, True), (0, 17, False), (15, 1, True), (15, 2, False), (16, 1, False)],
)
def test_core_filter(host, spec, vcpus_claimed, vcpus_wanted, passes):
    state = host(claims=claims(vcpus=vcpus_claimed))
    assert filters.CoreFilter().host_passes(state, spec(vcpus=vcpus_wanted)) is passes


def test_core_filter_refuses_a_host_without_cpu_facts(host, spec):
    assert not filters.CoreFilter().host_passes(host(vcpus=0), spec(vcpus=1))


# 8192 MB x 1.0 - 512 reserved = 7680 MB schedulable.
@pytest.mark.parametrize(
    ("memory_claimed", "memory_wanted", "passes"),
    [(0, 7680, True), (0, 7681, False), (7168, 512, True), (7168, 513, False), (7680, 64, False)],
)
def test_ram_filter(host, spec, memory_claimed, memory_wanted, passes):
    state = host(claims=claims(memory_mb=memory_claimed))
    assert filters.RamFilter().host_passes(state, spec(memory_mb=memory_wanted)) is passes


def test_ram_filter_honours_ratio(host, spec):
    assert filters.RamFilter().host_passes(host(ram_allocation_ratio=1.5), spec(memory_mb=11776))
    assert not filters.RamFilter().host_passes(host(ram_allocation_ratio=1.5), spec(memory_mb=11777))


# 100 GB free in the instances path x 1.0.
@pytest.mark.parametrize(
    ("disk_claimed", "flavor", "passes"),
    [
        (0, {"root_gb": 100}, True),
        (0, {"root_gb": 101}, False),
        (0, {"root_gb": 90, "ephemeral_gb": 10}, True),
        (0, {"root_gb": 90, "ephemeral_gb": 10, "swap_mb": 1}, False),
        (50, {"root_gb": 50}, True),
        (50, {"root_gb": 40, "ephemeral_gb": 5, "swap_mb": 6144}, False),
    ],
)
def test_disk_filter(host, spec, disk_claimed, flavor, passes):
    state = host(claims=claims(disk_gb=disk_claimed))
    assert filters.DiskFilter().host_passes(state, spec(**flavor)) is passes


@pytest.mark.parametrize(
    ("host_filter", "request_changes", "expected"),
    [
        (filters.CoreFilter(), {"vcpus": 17}, "needs 17 vCPUs, 14 usable (4 x cpu_allocation_ratio 4 - 2 claimed)"),
        (
            filters.RamFilter(),
            {"memory_mb": 8192},
            "needs 8192 MB RAM, 6656 MB usable (8192 MB x ram_allocation_ratio 1 - 512 MB reserved - 1024 MB claimed)",
        ),
        (
            filters.DiskFilter(),
            {"root_gb": 100},
            "needs 100 GB disk, 90 GB usable "
            "(100 GB free in the instances path x disk_allocation_ratio 1 - 10 GB claimed)",
        ),
    ],
)
def test_capacity_reasons_show_the_arithmetic(host, spec, host_filter, request_changes, expected):
    state = host(claims=claims(vcpus=2, memory_mb=1024, disk_gb=10))
    assert host_filter.reason(state, spec(**request_changes)) == expected
