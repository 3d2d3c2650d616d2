"""The throw-away PostgreSQL clusters of the tests (tests/pg_cluster.py) and their fixtures."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from ansible_collections.nimbus.compute.tests.pg_cluster import HOST, ClusterError, attach, process_exists

# Also registered by tests/unit/conftest.py; a plugin registered twice by one name loads once.
pytest_plugins = ["ansible_collections.nimbus.compute.tests.unit.pg_fixtures"]

CLI = Path(__file__).resolve().parents[1] / "pg_cluster.py"


def one_value(url: str, sql: str):
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.execute(sql).fetchone()[0]


def test_url_accepts_a_connection_to_nimbus_with_durability_on(pg_cluster):
    assert pg_cluster.url == f"postgresql://postgres@127.0.0.1:{pg_cluster.port}/nimbus"
    with psycopg.connect(pg_cluster.url, connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT current_database(), current_user, inet_server_port(), current_setting('fsync')"
        ).fetchone()
    assert row == ("nimbus", "postgres", pg_cluster.port, "on")


def test_pg_database_is_an_empty_database_of_the_tests_own(pg_database, pg_cluster):
    name = pg_database.rsplit("/", 1)[1]
    assert name.startswith("t_")
    assert one_value(pg_database, "SELECT current_database()") == name
    assert one_value(pg_database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0


def test_role_with_a_password_refuses_a_wrong_one(pg_cluster):
    name = f"r_{secrets.token_hex(4)}"
    url = pg_cluster.create_role(name, "right horse")

    assert one_value(url, "SELECT current_user") == name
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(pg_cluster.url_for("nimbus", name, "wrong horse"), connect_timeout=10)
    # The other roles keep their trust.
    assert one_value(pg_cluster.url, "SELECT current_user") == "postgres"


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_stop_ends_the_postmaster_and_start_again_serves_the_same_data(pg_private_cluster, mode):
    cluster = pg_private_cluster
    with psycopg.connect(cluster.url) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('committed before the stop')")
    pid, url = cluster.pid, cluster.url

    cluster.stop(mode=mode)

    assert cluster.pid is None
    with pytest.raises(ProcessLookupError):  # not even a defunct one: stop() reaps its child
        os.kill(pid, 0)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=5)

    cluster.start_again()

    assert cluster.url == url
    assert cluster.pid not in (None, pid)
    assert one_value(url, "SELECT v FROM kept") == "committed before the stop"


def test_a_server_that_cannot_start_is_reported_with_its_log(pg_private_cluster):
    cluster = pg_private_cluster
    cluster.stop()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind((HOST, cluster.port))
        squatter.listen()
        with pytest.raises(ClusterError, match=r"(?s)exited.*postgres\.log.*could not bind"):
            cluster.start_again(timeout=20)
    assert cluster.pid is None

    cluster.start_again()
    assert one_value(cluster.url, "SELECT 1") == 1


def run_cli(*args: str) -> str:
    return subprocess.run(
        [sys.executable, str(CLI), *args], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()


def test_cli_starts_a_server_that_outlives_it_and_stops_it_by_its_pid():
    base = Path(tempfile.mkdtemp(prefix="nimbus-pg-cli-"))
    try:
        url = run_cli("start", str(base))

        assert run_cli("url", str(base)) == url
        assert one_value(url, "SELECT current_database()") == "nimbus"
        pid = attach(base).pid
        assert pid is not None

        run_cli("stop", str(base))

        assert not base.exists()
        # The server's parent (the CLI) is gone: init reaps it, maybe a moment later.
        assert not process_exists(pid)
    finally:
        if base.exists():
            attach(base).destroy()
