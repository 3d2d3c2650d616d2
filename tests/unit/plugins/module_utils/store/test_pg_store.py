"""The PostgreSQL store against a real server: its constraints, locks, errors and migrations."""

from __future__ import annotations

import importlib
import json
import threading

import psycopg
import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    flow,
    schedule,
    security_groups,
    server_groups,
    store_check,
    store_migrate,
)
from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    InvalidInput,
    StoreError,
    UnexpectedTaskStateError,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import validate_request
from ansible_collections.nimbus.compute.plugins.module_utils.store import pg_schema, pg_store
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import check_url, open_store
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore
from ansible_collections.nimbus.compute.tests.pg_cluster import free_port

FLAVORS = {"m1.tiny": {"vcpus": 1, "memory_mb": 256, "root_gb": 1}}
IMAGES = {"tiny": {"source": "/images/tiny.qcow2", "sha256": "a" * 64}}


def make_instance(uuid, name, created="t0"):
    return {
        "uuid": uuid,
        "name": name,
        "vm_state": states.BUILDING,
        "task_state": states.SCHEDULING,
        "created_at": created,
        "updated_at": created,
    }


@pytest.fixture
def pg(pg_database):
    store = open_store(url=pg_database)
    yield store
    store.close()


def raw(url, sql, params=None):
    """Run one statement on a connection of its own; the rows of a SELECT."""
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


# -- the database itself refuses what must never happen ----------------------------------------------


@pytest.mark.parametrize(
    ("sql", "error"),
    [
        # A second live instance called web-1 in the same project.
        (
            "INSERT INTO nimbus.instances (uuid, name, project_id, vm_state, created_at, record) "
            """VALUES ('u9', 'web-1', 'default', 'active', 't1', '{"uuid": "u9"}')""",
            psycopg.errors.UniqueViolation,
        ),
        # The same address on the same network for another port.
        (
            "INSERT INTO nimbus.port_ips (port_id, network, address) VALUES ('p2', 'private', '198.18.0.10')",
            psycopg.errors.UniqueViolation,
        ),
        # The same MAC on a second port.
        (
            "INSERT INTO nimbus.ports (id, instance_uuid, network, mac, position, record) "
            "VALUES ('p3', 'u2', 'private', 'fa:16:3e:00:00:01', 0, '{}')",
            psycopg.errors.UniqueViolation,
        ),
        # A claim, a port, an action and a group member of an instance that does not exist.
        (
            "INSERT INTO nimbus.claims (instance_uuid, host, vcpus, memory_mb, disk_gb) VALUES ('nope', 'h1', 1, 1, 1)",
            psycopg.errors.ForeignKeyViolation,
        ),
        (
            "INSERT INTO nimbus.ports (id, instance_uuid, network, mac, position, record) "
            "VALUES ('p4', 'nope', 'private', 'fa:16:3e:00:00:04', 0, '{}')",
            psycopg.errors.ForeignKeyViolation,
        ),
        (
            "INSERT INTO nimbus.instance_actions (instance_uuid, seq, action, request_id, record) "
            "VALUES ('nope', 0, 'create', 'req-1', '{}')",
            psycopg.errors.ForeignKeyViolation,
        ),
        (
            "INSERT INTO nimbus.server_group_members (group_uuid, instance_uuid, position) VALUES ('g1', 'nope', 1)",
            psycopg.errors.ForeignKeyViolation,
        ),
        # Negative resources, an upper-case MAC.
        (
            "UPDATE nimbus.claims SET vcpus = -1 WHERE instance_uuid = 'u1'",
            psycopg.errors.CheckViolation,
        ),
        (
            "UPDATE nimbus.ports SET mac = 'FA:16:3E:00:00:01' WHERE id = 'p1'",
            psycopg.errors.CheckViolation,
        ),
    ],
)
def test_the_database_refuses_double_allocations_and_orphans(pg, pg_database, sql, error):
    with pg.transaction() as state:
        state.add_instance(make_instance("u1", "web-1"))
        state.add_instance(make_instance("u2", "web-2"))
        state.claim("u1", "h1", {"vcpus": 1, "memory_mb": 256, "disk_gb": 1})
        state.add_ports(
            {"p1": {"instance_uuid": "u1", "network": "private", "mac": "fa:16:3e:00:00:01", "ips": ["198.18.0.10"]}}
        )
        state.add_server_group({"uuid": "g1", "name": "g", "policy": "affinity", "rules": {}, "members": ["u1"]})
    with pytest.raises(error):
        raw(pg_database, sql)


