# Copyright: nimbus.compute contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bodies of the controller-side modules.

The action plugins call these in-process (no module round trip); the
modules' ``main()`` call them too, so each also works as a plain module.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.nimbus.compute.plugins.module_utils import exceptions
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    build,
    build_owner,
    floating_ips,
    flow,
    schedule,
    security_groups,
    server_groups,
    terminate,
)
from ansible_collections.nimbus.compute.plugins.module_utils.compute import (
    reschedule as rescheduling,
)
from ansible_collections.nimbus.compute.plugins.module_utils.compute.host_cache import reports_from_store
from ansible_collections.nimbus.compute.plugins.module_utils.compute.task_store import store_for
from ansible_collections.nimbus.compute.plugins.module_utils.objects import quotas as quotas_obj
from ansible_collections.nimbus.compute.plugins.module_utils.objects.field_rules import check_safe_name
from ansible_collections.nimbus.compute.plugins.module_utils.objects.instance import (
    check_instance_name,
    check_instance_names,
    utcnow,
    validate_request,
)
from ansible_collections.nimbus.compute.plugins.module_utils.objects.quotas import project_of
from ansible_collections.nimbus.compute.plugins.module_utils.scheduler.config import scheduler_config


def host_select(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if params["state"] == "absent":
        instance, changed = flow.release_claim(store, params["name"], utcnow(), check_mode)
        return {"changed": changed, "instance": instance}
    # params["hosts"] passed its argument spec (each report a mapping of its fields) before the body runs.
    request = validate_request(params["request"], params["flavors"], params["images"], params["networks"])
    instances, changed = schedule.schedule_instances(
        store,
        request,
        host_reports(store, params),
        params["scheduler"],
        utcnow(),
        check_mode,
        replace_failed=params.get("replace_failed", False),
        quotas=params.get("quotas"),
    )
    first = instances[0]
    return {
        "changed": changed,
        "instances": instances,
        # Check mode writes nothing: instances it would create have no record
        # for the build steps to run on (it returns existing ones unchanged).
        "recorded": not (check_mode and changed),
        "instance": first,
        "host": first.get("host"),
        "alternates": first.get("alternates", []),
        # The build's rounds: the hosts that may build an instance of the request (chosen or alternate), and
        # how many attempts an instance gets (compute/build.py).
        "build_hosts": sorted(
            {host for i in instances for host in [i.get("host"), *(i.get("alternates") or [])] if host}
        ),
        "max_attempts": scheduler_config(params["scheduler"])["max_attempts"],
        "ansible_facts": {"nimbus_instance": first},
    }


def reschedule(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """One failed attempt (``instance``), or the end of a build round for the run's ``instances``
    (build.finish_round: each failed attempt rescheduled or given up; whether another round is needed; the
    run's report)."""
    store = store_for(params)
    params = {**params, "hosts": host_reports(store, params)}
    if params.get("instances") is None:
        return rescheduling.run(params, check_mode)
    if check_mode:
        return {"changed": False, "pending": False, "rescheduled": {}, **_report(store, params["instances"], True)}
    result = build.finish_round(store, params["instances"], params["hosts"], params["scheduler"], utcnow())
    report = _report(store, params["instances"], not result["pending"])
    return {"changed": bool(result["rescheduled"]), **result, **report}


def _report(store, uuids: list[str], last_round: bool) -> dict[str, Any]:
    """The run's outcome; after its last round, also the firewalls the new members of their groups change."""
    state = store.snapshot()
    report = build.build_report(state, uuids)
    refresh = security_groups.membership_refresh(state, report["active"]) if last_round else []
    return {"instances": report["active"], "failed_builds": report["failed"], "firewall_refresh": refresh}


def host_reports(store, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The compute hosts' reports the scheduler sees: ``hosts`` as given, or those of ``compute_hosts`` in the store
    (host_cache.reports_from_store: only what this run's host_facts wrote or served)."""
    if params.get("compute_hosts") is None:
        return params["hosts"]
    now = utcnow()
    return reports_from_store(
        store.snapshot(), params["compute_hosts"], params["host_facts_max_age"], now, build_owner.run_age_seconds()
    )


def server_group(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if params["state"] == "absent":
        return server_groups.delete(store, params["name"], check_mode)
    return server_groups.ensure(
        store,
        params["name"],
        params["policy"],
        params["rules"],
        utcnow(),
        check_mode,
        project_id=project_of(params),
        quotas=params.get("quotas"),
    )


def security_group(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if params["state"] == "absent":
        return security_groups.delete(store, params["name"], check_mode, project_id=project_of(params))
    return security_groups.ensure(
        store,
        params["name"],
        params.get("description"),
        params.get("rules"),
        utcnow(),
        check_mode,
        project_id=project_of(params),
        quotas=params.get("quotas"),
    )


def floating_ip(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if params["state"] == "absent":
        return floating_ips.absent(
            store,
            utcnow(),
            check_mode,
            instance=params.get("instance"),
            floating_ip_address=params.get("floating_ip_address"),
            purge=params["purge"],
            project_id=project_of(params),
        )
    return floating_ips.ensure(
        store,
        params.get("pools"),
        utcnow(),
        check_mode,
        instance=params.get("instance"),
        pool=params.get("pool"),
        floating_ip_address=params.get("floating_ip_address"),
        fixed_address=params.get("fixed_address"),
        reuse=params["reuse"],
        project_id=project_of(params),
        quotas=params.get("quotas"),
    )


def network_allocate(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    store = store_for(params)
    if params.get("instances") is not None:
        if params["state"] == "absent":
            raise exceptions.InvalidInput("instances", "is for state=present (a build's networking step) only")
        return build.allocate_networks(store, params["instances"], params["networks"], utcnow(), check_mode)
    if params["state"] == "absent":
        instance, changed = flow.deallocate_network(store, params["instance"], check_mode)
    else:
        instance, changed = flow.allocate_network(store, params["instance"], params["networks"], utcnow(), check_mode)
    result = {"changed": changed, "instance": instance, "network_info": (instance or {}).get("network_info", [])}
    if instance:
        result["ansible_facts"] = {"nimbus_instance": instance}
    return result


def instance_delete(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """Both controller ends of a delete (compute/terminate.py); the end fails naming what its hosts kept."""
    names = check_instance_names("instances", params["instances"])
    store = store_for(params)
    if params["phase"] == "begin":
        started = terminate.begin_terminate(store, names, utcnow(), check_mode)
        return {"changed": bool(started["instances"]) and not check_mode, **started}
    nat_hosts = floating_ips.hosts_of(store.snapshot(), names)
    result = terminate.complete_terminate(store, names, utcnow(), check_mode)
    # The deleted instances' floating IPs were disassociated: their hosts drop the NAT.
    result["nat_refresh"] = sorted(nat_hosts)
    # The members of groups that named the deleted instances' groups lose their addresses from their filters.
    result["firewall_refresh"] = security_groups.membership_refresh(store.snapshot(), result["deleted"])
    if result["unfinished"]:
        result.update(failed=True, msg=terminate.unfinished_message(result))
    return result


def _with_deleted(state, name: str | None, names: list[str] | None) -> list[dict[str, Any]]:
    """Nova's ``--deleted``: the instances of ``name`` (or uuid) or ``names``, or every one, deleted ones too."""
    every = state.list_instances(include_deleted=True)
    if name is not None:
        return [instance for instance in every if name in (instance["uuid"], instance["name"])]
    if names is not None:
        return [instance for wanted in names for instance in every if instance["name"] == wanted]
    return every


def instance_info(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    del check_mode  # reading changes nothing
    # A name create would refuse names no instance: say so rather than find nothing.
    if params.get("name") is not None:
        check_instance_name("name", params["name"])
    for index, name in enumerate(params.get("names") or []):
        check_instance_name(f"names[{index}]", name)
    state = store_for(params).snapshot()
    result: dict[str, Any] = {"changed": False}
    if params.get("project_id") is not None:
        result["limits"] = project_limits_report(state, params["project_id"], params.get("quotas"))
    if params.get("include_deleted"):
        return {**result, "instances": _with_deleted(state, params.get("name"), params.get("names"))}
    if params.get("name") is not None:
        found = flow.find_instance(state, params["name"])
        instances = [found] if found else []
    elif params.get("names") is not None:
        by_name = state.live_instances_by_name(params["names"])
        instances = [by_name[name] for name in params["names"] if name in by_name]
    else:
        instances = state.list_instances()
    return {**result, "instances": [floating_ips.shown(state, instance) for instance in instances]}


def project_limits_report(state, project_id: str, quotas: Any) -> dict[str, Any]:
    """``nova limits`` for one project: each quota's limit and the project's usage, from the store."""
    check_safe_name("project_id", project_id)
    limits = quotas_obj.project_limits(quotas)
    return {"project_id": project_id, "absolute": quotas_obj.usage_report(limits, state.project_usage(project_id))}
