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
        ({"hw_architecture": "amd64"}, True),
        ({"hw_architecture": "AMD64"}, True),
        ({"hypervisor_type": "xen"}, False),
        ({"hw_vm_mode": "hvm"}, True),
        ({"hw_vm_mode": "hv"}, True),
        ({"hw_vm_mode": "xen"}, False),
        ({"vm_mode": "exe"}, False),
    ],
)
def test_image_properties_filter(host, spec, properties, passes):
    assert filters.ImagePropertiesFilter().host_passes(host(), spec(properties=properties)) is passes


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"hw_architecture": "aarch64"}, "image needs architecture aarch64 (hw_architecture), host is x86_64"),
        ({"img_hv_type": "xen"}, "image needs hypervisor type xen (img_hv_type), host offers kvm, qemu"),
        ({"hw_vm_mode": "xen"}, "image needs vm mode xen (hw_vm_mode), host offers hvm"),
    ],
)
def test_image_properties_reason(host, spec, properties, reason):
    assert filters.ImagePropertiesFilter().reason(host(), spec(properties=properties)) == reason


@pytest.mark.parametrize(
    ("host_traits", "extra_specs", "passes"),
    [
        ([], {}, True),
        ([], {"hw:cpu_policy": "dedicated", "quota:cpu_shares": "1024"}, True),
        (["CUSTOM_GPU"], {"trait:CUSTOM_GPU": "required"}, True),
        ([], {"trait:CUSTOM_GPU": "required"}, False),
        (["CUSTOM_GPU"], {"trait:CUSTOM_GPU": "forbidden"}, False),
        ([], {"trait:CUSTOM_GPU": "forbidden"}, True),
        (["CUSTOM_GPU"], {"trait:CUSTOM_GPU": "required", "trait:CUSTOM_SSD": "required"}, False),
        (["CUSTOM_GPU", "CUSTOM_SSD"], {"trait:CUSTOM_GPU": "required", "trait:CUSTOM_SSD": "required"}, True),
        (["CUSTOM_GPU"], {"trait:CUSTOM_GPU": "required", "trait:CUSTOM_SLOW": "forbidden"}, True),
        (["CUSTOM_GPU"], {"trait:CUSTOM_GPU": "true"}, False),
    ],
)
def test_compute_capabilities_filter(host, spec, host_traits, extra_specs, passes):
    state = host(traits=host_traits)
    assert filters.ComputeCapabilitiesFilter().host_passes(state, spec(extra_specs=extra_specs)) is passes


@pytest.mark.parametrize(
    ("host_traits", "extra_specs", "reason"),
    [
        ([], {"trait:CUSTOM_GPU": "required"}, "host lacks required trait CUSTOM_GPU (host traits: none)"),
        (
            ["CUSTOM_GPU"],
            {"trait:CUSTOM_GPU": "forbidden"},
            "host has forbidden trait CUSTOM_GPU (host traits: CUSTOM_GPU)",
        ),
        (
            [],
            {"trait:CUSTOM_GPU": "yes"},
            "flavor extra_specs trait:CUSTOM_GPU is 'yes'; use 'required' or 'forbidden'",
        ),
    ],
)
def test_compute_capabilities_reason(host, spec, host_traits, extra_specs, reason):
    assert reason in filters.ComputeCapabilitiesFilter().reason(host(traits=host_traits), spec(extra_specs=extra_specs))


# The host holds instances a and b.
@pytest.mark.parametrize(
    ("host_filter", "hinted", "passes"),
    [
        (filters.SameHostFilter, [], True),
        (filters.SameHostFilter, ["a"], True),
        (filters.SameHostFilter, ["z", "b"], True),
        (filters.SameHostFilter, ["z"], False),
        (filters.DifferentHostFilter, [], True),
        (filters.DifferentHostFilter, ["z"], True),
        (filters.DifferentHostFilter, ["z", "b"], False),
        (filters.DifferentHostFilter, ["a"], False),
    ],
)
def test_same_and_different_host_filters(host, spec, claim, host_filter, hinted, passes):
    state = host(claims=[claim("a"), claim("b")])
    name = "same_host" if host_filter is filters.SameHostFilter else "different_host"
    request = spec(scheduler_hints={name: hinted})
    assert host_filter().host_passes(state, request) is passes
    if not passes:
        assert name in host_filter().reason(state, request)


