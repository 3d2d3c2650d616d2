"""Shared pytest fixtures for the unit tests."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.compute import controller


@pytest.fixture
def schedule_and_allocate():
    """Run the scheduling and networking steps as a build does, through the controller's module bodies.

    ``(store_path, request, flavors, images, networks, hosts)`` -> network_allocate's result
    (its ``instance`` is the record after the networking step).
    """

    def run(store_path, request, flavors, images, networks, hosts):
        params = {
            "store_path": store_path,
            "state": "present",
            "request": request,
            "flavors": flavors,
            "images": images,
            "networks": networks,
            "hosts": hosts,
            "scheduler": {},
        }
        uuid = controller.host_select(params, check_mode=False)["instance"]["uuid"]
        return controller.network_allocate(
            {"store_path": store_path, "state": "present", "instance": uuid, "networks": networks}, False
        )

    return run
