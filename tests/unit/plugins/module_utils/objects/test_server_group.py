"""Server group policies and rules, and the store's server group records."""

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import Conflict, InvalidInput
from ansible_collections.nimbus.compute.plugins.module_utils.objects import server_group
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import StoreState


@pytest.mark.parametrize(
    ("policy", "rules", "expected"),
    [
        ("affinity", None, {}),
        ("anti-affinity", {"max_server_per_host": 2}, {"max_server_per_host": 2}),
        ("soft-anti-affinity", {}, {}),
    ],
)
def test_valid_rules(policy, rules, expected):
    assert server_group.validate_rules(policy, rules) == expected


@pytest.mark.parametrize(
    ("policy", "rules", "field"),
    [
        ("spread", None, "policy"),
        ("affinity", {"max_server_per_host": 2}, "rules.max_server_per_host"),
        ("anti-affinity", {"max_server_per_host": 0}, "rules.max_server_per_host"),
        ("anti-affinity", {"max_servers": 1}, "rules.max_servers"),
        ("anti-affinity", [1], "rules"),
    ],
)
def test_bad_rules_name_the_field(policy, rules, field):
    with pytest.raises(InvalidInput) as raised:
        server_group.validate_rules(policy, rules)
    assert raised.value.field == field


def test_max_server_per_host_defaults_to_one():
    assert server_group.max_server_per_host({"rules": {}}) == 1
    assert server_group.max_server_per_host({"rules": {"max_server_per_host": 3}}) == 3


def test_store_keeps_groups_and_members():
    state = StoreState()
    group = state.add_server_group(server_group.new_server_group("db", "anti-affinity", {}, "t0"))
    assert state.find_server_group("db") is group
    assert state.find_server_group(group["uuid"]) is group
    with pytest.raises(Conflict, match="already exists"):
        state.add_server_group(server_group.new_server_group("db", "affinity", {}, "t1"))
    state.add_group_members(group["uuid"], ["u1", "u2", "u1"])
    assert group["members"] == ["u1", "u2"]
    assert state.group_of("u2") is group
    assert state.drop_group_member("u2") == [group["uuid"]]
    assert state.group_of("u2") is None
    assert state.delete_server_group(group["uuid"]) and state.find_server_group("db") is None
