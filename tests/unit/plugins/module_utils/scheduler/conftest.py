"""Host facts and request specs for the scheduler tests."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.config import scheduler_config
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.host_state import host_state_from_facts


def facts(**changes):
    base = {
        "hostname": "host1",
        "vcpus": 4,
        "memory_mb": 8192,
        "free_memory_mb": 6000,
        "disk_gb": 100,
        "free_disk_gb": 100,
        "cpu_arch": "x86_64",
        "virt_types": ["kvm", "qemu"],
        "libvirt_version": 9000000,
        "qemu_version": 8002000,
        "up": True,
    }
    base.update(changes)
    return base


def spec(
    vcpus=1,
    memory_mb=512,
    root_gb=1,
    ephemeral_gb=0,
    swap_mb=0,
    availability_zone=None,
    properties=None,
    extra_specs=None,
    **request,
):
    """A request spec as flow.py builds it; ``request`` sets group, scheduler_hints, instance_uuids, ..."""
    return {
        "flavor": {
            "name": "test",
            "vcpus": vcpus,
            "memory_mb": memory_mb,
            "root_gb": root_gb,
            "ephemeral_gb": ephemeral_gb,
            "swap_mb": swap_mb,
            "extra_specs": extra_specs or {},
        },
        "image": {"name": "img", "properties": properties or {}},
        "availability_zone": availability_zone,
        "instance_uuid": "u-new",
        **request,
    }


def group(policy, members=(), hosts=(), **rules):
    return {
        "uuid": "g-1",
        "name": "web",
        "policy": policy,
        "rules": rules,
        "members": list(members),
        "hosts": list(hosts),
    }


def claim(uuid, vcpus=1, memory_mb=0, disk_gb=0):
    return {"instance_uuid": uuid, "vcpus": vcpus, "memory_mb": memory_mb, "disk_gb": disk_gb}


def host(name="host1", claims=(), config=None, **fact_changes):
    return host_state_from_facts(name, facts(**fact_changes), list(claims), config or scheduler_config())


@pytest.fixture
def config():
    return scheduler_config()


@pytest.fixture(name="facts")
def facts_factory():
    return facts


@pytest.fixture(name="spec")
def spec_factory():
    return spec


@pytest.fixture(name="host")
def host_factory():
    return host


@pytest.fixture(name="group")
def group_factory():
    return group


@pytest.fixture(name="claim")
def claim_factory():
    return claim
