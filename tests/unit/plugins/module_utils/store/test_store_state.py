"""The store's operations on a transaction's state, over both backends (StoreState on the JSON file,
PgState on PostgreSQL): compare-and-swap, instance actions and events, claims, host facts."""

from __future__ import annotations

import pytest

from ansible_collections.nimbus.compute.plugins.module_utils.exceptions import (
    InstanceNotFound,
    InvalidInput,
    UnexpectedTaskStateError,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects import states
from ansible_collections.nimbus.compute.plugins.module_utils.store.state import (
    ANY,
    ActionNotFound,
    InstanceExists,
    StoreState,
)


def make_instance(uuid="u1", name="web-1", task_state=states.SCHEDULING, vm_state=states.BUILDING, created="t0"):
    return {
        "uuid": uuid,
        "name": name,
        "vm_state": vm_state,
        "task_state": task_state,
        "actions": [],
        "created_at": created,
        "updated_at": created,
    }


@pytest.fixture
def empty(store):
    """The state of a transaction on an empty store of each backend, saved when the test ends."""
    with store.transaction() as opened:
        yield opened


@pytest.fixture
def state(empty):
    empty.add_instance(make_instance())
    return empty


def test_instance_lookup(state):
    assert state.instance("u1")["name"] == "web-1"
    with pytest.raises(InstanceNotFound):
        state.instance("nope")


def test_find_instance_ignores_deleted(empty):
    state = empty
    state.add_instance(make_instance("old", vm_state=states.DELETED, created="t0"))
    assert state.find_instance("web-1") is None
    state.add_instance(make_instance("new", created="t1"))
    assert state.find_instance("web-1")["uuid"] == "new"
    assert state.find_instance("web-2") is None


def test_add_instance_refuses_a_second_live_name_or_uuid(state):
    with pytest.raises(InstanceExists, match="web-1"):
        state.add_instance(make_instance("u2"))
    with pytest.raises(InstanceExists, match="u1"):
        state.add_instance(make_instance("u1", name="web-2"))


@pytest.mark.parametrize(
    ("actual", "expected", "wins"),
    [
        (states.SCHEDULING, states.SCHEDULING, True),
        (states.SCHEDULING, states.NETWORKING, False),
        (None, None, True),
        (states.SCHEDULING, None, False),
        (None, states.SCHEDULING, False),
        (states.NETWORKING, (states.SCHEDULING, states.NETWORKING), True),
        (states.SPAWNING, (states.SCHEDULING, states.NETWORKING), False),
        (None, (None, states.SCHEDULING), True),
        (states.DELETING, ANY, True),
        (None, ANY, True),
    ],
)
def test_save_instance_is_compare_and_swap(empty, actual, expected, wins):
    state = empty
    state.add_instance(make_instance(task_state=actual))
    if wins:
        saved = state.save_instance("u1", expected, task_state=states.SPAWNING, host="h1")
        assert saved["task_state"] == states.SPAWNING
        assert saved["host"] == "h1"
        assert saved["updated_at"] != "t0"
    else:
        with pytest.raises(UnexpectedTaskStateError) as error:
            state.save_instance("u1", expected, task_state=states.SPAWNING, host="h1")
        assert error.value.details["actual"] == actual
        assert state.instance("u1")["task_state"] == actual
        assert "host" not in state.instance("u1")


def test_save_instance_keeps_an_explicit_updated_at(state):
    assert state.save_instance("u1", ANY, updated_at="t9")["updated_at"] == "t9"


def test_actions_and_events_follow_nova(state):
    action = state.start_action("u1", "create", "t1")
    assert action["request_id"].startswith("req-")
    assert (action["finish_time"], action["message"], action["events"]) == (None, None, [])
    state.start_event("u1", "compute__schedule_instances", "t1")
    state.finish_event("u1", "compute__schedule_instances", "Success", "t2")
    state.start_event("u1", "compute_build_and_run_instance", "t2", host="h1")
    state.finish_event("u1", "compute_build_and_run_instance", "Error", "t3", details={"code": 500})
    state.finish_action("u1", "t3")
    recorded = state.instance("u1")["actions"][-1]
    assert recorded["message"] == "Error"
    assert recorded["finish_time"] == "t3"
    assert [(e["event"], e["result"], e["finish_time"]) for e in recorded["events"]] == [
        ("compute__schedule_instances", "Success", "t2"),
        ("compute_build_and_run_instance", "Error", "t3"),
    ]
    assert recorded["events"][1]["details"] == {"code": 500}
    assert recorded["events"][1]["host"] == "h1"


def test_events_go_to_the_latest_action(state):
    state.start_action("u1", "create", "t1")
    state.start_action("u1", "delete", "t2")
    state.start_event("u1", "compute_terminate_instance", "t2")
    actions = state.instance("u1")["actions"]
    assert [len(action["events"]) for action in actions] == [0, 1]


def test_event_errors(state):
    with pytest.raises(ActionNotFound):
        state.start_event("u1", "x", "t1")
    state.start_action("u1", "create", "t1")
    with pytest.raises(ActionNotFound):
        state.finish_event("u1", "never-started", "Success", "t2")
    state.start_event("u1", "x", "t1")
    with pytest.raises(InvalidInput, match="result"):
        state.finish_event("u1", "x", "Done", "t2")


def busy(usage):
    """Hosts that hold a claim (PostgreSQL keeps a row of zeros for a host whose claims all went)."""
    return {host: found for host, found in usage.items() if found["instances"]}


def test_claims(state):
    state.add_instance(make_instance("u2", name="web-2"))
    state.add_instance(make_instance("u3", name="web-3"))
    state.add_instance(make_instance("u4", name="web-4"))
    state.claim("u1", "h1", {"vcpus": 1, "memory_mb": 512, "disk_gb": 1})
    state.claim("u2", "h1", {"vcpus": 2, "memory_mb": 1024, "disk_gb": 2})
    state.claim("u3", "h2", {"vcpus": 4, "memory_mb": 2048, "disk_gb": 4})
    assert state.claim_of("u1") == {"host": "h1", "vcpus": 1, "memory_mb": 512, "disk_gb": 1}
    assert state.claim_hosts(["u1", "u3", "u9"]) == {"u1": "h1", "u3": "h2"}
    by_host = state.claims_by_host()
    assert sorted(by_host) == ["h1", "h2"]
    assert [claim["instance_uuid"] for claim in by_host["h1"]] == ["u1", "u2"]
    # A reschedule moves the claim.
    state.claim("u1", "h2", {"vcpus": 1, "memory_mb": 512, "disk_gb": 1})
    assert sorted(claim["instance_uuid"] for claim in state.claims_by_host()["h2"]) == ["u1", "u3"]
    assert [claim["instance_uuid"] for claim in state.claims_by_host()["h1"]] == ["u2"]
    # What the scheduler reads: sums per host (kept by a trigger on PostgreSQL), the asked-about instances.
    assert busy(state.host_usage(["u3", "u9"], excluding=["u2"])) == {
        "h2": {"vcpus": 5, "memory_mb": 2560, "disk_gb": 5, "instances": 2, "instance_uuids": ["u3"]},
    }
    assert state.drop_claim("u1") is True
    assert state.drop_claim("u1") is False
    assert busy(state.host_usage()) == {
        "h1": {"vcpus": 2, "memory_mb": 1024, "disk_gb": 2, "instances": 1, "instance_uuids": []},
        "h2": {"vcpus": 4, "memory_mb": 2048, "disk_gb": 4, "instances": 1, "instance_uuids": []},
    }
    with pytest.raises(InvalidInput, match="disk_gb"):
        state.claim("u4", "h1", {"vcpus": 1, "memory_mb": 1})


def test_host_facts(empty):
    state = empty
    assert state.host_facts("h1") is None
    state.set_host_facts("h1", {"vcpus": 4}, "t1")
    assert state.host_facts("h1") == {"vcpus": 4, "updated_at": "t1"}
    assert state.all_host_facts() == {"h1": {"vcpus": 4, "updated_at": "t1"}}


def test_what_a_transaction_saved_is_what_the_next_one_reads(store):
    with store.transaction() as state:
        state.add_instance(make_instance())
        state.start_action("u1", "create", "t1")
        state.start_event("u1", "compute__schedule_instances", "t1")
        state.save_instance("u1", states.SCHEDULING, task_state=states.NETWORKING, host="h1")
    with store.transaction() as state:
        state.finish_event("u1", "compute__schedule_instances", "Success", "t2")
    seen = store.snapshot().instance("u1")
    assert (seen["task_state"], seen["host"]) == (states.NETWORKING, "h1")
    assert [(e["event"], e["result"]) for e in seen["actions"][0]["events"]] == [
        ("compute__schedule_instances", "Success")
    ]


def test_a_failed_transaction_saves_nothing_and_runs_no_commit_callback(store):
    ran = []
    with pytest.raises(UnexpectedTaskStateError), store.transaction() as state:
        state.add_instance(make_instance())
        state.set_host_facts("h1", {"vcpus": 4}, "t1")
        state.after_commit(lambda: ran.append("notified"))
        state.save_instance("u1", states.NETWORKING, task_state=states.SPAWNING)
    snapshot = store.snapshot()
    assert (snapshot.get_instance("u1"), snapshot.host_facts("h1"), ran) == (None, None, [])
    with store.transaction() as state:
        state.after_commit(lambda: ran.append("notified"))
    assert ran == ["notified"]


def test_ports_are_found_by_instance_network_address_and_mac(state):
    state.add_instance(make_instance("u2", name="web-2"))
    port = {"network": "private", "created_at": "t1", "vif": {}}
    state.add_ports(
        {
            "p2": {**port, "instance_uuid": "u1", "mac": "fa:16:3e:00:00:02", "ips": ["198.18.0.11"], "index": 1},
            "p1": {**port, "instance_uuid": "u1", "mac": "fa:16:3e:00:00:01", "ips": ["198.18.0.10"], "index": 0},
            "p3": {**port, "instance_uuid": "u2", "mac": "fa:16:3e:00:00:03", "ips": ["198.18.1.10"], "index": 0},
        }
    )
    assert list(state.ports_of_instance("u1")) == ["p1", "p2"]
    assert state.ips_in_use(["198.18.0.0/24"]) >= {"198.18.0.10", "198.18.0.11"}
    assert "198.18.1.10" not in state.ips_in_use(["198.18.0.0/24"]) or isinstance(state, StoreState)
    assert ("fa:16:3e:00:00:03" in state.macs_in_use(), "fa:16:3e:00:00:09" in state.macs_in_use()) == (True, False)
    assert (state.count_ports_on_network("private"), state.port_exists("p3"), state.port_exists("p9")) == (
        3,
        True,
        False,
    )
    assert state.delete_ports(["p1", "p9"]) == ["p1"]
    assert list(state.ports_of_instance("u1")) == ["p2"]
