"""The JSON store: locking, atomic writes, corruption, concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import pathlib
import stat

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import InvalidInput, StoreError
from ansible_collections.nimbus.compute.plugins.module_utils.store.base import Store
from ansible_collections.nimbus.compute.plugins.module_utils.store.factory import open_store
from ansible_collections.nimbus.compute.plugins.module_utils.store.json_store import JSONStore

WORKERS = 8
INCREMENTS = 25


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "state" / "nimbus.json")


def test_open_store_gives_a_json_store(path):
    store = open_store(path)
    assert isinstance(store, Store)
    assert isinstance(store, JSONStore)


@pytest.mark.parametrize(
    ("path", "rule"),
    [("", "must be the path of the JSON store file"), ("postgresql://db/nimbus", "not a URL; .* store_url")],
)
def test_open_store_refuses_what_it_cannot_open(path, rule):
    with pytest.raises(InvalidInput, match=f"^store_path: .*{rule}"):
        open_store(path)


def test_missing_file_reads_as_empty_schema_1(path):
    assert JSONStore(path).snapshot().data == {
        "schema": 1,
        "instances": {},
        "claims": {},
        "ports": {},
        "host_facts": {},
        "server_groups": {},
        "security_groups": {},
        "floating_ips": {},
    }
    assert not os.path.exists(path)


def test_round_trip_and_modes(path):
    store = JSONStore(path)
    with store.transaction() as state:
        state.set_host_facts("host1", {"vcpus": 4}, "t1")
    assert store.snapshot().host_facts("host1") == {"vcpus": 4, "updated_at": "t1"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert json.loads(pathlib.Path(path).read_text(encoding="utf-8"))["schema"] == 1


def test_unchanged_transaction_does_not_write(path):
    store = JSONStore(path)
    with store.transaction() as state:
        state.set_host_facts("host1", {}, "t1")
    before = os.stat(path)
    with store.transaction() as state:
        state.host_facts("host1")
    assert os.stat(path).st_ino == before.st_ino
    with store.transaction():
        pass
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns


def test_failing_transaction_leaves_the_old_file(path):
    store = JSONStore(path)
    with store.transaction() as state:
        state.set_host_facts("host1", {"vcpus": 4}, "t1")
    original = pathlib.Path(path).read_bytes()
    with pytest.raises(RuntimeError), store.transaction() as state:
        state.set_host_facts("host1", {"vcpus": 8}, "t2")
        raise RuntimeError("step failed")
    assert pathlib.Path(path).read_bytes() == original
    assert sorted(os.listdir(os.path.dirname(path))) == ["nimbus.json", "nimbus.json.lock"]


def test_unserialisable_data_writes_nothing(path):
    store = JSONStore(path)
    with pytest.raises(StoreError, match="not JSON-serialisable"), store.transaction() as state:
        state.set_host_facts("host1", {"when": object()}, "t1")
    assert not os.path.exists(path)


def test_snapshot_changes_are_never_written(path):
    store = JSONStore(path)
    with store.transaction() as state:
        state.set_host_facts("host1", {}, "t1")
    snapshot = store.snapshot()
    snapshot.set_host_facts("host2", {}, "t2")
    assert store.snapshot().host_facts("host2") is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[]", "not a JSON object"),
        # Not an empty store: a write would replace the file (issue 19).
        (b"null", "not a valid store: it holds null, not a JSON object"),
        (b"[" * 100_000, "not a valid store: its JSON is nested too deeply to read"),
        (b'{"schema": 1, "host_facts": {"h": {"vcpus": NaN}}}', "not a valid store: NaN is not a JSON number"),
        (b'{"schema": 2}', "schema 2"),
        (b'{"schema": 1, "instances": []}', "'instances' is not an object"),
    ],
)
def test_corrupt_file_is_an_error_never_a_reset(path, content, reason):
    os.makedirs(os.path.dirname(path))
    with open(path, "wb") as handle:
        handle.write(content)
    store = JSONStore(path)
    for read in (store.snapshot, lambda: store.transaction().__enter__()):
        with pytest.raises(StoreError, match=reason) as error:
            read()
        assert path in error.value.message
    assert pathlib.Path(path).read_bytes() == content


def test_nested_transaction_is_refused_not_deadlocked(path):
    store = JSONStore(path)
    with store.transaction():
        with pytest.raises(StoreError, match="already open"), store.transaction():
            pass
        with pytest.raises(StoreError, match="deadlock"):
            store.snapshot()
    with store.transaction() as state:
        state.set_host_facts("h", {}, "t")
    assert store.snapshot().host_facts("h") is not None


def _increment(path: str) -> None:
    store = JSONStore(path)
    for _round in range(INCREMENTS):
        with store.transaction() as state:
            facts = state.host_facts("counter") or {"count": 0}
            state.set_host_facts("counter", {"count": facts["count"] + 1}, "t")


def test_concurrent_transactions_lose_no_update(path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_increment, args=(path,)) for _round in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * WORKERS
    assert JSONStore(path).snapshot().host_facts("counter")["count"] == WORKERS * INCREMENTS