def test_a_deleted_instance_frees_its_name(pg):
    with pg.transaction() as state:
        state.add_instance(make_instance("u1", "web-1"))
        state.save_instance("u1", states.SCHEDULING, vm_state=states.DELETED, task_state=None)
        state.add_instance(make_instance("u2", "web-1", created="t1"))
    assert pg.snapshot().find_instance("web-1")["uuid"] == "u2"


# -- compare-and-swap on a locked row ----------------------------------------------------------------


def test_compare_and_swap_waits_for_the_row_and_sees_the_winner(pg, pg_database):
    with pg.transaction() as state:
        state.add_instance(make_instance("u1", "web-1"))
    other = open_store(url=pg_database)
    inside, outcome = threading.Event(), []

    def loser():
        inside.wait()
        try:
            with other.transaction() as state:
                state.save_instance("u1", states.SCHEDULING, task_state=states.NETWORKING)
        except UnexpectedTaskStateError as error:
            outcome.append(error.details["actual"])

    thread = threading.Thread(target=loser)
    thread.start()
    with pg.transaction() as state:
        state.save_instance("u1", states.SCHEDULING, task_state=states.DELETING)
        inside.set()
        # The loser is blocked on the row lock until this transaction commits.
        thread.join(0.5)
        assert thread.is_alive()
    thread.join(10)
    other.close()
    assert outcome == [states.DELETING]
    assert pg.snapshot().instance("u1")["task_state"] == states.DELETING


# -- URLs, passwords and errors that name the store ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("", "must be a PostgreSQL URL"),
        ("/var/lib/nimbus/store.json", "not a file path; a JSON store file goes in store_path"),
        ("mysql://db/nimbus", "has the scheme 'mysql'"),
        ("postgresql://db:port/nimbus", "is not a valid URL"),
        ("postgresql://db:5432", "names no database"),
    ],
)
def test_bad_urls_are_refused_naming_store_url(url, rule):
    with pytest.raises(InvalidInput, match=f"^store_url: .*{rule}"):
        check_url(url)


def test_urls_are_shown_without_their_password():
    assert pg_store.redact("postgresql://nimbus:s3cret@db:5432/nimbus") == "postgresql://nimbus@db:5432/nimbus"
    assert pg_store.redact("postgresql://db/nimbus?password=s3cret&sslmode=require") == (
        "postgresql://db/nimbus?sslmode=require"
    )


def test_a_wrong_password_names_the_store_and_never_shows_a_password(pg_cluster, monkeypatch):
    pg_cluster.create_role("pw_user", "right-password")
    pg_cluster.psql("CREATE DATABASE pw_store OWNER pw_user;")
    with_password = pg_cluster.url_for("pw_store", "pw_user", "right-password")
    url = pg_store.redact(with_password)
    assert "right-password" not in url
    monkeypatch.delenv("PGPASSWORD", raising=False)
    for given, in_url in (("wrong-password", url), (None, url), (None, with_password.replace("right", "wrong"))):
        with pytest.raises(StoreError) as error:
            open_store(url=in_url, password=given).snapshot()
        assert error.value.message.startswith(f"cannot connect to store {url} (store_url): ")
        assert "password authentication failed" in error.value.message or "no password supplied" in error.value.message
        assert "wrong-password" not in error.value.message
    # The password from libpq's own sources, from store_password, or in the URL: each is never shown.
    for store in (open_store(url=url, password="right-password"), open_store(url=with_password)):
        assert (store.snapshot().list_instances(), repr(store)) == ([], f"PostgresStore({url!r})")
        store.close()
    monkeypatch.setenv("PGPASSWORD", "right-password")
    assert open_store(url=url).snapshot().list_instances() == []


