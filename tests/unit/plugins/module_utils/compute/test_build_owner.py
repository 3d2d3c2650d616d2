"""build_owner: a build whose run is gone is told from one in progress, and replaced like a failed one."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import build_owner, flow, schedule
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request


def ended_process_owner() -> dict:
    """The owner record of a run whose process has ended on this controller."""
    child = subprocess.Popen(["sleep", "0"])
    started = build_owner.process_start(child.pid)
    child.wait()
    return {"controller": socket.gethostname(), "pid": child.pid, "started": started}


def building(owner, task_state=states.SPAWNING, vm_state=states.BUILDING) -> dict:
    return {
        "uuid": "u1",
        "name": "web-1",
        "vm_state": vm_state,
        "task_state": task_state,
        "build_owner": owner,
    }


def test_this_run_is_its_own_live_owner():
    owner = build_owner.current_owner()
    assert (owner["controller"], owner["pid"]) == (socket.gethostname(), os.getppid())
    assert owner["started"] is not None
    assert build_owner.owner_is_gone(owner) is False


@pytest.mark.parametrize(
    ("owner", "gone"),
    [
        ("ended", True),
        # The same pid started at another time is another process: the run is gone.
        ("reused", True),
        ("other-controller", False),
        ("none", False),
        ("no-pid", False),
    ],
)
def test_a_run_is_gone_only_when_its_process_on_this_controller_ended(owner, gone):
    live = build_owner.current_owner()
    owner = {
        "ended": ended_process_owner,
        "reused": lambda: {**live, "started": "1"},
        "other-controller": lambda: {**ended_process_owner(), "controller": "awx-job-42"},
        "none": lambda: None,
        "no-pid": lambda: {"controller": socket.gethostname()},
    }[owner]()
    assert build_owner.owner_is_gone(owner) is gone


@pytest.mark.parametrize(
    ("task_state", "vm_state", "orphaned"),
    [
        (states.SPAWNING, states.BUILDING, True),
        (states.SCHEDULING, states.BUILDING, True),
        (states.DELETING, states.BUILDING, False),
        (None, states.ACTIVE, False),
        (None, states.ERROR, False),
    ],
)
def test_only_a_build_in_a_step_is_orphaned(task_state, vm_state, orphaned):
    instance = building(ended_process_owner(), task_state, vm_state)
    assert build_owner.is_orphaned_build(instance) is orphaned


def test_an_orphaned_build_is_replaced_like_a_failed_one_and_a_live_one_is_not():
    orphaned = building(ended_process_owner())
    live = {**building(build_owner.current_owner()), "uuid": "u2", "name": "web-2"}
    failed = {**building(None, None, states.ERROR), "uuid": "u3", "name": "web-3"}
    names = ["web-3", "web-2", "web-1"]
    assert [i["uuid"] for i in schedule.failed_builds([orphaned, live, failed], names)] == ["u3", "u1"]
    with pytest.raises(exceptions.Conflict, match=r"was being built by ansible-playbook pid \d+ on .*, which is gone"):
        flow.existing_build(orphaned)
    with pytest.raises(exceptions.Conflict, match=r"is already being built by ansible-playbook pid \d+ on "):
        flow.existing_build(live)


def test_each_build_transition_records_this_run(store):
    flavors = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
    images = {"tiny": {"source": "/images/tiny.qcow2", "sha256": "a" * 64}}
    networks = {"private": {"cidr": "198.18.0.0/24"}}
    raw = {"name": "web-1", "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}]}
    host = {"up": True, "vcpus": 2, "memory_mb": 2048, "disk_gb": 20, "cpu_arch": "x86_64", "virt_types": ["qemu"]}
    instance = schedule.schedule_instances(
        store, validate_request(raw, flavors, images, networks), {"c1": host}, {}, "2026-12-06T00:00:00Z"
    )[0][0]
    assert instance["build_owner"] == build_owner.current_owner()
    with store.transaction() as state:
        state.save_instance(instance["uuid"], states.SCHEDULING, build_owner=ended_process_owner())
    allocated, _changed = flow.allocate_network(store, instance["uuid"], networks, "2026-12-06T00:00:01Z")
    assert allocated["build_owner"] == build_owner.current_owner()
