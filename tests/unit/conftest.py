"""Shared pytest fixtures for the unit tests."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.compute import controller
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store

pytest_plugins = ["ansible_collections.nimbus.compute.tests.unit.pg_fixtures"]

# Every table of the PostgreSQL store but its version, read from the schema: emptied before each test.
PG_TABLES = "SELECT string_agg(format('%I.%I', schemaname, tablename), ', ') FROM pg_tables " + (
    "WHERE schemaname = 'nimbus' AND tablename <> 'schema_version'"
)


@pytest.fixture(scope="session")
def pg_store_url(pg_cluster):
    """The session cluster's database ``nimbus``, with the store's schema (created by its first use)."""
    store = open_store(url=pg_cluster.url)
    store.snapshot()
    store.close()
    return pg_cluster.url


@pytest.fixture(params=["json", "postgresql"])
def store_params(request, tmp_path):
    """The store options of a task, for an empty store of each backend: store_path or store_url."""
    if request.param == "json":
        return {"store_path": str(tmp_path / "store.json")}
    url = request.getfixturevalue("pg_store_url")
    store = open_store(url=url)
    with store.migration() as conn:
        tables = conn.execute(PG_TABLES).fetchone()[0]
        conn.execute(f"TRUNCATE {tables}")
    return {"store_url": url}


@pytest.fixture
def store(store_params):
    """An empty store of each backend (JSON file, PostgreSQL)."""
    opened = open_store(store_params.get("store_path"), store_params.get("store_url"))
    yield opened
    close = getattr(opened, "close", None)
    if close is not None:
        close()


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
