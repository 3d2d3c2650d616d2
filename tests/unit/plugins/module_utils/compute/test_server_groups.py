"""server_group's body on a real JSON store: create, converge, refuse changes, delete, check mode."""

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import server_groups

NOW = "2026-11-23T10:00:00.000Z"


def test_create_converge_and_delete(store):
    created = server_groups.ensure(store, "db", "anti-affinity", {"max_server_per_host": 2}, NOW, False)
    assert created["changed"] and created["diff"]["before"] == {}
    again = server_groups.ensure(store, "db", "anti-affinity", {"max_server_per_host": 2}, NOW, False)
    assert not again["changed"] and again["server_group"]["uuid"] == created["server_group"]["uuid"]
    assert not server_groups.ensure(store, "db", None, None, NOW, False)["changed"]
    deleted = server_groups.delete(store, "db", False)
    assert deleted["changed"] and deleted["diff"]["after"] == {}
    assert not server_groups.delete(store, "db", False)["changed"]
    assert store.snapshot().export()["server_groups"] == {}


def test_policy_cannot_change(store):
    server_groups.ensure(store, "db", "anti-affinity", None, NOW, False)
    with pytest.raises(exceptions.Conflict, match="cannot change"):
        server_groups.ensure(store, "db", "affinity", None, NOW, False)
    with pytest.raises(exceptions.Conflict, match="cannot change"):
        server_groups.ensure(store, "db", "anti-affinity", {"max_server_per_host": 3}, NOW, False)


def test_create_needs_a_policy_and_a_safe_name(store):
    with pytest.raises(exceptions.InvalidInput, match="policy: is required"):
        server_groups.ensure(store, "db", None, None, NOW, False)
    with pytest.raises(exceptions.InvalidInput, match="name"):
        server_groups.ensure(store, "a/b", "affinity", None, NOW, False)


def test_check_mode_predicts_and_writes_nothing(store):
    assert server_groups.ensure(store, "db", "affinity", None, NOW, True)["changed"]
    assert store.snapshot().export()["server_groups"] == {}
    server_groups.ensure(store, "db", "affinity", None, NOW, False)
    assert server_groups.delete(store, "db", True)["changed"]
    assert len(store.snapshot().export()["server_groups"]) == 1