@pytest.mark.parametrize(
    ("policy", "group_hosts", "passes"),
    [
        ("affinity", [], True),
        ("affinity", ["host1"], True),
        ("affinity", ["other", "host1"], True),
        ("affinity", ["other"], False),
        ("anti-affinity", ["other"], True),
        ("soft-affinity", ["other"], True),
    ],
)
def test_server_group_affinity_filter(host, spec, group, policy, group_hosts, passes):
    request = spec(group=group(policy, hosts=group_hosts))
    assert filters.ServerGroupAffinityFilter().host_passes(host(), request) is passes
    if not passes:
        reason = filters.ServerGroupAffinityFilter().reason(host(), request)
        assert reason == "server group web (g-1) has policy affinity and its members are on other"


# The host holds instances m1, m2 and x; m1, m2 (and the one being placed, u-new) are group members.
@pytest.mark.parametrize(
    ("policy", "members", "rules", "passes"),
    [
        ("anti-affinity", [], {}, True),
        ("anti-affinity", ["m1"], {}, False),
        ("anti-affinity", ["m9"], {}, True),
        ("anti-affinity", ["m1", "m2"], {"max_server_per_host": 2}, False),
        ("anti-affinity", ["m1"], {"max_server_per_host": 2}, True),
        ("anti-affinity", ["m1", "m2"], {"max_server_per_host": 3}, True),
        ("anti-affinity", ["m1", "m2"], {"max_server_per_host": "3"}, True),
        ("affinity", ["m1", "m2"], {}, True),
        ("soft-anti-affinity", ["m1", "m2"], {}, True),
    ],
)
def test_server_group_anti_affinity_filter(host, spec, group, claim, policy, members, rules, passes):
    state = host(claims=[claim("m1"), claim("m2"), claim("x")])
    request = spec(group=group(policy, members=[*members, "u-new"], **rules))
    assert filters.ServerGroupAntiAffinityFilter().host_passes(state, request) is passes


def test_anti_affinity_does_not_count_the_instance_being_placed(host, spec, group, claim):
    state = host(claims=[claim("u-new")])
    request = spec(group=group("anti-affinity", members=["u-new"]))
    assert filters.ServerGroupAntiAffinityFilter().host_passes(state, request)


def test_anti_affinity_reason_counts_members(host, spec, group, claim):
    state = host(claims=[claim("m1"), claim("m2")])
    request = spec(group=group("anti-affinity", members=["m1", "m2"], max_server_per_host=2))
    assert filters.ServerGroupAntiAffinityFilter().reason(state, request) == (
        "server group web (g-1) has policy anti-affinity and the host already holds 2 of its members "
        "(rules.max_server_per_host 2)"
    )


@pytest.mark.parametrize("name", sorted(filters.ALL_FILTERS))
def test_every_filter_passes_a_plain_request_on_a_healthy_host(host, spec, name):
    assert filters.ALL_FILTERS[name]().host_passes(host(), spec())


@pytest.mark.parametrize(
    ("name", "rechecked"), [(name, name == "ServerGroupAffinityFilter") for name in sorted(filters.ALL_FILTERS)]
)
def test_only_affinity_depends_on_other_hosts(name, rechecked):
    assert filters.ALL_FILTERS[name].depends_on_other_hosts is rechecked


def test_a_filter_reads_each_new_request(host, spec):
    """The per-request parse is keyed on the spec object: a second request is read afresh."""
    host_filter = filters.RamFilter()
    state = host()
    assert host_filter.host_passes(state, spec(memory_mb=512))
    assert not host_filter.host_passes(state, spec(memory_mb=8192))


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


# 100 GB size of the instances path x 1.0.
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
            "(100 GB size of the instances path x disk_allocation_ratio 1 - 10 GB claimed)",
        ),
    ],
)
def test_capacity_reasons_show_the_arithmetic(host, spec, host_filter, request_changes, expected):
    state = host(claims=claims(vcpus=2, memory_mb=1024, disk_gb=10))
    assert host_filter.reason(state, spec(**request_changes)) == expected
