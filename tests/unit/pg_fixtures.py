"""pytest fixtures for real, throw-away PostgreSQL clusters (tests/pg_cluster.py).

- ``pg_cluster``: one cluster for the whole session, stopped and removed at its end.
- ``pg_database``: the URL of a fresh database on it, made for one test and dropped after.
- ``pg_private_cluster``: a cluster of one test's own, for tests that stop, crash or restart
  the server (``stop()``, ``stop(mode="immediate")``, ``start_again()``); a few hundred ms.

Registered as a plugin by name:
``pytest_plugins = ["ansible_collections.nimbus.compute.tests.unit.pg_fixtures"]``.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from ansible_collections.nimbus.compute.tests.pg_cluster import Cluster, start


def _started_cluster(prefix: str) -> Iterator[Cluster]:
    # Not pytest's tmp_path: that is private to root, and the server runs as the postgres user.
    base = tempfile.mkdtemp(prefix=prefix)
    try:
        cluster = start(base)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A running cluster shared by the session's tests; ``.url`` is its database nimbus.

    Tests that stop or restart the server take ``pg_private_cluster`` instead.
    """
    yield from _started_cluster("nimbus-pg-")


@pytest.fixture
def pg_database(pg_cluster: Cluster) -> Iterator[str]:
    """The superuser's URL of an empty database of this test's own (t_<random>), dropped afterwards."""
    name = f"t_{secrets.token_hex(6)}"
    url = pg_cluster.create_database(name)
    try:
        yield url
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def pg_private_cluster() -> Iterator[Cluster]:
    """A running cluster of this test's own, removed afterwards, whatever the test did to its server."""
    yield from _started_cluster("nimbus-pg-own-")