def test_an_unreachable_server_is_a_clear_error():
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nimbus"
    with pytest.raises(StoreError, match=f"^cannot connect to store {url} \\(store_url\\): .*refused"):
        open_store(url=url).snapshot()


def test_a_url_from_the_environment_is_named_as_such(monkeypatch):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nimbus"
    monkeypatch.setenv("NIMBUS_STORE_URL", url)
    with pytest.raises(StoreError, match=f"^cannot connect to store {url} \\(NIMBUS_STORE_URL\\): "):
        store_check.store_check({"store_path": "/nonexistent/store.json", "repair": False}, check_mode=False)
    monkeypatch.setenv("NIMBUS_STORE_URL", "mysql://db/nimbus")
    with pytest.raises(InvalidInput, match=r"^NIMBUS_STORE_URL: has the scheme 'mysql'"):
        store_check.store_check({"repair": False}, check_mode=False)


def test_a_missing_psycopg_is_named_only_when_a_url_is_used(monkeypatch, tmp_path):
    real = importlib.import_module

    def without_psycopg(name, *args):
        if name == "psycopg":
            raise ImportError("No module named 'psycopg'")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_psycopg)
    with pytest.raises(StoreError, match=r"needs the Python package psycopg .*pip install 'psycopg\[binary\]'"):
        open_store(url="postgresql://db/nimbus")
    assert open_store(str(tmp_path / "store.json")).snapshot().list_instances() == []


def test_a_server_stopped_mid_run_fails_naming_the_store_and_a_rerun_converges(pg_private_cluster):
    store = open_store(url=pg_private_cluster.url)
    with store.transaction() as state:
        state.add_instance(make_instance("u1", "web-1"))
    pg_private_cluster.stop()
    unreachable = r"^store postgresql://postgres@127\.0\.0\.1:\d+/nimbus \(store_url\) is unreachable"
    with pytest.raises(StoreError, match=unreachable), store.transaction() as state:
        state.save_instance("u1", states.SCHEDULING, task_state=states.NETWORKING)
    pg_private_cluster.start_again()
    with store.transaction() as state:
        assert state.instance("u1")["task_state"] == states.SCHEDULING
        state.save_instance("u1", states.SCHEDULING, task_state=states.NETWORKING)
    assert store.snapshot().instance("u1")["task_state"] == states.NETWORKING
    store.close()


# -- schema versions and store_migrate ---------------------------------------------------------------


def test_a_database_of_another_schema_version_is_refused(pg, pg_database):
    pg.snapshot()
    raw(pg_database, "INSERT INTO nimbus.schema_version (version) VALUES (4)")
    pg.close()
    with pytest.raises(StoreError, match=r"has schema version 4, this collection uses 3: upgrade nimbus\.compute"):
        open_store(url=pg_database).snapshot()
    with pytest.raises(StoreError, match="schema version 4"):
        store_migrate.store_migrate({"store_url": pg_database}, check_mode=False)


def test_a_version_1_database_is_refused_until_store_migrate_upgrades_it_keeping_its_records(pg_database):
    # A store an earlier nimbus.compute made: schema version 1, with a server group in it.
    with psycopg.connect(pg_database) as conn:
        pg_schema.migrate(conn, pg_database, target=1)
    raw(
        pg_database,
        "INSERT INTO nimbus.server_groups (uuid, name, project_id, record) VALUES ('g1', 'pair', 'default', %s)",
        (psycopg.types.json.Jsonb({"uuid": "g1", "name": "pair", "policy": "affinity", "rules": {}}),),
    )
    with pytest.raises(
        StoreError, match=r"schema version 1, this collection uses 3: run nimbus\.compute\.store_migrate"
    ):
        open_store(url=pg_database).snapshot()
    upgraded = store_migrate.store_migrate({"store_url": pg_database}, check_mode=False)
    assert (upgraded["changed"], upgraded["schema_version_before"], upgraded["schema_version"]) == (True, 1, 3)
    store = open_store(url=pg_database)
    assert store.snapshot().find_server_group("pair")["policy"] == "affinity"
    made = security_groups.ensure(store, "web", None, None, NOW, False)["security_group"]
    assert store.snapshot().export()["security_groups"][made["uuid"]] == made
    # PostgreSQL's own constraints: one name per project, and the record's uuid is its row's.
    with pytest.raises(psycopg.errors.UniqueViolation):
        raw(
            pg_database,
            "INSERT INTO nimbus.security_groups (uuid, name, project_id, record) VALUES ('x', 'web', 'default', %s)",
            (psycopg.types.json.Jsonb({"uuid": "x", "name": "web", "rules": []}),),
        )
    with pytest.raises(psycopg.errors.CheckViolation):
        raw(
            pg_database,
            "INSERT INTO nimbus.security_groups (uuid, name, project_id, record) VALUES ('y', 'db', 'default', %s)",
            (psycopg.types.json.Jsonb({"uuid": "z", "name": "db", "rules": []}),),
        )
    store.close()


