"""The scheduler reads the compute hosts' reports from the store (host_cache.reports_from_store), both backends."""

from ansible_collections.nimbus.compute.plugins.module_utils.compute import controller
from ansible_collections.nimbus.compute.plugins.module_utils.compute.host_cache import (
    reports_from_facts,
    reports_from_store,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import utcnow

from .test_flow import HOST, host_select_params

NOW = "2026-11-23T10:10:00Z"


def write_reports(store):
    with store.transaction() as state:
        state.set_host_facts("fresh", HOST, "2026-11-23T10:09:50Z")  # written by this run (it began 60 s ago)
        state.set_host_facts("cached", HOST, "2026-11-23T10:06:00Z")  # served from the cache, 3 min before the run
        state.set_host_facts("old", HOST, "2026-11-23T09:00:00Z")  # from an earlier run, older than max_age
        state.set_host_facts("down", {"up": False, "reason": "compute host down could not be reached"}, NOW)


def test_only_this_runs_reports_count_and_a_missing_one_is_down(store):
    write_reports(store)
    reports = reports_from_store(store.snapshot(), ["fresh", "cached", "old", "down", "absent"], 300, NOW, 60.0)
    assert reports["fresh"]["up"] and reports["cached"]["up"]
    assert reports["old"] == {
        "up": False,
        "reason": "its host_facts report (2026-11-23T09:00:00Z) is older than this run, and than max_age (300 s) "
        "before it",
    }
    assert reports["down"]["reason"] == "compute host down could not be reached"
    assert reports["absent"] == {"up": False, "reason": "no host_facts report in the store"}
    # max_age 0 (host_facts always asks): a report this run wrote still counts, the cached one does not.
    strict = reports_from_store(store.snapshot(), ["fresh", "cached"], 0, NOW, 60.0)
    assert strict["fresh"]["up"] and not strict["cached"]["up"]


def test_host_select_schedules_on_the_hosts_the_store_reports_up(store, store_params):
    write_reports(store)
    with store.transaction() as state:
        # Written just now: by this run (the test's own process) whatever its age.
        state.set_host_facts("fresh", HOST, utcnow())
    params = host_select_params(store_params, hosts={}, compute_hosts=["old", "down", "fresh"], host_facts_max_age=300)
    result = controller.host_select(params, check_mode=False)
    assert result["host"] == "fresh" and result["build_hosts"] == ["fresh"]


def test_check_mode_takes_the_runs_facts_and_a_host_without_them_is_down():
    reports = reports_from_facts({"c1": HOST, "c2": None})
    assert reports == {"c1": HOST, "c2": {"up": False, "reason": "no host_facts report in this run"}}