NOW = "2026-12-06T10:00:00Z"
HOST = {"up": True, "vcpus": 4, "memory_mb": 4096, "disk_gb": 40, "cpu_arch": "x86_64", "virt_types": ["qemu"]}
NETWORKS = {"private": {"cidr": "198.18.0.0/24", "gateway": "198.18.0.1"}}


@pytest.fixture
def migrated_source():
    """A JSON store to copy: two live instances (claims, ports, one in a group), one deleted, one host's facts."""

    def make(tmp_path):
        store = JSONStore(str(tmp_path / "store.json"))
        server_groups.ensure(store, "pair", "affinity", None, NOW, False)
        security_groups.ensure(store, "web", "web servers", None, NOW, False)
        for name, hints in (("web-1", {"group": "pair"}), ("web-2", {}), ("db-1", {})):
            raw_request = {"name": name, "flavor": "m1.tiny", "image": "tiny", "networks": [{"network": "private"}]}
            request = validate_request({**raw_request, "scheduler_hints": hints}, FLAVORS, IMAGES, NETWORKS)
            uuid = schedule.schedule_instances(store, request, {"c1": HOST}, {}, NOW)[0][0]["uuid"]
            flow.allocate_network(store, uuid, NETWORKS, NOW)
        flow.begin_delete(store, "db-1", NOW)
        flow.deallocate_network(store, "db-1")
        flow.release_claim(store, "db-1", NOW)
        with store.transaction() as state:
            state.set_host_facts("c1", HOST, NOW)
        return store

    return make


def test_store_migrate_creates_copies_once_and_store_check_counts_the_same(tmp_path, pg_database, migrated_source):
    source = migrated_source(tmp_path)
    params = {"store_url": pg_database, "source_path": source.path}
    predicted = store_migrate.store_migrate(params, check_mode=True)
    assert raw(pg_database, "SELECT to_regclass('nimbus.instances') IS NULL") == [(True,)]
    first = store_migrate.store_migrate(params, check_mode=False)
    assert predicted == first
    assert (first["changed"], first["schema_version_before"], first["schema_version"]) == (True, 0, 3)
    assert first["copied"] == {
        "instances": 3,
        "server_groups": 1,
        "security_groups": 2,
        "floating_ips": 0,
        "claims": 2,
        "ports": 2,
        "host_facts": 1,
    }
    again = store_migrate.store_migrate(params, check_mode=False)
    assert (again["changed"], again["copied"], again["already_present"]) == (
        False,
        dict.fromkeys(first["copied"], 0),
        first["copied"],
    )
    on_json = store_check.store_check({"store_path": source.path, "repair": False}, False)
    on_pg = store_check.store_check({"store_url": pg_database, "repair": False}, False)
    assert on_json["counts"] == on_pg["counts"] == {**first["copied"], "live_instances": 2}
    assert on_pg["consistent"] and on_pg["violations"] == []
    assert open_store(url=pg_database).snapshot().export() == source.snapshot().export()


def test_store_migrate_refuses_an_inconsistent_json_store_and_writes_nothing(tmp_path, pg_database, migrated_source):
    source = migrated_source(tmp_path)
    with source.transaction() as state:
        state.data["claims"]["ghost"] = {"host": "c1", "vcpus": 1, "memory_mb": 1, "disk_gb": 1}
    with pytest.raises(StoreError, match=r"source_path .* 1 consistency violation.*store_check with repair=true"):
        store_migrate.store_migrate({"store_url": pg_database, "source_path": source.path}, check_mode=False)
    assert raw(pg_database, "SELECT to_regclass('nimbus.instances') IS NULL") == [(True,)]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "^store_url: is required"),
        ({"store_url": "/tmp/store.json"}, "^store_url: must be a PostgreSQL URL .*not a file path"),
        ({"store_url": "postgresql://db/x", "source_path": "postgresql://db/y"}, "^source_path: .*not a URL"),
    ],
)
def test_store_migrate_bad_input(monkeypatch, params, message):
    monkeypatch.delenv("NIMBUS_STORE_URL", raising=False)
    with pytest.raises(InvalidInput, match=message):
        store_migrate.store_migrate(params, check_mode=False)


def test_schema_migrations_lead_to_the_current_version():
    assert sorted(pg_schema.MIGRATIONS) == list(range(pg_schema.SCHEMA_VERSION))


# -- schema 3: floating IPs -------------------------------------------------------------------------------


def floating_ip_row(fip_id, address, port_id=None, fixed=None, instance=None, record_id=None):
    """An INSERT of a floating IP row (its record as the store writes it) through raw SQL."""
    record = {"id": record_id or fip_id, "floating_ip_address": address}
    return (
        "INSERT INTO nimbus.floating_ips (id, address, pool, project_id, port_id, fixed_ip_address, instance_uuid, "
        "record) VALUES (%s, %s, 'public', 'default', %s, %s, %s, %s)",
        (fip_id, address, port_id, fixed, instance, json.dumps(record)),
    )


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        # The same address allocated twice.
        (floating_ip_row("f2", "198.19.0.10"), psycopg.errors.UniqueViolation),
        # A second floating IP for the same fixed IP of the same port.
        (floating_ip_row("f2", "198.19.0.11", "p1", "198.18.0.10", "u1"), psycopg.errors.UniqueViolation),
        # The port of an associated floating IP deleted, or a floating IP of a port that does not exist.
        (("DELETE FROM nimbus.ports WHERE id = 'p1'", None), psycopg.errors.ForeignKeyViolation),
        (floating_ip_row("f2", "198.19.0.11", "nope", "198.18.0.10", "u1"), psycopg.errors.ForeignKeyViolation),
        # A port without its fixed IP, a network, an IPv6 address, a record of another floating IP.
        (floating_ip_row("f2", "198.19.0.11", "p1", None, "u1"), psycopg.errors.CheckViolation),
        (floating_ip_row("f2", "198.19.0.0/24"), psycopg.errors.CheckViolation),
        (floating_ip_row("f2", "2001:db8::10"), psycopg.errors.CheckViolation),
        (floating_ip_row("f2", "198.19.0.11", record_id="f9"), psycopg.errors.CheckViolation),
    ],
)
def test_the_database_refuses_a_floating_ip_twice_and_orphans_of_one(pg, pg_database, statement, error):
    with pg.transaction() as state:
        state.add_instance(make_instance("u1", "web-1"))
        state.add_ports(
            {"p1": {"instance_uuid": "u1", "network": "private", "mac": "fa:16:3e:00:00:01", "ips": ["198.18.0.10"]}}
        )
        state.add_floating_ip(
            {
                "id": "f1",
                "floating_ip_address": "198.19.0.10",
                "pool": "public",
                "project_id": "default",
                "port_id": "p1",
                "fixed_ip_address": "198.18.0.10",
                "instance_uuid": "u1",
                "host": "c1",
                "status": "ACTIVE",
            }
        )
    # The row the store wrote is one the constraints take.
    assert raw(pg_database, "SELECT id, host(address), port_id, host(fixed_ip_address) FROM nimbus.floating_ips") == [
        ("f1", "198.19.0.10", "p1", "198.18.0.10")
    ]
    with pytest.raises(error):
        raw(pg_database, *statement)
    assert raw(pg_database, "SELECT count(*) FROM nimbus.floating_ips")[0][0] == 1
    assert raw(pg_database, "SELECT count(*) FROM nimbus.ports")[0][0] == 1
